"""Timeline stage: one cluster map, UTC times, canonical nodes, and the pandas frame."""
