"""The benchmark runs end to end on a small synthetic site, so it cannot rot. It prints figures; it asserts none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_small_bench_prints_its_table(tmp_path):
    env = dict(os.environ)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.bench",
            "--posts",
            "1500",
            "--repeat",
            "1",
            "--days",
            "0",  # the daily runs: the next test
            "--json",
            str(tmp_path / "bench.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    # every figure line has its four columns: measure, figure, what it is compared with, target
    assert "| measure | figure | compared with | target |" in out.stdout, out.stdout
    for line in (
        "| cleaner / bare parse | ",
        "| keywords' share of the transform, 1 core | ",
        "| load: MERGE from Parquet on post_id into one `articles` table, like for like (",
        "| load: the same rows again, half edited",
        "| load: row-by-row INSERT OR REPLACE",
        "| load: whole load (all tables)",
        "| end to end `news-etl run`, 1,500 posts | ",
        "| peak RSS, 1,500 posts | ",
        "| publish on 1,500 posts | ",
        "| no-change run on 1,500 posts | ",
        "| load of a first run, 1,500 posts | ",
        "| whole transform, 1 core (µs a post) | ",
        "| garbage collector's share of the transform, 1 core | ",
        "| search(q) on 1,500 posts | ",
    ):
        rows = [row for row in out.stdout.splitlines() if row.startswith(line)]
        assert len(rows) == 1, (line, out.stdout)
        assert rows[0].count(" | ") == 3, rows[0]
    for target in (
        "≥60%: ",
        "≤20%: ",
        "≥1.5× dlt: ",
        "ours ≥10×: ",
        "≥1,500 posts/s: ",
        "<1.5 s: ",
        "<2 GiB: ",
        "≤800 µs: ",
        "<5%: ",
        "≤15 s: ",
        "<100 ms: ",
    ):
        assert target in out.stdout, (target, out.stdout)
    # the per-post breakdown, stage by stage
    assert "| stage | µs/post | share |" in out.stdout, out.stdout
    for stage in (
        "read and hash",
        "YAML front matter",
        "parse (bare BeautifulSoup lxml)",
        "tree walk",
        "metrics",
        "keywords",
        "stories signature and securities",
        "Parquet",
        "validation",
        "load (end to end, 1,500 posts)",
        "publish (end to end, 1,500 posts)",
        "total",
    ):
        assert f"| {stage}" in out.stdout, (stage, out.stdout)
    figures = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert "keywords" in figures["breakdown"]["table_us_per_post"]
    assert {"ours_rows_s", "ours_pass2_rows_s", "row_by_row_rows_s", "whole_rows_s"} <= figures["load"].keys()
    assert figures["varied"] == 0.15 and figures["e2e"][0]["nochange_cpu_s"] > 0


def test_small_bench_with_a_big_site_prints_the_daily_run_and_the_file_against_a_compacted_copy(tmp_path):
    """--big runs the daily runs (300 new and 100 edited posts, --days of them) on the second site and
    measures the writer's file against a compacted copy of itself."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.bench",
            "--posts",
            "300",
            "--big",
            "400",
            "--days",
            "2",
            "--repeat",
            "1",
            "--json",
            str(tmp_path / "bench.json"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in (
        "| daily run: 300 new and 100 edited posts on 400 (median of 2) | ",
        "| publish's share of the daily run on 400 | ",
        "| writer's file after 2 daily run(s) on 400, against a compacted copy | ",
    ):
        rows = [row for row in out.stdout.splitlines() if row.startswith(line)]
        assert len(rows) == 1 and rows[0].count(" | ") == 3, (line, out.stdout)
    for target in ("<5 s: ", "<10%: ", "≤1.3× after 30 days: "):
        assert target in out.stdout, (target, out.stdout)
    big = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))["e2e"][1]
    assert len(big["days"]) == 2 and big["compacted_mib"] > 0 and big["file_ratio"] > 0.5


def test_huge_run_that_would_not_fit_is_refused_before_it_starts(tmp_path):
    """--huge checks the disk first: a site bigger than the disk is refused with a clear message."""
    out = subprocess.run(
        [sys.executable, "-m", "devtools.bench", "--posts", "20", "--huge", "10000000000"],
        capture_output=True,
        text=True,
        env=dict(os.environ, TMPDIR=str(tmp_path)),
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert "--huge 10,000,000,000" in out.stderr and "GiB free: not run" in out.stderr, out.stderr
    assert "| measure |" not in out.stdout


def test_synthetic_site_has_the_template_mix_and_broken_posts(tmp_path):
    from conftest import raw_post

    from devtools.synthetic import generate_site
    from news_etl.ingest.transform import transform_rows

    site = generate_site(tmp_path / "site", 400)
    files = sorted(site.iterdir())
    assert len(files) == 400
    articles, rejects = transform_rows(raw_post(f) for f in files)
    assert len(articles) + len(rejects) == 400
    assert 0 < len(rejects) < 20  # about 1% broken
    outlets = {a["outlet"] for a in articles}
    assert {"东财滚动新闻", "中国商报"} <= outlets
    assert any(a["digest"] for a in articles) and any(a["kline_images"] for a in articles)
    # the same seed gives the same site
    again = generate_site(tmp_path / "again", 400)
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in sorted(again.iterdir())]
