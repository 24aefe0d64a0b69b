"""Cost grows linearly with a post's size: no pattern that runs on post content backtracks.

Two kinds of test:

- timing (marker ``reliability``): for adversarial bodies, each aimed at one pattern of clean.py,
  parse.py, metrics.py, keywords.py or sources/feed.py (``**a **a …`` was quadratic in the bold
  pattern: 125 KB took 48 s), transforming 4x the input costs at most about 5x the CPU time of 1x.
  Best of three runs, this thread's CPU time (threads other tests left in the process do not
  count), the garbage collector off, 48 KB against 192 KB; a pattern
  that misses is measured again before it fails (a loaded machine slows a run, never the growth);
  a quadratic one costs 16x;
- equivalence (hypothesis): each linear rewrite gives what the pattern it replaced gave, on short
  inputs where the old pattern's cost does not matter. The old patterns are kept here as the
  reference.

And one for memory: what a fetch freed goes back to the system before the load.
"""

from __future__ import annotations

import gc
import re
import time

import pytest
from conftest import post_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from news_etl.ingest import clean, metrics
from news_etl.ingest.clean import Body, normalize_text
from news_etl.ingest.sources.feed import FeedSource
from news_etl.ingest.transform import transform_post
from news_etl.model import RawPost, Reject

KB = 1024
SMALL, LARGE = 48 * KB, 192 * KB
#: 4x the input may cost this much more (linear: 4; quadratic: 16).
MAX_RATIO = 5.0
#: Below this a measurement is noise: a pattern that fast at 4x is linear enough whatever the ratio.
FLOOR = 0.02


def _front(date: str = "2026-11-20 10:00:00", title: str = "标题") -> str:
    return f'---\ntitle: "{title}"\ndate: "{date}"\n---\n'


