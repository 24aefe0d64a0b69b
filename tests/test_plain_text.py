"""Every text column holds what a reader sees: no markup, no control or bidi characters.

One function makes a field plain (``clean.plain_text``, with ``normalize_text`` under it for the
cleaner's own paragraphs); the transform applies it to every text field of the front matter, and
the cleaner's parts (digest, credit, byline, paragraphs, body) come out of it. The source link is
percent-encoded instead (a browser sends it so), and warnings and reject messages, which quote raw
input, write the unseen characters as escapes.

What a reader sees of the elements browsers treat apart, decided here:

- ``<noembed>``, ``<noframes>`` (and ``<noscript>``): nothing (browsers with plug-ins, frames and
  scripts never show them);
- ``<xmp>``, ``<plaintext>``: their words; browsers show their content as it is written, tags
  included, but a tag is markup, never text, so tags in them are removed (entities stay as written:
  a browser does not decode them there);
- ``<![CDATA[…]]>`` in HTML: a bogus comment up to the first ``>`` (HTML5, and lxml alike): hidden,
  and what follows that ``>`` is text (``a<![CDATA[x>y]]>b`` shows ``ay]]>b``).
"""

from __future__ import annotations

import re

import pytest
from conftest import post_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from news_etl.ingest.clean import clean_body, escaped, plain_text
from news_etl.ingest.transform import transform_rows
from news_etl.model import ARTICLE_SCHEMA

