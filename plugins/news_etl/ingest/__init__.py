"""Ingest: posts from a source to clean, checked batches of articles staged as Parquet (fetch, transform, validate)."""
