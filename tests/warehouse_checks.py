"""Helpers that read a warehouse file back for assertions."""

from __future__ import annotations

from pathlib import Path

import duckdb

#: Tables that record how runs went, not what the warehouse holds: a re-run adds rows by design.
AUDIT_TABLES = frozenset({"etl_runs", "quality_results", "schema_migrations"})
#: Columns that hold who wrote a row and when: never compared.
RUN_COLUMNS = frozenset({"run_id", "loaded_at", "rejected_at", "first_loaded_at", "updated_at", "checked_at"})
#: Columns that hold the moment something happened in the source or a run (a deletion seen,
#: a file's modification time): compared only with ``moments=True``.
MOMENT_COLUMNS = frozenset({"deleted_at", "mtime_ns"})


def rows(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(path: Path, sql: str, params=None):
    return rows(path, sql, params)[0][0]


def data_tables(con) -> list[str]:
    """Every table of the warehouse but the audit tables: articles, versions, metrics, keywords,
    daily tables, rejects, source files, the watermark, and any table a later migration adds."""
    return [
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary ORDER BY table_name"
        ).fetchall()
        if t not in AUDIT_TABLES
    ]


def fingerprint(path: Path, moments: bool = True) -> dict[str, tuple[int, str]]:
    """Row count and a content hash of every data table (who wrote a row and when excluded).

    ``moments=False`` also leaves out when a deletion was seen (``deleted_at``: only whether the
    article is deleted counts) and files' modification times: for warehouses built at other times.
    """
    out = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table in data_tables(con):
            cols = []
            for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
            ).fetchall():
                if c in RUN_COLUMNS or (not moments and c == "mtime_ns"):
                    continue
                cols.append(f"{c} IS NULL" if not moments and c == "deleted_at" else c)
            n, digest = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(row_text, '|' ORDER BY row_text), '')) "
                f"FROM (SELECT CAST(ROW({', '.join(cols)}) AS VARCHAR) AS row_text FROM {table})"
            ).fetchone()
            out[table] = (n, digest)
    finally:
        con.close()
    return out
