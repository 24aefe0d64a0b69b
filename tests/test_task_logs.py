"""Task logs an operator reads: one readable line per fact.

Fetch states the as-of time and the revision it read, and counts moves as moves; transform and load
count rejects by reason; load names the revision it wrote; validate logs its results, not Great
Expectations' ~200 lines of registration noise.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap

from reliability import ROOT, cli_env
from site_repo import SiteRepo

from news_etl import pipeline
from news_etl.settings import Settings


def messages(caplog, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


def test_fetch_transform_and_load_lines(tmp_path, caplog):
    repo = SiteRepo(tmp_path / "remote", when="2026-11-25T10:00:00+08:00")
    settings = Settings().with_(
        source=f"git+{repo.url}",
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "p.duckdb",
        staging=tmp_path / "staging",
        cache=tmp_path / "cache",
        workers=1,
    )
    first = repo.head()
    with caplog.at_level(logging.INFO, logger="news_etl"):
        pipeline.run_all(settings, pipeline.new_run("first", interval_end="2026-11-26T00:30:00+08:00"))
    (transform,) = messages(caplog, "transform raw/batch-00000.parquet")
    assert "5 rejects (1 bad YAML at line 3, 1 empty file, 1 no front matter, 1 no title, 1 unparseable" in transform
    assert f"fetch: revision {first} (a first load)" in messages(caplog, "fetch:")  # not "None"
    (load,) = messages(caplog, "load:")
    assert load.startswith(f"load: wrote revision {first} of git:")
    assert ": 43 new, 0 updated, 0 moved, 0 unchanged, 0 deleted, 0 revived, 5 rejects (1 bad YAML" in load

    # the three-day move of 10 posts, one deletion
    posts = [p for p in repo.posts() if p.startswith("_posts/2026-11-23")]
    for p in posts[:10]:
        repo.move(p, p.replace("_posts/", "old_post/"))
    repo.delete(posts[10])
    second = repo.commit("move and delete")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="news_etl"):
        pipeline.run_all(settings, pipeline.new_run("second"))
    fetch = messages(caplog, "fetch:")
    # one fact a line, each short; the time in site time beside UTC
    assert all(len(line) < 120 for line in fetch), fetch
    assert re.fullmatch(r"fetch: as of 20\d\d-\d\d-\d\d \d\d:\d\d Asia/Shanghai \(.*\d\d:\d\d UTC\) \(now\)", fetch[1])
    assert f"fetch: revision {second} (before: {first})" in fetch
    assert "fetch: 10 to load: 0 new or changed, 10 moved" in fetch and "fetch: 1 deleted" in fetch
    (load,) = messages(caplog, "load:")
    assert f"load: wrote revision {second}" in load and ": 0 new, 0 updated, 10 moved, 0 unchanged, 1 deleted," in load


def test_a_reject_reason_is_escaped_in_the_log():
    assert pipeline.by_reason({"unparseable date '\x1b[2J\u202e'": 2, "no body": 1}) == (
        " (2 unparseable date '\\x1b[2J\\u202e', 1 no body)"
    )


VALIDATE_CHILD = textwrap.dedent(r"""
    import logging, sys
    from pathlib import Path
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
    from news_etl import pipeline
    from news_etl.settings import Settings
    t = Path(sys.argv[1])
    s = Settings().with_(warehouse=t / "w.duckdb", published=t / "p.duckdb", staging=t / "staging", workers=1)
    run = pipeline.new_run()
    fetched = pipeline.fetch(s, run)
    transformed = pipeline.transform_all(fetched)
    print("=== validate", flush=True)
    pipeline.validate(fetched["staging"], transformed)
""")


def test_the_validate_log_is_one_line(tmp_path):
    """A fresh process (Great Expectations not imported yet), logging everything at INFO as an
    Airflow task does: the validate step logs its results and nothing else (it was 218 lines)."""
    out = subprocess.run(
        [sys.executable, "-c", VALIDATE_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.split("=== validate\n", 1)[1].splitlines()
    assert len(lines) == 1 and lines[0].startswith("news_etl.pipeline: validate: 18 expectation results"), lines
