"""Parse stage: format specs and Lark grammars turn kept records into Events."""
