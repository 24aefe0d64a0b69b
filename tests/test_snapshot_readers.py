"""An analyst holding the published snapshot open never stops a load, and never sees half a run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from conftest import SAMPLE
from warehouse_checks import scalar

from news_etl import pipeline
from news_etl.settings import Settings

READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def look():
        n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        k = con.execute("SELECT count(*) FROM article_keywords").fetchone()[0]
        print(n, k, flush=True)
    look()
    sys.stdin.readline()      # the load and the publish happen here, while the file is open
    look()
    con.close()
""")


def test_a_reader_of_the_snapshot_does_not_stop_a_load_and_keeps_its_view(tmp_path):
    source = tmp_path / "posts"
    shutil.copytree(SAMPLE, source)
    settings = Settings().with_(
        source=str(source),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "published" / "w.duckdb",
        staging=tmp_path / "s",
        workers=1,
        lock_timeout=5,
    )
    pipeline.run_all(settings)
    keywords_before = scalar(settings.published, "SELECT count(*) FROM article_keywords")

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split() == ["43", str(keywords_before)]
        (source / "2026-11-26-202611262414000001.md").write_text(
            '---\nlayout: post\ntitle: "临澜港集装箱航线再添两条"\ndate: 2026-11-26 09:00:00\n'
            "categories: emnews\ntags: 东财滚动新闻\n---\n临澜港今日新开两条集装箱航线，港口吞吐量有望继续增长。\n",
            encoding="utf-8",
        )
        result = pipeline.run_all(settings)  # load and publish with the reader still open
        assert result["load"]["new"] == 1
        assert scalar(settings.published, "SELECT count(*) FROM articles") == 44
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == ["43", str(keywords_before)]  # the old snapshot, whole
        assert reader.wait(timeout=60) == 0, reader.stderr.read()
    finally:
        if reader.poll() is None:
            reader.kill()
    assert scalar(settings.published, "SELECT count(*) FROM article_keywords") > keywords_before
    assert scalar(settings.published, "SELECT status FROM etl_runs ORDER BY loaded_at DESC LIMIT 1") == "published"
