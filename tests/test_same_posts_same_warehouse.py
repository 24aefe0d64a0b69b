"""Same posts, same warehouse: every table derived from the live posts is a function of the live posts.

The real corpus (../shared/corpus) is split into runs in a random order and random batch sizes; a
hostile post whose quote links name fragments of real names (国平, 币汇, 向资, 回购操), standing
alone so that they look like names, is added in one run and deleted in a later one; some files get
a byte-only change (a newline) in a last run. Whatever the split, the warehouse ends with the same
rows, in every derived table, as one run of the final posts into a new warehouse. History is left
out of the comparison, as the analysts' guide says (:data:`HISTORY_TABLES`, :data:`HISTORY_COLUMNS`,
the rows of deleted articles, the days' new/updated/deleted counts).

Derandomized and with a bounded number of examples: about a minute.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from news_etl import pipeline
from news_etl.settings import Settings

#: Tables of history: what happened, not what the live posts say.
HISTORY_TABLES = {
    "article_versions",
    "etl_runs",
    "rejects",
    "quality_results",
    "source_files",
    "source_state",
    "schema_migrations",
}
#: Columns of history in derived tables.
HISTORY_COLUMNS = {"version", "run_id", "new_articles", "updated_articles", "deleted_articles", "visible_hash"}
_AT = re.compile(r".*_at$")

HOSTILE_NAME = "2022-05-30-202205309999999999.md"
_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "posts"


def hostile_post() -> str:
    """Links naming pieces of 中国平安, 人民币汇率, 北向资金 and 回购操作, standing alone (so that they pass
    the name rules while the post lives), on a copy of a real report published earlier than it (so
    that it becomes the first post, and the id, of that report's story while it lives)."""
    real = (_CORPUS / "2022-05-30-NW202205302396506117.md").read_text(encoding="utf-8")
    body = real.split("---\n", 2)[2].split("\n\n<http", 1)[0]
    return (
        '---\nlayout: post\ntitle: "央行研究局课题组：促进消费投资增长 实现经济平稳高质量运行"\n'
        "date: 2022-05-30 08:00:00 +0800\ncategories: emnews\ntags: 东财滚动新闻\n---\n"
        f"{body}\n"
        '<p>关注：<a class="keytip" data-code="1,601318">国平</a>，<a class="keytip" data-code="90,BK0001">币汇</a>，'
        '<a class="keytip" data-code="90,BK0002">向资</a>，<a class="keytip" data-code="90,BK0003">回购操</a>。</p>\n'
    )


def live_tables(path: Path) -> dict[str, list[tuple]]:
    """Every derived table of the warehouse at ``path``: its rows of live articles, without history."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary ORDER BY 1"
            ).fetchall()
            if t not in HISTORY_TABLES
        ]
        out = {}
        for table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
                ).fetchall()
                if c not in HISTORY_COLUMNS and not _AT.fullmatch(c)
            ]
            where = []
            if "post_id" in columns:
                where.append("post_id IN (SELECT post_id FROM articles WHERE deleted_at IS NULL)")
            if "post_a" in columns:
                where.append("post_a IN (SELECT post_id FROM articles WHERE deleted_at IS NULL)")
                where.append("post_b IN (SELECT post_id FROM articles WHERE deleted_at IS NULL)")
            if table == "daily_metrics":
                where.append("articles > 0")  # a day's outlet with deleted articles only: history
            sql = f"SELECT {', '.join(columns)} FROM {table}"  # names from the catalog of our own file
            if where:
                sql += " WHERE " + " AND ".join(where)
            out[table] = sorted(con.execute(sql).fetchall(), key=repr)
        return out
    finally:
        con.close()


def run(source: Path, base: Path, batch_size: int = 2000, workers: int = 1) -> Settings:
    settings = Settings().with_(
        source=str(source),
        warehouse=base / "w.duckdb",
        published=base / "published" / "w.duckdb",
        staging=base / "s",
        workers=workers,
        batch_size=batch_size,
    )
    pipeline.run_all(settings)
    return settings


def differences(got: dict, want: dict) -> dict[str, tuple[int, int]]:
    """table → (rows only in got, rows only in want), for the tables that differ."""
    out = {}
    for table in sorted(set(got) | set(want)):
        a, b = set(map(repr, got.get(table, []))), set(map(repr, want.get(table, [])))
        if a != b:
            out[table] = (len(a - b), len(b - a))
    return out


@st.composite
def histories(draw, names: list[str]):
    order = draw(st.permutations(names))
    runs = draw(st.integers(2, 3))
    cuts = sorted(draw(st.lists(st.integers(1, len(order) - 1), min_size=runs - 1, max_size=runs - 1, unique=True)))
    parts = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    added = draw(st.integers(0, len(parts) - 1))
    deleted = draw(st.integers(added + 1, len(parts)))  # == len(parts): in a run of its own
    touched = draw(st.lists(st.sampled_from(names), max_size=8, unique=True))
    batch = draw(st.sampled_from([25, 2000]))
    workers = draw(st.sampled_from([1, 2]))
    return parts, added, deleted, touched, batch, workers


_NAMES = sorted(p.name for p in _CORPUS.glob("*.md"))


@pytest.mark.slow
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(_NAMES))
def test_any_history_of_the_same_posts_gives_the_same_warehouse(history, corpus_dir, tmp_path_factory):
    parts, added, deleted, touched, batch, workers = history
    base = tmp_path_factory.mktemp("history")
    source = base / "posts"
    source.mkdir()
    hostile = source / HOSTILE_NAME
    for i, part in enumerate([*parts, []]):
        if i == added:
            hostile.write_text(hostile_post(), encoding="utf-8")
        if i == deleted:
            hostile.unlink()
        if i == len(parts):
            if not touched and i > deleted:
                break
            for name in touched:  # a byte-only change: no field an analyst sees
                (source / name).write_bytes((corpus_dir / name).read_bytes() + b"\n")
        for name in part:
            shutil.copy(corpus_dir / name, source / name)
        settings_ = run(source, base / "w", batch, workers)
    once = run(source, base / "once")
    got, want = live_tables(settings_.warehouse), live_tables(once.warehouse)
    assert want["article_keywords"] and want["keyword_names"] and want["article_securities"]
    assert differences(got, want) == {}, (parts, added, deleted, touched, batch, workers)


def test_the_hostile_post_changes_keywords_while_it_lives(corpus_dir, tmp_path):
    """The property above is not empty: while the hostile post lives, its names count."""
    source = tmp_path / "posts"
    source.mkdir()
    for name in _NAMES:
        shutil.copy(corpus_dir / name, source / name)
    (source / HOSTILE_NAME).write_text(hostile_post(), encoding="utf-8")
    settings_ = run(source, tmp_path / "w")
    con = duckdb.connect(str(settings_.warehouse), read_only=True)
    try:
        names = {n for (n,) in con.execute("SELECT name FROM keyword_names").fetchall()}
    finally:
        con.close()
    assert {"国平", "币汇", "向资", "回购操"} <= names
    story = dict(rows_of(settings_.warehouse, "SELECT post_id, story_id FROM articles"))
    assert story["202205302396506117"] == story["NW202205302396506117"] == "202205309999999999"
    (source / HOSTILE_NAME).unlink()
    settings_ = run(source, tmp_path / "w")
    con = duckdb.connect(str(settings_.warehouse), read_only=True)
    try:
        names = {n for (n,) in con.execute("SELECT name FROM keyword_names").fetchall()}
        supported = con.execute("SELECT count(*) FROM article_names WHERE name = '国平'").fetchone()[0]
    finally:
        con.close()
    assert not {"国平", "币汇", "向资", "回购操"} & names and supported == 1  # provenance kept, not counted
    story = dict(rows_of(settings_.warehouse, "SELECT post_id, story_id FROM articles WHERE deleted_at IS NULL"))
    assert story["202205302396506117"] == story["NW202205302396506117"] == "202205302396506117"


def rows_of(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_analysts_guide_lists_what_is_history():
    """The guide states the contract and names every table and column the property leaves out."""
    guide = (Path(__file__).resolve().parents[1] / "docs" / "analysts" / "meaning.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Same posts, same warehouse") :]
    for name in sorted(HISTORY_TABLES - {"schema_migrations"} | HISTORY_COLUMNS):
        assert f"`{name}`" in section, name
    assert "`*_at`" in section and "deleted_at IS NULL" in section


@pytest.mark.slow
def test_rebuild_meaning_brings_an_older_warehouse_to_the_live_posts(corpus_dir, tmp_path):
    """A warehouse as the code before migration 020 left it (keywords from a dictionary that grew
    with each load, fragments of a deleted post among its names, no provenance): ``news-etl
    rebuild-meaning`` derives the same rows as one run of the live posts."""
    source = tmp_path / "posts"
    source.mkdir()
    for name in _NAMES:
        shutil.copy(corpus_dir / name, source / name)
    fresh = run(source, tmp_path / "fresh")
    settings_ = run(source, tmp_path / "old")
    con = duckdb.connect(str(settings_.warehouse))
    try:  # what the older code left: no provenance, split names, names no live post supports
        con.execute("DELETE FROM article_names; DELETE FROM article_names_used; DELETE FROM keyword_names")
        con.execute("INSERT INTO keyword_names VALUES ('国平', 1, false, NULL), ('币汇', 1, false, NULL)")
        con.execute("UPDATE article_keywords SET keyword = '消费' WHERE keyword = '消费电子'")
        con.execute("DELETE FROM keyword_daily WHERE keyword = '消费电子'")
        con.execute("UPDATE article_securities SET name = NULL WHERE keytips = 0")
        # and before migration 021: no written-out mentions, no flags
        con.execute("DELETE FROM article_securities WHERE keytips = 0 AND widgets = 0")
        con.execute("UPDATE article_securities SET mentions = 0, fragment = false, found = NULL, name_from = NULL")
    finally:
        con.close()
    assert differences(live_tables(settings_.warehouse), live_tables(fresh.warehouse))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "news_etl",
            "rebuild-meaning",
            "--warehouse",
            str(settings_.warehouse),
            "--published",
            str(settings_.published),
        ],
        check=True,
        capture_output=True,
    )
    assert differences(live_tables(settings_.warehouse), live_tables(fresh.warehouse)) == {}
    assert differences(live_tables(settings_.published), live_tables(fresh.warehouse)) == {}
