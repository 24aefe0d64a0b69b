"""The analysts' snapshot opens in real DuckDB 1.x clients; the SQL client, the dictionary, the export.

- A DuckDB 1.5 Python package in a virtualenv of its own (cached in .venv-duckdb1/, made on first use
  from the package registry) opens the snapshot and reads every table and view.
- ``make sql`` runs the official DuckDB CLI (duckdb-cli 1.5, pinned), on a pipe as in a terminal,
  in Asia/Shanghai.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SAMPLE, require

from news_etl import pipeline
from news_etl.analysts import reports
from news_etl.settings import Settings

#: The DuckDB 1.x release the test reads the snapshot with (the newest 1.x, like duckdb-cli's), and
#: pytz, which DuckDB 1.x's Python package needs to return TIMESTAMPTZ values.
DUCKDB1 = "duckdb==1.5.6"
PYTZ = next(line for line in (ROOT / "requirements.lock").read_text().splitlines() if line.startswith("pytz=="))
DUCKDB1_VENV = ROOT / ".venv-duckdb1"

READ_ALL = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    objects = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1").fetchall()]
    counts = {}
    for name in objects:
        counts[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        con.execute(f'SELECT * FROM "{name}" LIMIT 5').fetchall()
    comments = con.execute("SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL").fetchone()[0]
    print(json.dumps({"version": duckdb.__version__, "counts": counts, "comments": comments}))
""")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    base = tmp_path_factory.mktemp("clients")
    settings = Settings().with_(
        source=str(SAMPLE),
        warehouse=base / "w.duckdb",
        published=base / "published" / "warehouse.duckdb",
        staging=base / "s",
        workers=1,
    )
    assert pipeline.run_all(settings)["publish"]["how"] == "file copy"  # a new writer is made in v1.4 storage
    return settings


def duckdb1_python() -> Path:
    python = DUCKDB1_VENV / "bin" / "python"
    marker = DUCKDB1_VENV / f".{DUCKDB1}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(DUCKDB1_VENV)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", DUCKDB1, PYTZ], capture_output=True, text=True
        )
        require(DUCKDB1, done.returncode == 0, f"pip could not install it ({done.stderr.strip()[-300:]})")
        marker.touch()
    return python


@pytest.mark.slow
def test_a_duckdb_1x_client_reads_every_table_and_view_of_the_snapshot(snapshot):
    out = subprocess.run(
        [str(duckdb1_python()), "-c", READ_ALL, str(snapshot.published)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["version"].startswith("1.5")
    con = duckdb.connect(str(snapshot.warehouse), read_only=True)
    try:
        expected = {
            name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in seen["counts"]
        }  # the writer's own file, read by DuckDB 2.0
        comments = con.execute("SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL").fetchone()[0]
        objects = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() UNION ALL "
                "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'"
            ).fetchall()
        }
    finally:
        con.close()
    assert set(seen["counts"]) == objects  # every table and view, comments too
    assert seen["counts"] == expected and seen["counts"]["live_articles"] == 43
    assert {"live_articles", "calendar", "current_rejects", "article_securities", "story_links"} <= objects
    assert seen["comments"] == comments > 200


