"""The analysts' guide is true: its five questions return rows on the sample and on the real
corpus, every query of its pages runs, its pages stay short, and the clients page's pandas and
SQLAlchemy (duckdb-engine) code runs as written in a DuckDB 1.x client's environment.

Also the ``stories`` view (one row per story) and the words the views use.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, SAMPLE, require, settings_in

from news_etl import pipeline

GUIDE = ROOT / "docs" / "analysts.md"
PAGES = sorted((ROOT / "docs" / "analysts").glob("*.md"))
#: No page of the guide is longer than this (bytes): the guide is split by subject instead.
MAX_PAGE_BYTES = 15 * 1024


def sql_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sql\n(.*?)```", text, re.S)]


def five_questions() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Five questions", 1)[1].split("\n## ", 1)[0]
    return sql_blocks(section)


def build(base: Path, source) -> Path:
    settings = settings_in(base, source)
    pipeline.run_all(settings)
    return settings.published


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build(tmp_path_factory.mktemp("guide-sample"), SAMPLE)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, corpus_dir):
    return build(tmp_path_factory.mktemp("guide-corpus"), corpus_dir)


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_guide_opens_with_five_questions_and_no_page_is_long():
    text = GUIDE.read_text(encoding="utf-8")
    assert text.index("## Five questions") < text.index("## The reference")
    assert len(five_questions()) == 5
    for page in [GUIDE, *PAGES]:
        assert len(page.read_bytes()) <= MAX_PAGE_BYTES, page
        for sql in sql_blocks(page.read_text(encoding="utf-8")):
            assert "current_date" not in sql.lower(), (page, sql)  # the data's own last day
    assert {p.stem for p in PAGES} >= {"tables", "meaning", "search", "reports", "clients"}


@pytest.mark.parametrize("where", ["sample", "corpus"])
def test_each_of_the_five_questions_returns_rows(where, request):
    path = request.getfixturevalue(where)
    for sql in five_questions():
        assert query(path, sql), f"no rows on the {where}: {sql}"


def test_every_query_of_the_reference_pages_returns_rows_on_the_corpus(corpus):
    blocks = [(p.name, sql) for p in PAGES for sql in sql_blocks(p.read_text(encoding="utf-8"))]
    assert len(blocks) >= 5
    for name, sql in blocks:
        assert query(corpus, sql), f"{name}: no rows on the corpus: {sql}"


def test_stories_has_one_row_per_story_with_its_copies_merged(corpus):
    con = duckdb.connect(str(corpus), read_only=True)
    try:
        stories, distinct, copies = con.execute(
            "SELECT count(*), count(DISTINCT story_id), sum(copies) FROM stories"
        ).fetchone()
        live_stories, live = con.execute("SELECT count(DISTINCT story_id), count(*) FROM live_articles").fetchone()
        assert stories == distinct == live_stories and copies == live == 115
        # the dual copies of the 消费电子 story: two channels, one publisher, the earliest copy's title
        row = con.execute(
            "SELECT copies, channels, publishers, title, post_ids, securities, keywords FROM stories "
            "WHERE story_id = '202205312398034850'"
        ).fetchone()
        assert row[0] == 2 and row[1] == ["东财滚动新闻", "财联社"] and row[2] == ["财联社"]
        assert row[4] == ["202205312398034850", "NW202205312398034850"]
        first_title = con.execute(
            "SELECT title FROM live_articles WHERE story_id = '202205312398034850' AND first_copy"
        ).fetchone()[0]
        assert row[3] == first_title
        merged = con.execute(
            """SELECT DISTINCT market, code FROM article_securities s JOIN live_articles l USING (post_id)
               WHERE l.story_id = '202205312398034850' ORDER BY ALL"""
        ).fetchall()
        assert [(s["market"], s["code"]) for s in row[5]] == merged  # each once, sorted
        keywords = {
            k
            for (k,) in con.execute(
                """SELECT keyword FROM article_keywords k JOIN live_articles l USING (post_id)
                   WHERE l.story_id = '202205312398034850'"""
            ).fetchall()
        }
        assert sorted(row[6]) == sorted(keywords) and len(row[6]) == len(set(row[6]))
        # a story of one copy with no publisher: empty lists, not NULL
        assert (
            con.execute("SELECT count(*) FROM stories WHERE publishers IS NULL OR channels IS NULL").fetchone()[0] == 0
        )
        # the views say channel and published_day; keyword_trend keeps its older names beside
        trend = [d[0] for d in con.execute("SELECT * FROM keyword_trend LIMIT 0").description]
        assert {"channels", "channels_7d", "outlets", "outlets_7d"} <= set(trend)
        assert con.execute("SELECT count(*) FROM keyword_trend WHERE channels <> outlets").fetchone()[0] == 0
    finally:
        con.close()


#: The clients page's environment: what an analyst installs, apart from the project's virtualenv.
CLIENTS = ["duckdb==1.5.6", "pytz==2026.6", "duckdb-engine==0.17.0", "sqlalchemy==2.0.59", "pandas==3.1.1"]


def clients_python() -> Path:
    venv = ROOT / ".venv-duckdb-clients"
    python = venv / "bin" / "python"
    marker = venv / ".clients-1"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *CLIENTS], capture_output=True, text=True
        )
        require("duckdb-engine and pandas", done.returncode == 0, f"pip could not install them: {done.stderr[-300:]}")
        marker.touch()
    return python


CHECK_PANDAS = textwrap.dedent("""
    import json
    print(json.dumps({"duckdb": duckdb.__version__, "df": df.to_dict("list"),
                      "dtypes": {k: str(v) for k, v in df.dtypes.items()}, "hits": hits["post_id"].tolist(),
                      "tz": str(con.sql("SELECT published_at FROM live_articles LIMIT 1").df().published_at.dtype)},
                     ensure_ascii=False, default=str))
""")
CHECK_SQLALCHEMY = textwrap.dedent("""
    import json, duckdb_engine
    print(json.dumps({"engine": duckdb_engine.__version__, "rows": [list(r) for r in rows]}, ensure_ascii=False))
""")


@pytest.mark.slow
def test_the_clients_page_runs_in_pandas_and_sqlalchemy_through_duckdb_engine(sample):
    """Each of the page's two Python examples, as written, in its own process (one process cannot
    hold the same file open with two configurations)."""
    page = (ROOT / "docs" / "analysts" / "clients.md").read_text(encoding="utf-8")
    blocks = [
        b.replace("data/published/warehouse.duckdb", str(sample))
        for b in re.findall(r"```python\n(.*?)```", page, re.S)
    ]
    assert len(blocks) == 2

    def run(code: str) -> dict:
        out = subprocess.run([str(clients_python()), "-c", code], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    seen = run(blocks[0] + CHECK_PANDAS)
    assert seen["duckdb"] == "1.5.6"
    assert seen["dtypes"]["chars"] == "int64"  # cast: a HUGEINT sum would come as float64
    assert sum(seen["df"]["articles"]) == 43
    assert seen["tz"].endswith("Asia/Shanghai]")
    assert seen["hits"] == [r[0] for r in query(sample, "SELECT post_id FROM search('央行 利率')")]
    seen = run(blocks[1] + CHECK_SQLALCHEMY)
    assert seen["engine"] == "0.17.0"
    banks = query(sample, "SELECT title, score FROM search('银行') LIMIT 10")
    assert seen["rows"] == [list(r) for r in banks] and banks
