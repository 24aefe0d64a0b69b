"""Migrations: numbered files applied in order, recorded, safe to apply twice; every column explained."""

from __future__ import annotations

import duckdb

from news_etl.warehouse import migrations as warehouse

SCHEMA_SQL = {
    "tables": "SELECT table_name, comment FROM duckdb_tables() ORDER BY ALL",
    "views": "SELECT view_name, comment, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL",
    "columns": """SELECT table_name, column_index, column_name, data_type, is_nullable, column_default, comment
                  FROM duckdb_columns() WHERE NOT internal ORDER BY table_name, column_index""",
    "constraints": "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() ORDER BY ALL",
}


def schema(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {k: con.execute(sql).fetchall() for k, sql in SCHEMA_SQL.items()}
    finally:
        con.close()


def migrate_file(path, only: int | None = None) -> list[str]:
    con = duckdb.connect(str(path))
    try:
        if only is None:
            return warehouse.migrate(con)
        # an old warehouse: built when the migrations went up to `only`
        original = warehouse.migrations
        warehouse.migrations = lambda: [m for m in original() if m[0] <= only]
        try:
            return warehouse.migrate(con)
        finally:
            warehouse.migrations = original
    finally:
        con.close()


def test_empty_and_already_migrated_files_get_the_same_schema(tmp_path):
    names = [name for _, name, _ in warehouse.migrations()]
    assert names[:2] == ["001_core", "002_keywords"]
    fresh, twice, old = tmp_path / "fresh.duckdb", tmp_path / "twice.duckdb", tmp_path / "old.duckdb"
    assert migrate_file(fresh) == names
    assert migrate_file(twice) == names
    assert migrate_file(twice) == []  # the second time changes nothing
    assert migrate_file(old, only=1) == ["001_core"]
    assert migrate_file(old) == names[1:]  # an old warehouse catches up
    assert schema(twice) == schema(fresh)
    assert schema(old) == schema(fresh)
    con = duckdb.connect(str(old), read_only=True)
    assert [v for (v,) in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()] == [
        v for v, _, _ in warehouse.migrations()
    ]
    con.close()


def test_every_table_view_and_column_has_a_comment(tmp_path):
    migrate_file(tmp_path / "w.duckdb")
    s = schema(tmp_path / "w.duckdb")
    assert {"articles", "article_keywords", "keyword_daily", "daily_metrics", "etl_runs"} <= {t for t, _ in s["tables"]}
    assert [t for t, c in s["tables"] if not c] == []
    assert [v for v, c, _ in s["views"] if not c] == []
    assert [(t, c) for t, _, c, *_rest, comment in s["columns"] if not comment] == []


def test_003_cuts_stored_rejects_to_their_head_and_keeps_size_and_hash(tmp_path):
    import hashlib

    from news_etl.contract import MAX_REJECT_RAW_BYTES

    path = tmp_path / "old.duckdb"
    migrate_file(path, only=2)
    big, small = bytes(range(256)) * (3 * 1024 * 1024 // 256), b"---\nbroken"
    con = duckdb.connect(str(path))
    for name, raw in (("big.md", big), ("small.md", small), ("none.md", None)):
        con.execute(
            "INSERT INTO rejects (run_id, source, path, reason, raw, rejected_at) VALUES ('r', 's', ?, 'x', ?, now())",
            [name, raw],
        )
    con.close()
    assert migrate_file(path) == [name for v, name, _ in warehouse.migrations() if v > 2]
    con = duckdb.connect(str(path), read_only=True)
    got = {
        p: (bytes(r) if r is not None else None, n, h)
        for p, r, n, h in con.execute("SELECT path, raw, raw_size, raw_sha256 FROM rejects").fetchall()
    }
    con.close()
    assert got["big.md"] == (big[:MAX_REJECT_RAW_BYTES], len(big), hashlib.sha256(big).hexdigest())
    assert got["small.md"] == (small, len(small), hashlib.sha256(small).hexdigest())
    assert got["none.md"] == (None, None, None)