#: name → a function of n giving a post file of about n characters (its body aimed at one pattern).
ADVERSARIAL = {
    # clean.py
    "bold **": lambda n: _front() + " **a" * (n // 4),
    "bold __": lambda n: _front() + " __a" * (n // 4),
    "bold unclosed": lambda n: _front() + "**" + "a " * (n // 2),
    "link brackets": lambda n: _front() + "[" * n + "](u)",
    "link labels": lambda n: _front() + "[a" * (n // 2) + "](",
    "link title": lambda n: _front() + '[a](u "' * (n // 7),
    "nav line": lambda n: _front() + "[返回](//finews/)｜" * (n // 16),
    "lone <": lambda n: _front() + "x" + "<" * n,
    "lone <a": lambda n: _front() + "x" + "<a " * (n // 3),
    "tag no >": lambda n: _front() + "<a" + " b" * (n // 2),
    "autolink": lambda n: _front() + "<http://" + "a" * n,
    "spaces before a break": lambda n: _front() + "a" + " " * n + "b\nc",
    "blank lines": lambda n: _front() + "a\n" + " \n" * (n // 2) + "b",
    "unseen characters": lambda n: _front() + "a\u202e\x1b\u200b" * (n // 4),
    "wide spaces": lambda n: _front() + "正文。（来源：" + "\u2004" * n + "x",
    "credit tail": lambda n: _front() + "正文。" + "（" * n + "）",
    "credit line": lambda n: _front() + "（文章来源：" + " \u2004" * (n // 2) + "x",
    "trailing credit": lambda n: _front() + "。" * n + "（澎湃新闻）x",
    "digest lines": lambda n: _front() + "> a\n" * (n // 4),
    "nested tags": lambda n: _front() + "<b><i>" * (n // 6) + "没有关闭",
    "paragraphs": lambda n: _front() + "<p>" * (n // 3),
    "tables": lambda n: _front() + "<table><tr><td>" * (n // 15),
    "links": lambda n: _front() + '<a href="x">' * (n // 12),
    "blockquotes": lambda n: _front() + "<blockquote>" * (n // 12),
    "literal xmp": lambda n: _front() + "<xmp>" + "<b" * (n // 2),
    "comments": lambda n: _front() + "<!--" * (n // 4),
    "entities": lambda n: _front() + "&amp;" * (n // 5),
    "site lines": lambda n: _front() + '<p><a href="//finews/">返回</a>｜</p>' * (n // 30),
    # metrics.py
    "money list": lambda n: _front() + "1、" * (n // 2) + "元",
    "money ranges": lambda n: _front() + "1-" * (n // 2) + "日元旦",
    "percent list": lambda n: _front() + "1、" * (n // 2) + "%",
    "percent runs": lambda n: _front() + "1%、2、" * (n // 5),
    "numbers": lambda n: _front() + "1,234," * (n // 6),
    "sentences": lambda n: _front() + "。”" * (n // 2) + "a",
    "latin words": lambda n: _front() + "a'" * (n // 2),
    # keywords.py (rjieba over the text)
    "one long word": lambda n: _front() + "a" * n,
    "chinese": lambda n: _front() + "上证指数今日上涨成交额放大" * (n // 13),
    # parse.py: the date (the front matter is limited to 64 KB: see test_the_date_pattern_is_linear)
    "front matter spaces": lambda n: "\n" * n + _front() + "正文。",
}


def _cpu(fn) -> float:
    """One run of ``fn()``, in CPU seconds of this thread, without the garbage collector."""
    gc.collect()
    gc.disable()
    try:
        started = time.thread_time()
        fn()
        return time.thread_time() - started
    finally:
        gc.enable()


def _transform(post: RawPost) -> None:
    try:
        transform_post(post)
    except Reject:
        pass


def _growth(fn_small, fn_large, repeat: int = 3) -> tuple[float, float]:
    """The best CPU time of 1x and of 4x, measured in turn (a load on the machine hits both alike)."""
    small = large = float("inf")
    for _ in range(repeat):
        small = min(small, _cpu(fn_small))
        if small > 2.0:  # a linear cleaner does 48 KB in milliseconds: this one would take minutes at 4x
            return small, float("inf")
        large = min(large, _cpu(fn_large))
    return small, large


def _assert_linear(what: str, fn_small, fn_large) -> None:
    for _ in range(3):  # noise makes a linear cost miss now and then; a quadratic one misses every time
        small, large = _growth(fn_small, fn_large)
        if large <= MAX_RATIO * small or large < FLOOR:
            return
    pytest.fail(
        f"{what}: 4x the input cost {large / small:.1f}x the time ({small * 1000:.1f} ms → {large * 1000:.1f} ms)"
    )


@pytest.mark.reliability
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_cleaning_4x_the_input_costs_at_most_5x_the_time(name):
    make = ADVERSARIAL[name]
    small, large = post_of(make(SMALL)), post_of(make(LARGE))
    _assert_linear(name, lambda: _transform(small), lambda: _transform(large))


@pytest.mark.reliability
@pytest.mark.parametrize(
    "make",
    [
        lambda n: "2026-11-20" + " " * n + "x",  # the offset pattern began with \s*: quadratic in a space run
        lambda n: "2026-11-20" + "+0" * (n // 2),
        lambda n: "2026-11-20" + " +08" * (n // 4),
    ],
    ids=["spaces", "signs", "offsets"],
)
def test_the_date_pattern_is_linear(make):
    """The front matter is at most 64 KB, so the date field is timed on its own, at 16 KB and 64 KB."""
    small, large = make(16 * KB), make(64 * KB)
    _assert_linear("date", lambda: clean_date(small), lambda: clean_date(large))


def clean_date(text: str) -> None:
    from news_etl.ingest.parse import parse_date

    try:
        parse_date(text, None, [])
    except Reject:
        pass


@pytest.mark.reliability
@pytest.mark.parametrize(
    "content",
    [
        "<hr /><p>layout: post\n" + "title: x\n" * 4000,  # a front matter Jekyll left in the text
        "<hr /><p>" + "<" * 40_000,
        "<blockquote>" * 4000,  # the old unrender's pattern was quadratic here
        '<p><a href="http://x">' * 2000,
    ],
)
def test_the_feed_entry_render_is_linear(content):
    def render(text):
        return lambda: FeedSource.render(
            {
                "id": "x",
                "link": None,
                "title": "t",
                "published": None,
                "updated": None,
                "categories": [],
                "tags": [],
                "content": text,
            }
        )

    _assert_linear("feed render", render(content), render(content * 4))


# --- the linear rewrites give what the old patterns gave -------------------------------------------------

_OLD_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_OLD_NEWLINE = re.compile(r"[ \t\u3000\xa0]*\n[ \t\u3000\xa0\n]*")
_OLD_CREDIT_LINE = re.compile(r"^[（(]\s*(?:文章)?来源\s*[：:]\s*(.+?)\s*[）)]$")
_OLD_TRAILING_CREDIT = re.compile(r"^(.*[。！？!?”』」…])\s*[（(]([^（）()\d][^（）()]{0,24})[）)]$", re.S)
_SCALE, _AND = metrics._SCALE, metrics._AND
_OLD_NUM = r"(?<!\d)(?:\d{1,3}(?:,\d{3})+(?!\d)|\d++)(?:\.\d++)?"
_OLD_MONEY = re.compile(
    rf"(?:{_OLD_NUM}\s*{_SCALE}{_AND})*{_OLD_NUM}\s*{_SCALE}(?:元|美元|港元|港币|欧元|日元|英镑)(?![旦宵])"
)
_OLD_PERCENT = re.compile(rf"(?:{_OLD_NUM}\s*[%％]?{_AND})*{_OLD_NUM}\s*[%％]|百分之[零一二三四五六七八九十百点\d.]+")

PROPS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _old_join(text: str) -> str:
    def join(m: re.Match) -> str:
        s, start, end = m.string, m.start(), m.end()
        before = s[start - 1] if start else ""
        after = s[end] if end < len(s) else ""
        return "" if (clean._CJK.match(before) and clean._CJK.match(after)) else " "

    return re.sub(
        r"[ \t\r\f\v\xa0\u3000\u2002\u2003\u2009\u200a\u202f\u205f]+", " ", _OLD_NEWLINE.sub(join, text)
    ).strip()


@PROPS
@given(st.text(alphabet="*_ a\n中", max_size=40))
def test_unbold_is_the_old_bold_pattern(text):
    assert "\n".join(clean._unbold(line) for line in text.split("\n")) == _OLD_BOLD.sub(r"\2", text)


@PROPS
@given(st.text(alphabet=" \t\u3000\xa0\n中文ab", max_size=40))
def test_joining_lines_is_the_old_newline_pattern(text):
    assert normalize_text(text) == _old_join(text)


@PROPS
@given(st.text(alphabet="（）()来源文章：: 澎湃新闻。！?1x\u2004", max_size=30))
def test_credits_are_the_old_credit_patterns(text):
    text = normalize_text(text)
    if not text:
        return
    new = Body(paragraphs=[text])
    clean._take_credit(new)
    old = Body(paragraphs=[text])
    if m := _OLD_CREDIT_LINE.match(text):
        if m[1].strip():  # (the old pattern took an empty credit out of '（来源： ）'; that stays text now)
            old.credit = m[1].strip()
            old.paragraphs.pop()
    elif (m := _OLD_TRAILING_CREDIT.match(text)) and clean._names_a_source(m[2].strip()):
        old.credit, old.paragraphs[-1] = m[2].strip(), m[1].rstrip()
    assert (new.credit, new.paragraphs) == (old.credit, old.paragraphs)


@PROPS
@given(st.text(alphabet="0123456789,.、和至-~ 万亿元美港日旦%％百分之三点x", max_size=40))
def test_money_and_percent_counts_are_the_old_patterns(text):
    old_money = sum(len(metrics._NUMBER.findall(m)) for c in metrics._CLAUSE.split(text) for m in _OLD_MONEY.findall(c))
    old_percent = sum(
        max(1, len(metrics._NUMBER.findall(m))) for c in metrics._CLAUSE.split(text) for m in _OLD_PERCENT.findall(c)
    )
    assert metrics.money_mentions(text) == old_money
    assert metrics.percent_mentions(text) == old_percent


def test_the_memory_a_fetch_freed_goes_back_to_the_system_before_the_load():
    """The CLI's run loads in the process that fetched: a first load of a million files freed about
    900 MB that glibc's allocator kept, beside the load's DuckDB. ``give_back_memory`` returns it
    (posts of 700 bytes, freed among the small objects a fetch keeps)."""
    import os
    import sys

    from news_etl.pipeline import give_back_memory

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc_trim: Linux only")

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    posts = [os.urandom(700) for _ in range(300_000)]  # 210 MB, as a fetch's batches of raw posts
    kept = [bytes(posts[i][:600]) for i in range(0, len(posts), 100)]  # what stays: paths, hashes
    del posts
    held = rss_mb()
    give_back_memory()
    assert held - rss_mb() > 150, (held, rss_mb())
    assert len(kept) == 3000
