"""The benchmark runs end to end on a small synthetic site, so it cannot rot. It prints figures; it asserts none."""

from __future__ import annotations

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
            "--json",
            str(tmp_path / "bench.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in (
        "cleaner / bare parse",
        "load: MERGE from Parquet",
        "row-by-row INSERT",
        "end to end `news-etl run`, 1,500 posts",
        "no-change run on 1,500 posts",
        "100 changed posts on 1,500",
    ):
        assert line in out.stdout, out.stdout
    assert (tmp_path / "bench.json").exists()


def test_synthetic_site_has_the_template_mix_and_broken_posts(tmp_path):
    from conftest import raw_post

    from devtools.synthetic import generate_site
    from news_etl.transform import transform_rows

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