#: C0 and C1 controls but tab and line feed, and the bidi controls and marks.
UNSEEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MARKUP = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>|<!--|<!\[CDATA\[|\bon[a-z]+\s*=")
TEXT_COLUMNS = [
    f.name
    for f in ARTICLE_SCHEMA
    if f.type in ("string", "list<item: string>") and f.name not in ("source", "path", "content_hash", "post_id")
]
HOSTILE = "\x1b[31m\x07\x9b\u202e\u2066\u200f<script>alert(1)</script><img src=x onerror=alert(1)><b>"


def _texts(row: dict) -> list[tuple[str, str]]:
    out = []
    for name in TEXT_COLUMNS:
        value = row[name]
        for v in value if isinstance(value, list) else [value]:
            if v is not None:
                out.append((name, v))
    return out


def _assert_plain(row: dict) -> None:
    for name, value in _texts(row):
        assert not UNSEEN.search(value), (name, value)
        assert not MARKUP.search(value), (name, value)
        if name not in ("body_text", "warnings"):
            assert "\n" not in value and "\t" not in value, (name, value)


def test_every_text_column_of_a_hostile_post_is_plain():
    import yaml

    front = {  # YAML takes control characters only as escapes ("\e"): safe_dump writes them so
        "title": HOSTILE,
        "date": "2026-11-20 10:00:00",
        "layout": "post\u202e<b>",
        "categories": ["\x1bemnews", "<i>cat</i>\u2067"],
        "tags": ["东财\u202e滚动<script>x</script>新闻"],
    }
    text = (
        "---\n"
        + yaml.safe_dump(front, allow_unicode=True)
        + "---\n"
        + "> 摘要\x1b[2J\u202e<b>一句</b>\n\n"
        + "<p>本报记者 张\u2066三\x9b</p>\n"
        + f"<p>正文\x1b]0;title\x07第一段\u202e。{HOSTILE}</p>\n"
        + "<p>第二段\u200e\u200f。</p>\n"
        + "<p>（文章来源：券商\u202e中国\x1b）</p>\n\n"
        + '<p><a href="http://finance.eastmoney.com/a/\u202e1\x1b.html">http://finance.eastmoney.com/a/\u202e1\x1b.html</a></p>\n'
    )
    articles, rejects = transform_rows([post_of(text, "2026-11-20-1.md")])
    assert rejects == [] and len(articles) == 1
    row = articles[0]
    _assert_plain(row)
    assert row["title"] == "[31m"  # what a reader sees of it: the escape's visible tail, no tag, no script
    assert (
        row["categories"] == ["emnews", "cat"] and row["tags"] == ["东财滚动新闻"] and row["outlet"] == "东财滚动新闻"
    )
    assert row["layout"] == "post"
    assert row["digest"] == "摘要[2J一句"
    assert row["byline"] == "本报记者 张三"
    assert row["paragraphs"] == ["正文]0;title第一段。[31m", "第二段。"]
    assert row["credit"] == "券商中国"
    assert row["source_url"] == "http://finance.eastmoney.com/a/%E2%80%AE1%1B.html"


_UNSEEN_CHARS = st.sampled_from(list("\x00\x01\x07\x08\x0b\x1b\x7f\x85\x9b\u061c\u200e\u200f\u202a\u202e\u2066\u2069"))
_PIECES = st.one_of(
    _UNSEEN_CHARS,
    st.sampled_from(["<b>", "</b>", "<script>x</script>", "<img src=x onerror=alert(1)>", "<xmp><i>", "&lt;", "A<B"]),
    st.text(alphabet="正文标题ab 。，\t\n", min_size=1, max_size=5),
)
_FIELD = st.lists(_PIECES, max_size=8).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FIELD, _FIELD, _FIELD, _FIELD, _FIELD)
def test_any_field_with_controls_bidi_or_markup_comes_out_plain(title, category, tag, digest, body):
    import yaml

    front = yaml.safe_dump(
        {"title": "标题" + title, "date": "2026-11-20 10:00:00", "categories": [category], "tags": [tag]},
        allow_unicode=True,
    )
    text = f"---\n{front}---\n> {digest}\n\n<p>正文{body}</p>\n\n<p>（来源：{tag}）</p>\n"
    articles, rejects = transform_rows([post_of(text, "2026-11-20-1.md")])
    for row in articles:
        _assert_plain(row)
    for reject in rejects:  # a reject's message may quote the input: escaped, never raw
        assert not UNSEEN.search(reject["reason"] + reject["detail"]), reject


@pytest.mark.parametrize(
    "body, paragraphs",
    [
        ("<p>前<noembed><b>藏</b></noembed><noframes>藏</noframes><noscript>藏</noscript>后</p>", ["前后"]),
        ("<p>前<xmp><b>粗</b> &amp; 字</xmp>后</p>", ["前", "粗 &amp; 字", "后"]),
        ("<p>前</p><plaintext><p>后</p><script>x</script>", ["前", "后x"]),
        ("<p>a<![CDATA[隐藏]]>b</p>", ["ab"]),
        ("<p>a<![CDATA[x>y]]>b</p>", ["ay]]>b"]),
    ],
)
def test_what_a_reader_sees_of_xmp_noembed_noframes_plaintext_and_cdata_in_a_body(body, paragraphs):
    assert clean_body(body).paragraphs == paragraphs
    assert clean_body(body, html=True).paragraphs == paragraphs


@pytest.mark.parametrize(
    "title, seen",
    [
        ("<script>alert(1)</script><img src=x onerror=alert(1)>标题", "标题"),
        ("标<noembed>藏</noembed><noframes>藏</noframes>题", "标题"),
        ("<xmp><b>粗</b></xmp>标题", "粗 标题"),
        ("<plaintext><b>标题</b>", "标题"),
        ("a<![CDATA[b]]>c", "ac"),
        ("AT&T &amp; &lt;b&gt;", "AT&T & <b>"),  # a tag written as text is text a reader sees
        ("A<B", "A<B"),  # a '<' that starts no complete tag is text (as jekyll-feed's strip_html reads it)
        ("占比<1% a < b > c", "占比<1% a < b > c"),
        ("\x1b[31m红\u202e字\u2066\u200f\u2028x", "[31m红字 x"),
    ],
)
def test_what_a_reader_sees_of_a_title(title, seen):
    assert plain_text(title) == seen


def test_a_title_of_markup_alone_is_a_no_title_reject():
    articles, rejects = transform_rows(
        [post_of("---\ntitle: '<script>x</script>\u202e'\ndate: 2026-11-20\n---\n正文。\n", "2026-11-20-1.md")]
    )
    assert articles == [] and [r["reason"] for r in rejects] == ["no title"]


def test_warnings_and_reject_messages_escape_what_they_quote():
    _, rejects = transform_rows([post_of('---\ntitle: t\ndate: "\\e[2J\u202e"\n---\n正文。\n', name="x.md")])
    assert rejects[0]["reason"] == "unparseable date '\\x1b[2J\\u202e'"
    assert escaped("a\x1bb\u2066c") == "a\\x1bb\\u2066c" and escaped("正常") == "正常"
