"""Report stage: render an Analysis for a terminal, a machine, or a reader."""
