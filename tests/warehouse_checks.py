"""Helpers that read a warehouse file back for assertions."""

from __future__ import annotations

from pathlib import Path

import duckdb

#: Tables whose content a re-run must leave identical (etl_runs gains an audit row by design).
DATA_TABLES = {
    "articles": "post_id",
    "article_versions": "post_id, version, change",
    "article_metrics": "post_id",
    "daily_metrics": "day, outlet, category",
    "rejects": "path, reason",
    "source_files": "source, path",
}


def rows(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(path: Path, sql: str, params=None):
    return rows(path, sql, params)[0][0]


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and a content hash of every data table (run ids and load times excluded)."""
    out = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table, _order in DATA_TABLES.items():
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
                ).fetchall()
                if c not in ("run_id", "loaded_at", "rejected_at", "first_loaded_at", "updated_at")
            ]
            col_list = ", ".join(cols)
            n, digest = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(row_text, '|' ORDER BY row_text), '')) "
                f"FROM (SELECT CAST(ROW({col_list}) AS VARCHAR) AS row_text FROM {table})"
            ).fetchone()
            out[table] = (n, digest)
    finally:
        con.close()
    return out
