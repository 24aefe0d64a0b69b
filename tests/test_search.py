"""Full-text search in plain SQL (sql/migrations/040_search.sql): ``search(q)`` on the snapshot.

- On the real corpus, for a dozen company, market and policy words (and words together), it
  returns exactly the live posts whose title or text contains every word as written: the same
  set as a brute-force ``contains`` over every text; from DuckDB 2.0 and from 1.5 and 1.4 clients.
- It reads the index: the plan reads only the texts of the posts the index found.
- The load keeps the index for the posts it writes or deletes (and only those); the index
  after any sequence of runs is the one a fresh build of the live posts gives.
- ``news-etl search`` prints it, escaped for the terminal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, SAMPLE, require, settings_in

from news_etl import pipeline
from news_etl.settings import Settings

#: Company, market and policy words of the corpus (and a one-character word, and words together).
WORDS = [
    "央行",
    "证券",
    "人民币",
    "银行",
    "利率",
    "北向资金",
    "锂电池",
    "新能源",
    "降准",
    "监管",
    "茅台",
    "A股",
    "美元",
    "消费电子",
    "宁德时代",
    "涨",
    "央行 利率",
    "人民币 美元 汇率",
]


def brute_force(con, q: str) -> list[str]:
    words = q.split()
    where = " AND ".join(["(contains(title, ?) OR contains(body_text, ?))"] * len(words))
    params = [w for w in words for _ in (0, 1)]
    return sorted(
        r[0]
        for r in con.execute(f"SELECT post_id FROM articles WHERE deleted_at IS NULL AND {where}", params).fetchall()
    )


def found(con, q: str) -> list[str]:
    return sorted(r[0] for r in con.execute("SELECT post_id FROM search(?)", [q]).fetchall())


def build(base: Path, source) -> Settings:
    settings = settings_in(base, source)
    pipeline.run_all(settings)
    return settings


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, corpus_dir):
    return build(tmp_path_factory.mktemp("search-corpus"), corpus_dir)


def test_search_equals_a_brute_force_contains_on_the_corpus(corpus):
    con = duckdb.connect(str(corpus.published), read_only=True)
    try:
        hits = {}
        for q in WORDS:
            expected = brute_force(con, q)
            assert found(con, q) == expected, q
            hits[q] = len(expected)
        # the words are not all absent: recall is tested on real matches
        assert sum(1 for n in hits.values() if n > 0) >= 14, hits
        assert hits["涨"] > hits["央行"] > 0
    finally:
        con.close()


def test_ranking_snippet_and_columns(corpus):
    con = duckdb.connect(str(corpus.published), read_only=True)
    try:
        rel = con.execute("SELECT * FROM search('央行 利率')")
        names = [d[0] for d in rel.description]
        rows = rel.fetchall()
        assert names == ["post_id", "story_id", "title", "published_at", "score", "snippet"]
        scores = [r[4] for r in rows]
        assert scores == sorted(scores, reverse=True) and len(rows) >= 2
        # a post with both words in its title ranks above one with them in its text only
        assert "央行" in rows[0][2] and "利率" in rows[0][2]
        for post_id, story_id, _, _, score, snippet in rows:
            assert score > 0 and story_id
            text = con.execute("SELECT body_text FROM articles WHERE post_id = ?", [post_id]).fetchone()[0]
            text = text.replace("\n", " ")
            first = min((i for i in (text.find("央行"), text.find("利率")) if i >= 0), default=0)
            at = text.find(snippet.strip("…"))
            assert 0 <= at <= first < at + 60, snippet  # around the first match in the text
        # top := N: the first N rows of the same answer
        for q in ("涨", "央行 利率", "人民币 美元 汇率"):
            every = con.execute("SELECT * FROM search(?)", [q]).fetchall()
            assert con.execute("SELECT * FROM search(?, top := 3)", [q]).fetchall() == every[:3], q
        assert con.execute("SELECT count(*) FROM search('')").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM search('   ')").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM search('没有这个词语')").fetchone()[0] == 0
    finally:
        con.close()


def test_search_reads_the_index_not_every_text(corpus):
    """The plan joins the index to the texts: the articles scan gets the index's posts as a filter
    and returns only those, not the 115 live posts."""
    con = duckdb.connect(str(corpus.published), read_only=True)
    try:
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute("PRAGMA profiling_output = ?", [str(corpus.published.parent / "profile.json")])
        n = len(con.execute("SELECT * FROM search('北向资金')").fetchall())
        con.execute("PRAGMA disable_profiling")
        profile = json.loads((corpus.published.parent / "profile.json").read_text())
    finally:
        con.close()
    scans: dict[str, int] = {}

    def walk(node):
        info = node.get("extra_info") or {}
        if node.get("type") == "TABLE_SCAN":
            table = str(info.get("Table", "")).split(".")[-1]
            if table == "articles" and "body_text" in str(info.get("Projections", "")):
                table = "articles' texts"
            scans[table] = scans.get(table, 0) + int(node.get("operator_cardinality", node.get("intermediate_rows", 0)))
        for child in node.get("children", []):
            walk(child)

    for op in profile.get("operator", profile.get("children", [])) if isinstance(profile, dict) else []:
        walk(op)
    assert n == 2
    con = duckdb.connect(str(corpus.published), read_only=True)
    index_rows, live = con.execute(
        "SELECT (SELECT count(*) FROM search_grams), (SELECT count(*) FROM articles WHERE deleted_at IS NULL)"
    ).fetchone()
    con.close()
    assert 0 < scans["search_grams"] < index_rows / 5, scans  # the index by gram (zone maps), not all of it
    assert 0 < scans["articles' texts"] <= 2 * n < live, scans  # the texts of the posts found, not the 115


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_the_load_keeps_the_index_for_the_posts_it_changes(tmp_path):
    source = tmp_path / "posts"
    shutil.copytree(SAMPLE, source)
    settings = build(tmp_path, source)
    con = duckdb.connect(str(settings.published), read_only=True)
    some = con.execute(
        "SELECT post_id, path, title FROM articles WHERE deleted_at IS NULL ORDER BY post_id LIMIT 3"
    ).fetchall()
    con.close()
    (changed_id, changed_path, changed_title), (gone_id, gone_path, _), _ = some
    _edit(source / Path(changed_path).name, changed_title, changed_title + " 量子蜂鸟")
    (source / Path(gone_path).name).unlink()
    (source / "2026-11-26-202611262414000001.md").write_text(
        '---\nlayout: post\ntitle: "临澜港集装箱航线再添两条"\ndate: 2026-11-26 09:00:00\n'
        "categories: emnews\ntags: 东财滚动新闻\n---\n临澜港今日新开两条集装箱航线，港口吞吐量有望继续增长。\n",
        encoding="utf-8",
    )
    pipeline.run_all(settings)
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        assert found(con, "量子蜂鸟") == [changed_id]
        assert found(con, "集装箱航线") == ["202611262414000001"]
        assert gone_id not in {r[0] for r in con.execute("SELECT DISTINCT post_id FROM search_grams").fetchall()}
        for q in ("银行", "利率 银行", "港", changed_title.split()[0]):
            assert found(con, q) == brute_force(con, q), q
        # the index after the runs is the one a fresh build of the live posts gives
        kept = con.execute("SELECT gram, post_id, in_title, in_body FROM search_grams ORDER BY ALL").fetchall()
        con.execute(
            "CREATE TEMP VIEW live_texts AS SELECT post_id, title, body_text FROM articles WHERE deleted_at IS NULL"
        )
        fresh = con.execute(
            "SELECT gram, post_id, in_title, in_body FROM search_index_grams('live_texts') ORDER BY ALL"
        ).fetchall()
        assert kept == fresh
        docs = con.execute("SELECT * FROM search_docs ORDER BY ALL").fetchall()
        assert docs == con.execute("SELECT * FROM search_index_docs('articles') ORDER BY ALL").fetchall()
    finally:
        con.close()


CLIENT = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {q: sorted(r[0] for r in con.execute("SELECT post_id FROM search(?)", [q]).fetchall()) for q in sys.argv[2:]}
    top = [r[0] for r in con.execute("SELECT post_id FROM search('涨', top := 3)").fetchall()]
    print(json.dumps({"version": duckdb.__version__, "found": out, "top": top}))
""")


