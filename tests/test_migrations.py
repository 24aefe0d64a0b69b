"""Migrations: numbered files applied in order, recorded, safe to apply twice; every column explained."""

from __future__ import annotations

import re

import duckdb
import pytest

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


def test_060_keeps_the_keywords_and_their_key_but_no_index(tmp_path):
    """article_keywords loses its PRIMARY KEY (an index DuckDB holds in memory through a load) and
    keeps its rows; a duplicate (post_id, rank) of a run's posts is caught by the load's bulk check."""
    from news_etl.warehouse.keys import DuplicateKey, check_keys

    path = tmp_path / "old.duckdb"
    migrate_file(path, only=59)
    con = duckdb.connect(str(path))
    rows = [("p1", 1, 1, "银行", 3, 0.5, "r1"), ("p1", 1, 2, "利率", 2, 0.3, "r1"), ("p2", 1, 1, "基金", 1, 0.2, "r1")]
    con.executemany("INSERT INTO article_keywords VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    with pytest.raises(duckdb.ConstraintException):  # before 060: the index refuses a second (p1, 1)
        con.execute("INSERT INTO article_keywords VALUES ('p1', 2, 1, 'x', 1, 0.1, 'r2')")
    con.close()
    assert migrate_file(path) == [name for v, name, _ in warehouse.migrations() if v > 59]
    con = duckdb.connect(str(path))
    assert sorted(con.execute("SELECT * FROM article_keywords").fetchall()) == sorted(rows)
    assert (
        con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'article_keywords' "
            "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
        ).fetchone()[0]
        == 0
    )
    check_keys(con, "r1")  # unique: nothing to say
    con.execute("INSERT INTO article_keywords VALUES ('p1', 2, 1, 'x', 1, 0.1, 'r2')")  # no index refuses it now
    with pytest.raises(DuplicateKey, match=r"\('p1', 1\) is there 2 times"):
        check_keys(con, "r2")
    with pytest.raises(DuplicateKey):  # the whole table is checked: no load commits on top of a key twice
        check_keys(con, "r3")
    con.close()


def test_080_the_tables_that_grow_with_the_posts_keep_rows_and_comments_but_no_index(tmp_path):
    """Migration 080 rebuilds the per-post tables without their PRIMARY KEY (an index DuckDB holds
    in memory, whole, through a load): an old warehouse keeps its rows, and the schema is the fresh one."""
    from news_etl.model import UNINDEXED_KEYS

    old, fresh = tmp_path / "old.duckdb", tmp_path / "fresh.duckdb"
    migrate_file(old, only=79)
    con = duckdb.connect(str(old))
    con.execute("INSERT INTO source_files VALUES ('dir:x', 'a.md', 'p1', 'h1', 10, 1, 'article', false, 'r1')")
    con.execute("INSERT INTO story_links VALUES ('p1', 'p2', 'text', 0.9, 'r1')")
    with pytest.raises(duckdb.ConstraintException):  # before 080: the index refuses a second (source, path)
        con.execute("INSERT INTO source_files VALUES ('dir:x', 'a.md', 'p2', 'h2', 10, 1, 'article', false, 'r2')")
    con.close()
    assert migrate_file(old) == [name for v, name, _ in warehouse.migrations() if v > 79]
    migrate_file(fresh)
    assert schema(old) == schema(fresh)
    con = duckdb.connect(str(old), read_only=True)
    assert con.execute("SELECT post_id, run_id FROM source_files").fetchall() == [("p1", "r1")]
    assert con.execute("SELECT post_a, post_b, kind FROM story_links").fetchall() == [("p1", "p2", "text")]
    indexed = {
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    con.close()
    assert not indexed & set(UNINDEXED_KEYS)
    assert "articles" in indexed  # search(q) reads the texts it found by post id, through this index


def test_the_load_refuses_to_commit_any_unindexed_key_twice(tmp_path):
    """For every table whose key no index keeps, a row there twice is a DuplicateKey naming the
    table and the key (the load rolls back on it); the check reads the whole table."""
    from reliability import loaded

    from news_etl.model import UNINDEXED_KEYS
    from news_etl.warehouse.keys import DuplicateKey, check_keys

    paths = loaded(tmp_path)
    con = duckdb.connect(str(paths["warehouse"]))
    check_keys(con, "r0")  # a real load's tables: every key once
    empty = []
    for table, key in UNINDEXED_KEYS.items():
        if not con.execute("SELECT count(*) FROM " + table).fetchone()[0]:
            empty.append(table)
            continue
        con.execute("BEGIN")
        con.execute("INSERT INTO " + table + " SELECT * FROM " + table + " LIMIT 1")
        with pytest.raises(DuplicateKey, match=f"^{table}: the key {re.escape(str(key))} = .* is there 2 times"):
            check_keys(con, "r1")
        con.execute("ROLLBACK")
    con.close()
    assert len(empty) <= 2, empty  # the sample posts fill (almost) every one of them
