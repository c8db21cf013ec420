"""Diagnose stage: episodes (derived events), rules as data, the condition language, findings."""
