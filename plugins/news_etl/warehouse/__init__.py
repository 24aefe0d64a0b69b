"""The warehouse: the writer's DuckDB file (schema, watermark, the one-transaction load, audit) and its snapshot."""
