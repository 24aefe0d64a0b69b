"""The schema: the numbered files of ``sql/migrations``, each applied once, in order, in its own transaction;
and what a warehouse file holds beyond what they define (:func:`strangers`: a restore's check)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from news_etl.settings import SQL_DIR
from news_etl.text import printable

MIGRATIONS_DIR = SQL_DIR / "migrations"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every file in sql/migrations, in order."""
    out = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        out.append((version, path.stem, path.read_text(encoding="utf-8")))
    return out


def migrate(con: duckdb.DuckDBPyConnection, only: set[int] | None = None) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction. Safe to repeat.
    ``only``: apply just these versions (a reference schema of an older warehouse: :func:`schema_of`)."""
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
        if version in done or (only is not None and version not in only):
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


#: Every object of a database file DuckDB did not make itself, by kind: (schema, name, definition).
_HERE = "database_name = current_database()"
_CATALOG = (
    (
        "schema",
        f"SELECT schema_name, schema_name, coalesce(sql, '') FROM duckdb_schemas() WHERE NOT internal AND {_HERE}",
    ),
    ("table", f"SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE NOT internal AND {_HERE}"),
    ("view", f"SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND {_HERE}"),
    ("index", f"SELECT schema_name, index_name, sql FROM duckdb_indexes() WHERE {_HERE}"),
    ("sequence", f"SELECT schema_name, sequence_name, sql FROM duckdb_sequences() WHERE {_HERE}"),
    (
        "macro",
        "SELECT schema_name, function_name, concat_ws(' ', function_type, CAST(parameters AS VARCHAR), "
        f"macro_definition) FROM duckdb_functions() WHERE NOT internal AND {_HERE}",
    ),
    (
        "type",
        "SELECT schema_name, type_name, concat_ws(' ', logical_type, CAST(labels AS VARCHAR)) "
        f"FROM duckdb_types() WHERE NOT internal AND {_HERE}",
    ),
)


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The last migration applied to the warehouse open on ``con`` (what a stamp of its schema names)."""
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return row[0] if row else None


def schema_objects(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """``(kind, schema.name)`` → its definition (SQL) of every object in ``con``'s database that
    DuckDB did not make itself: schemas, tables, views, indexes, sequences, macros, types."""
    out: dict[tuple[str, str], str] = {}
    for kind, sql in _CATALOG:
        for schema, name, definition in con.execute(sql).fetchall():  # (fixed texts of this module)
            if kind == "schema" and schema == "main":
                continue
            out[(kind, schema if kind == "schema" else f"{schema}.{name}")] = definition or ""
    return out


def schema_of(versions: set[int], storage_version: str | None = None) -> dict[tuple[str, str], str]:
    """The objects the migrations ``versions`` define (:func:`schema_objects`), as a file in
    ``storage_version`` holds them: a file written and read back in that format (DuckDB spells some
    types of a stored view's SQL by its format: ``TIMESTAMP`` in memory, ``TIMESTAMP_US`` in v1.4)."""

    with tempfile.TemporaryDirectory(prefix="news-etl-schema-") as tmp:
        path = Path(tmp) / "reference.duckdb"
        config: dict[str, str | bool | int | float | list[str]] = (
            {"storage_compatibility_version": storage_version} if storage_version else {}
        )
        con = duckdb.connect(str(path), config=config)
        try:
            migrate(con, only=versions)
        finally:
            con.close()
        con = duckdb.connect(str(path), read_only=True)
        try:
            return schema_objects(con)
        finally:
            con.close()


def strangers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a warehouse file holds beyond what its migrations define: each object that the
    migrations do not define by that kind and name, or define with other SQL (a replaced view),
    and each migration it claims that this code does not have. Empty: the known schema."""
    try:
        versions = {v for (v,) in con.execute("SELECT version FROM main.schema_migrations").fetchall()}
    except duckdb.Error:
        return ["no table schema_migrations: not a warehouse"]
    known = {v for v, _, _ in migrations()}
    out = [f"migration {v} (unknown to this code)" for v in sorted(versions - known)]
    (tags,) = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0]
    storage = ((tags or {}).get("storage_version") or "").rstrip("+") or None
    reference = schema_of(versions & known, storage)
    found = schema_objects(con)
    for (kind, name), definition in sorted(found.items()):
        shown = printable(name.removeprefix("main."))
        if (kind, name) not in reference:
            out.append(f"{kind} {shown}")
        elif reference[(kind, name)] != definition:
            out.append(f"{kind} {shown} (its SQL differs from the migrations')")
    return out
