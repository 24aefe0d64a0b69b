"""The schema: the numbered files of ``sql/migrations``, each applied once, in order, in its own transaction."""

from __future__ import annotations

import duckdb

from news_etl.settings import SQL_DIR

MIGRATIONS_DIR = SQL_DIR / "migrations"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every file in sql/migrations, in order."""
    out = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        out.append((version, path.stem, path.read_text(encoding="utf-8")))
    return out


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction. Safe to repeat."""
    con.execute("""
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)""")
    con.execute("COMMENT ON TABLE schema_migrations IS 'Schema migrations applied to this warehouse (sql/migrations).'")
    for column, text in (
        ("version", "The number of the migration (the prefix of its file name)."),
        ("name", "The migration file without .sql."),
        ("applied_at", "When it was applied."),
    ):
        con.execute(f"COMMENT ON COLUMN schema_migrations.{column} IS '{text}'")  # fixed texts of this module
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
