"""The news warehouse: a Jekyll news site → clean articles and metrics in DuckDB (docs/design.md maps the code)."""