@pytest.mark.slow
def test_a_writer_made_in_duckdb_2_storage_is_published_table_by_table(tmp_path):
    """A writer's file made before writers were created in the 1.4 format (DuckDB 2.0's own): the
    snapshot is still one DuckDB 1.x reads, copied table by table; restore turns it into a 1.4 file."""
    settings = Settings().with_(
        source=str(SAMPLE), warehouse=tmp_path / "w.duckdb", published=tmp_path / "p.duckdb", staging=tmp_path / "s"
    )
    duckdb.connect(str(settings.warehouse)).close()  # an empty file in DuckDB 2.0's own format
    assert pipeline.run_all(settings.with_(workers=1))["publish"]["how"] == "table copy"
    out = subprocess.run(
        [str(duckdb1_python()), "-c", READ_ALL, str(settings.published)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counts"]["live_articles"] == 43
    from news_etl.warehouse.restore import restore

    settings.warehouse.unlink()
    restore(settings.published, settings.warehouse)
    assert pipeline.run_all(settings.with_(workers=1))["publish"]["how"] == "file copy"


def make_sql(snapshot, sql: str):
    env = dict(os.environ, NEWS_ETL_PUBLISHED=str(snapshot.published))
    env.pop("MAKEFLAGS", None)
    return subprocess.run(["make", "-s", "sql"], cwd=ROOT, env=env, input=sql, capture_output=True, text=True)


def test_make_sql_is_the_official_duckdb_cli_on_a_pipe_in_shanghai_time(snapshot):
    out = make_sql(
        snapshot,
        "SELECT 1 AS one; -- note\n"
        "SELECT version() AS v, current_setting('TimeZone') AS tz;\n"
        "SELECT count(*) AS live FROM live_articles;\n"
        ".schema daily_metrics\n",
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert "v1.5" in out.stdout and "Asia/Shanghai" in out.stdout and "43" in out.stdout
    assert "CREATE TABLE daily_metrics" in out.stdout and 'PRIMARY KEY("day", outlet, category)' in out.stdout
    bad = make_sql(snapshot, "SELECT * FROM no_such_table;\n")
    assert bad.returncode != 0 and "no_such_table" in bad.stderr + bad.stdout
    # read-only: the client cannot change the snapshot
    write = make_sql(snapshot, "DELETE FROM articles;\n")
    assert write.returncode != 0 and "read-only" in (write.stderr + write.stdout).lower()


def test_the_dictionary_describes_every_table_and_view(snapshot):
    cli = Path(sys.executable).with_name("news-etl")
    out = subprocess.run(
        [str(cli), "dictionary", "--format", "json", "--warehouse", str(snapshot.published)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    objects = {o["name"]: o for o in json.loads(out.stdout)}
    assert {"articles", "live_articles", "calendar", "current_rejects", "security_daily"} <= set(objects)
    assert all(c["comment"] for o in objects.values() for c in o["columns"])
    sec = objects["article_securities"]
    assert sec["grain"] == "one row per post_id × market × code"
    assert "post_id → articles.post_id" in sec["joins"] and "market → markets.market" in sec["joins"]
    assert sec["reports"] == ["top_securities"]
    assert "same_story" in objects["story_links"]["reports"]
    assert objects["live_articles"]["kind"] == "view" and objects["story_signatures"]["internal"]
    text = subprocess.run(
        [str(cli), "dictionary", "--warehouse", str(snapshot.published)], capture_output=True, text=True
    ).stdout
    assert "## live_articles (view)" in text and "| published_hour | INTEGER |" in text


def test_export_parquet_with_a_manifest(snapshot, tmp_path):
    cli = Path(sys.executable).with_name("news-etl")
    out = subprocess.run(
        [str(cli), "export", "--parquet", str(tmp_path / "bi"), "--warehouse", str(snapshot.published)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "bi" / "manifest.json").read_text(encoding="utf-8"))
    files = {f["table"]: f for f in manifest["files"]}
    assert "story_signatures" not in files and "rejects" not in files and "source_files" not in files
    assert files["live_articles"]["rows"] == 43 == pq.read_table(tmp_path / "bi" / "live_articles.parquet").num_rows
    for f in manifest["files"]:
        assert pq.read_metadata(tmp_path / "bi" / f["file"]).num_rows == f["rows"]
    assert [c["name"] for c in files["article_securities"]["columns"]][:5] == [
        "post_id",
        "market",
        "code",
        "name",
        "kind",
    ]


def test_csv_with_a_bom_for_excel(snapshot, tmp_path):
    con = reports.open_warehouse(snapshot.published)
    try:
        table = reports.run_report(con, "daily_volume", {})
    finally:
        con.close()
    reports.write_report(table, "csv", tmp_path / "v.csv", bom=True)
    data = (tmp_path / "v.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "东财滚动新闻".encode() in data
    reports.write_report(table, "csv", tmp_path / "plain.csv")
    assert (tmp_path / "plain.csv").read_bytes() == data[3:]
    with pytest.raises(reports.ReportError, match="csv"):
        reports.write_report(table, "json", tmp_path / "v.json", bom=True)


class Terminal:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def isatty(self) -> bool:
        return True


def test_terminal_output_escapes_control_and_bidi_characters(tmp_path):
    import pyarrow as pa

    hostile = "标题\x1b[31m红\x07\u202eabc\u2066x\u2069\r\n\x9b2J\\end"
    table = pa.table({"title": [hostile], "ok": ["中文 text"]})
    shown = reports.format_table(table)
    assert not any(ch in shown for ch in "\x1b\x07\u202e\u2066\u2069\r\x9b")
    assert "标题\\x1b[31m红\\x07\\u202eabc\\u2066x\\u2069\\r\\n\\x9b2J\\\\end" in shown and "中文 text" in shown
    for fmt in ("csv", "json"):
        term = Terminal()
        reports.write_report(table, fmt, stream=term)
        assert not any(ch in term.text for ch in "\x1b\x07\u202e\u2066\u2069\x9b"), fmt
    reports.write_report(table, "csv", tmp_path / "raw.csv")  # a file keeps the value as it is
    assert "\u202e" in (tmp_path / "raw.csv").read_text(encoding="utf-8")


def test_summary_and_corpus_report_escape_what_posts_hide(tmp_path):
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "2022-05-30-202205300000000001.md").write_text(
        '---\ntitle: "t"\ndate: 2022-05-30 09:00:00\ncategories: zzz\ntags: "x\\e[2J\\u202e新闻"\n---\n正文。\n',
        encoding="utf-8",
    )
    (posts / "2022-05-30-202205300000000002.md").write_text(
        '---\ntitle: "t2"\ndate: "2026-13-45 \\e]0;owned\\a"\n---\n正文。\n', encoding="utf-8"
    )
    cli = Path(sys.executable).with_name("news-etl")
    out = subprocess.run([str(cli), "corpus-report", str(posts)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not any(ch in out.stdout for ch in "\x1b\x07\u202e")
    # the outlet (from the tag) as a reader sees it: the transform stores plain text (clean.plain_text)
    assert "x[2J" in out.stdout
    settings = Settings().with_(
        source=str(posts), warehouse=tmp_path / "w.duckdb", published=tmp_path / "p.duckdb", staging=tmp_path / "s"
    )
    pipeline.run_all(settings)
    summary = subprocess.run(
        [str(cli), "summary", "--warehouse", str(settings.published)], capture_output=True, text=True
    )
    assert summary.returncode == 0, summary.stderr
    assert not any(ch in summary.stdout for ch in "\x1b\x07\u202e")
    assert "x[2J" in summary.stdout
    # and whatever still holds such characters (a warehouse written by an older version, a value
    # typed by hand) is escaped on the way to a terminal, never sent raw
    from news_etl.text import printable

    assert printable("x\x1b[2J\u202e\x07") == "x\\x1b[2J\\u202e\\x07"
