"""Properties every clean article of the whole real corpus (../shared/corpus) must have.

The golden tests check each post's fields one by one; these check what must hold for ALL of them
(and for any post the site will write tomorrow): no markup, navigation, site host, bare URL line or
entity left in the text; every post an article or a reject with a known reason; one article per post id
unless the files are the same post.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from conftest import raw_post

from news_etl.ingest.transform import transform_rows

KNOWN_REJECT_REASONS = (
    "empty file",
    "no front matter",
    "bad YAML",
    "no title",
    "unparseable date",
    "no date",
    "not UTF-8",
    "no body",
    "bad field",
    "file too large",
    "front matter too large",
    "title too long",
    "date out of range",
    "HTML too deeply nested",
)

MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--|-->|<!\[CDATA\[|<![A-Za-z]")
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")
ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
BARE_URL_LINE = re.compile(r"<?\s*(?:(?:https?|ftp)://\S*|//\S+|www\.\S+)?\s*>?")
NAVIGATION = re.compile(r"返回(?:首页|东财滚动新闻|\S{0,20}新闻)(?:$|[\]｜|)])")
WIDGET_LEFTOVERS = ("K图 ", "EM_StockImg", "display:none", "class=", "href=", "src=", "{{", "{%")
ODD_SPACES = ("\u3000", "\xa0", "\t", "\r", "\u200b", "\ufeff", "  ")


@pytest.fixture(scope="module")
def corpus(corpus_dir):
    files = sorted(corpus_dir.glob("*.md"))
    articles, rejects = transform_rows(raw_post(f) for f in files)
    return files, articles, rejects


def _texts(article):
    """Every reader-facing text field of an article, with its name."""
    yield "title", article["title"]
    if article["digest"]:
        yield "digest", article["digest"]
    for i, p in enumerate(article["paragraphs"]):
        yield f"paragraph {i}", p
    for name in ("byline", "credit"):
        if article[name]:
            yield name, article[name]


def test_every_post_is_exactly_one_article_or_one_reject(corpus):
    files, articles, rejects = corpus
    paths = [a["path"] for a in articles] + [r["path"] for r in rejects]
    assert sorted(paths) == sorted(f.name for f in files)
    for r in rejects:
        assert r["reason"].startswith(KNOWN_REJECT_REASONS), r["reason"]
        assert r["detail"], r
        assert r["raw"]


def test_no_text_holds_markup_or_entities(corpus):
    _, articles, _ = corpus
    for a in articles:
        for where, text in _texts(a):
            assert not MARKUP.search(text), (a["path"], where, MARKUP.search(text)[0])
            assert not ENTITY.search(text), (a["path"], where, ENTITY.search(text)[0])
            assert not MARKDOWN_LINK.search(text), (a["path"], where)
            for leftover in WIDGET_LEFTOVERS:
                assert leftover not in text, (a["path"], where, leftover)


def test_no_body_holds_navigation_site_host_or_a_bare_url_line(corpus):
    _, articles, _ = corpus
    for a in articles:
        for where, text in _texts(a):
            if where == "title":
                continue
            assert "finews." not in text, (a["path"], where)
            assert "zning." not in text, (a["path"], where)
            assert not NAVIGATION.search(text), (a["path"], where, text)
            assert not BARE_URL_LINE.fullmatch(text.strip()), (a["path"], where, text)
            assert "NewsShare.html" not in text, (a["path"], where)


def test_paragraphs_are_clean_plain_text(corpus):
    _, articles, _ = corpus
    for a in articles:
        assert a["body_text"] == "\n".join(a["paragraphs"])
        assert a["paragraphs"], a["path"]
        for where, text in _texts(a):
            assert text == text.strip() and text, (a["path"], where)
            assert "\n" not in text, (a["path"], where)
            for odd in ODD_SPACES:
                assert odd not in text, (a["path"], where, repr(odd))


def test_credit_and_byline_are_taken_out_of_the_body(corpus):
    _, articles, _ = corpus
    for a in articles:
        assert "文章来源" not in a["body_text"], a["path"]
        if a["credit"]:
            assert not a["paragraphs"][-1].endswith(f"（{a['credit']}）"), a["path"]
        if a["byline"]:
            assert a["paragraphs"][0] != a["byline"], a["path"]


def test_outlet_and_dates_are_always_known(corpus):
    _, articles, _ = corpus
    for a in articles:
        assert a["outlet"] and not a["outlet"].isascii(), (a["path"], a["outlet"])
        assert a["published_at"].utcoffset() is not None, a["path"]
        if a["source_url"]:
            assert a["source_url"].startswith(("http://", "https://")), a["path"]


def test_every_category_of_the_corpus_has_its_outlet_in_the_one_mapping(corpus):
    from news_etl.meaning.outlets import OUTLETS

    _, articles, _ = corpus
    for a in articles:
        assert a["categories"] and all(c.lower() in OUTLETS for c in a["categories"]), (a["path"], a["categories"])
        assert a["outlet"] == OUTLETS[a["categories"][0].lower()]
        tag = a["tags"][0] if a["tags"] else ""
        if tag.endswith("新闻") and a["categories"] != ["emnews"]:
            assert tag[:-2] == a["outlet"], (a["path"], tag, a["outlet"])  # 中国商报新闻 → 中国商报


def test_published_date_is_the_site_local_date(corpus):
    from news_etl.ingest.parse import SITE_TZ, file_date

    _, articles, _ = corpus
    for a in articles:
        assert a["published_date"] == a["published_at"].astimezone(SITE_TZ).date(), a["path"]
        named = file_date(a["path"])
        disagreement = any("differs from the front matter date" in w for w in a["warnings"])
        # the file name's date is a fallback only; a disagreement is recorded, never hidden
        assert disagreement == (named is not None and named != a["published_date"]), a["path"]


def test_no_two_articles_share_a_post_id_unless_they_are_the_same_post(corpus):
    _, articles, _ = corpus
    by_id = defaultdict(list)
    for a in articles:
        by_id[a["post_id"]].append(a)
    for post_id, group in by_id.items():
        if len(group) > 1:
            same = {(a["title"], a["body_text"], a["source_url"]) for a in group}
            assert len(same) == 1, (post_id, [a["path"] for a in group])