def duckdb_python(version: str) -> Path:
    """A virtualenv of its own with DuckDB ``version`` (and pytz, which 1.x needs for TIMESTAMPTZ)."""
    venv = ROOT / f".venv-duckdb-{version}"
    python = venv / "bin" / "python"
    marker = venv / f".duckdb=={version}"
    if not marker.exists():
        pytz = next(line for line in (ROOT / "requirements.lock").read_text().splitlines() if line.startswith("pytz=="))
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"duckdb=={version}", pytz], capture_output=True, text=True
        )
        require(f"duckdb=={version}", done.returncode == 0, f"pip could not install it ({done.stderr.strip()[-300:]})")
        marker.touch()
    return python


@pytest.mark.slow
@pytest.mark.parametrize("version", ["1.5.6", "1.4.5"])
def test_duckdb_1x_clients_search_the_snapshot(corpus, version):
    out = subprocess.run(
        [str(duckdb_python(version)), "-c", CLIENT, str(corpus.published), *WORDS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["version"] == version
    con = duckdb.connect(str(corpus.published), read_only=True)
    try:
        assert seen["found"] == {q: brute_force(con, q) for q in WORDS}
        assert seen["top"] == [r[0] for r in con.execute("SELECT post_id FROM search('涨')").fetchall()][:3]
    finally:
        con.close()


def test_the_cli_prints_the_matches_escaped(corpus, tmp_path):
    out = subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), "search", "央行 利率", "--warehouse", str(corpus.published)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "post_id" in out.stdout and "snippet" in out.stdout and "(2 rows)" in out.stdout
    assert "印度央行将关键利率维持在4.00%不变" in out.stdout
    one = subprocess.run(
        [
            str(Path(sys.executable).with_name("news-etl")),
            "search",
            "涨",
            "--limit",
            "1",
            "--warehouse",
            str(corpus.published),
        ],
        capture_output=True,
        text=True,
    )
    assert one.returncode == 0 and "(1 row)" in one.stdout and "more posts match: the best 1 shown" in one.stdout
    none = subprocess.run(
        [
            str(Path(sys.executable).with_name("news-etl")),
            "search",
            "没有这个词语",
            "--warehouse",
            str(corpus.published),
        ],
        capture_output=True,
        text=True,
    )
    assert none.returncode == 0 and "no live post contains" in none.stdout


def test_the_warehouse_page_searches_escaped(corpus):
    sys.path.insert(0, str(ROOT / "plugins"))
    import warehouse_page as page

    summary = page.read_summary(corpus.published)
    found = page.search_snapshot("央行 利率", corpus.published)
    assert not found["more"] and [r["post_id"] for r in found["rows"]] == found_ids(corpus, "央行 利率")
    html = page.render(summary, found=found)
    assert 'data-testid="search-form"' in html and 'value="央行 利率"' in html
    assert "印度央行将关键利率维持在4.00%不变" in html and 'data-testid="search-total">2 posts match' in html
    hostile = page.search_snapshot('<img src=x onerror=alert(1)> "x', corpus.published)
    html = page.render(summary, found=hostile)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; &#34;x" in html
    assert "No live post contains every word" in html
    made_up = {
        **page.NO_SEARCH,
        "q": "x",
        "more": True,
        "rows": [
            {
                "post_id": "p<1>",
                "story_id": "s",
                "title": "<script>alert(1)</script>",
                "published_at": None,
                "score": 1.0,
                "snippet": "a & <b>b</b>",
            }
        ],
    }
    html = page.render(summary, found=made_up)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html and "a &amp; &lt;b&gt;b&lt;/b&gt;" in html
    assert "More posts match: the best 1 shown" in html
    assert page.search_snapshot("   ", corpus.published) == {**page.NO_SEARCH, "q": "   "}  # nothing run
    common = page.search_snapshot("涨", corpus.published)  # 19 posts: the best 20 would be all
    assert not common["more"] and len(common["rows"]) == 19
    assert len(page.search_snapshot("银" * 500, corpus.published)["q"]) == page.MAX_QUERY  # bounded


def found_ids(settings, q: str) -> list[str]:
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT post_id FROM search(?)", [q]).fetchall()]
    finally:
        con.close()


def test_the_index_built_a_few_posts_at_a_time_is_the_same(tmp_path, monkeypatch, caplog):
    """The load indexes its posts a chunk of characters at a time (one statement for a first
    load's 100,000 posts grouped and sorted 87 million rows, past DuckDB's 512 MB): the same rows
    whatever the chunk, only their order on disk differs."""
    import logging

    from news_etl.warehouse import search_index

    whole = settings_in(tmp_path / "whole", SAMPLE)
    pipeline.run_all(whole)
    monkeypatch.setattr(search_index, "CHUNK_CHARS", 300)  # 43 articles: a few posts a statement
    monkeypatch.setattr(search_index, "SORTED_CHUNKS", 3)  # and their rows sorted three chunks at a time
    chunked = settings_in(tmp_path / "chunked", SAMPLE)
    caplog.clear()  # (the first build's line, when another test left the logger at INFO)
    with caplog.at_level(logging.INFO, logger="news_etl.warehouse.search_index"):
        pipeline.run_all(chunked)
    (said,) = [r.getMessage() for r in caplog.records if "re-indexed" in r.getMessage()]
    assert 5 <= int(said.split(" in ")[1].split()[0]) < 43, said
    for table in ("search_grams", "search_docs"):
        sql = f"SELECT * FROM {table} ORDER BY ALL"
        with (
            duckdb.connect(str(whole.warehouse), read_only=True) as a,
            duckdb.connect(str(chunked.warehouse), read_only=True) as b,
        ):
            got, want = b.execute(sql).fetchall(), a.execute(sql).fetchall()
        assert got == want and len(got) >= 43, table


def _index_and_fresh_build(path: Path) -> tuple[list, list]:
    """(the index of the warehouse at ``path``, the one a fresh build of its live posts gives)."""
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(
            "CREATE TEMP VIEW live_texts AS SELECT post_id, title, body_text FROM articles WHERE deleted_at IS NULL"
        )
        return (
            con.execute("SELECT * FROM search_grams ORDER BY ALL").fetchall()
            + con.execute("SELECT * FROM search_docs ORDER BY ALL").fetchall(),
            con.execute("SELECT * FROM search_index_grams('live_texts') ORDER BY ALL").fetchall()
            + con.execute("SELECT * FROM search_index_docs('articles') ORDER BY ALL").fetchall(),
        )


@pytest.mark.parametrize("in_place", [True, False])
def test_an_edit_replaces_only_the_index_rows_it_changes(tmp_path, monkeypatch, caplog, in_place):
    """Deleting every row of 98 edited posts on 100,000 marked most of the index's vectors (500 MB
    of DuckDB's memory until the commit, a retried load every day). An edit or a deletion now
    replaces the rows whose counts differ; past a chunk of characters, all the posts' rows are
    deleted and indexed again. Either way, the index a fresh build gives."""
    import logging

    from news_etl.warehouse import search_index

    source = tmp_path / "posts"
    shutil.copytree(SAMPLE, source)
    settings = settings_in(tmp_path, source)
    pipeline.run_all(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        paths = [Path(p).name for (p,) in con.execute("SELECT path FROM articles ORDER BY post_id LIMIT 4").fetchall()]
    for name in paths[:3]:
        _edit(source / name, "。", "，量子蜂鸟。")
    (source / paths[3]).unlink()
    if not in_place:
        monkeypatch.setattr(search_index, "CHUNK_CHARS", 100)  # the edited posts' texts are longer
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="news_etl.warehouse.search_index"):
        pipeline.run_all(settings)
    (said,) = [r.getMessage() for r in caplog.records if "re-indexed" in r.getMessage()]
    assert f"({4 if in_place else 0} of them edited or gone, in place)" in said, said
    index, fresh = _index_and_fresh_build(settings.warehouse)
    assert index == fresh
    assert len(found_ids(settings, "量子蜂鸟")) == 3
