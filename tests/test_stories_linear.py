"""Stories in linear cost: identical texts collapse to one representative and link as a star."""

from __future__ import annotations

import time

import duckdb
import numpy as np
import pytest

from news_etl import pipeline
from news_etl.meaning import stories
from news_etl.settings import Settings

IDENTICAL = 1500


def post(i: int, body: str = "本文已删除") -> str:
    minute, second = divmod(i, 60)
    return (
        '---\nlayout: post\ntitle: "本文已删除"\n'
        f"date: 2022-05-30 {10 + minute // 60:02d}:{minute % 60:02d}:{second:02d} +0800\n"
        f"categories: emnews\ntags: 东财滚动新闻\n---\n<p>{body}</p>\n"
    )


@pytest.mark.slow
def test_1500_identical_posts_make_one_story_of_at_most_1500_links(tmp_path):
    source = tmp_path / "posts"
    source.mkdir()
    for i in range(IDENTICAL):
        (source / f"2022-05-30-2022053099{i:08d}.md").write_text(post(i), encoding="utf-8")
    settings = Settings().with_(
        source=str(source),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "published" / "w.duckdb",
        staging=tmp_path / "s",
        workers=1,
    )
    started = time.monotonic()
    pipeline.run_all(settings)
    print(f"{IDENTICAL} identical posts: first run {time.monotonic() - started:.1f} s")
    (source / "2022-05-30-202205309999999999.md").write_text(post(IDENTICAL), encoding="utf-8")
    pipeline.run_all(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        links, stars = con.execute("SELECT count(*), count(DISTINCT least(post_a, post_b)) FROM story_links").fetchone()
        story_ids = con.execute("SELECT count(DISTINCT story_id), min(story_id) FROM articles").fetchone()
    finally:
        con.close()
    assert links <= IDENTICAL + 1  # a star: one link a copy (n(n-1)/2 = 1,125,750 as a clique)
    assert links == IDENTICAL and stars == 1  # every copy links to the earliest one
    assert story_ids == (1, "202205309900000000")


def test_a_bucket_is_read_for_a_bounded_number_of_posts():
    rng = np.random.default_rng(7)
    n = 1000
    sigs = rng.integers(0, 2**32, size=(n, stories.NUM_PERM), dtype=np.uint64).astype(np.uint32)
    sigs[:, :8] = 42  # every post shares the first band: one bucket of 1,000 different texts
    pairs = stories.candidates(sigs, np.ones(n, dtype=bool), np.zeros(n), 3 * 86400)
    assert len(pairs) <= n * stories.BUCKET_CAP
    assert all(j < stories.BUCKET_CAP + 1 for _, j in pairs)  # the smallest post ids (rows)
