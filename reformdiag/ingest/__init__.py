"""Ingest stage: find the files of a bundle, read them as byte streams, sniff their format,
and run stage one (record boundaries, line accounting, anchor hits) without Lark."""
