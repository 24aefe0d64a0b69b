"""Stories in linear cost: identical texts collapse to one representative and link as a star."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import ROOT, settings_in

from news_etl import pipeline
from news_etl.meaning import stories

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
    settings = settings_in(tmp_path, source)
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


def _flash_and_reports(corpus_dir: Path) -> dict[str, str]:
    """File name → text: the 雷蒙多 flash (202112082206936037, 财联社), a longer report published later
    the same day holding all of it, and another quoting half of it."""
    flash = corpus_dir / "2021-12-08-202112082206936037.md"
    text = flash.read_text(encoding="utf-8").split("---\n", 2)[2].split("\n\n<http", 1)[0].strip()
    more = "分析人士指出，芯片短缺预计持续至明年下半年，车企正调整生产计划，部分工厂已经减产。" * 3
    other = "半导体行业协会表示，全球晶圆产能扩张仍需时间，设备交付周期延长，成熟制程价格继续上涨。" * 3
    return {
        flash.name: flash.read_text(encoding="utf-8"),
        "2021-12-08-202112089900000001.md": (
            '---\nlayout: post\ntitle: "美国商务部长：芯片法案或拖延到2022年"\ndate: 2021-12-08 15:00:00 +0800\n'
            f"categories: emnews\ntags: 东财滚动新闻\n---\n<p>{more}</p><p>{text}</p><p>{more[::-1]}</p>\n"
        ),
        "2021-12-08-202112089900000002.md": (
            '---\nlayout: post\ntitle: "芯片供应危机延续"\ndate: 2021-12-08 16:00:00 +0800\n'
            f"categories: emnews\ntags: 东财滚动新闻\n---\n<p>{other}</p><p>{text[: len(text) // 2]}</p>\n"
        ),
    }


def test_a_flash_inside_a_longer_report_is_the_same_story(tmp_path, corpus_dir):
    """The flash wholly inside a longer report published later the same day: containment 1.0,
    Jaccard about 0.6, one story; a report quoting half of it is not."""
    source = tmp_path / "posts"
    source.mkdir()
    for name, text in _flash_and_reports(corpus_dir).items():
        (source / name).write_text(text, encoding="utf-8")
    settings = settings_in(tmp_path, source)
    pipeline.run_all(settings)
    kinds, ids = _stories(settings)
    story = dict(ids)
    assert story["202112089900000001"] == story["202112082206936037"] == "202112082206936037", kinds
    assert story["202112089900000002"] != "202112082206936037", kinds
    assert ("202112082206936037", "202112089900000001", "contained", 1.0) in kinds


@pytest.mark.parametrize("later", ["2021-12-08-202112082206936037.md", "2021-12-08-202112089900000001.md"])
def test_a_flash_and_the_report_holding_it_link_whichever_comes_in_a_later_run(tmp_path, corpus_dir, later):
    """A run whose new post is the flash checks it against the reports already loaded (only the
    new posts' anchors are looked up in them); a run whose new post is the report checks it
    against every short post around it. Both end as one run of the three posts does."""
    files = _flash_and_reports(corpus_dir)
    together, source = tmp_path / "together", tmp_path / "posts"
    together.mkdir()
    source.mkdir()
    for name, text in files.items():
        (together / name).write_text(text, encoding="utf-8")
        if name != later:
            (source / name).write_text(text, encoding="utf-8")
    once = settings_in(tmp_path / "once", together)
    pipeline.run_all(once)
    settings = settings_in(tmp_path / "twice", source)
    pipeline.run_all(settings)
    assert not [k for k in _stories(settings)[0] if k[2] == "contained"]  # the pair is not there yet
    (source / later).write_text(files[later], encoding="utf-8")
    pipeline.run_all(settings)
    assert _stories(settings) == _stories(once)
    assert ("202112082206936037", "202112089900000001", "contained", 1.0) in _stories(settings)[0]


def test_the_guide_shows_the_similarities_the_command_prints(corpus_dir):
    from devtools.story_similarity import table

    guide = (ROOT / "docs" / "analysts" / "meaning.md").read_text(encoding="utf-8")
    block = guide.split("<!-- story-similarity: python -m devtools.story_similarity -->\n", 1)[1]
    block = block.split("<!-- /story-similarity -->", 1)[0]
    assert block == table(corpus_dir), "docs/analysts/meaning.md is out of date: python -m devtools.story_similarity"
    # the thresholds sit between the real pairs and the near-misses
    rows = [line.split(" | ") for line in block.splitlines() if line.startswith("| copy") or line.startswith("| near")]
    copies = [float(r[2]) for r in rows if r[0] == "| copy"]
    misses = [(float(r[3]), float(r[4])) for r in rows if r[0] == "| near miss"]
    assert min(copies) >= stories.THRESHOLD
    assert all(j < stories.THRESHOLD and c < stories.CONTAINED for j, c in misses)


def _stories(settings) -> tuple[list, list]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        links = con.execute("SELECT post_a, post_b, kind, similarity FROM story_links ORDER BY ALL").fetchall()
        ids = con.execute("SELECT post_id, story_id FROM articles ORDER BY ALL").fetchall()
    finally:
        con.close()
    return links, ids


def _with_later_copies(corpus_dir: Path, folder: Path) -> Path:
    """The corpus with a near copy (one character changed) of each of its Eastmoney posts, a day
    later: pairs the LSH index finds across days."""
    folder.mkdir()
    for path in sorted(corpus_dir.glob("*.md")):
        raw = path.read_bytes()
        (folder / path.name).write_bytes(raw)
        m = re.fullmatch(r"(\d{4}-\d\d-\d\d)-(\d{18})\.md", path.name)
        text = raw.decode("utf-8", "replace")
        date = re.search(r"^date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text, re.M)
        if not m or not date or "的" not in text.split("---", 2)[-1]:
            continue
        later = datetime.fromisoformat(date[1]) + timedelta(hours=26)
        copy = text.replace(date[0], f"date: {later:%Y-%m-%d %H:%M:%S}", 1).replace("的", "之", 1)
        (folder / f"{later:%Y-%m-%d}-{int(m[2]) + 7}.md").write_text(copy, encoding="utf-8")
    return folder


def test_a_load_compared_a_few_posts_at_a_time_finds_the_links_of_one_pass(tmp_path, corpus_dir, monkeypatch, caplog):
    """A first load compares its posts a slab of :data:`stories.SLAB_POSTS` at a time (bounded
    memory at a million posts): slabs of three posts find the same links and stories as one slab."""
    site = _with_later_copies(corpus_dir, tmp_path / "posts")
    whole = settings_in(tmp_path / "whole", site)
    pipeline.run_all(whole)
    monkeypatch.setattr(stories, "SLAB_POSTS", 3)
    caplog.set_level(logging.INFO, logger="news_etl.meaning.stories")
    caplog.clear()  # (the first run's lines, where another test set the level already)
    slabs = settings_in(tmp_path / "slabs", site)
    pipeline.run_all(slabs)
    counted = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stories: ")]
    counted = [m for m in counted if "compared in" in m]
    assert len(counted) == 1 and " in 1 slabs" not in counted[0], counted
    links, ids = _stories(whole)
    assert sum(kind == "text" for _, _, kind, _ in links) >= 10, links  # the copies a day later
    assert _stories(slabs) == (links, ids)


def test_the_shingles_of_many_texts_at_once_are_each_texts_own():
    """Shorter than a shingle, empty, full-width, punctuation only: each text's hashes as if alone."""
    rng = np.random.default_rng(3)
    letters = list("中国人民银行，。ABCａｂ 12３")
    texts = ["", "a", "中国", "abcde", "ＡＢＣ１２３，中国人民银行。", "!!!", "北向资金净流入达30亿元" * 5]
    texts += ["".join(rng.choice(letters, size=rng.integers(0, 40))) for _ in range(200)]
    hashes, bounds = stories.many_shingle_hashes(texts)
    for k, text in enumerate(texts):
        assert np.array_equal(hashes[bounds[k] : bounds[k + 1]], stories.shingle_hashes("", text)), text
