"""Data stages: ingest, validate, clean, split."""
