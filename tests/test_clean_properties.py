"""Property tests (hypothesis) of the cleaner on generated HTML bodies.

For any body built from the elements real posts use (paragraphs, spans, links, stock widgets,
tables, lists, images, line breaks, comments) plus hidden parts (script, style, ``display:none``,
``hidden``), the cleaner:

- never raises;
- never returns markup, nor any text of a script, style or hidden element;
- keeps every visible text node, in order (whitespace aside), in its paragraphs, digest, byline or credit;
- gives plain paragraphs: stripped, non-empty, no line breaks, no runs of spaces.
"""

from __future__ import annotations

import html
import os
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from news_etl.ingest.clean import clean_body, normalize_text

#: More examples for a deeper hunt: HYPOTHESIS_EXAMPLES=5000 pytest tests/test_clean_properties.py
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Visible text: Chinese, Latin, digits, punctuation and every kind of space real posts use, plus the
#: characters HTML must escape. No 'Q' (hidden text is marked with it), no parentheses or reporter words
#: (they would be a credit or a byline, which are kept, but in their own fields, without their wrapper).
VISIBLE_ALPHABET = (
    "中国证券市场公司股份银行资金增长下降亿元万美今日表示数据发布"
    "abcdefxyzABCXYZ0123456789.,;:!?%，。；：！？、“”‘’《》—…-+=/"
    " \u3000\xa0\t<>&\"'"
)
visible_text = st.text(alphabet=VISIBLE_ALPHABET, min_size=1, max_size=20)
hidden_text = visible_text.map(lambda s: "Q" + s.replace("<", "").replace("&", "") + "Q")

INLINE = ("span", "a", "strong", "b", "em", "i", "font", "u", "sup", "sub", "small")
BLOCK = ("p", "div", "center", "li", "td", "h3", "section", "blockquote")
HIDING = (
    'style="display:none;height:1px;overflow:hidden;"',
    'style="DISPLAY: none"',
    'style="visibility:hidden"',
    "hidden",
)
DROPPED = ("script", "style", "noscript", "textarea", "iframe", "select")


class Node:
    """A generated piece of HTML and the visible text nodes it holds, in order."""

    def __init__(self, markup: str, visible: list[str]):
        self.markup, self.visible = markup, visible


text_node = visible_text.map(lambda s: Node(html.escape(s, quote=False), [s]))
void = st.sampled_from(
    [
        Node("<br/>", []),
        Node("<br>", []),
        Node('<img src="k.png" alt="K图 002752_0"/>', []),
        Node('<img src="x.jpg" alt="image">', []),
        Node("<!-- EM_StockImg_Start -->", []),
        Node("<hr/>", []),
        Node('<span id="quote_0.300115"></span>', []),
    ]
)
hidden = st.one_of(
    st.tuples(st.sampled_from(DROPPED), hidden_text).map(lambda t: Node(f"<{t[0]}>{t[1]}</{t[0]}>", [])),
    st.tuples(st.sampled_from(("p", "span", "div")), st.sampled_from(HIDING), hidden_text).map(
        lambda t: Node(f"<{t[0]} {t[1]}>{html.escape(t[2])}</{t[0]}>", [])
    ),
    hidden_text.map(lambda s: Node(f"<!-- {s.replace('-', '')} -->", [])),
)


def _wrap(tag: str, attrs: str, children: list[Node]) -> Node:
    inner = "".join(c.markup for c in children)
    return Node(f"<{tag}{attrs}>{inner}</{tag}>", [t for c in children for t in c.visible])


def _table(rows: list[list[Node]]) -> Node:
    cells = "".join("<tr>" + "".join(f"<td>{c.markup}</td>" for c in row) + "</tr>" for row in rows)
    return Node(f"<table><tbody>{cells}</tbody></table>", [t for row in rows for c in row for t in c.visible])


def _extend(children):
    inline = st.tuples(
        st.sampled_from(INLINE), st.sampled_from(["", ' class="keytip" href="http://quote/1"', ' style="color:red"'])
    ).flatmap(lambda t: st.lists(children, max_size=4).map(lambda cs: _wrap(t[0], t[1], cs)))
    block = st.tuples(st.sampled_from(BLOCK), st.sampled_from(["", ' style="text-align:center;"'])).flatmap(
        lambda t: st.lists(children, max_size=4).map(lambda cs: _wrap(t[0], t[1], cs))
    )
    lists = st.lists(children, min_size=1, max_size=3).map(
        lambda cs: Node(
            "<ul>" + "".join(f"<li>{c.markup}</li>" for c in cs) + "</ul>", [t for c in cs for t in c.visible]
        )
    )
    table = st.lists(st.lists(children, min_size=1, max_size=3), min_size=1, max_size=3).map(_table)
    return st.one_of(inline, block, lists, table)


fragment = st.recursive(st.one_of(text_node, void, hidden), _extend, max_leaves=25)


#: Markdown passes a whole tag in a text line (``<A>``, ``<!-- -->``) to HTML: not plain text.
WHOLE_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<[!?]")
#: A plain Markdown text line of the old templates (T1-T5): raw text, not escaped, may hold '<' or '&'.
text_line = (
    st.lists(
        st.one_of(
            st.text(alphabet=VISIBLE_ALPHABET.replace("\t", ""), min_size=1, max_size=10),
            st.sampled_from(["<b ", "<a", "<abc", "x<y", "<1%", "<=", "a < b", "</", "<-", "& "]),
        ),
        min_size=1,
        max_size=5,
    )
    .map("".join)
    .filter(lambda s: s.strip() and s.lstrip(" \u3000\xa0")[0] not in "<>" and not WHOLE_TAG.search(s))
    .map(lambda s: Node(s, [s]))
)


@st.composite
def bodies(draw) -> Node:
    """A post body: HTML blocks, one per line or glued together, as Eastmoney writes them, or
    plain text lines between blank lines, as the old templates write them."""
    if draw(st.booleans()):
        lines = draw(st.lists(text_line, min_size=1, max_size=4))
        return Node("\n\n".join(line.markup for line in lines), [t for line in lines for t in line.visible])
    parts = draw(st.lists(fragment, min_size=1, max_size=6))
    blocks = [p if p.markup.startswith("<") else _wrap("p", "", [p]) for p in parts]
    sep = draw(st.sampled_from(["", "\n", "\n\n", " "]))
    return Node(sep.join(b.markup for b in blocks), [t for b in blocks for t in b.visible])


def _squeeze(text: str) -> str:
    return "".join(normalize_text(text).split())


def _all_text(body) -> str:
    return "\n".join([body.digest or "", body.byline or "", *body.paragraphs, body.credit or ""])


@SETTINGS
@given(bodies())
@example(Node("<p>a<script>Qalert(1)Q</script>b</p>", ["a", "b"]))
@example(Node('<p style="display:none">Qx&lt;Q</p><p>占比&lt;1%</p>', ["占比<1%"]))
@example(Node("占比<b 1%，较上年。", ["占比<b 1%，较上年。"]))
def test_cleaner_keeps_visible_text_and_drops_the_rest(body):
    result = clean_body(body.markup)
    out = _all_text(result)
    assert "Q" not in out, (body.markup, out)
    # every visible text node is there, in order (the cleaner may join or split lines, never lose words);
    # a top-level blockquote is the digest, wherever it stands (as '> …' lines are in Markdown)
    main = _squeeze("\n".join([result.byline or "", *result.paragraphs, result.credit or ""]))
    digest = _squeeze(result.digest or "")
    wants = [w for w in map(_squeeze, body.visible) if w]
    assert _in_order(wants, main, digest), (body.markup, wants, out)


def _in_order(wants: list[str], main: str, digest: str) -> bool:
    """Whether the texts appear in order, each in the main text or in the digest: a search over
    both choices for each text (a greedy pick can take '0' from the main text that the digest needed)."""
    seen: set[tuple[int, int, int]] = set()

    def fits(i: int, at_main: int, at_digest: int) -> bool:
        if i == len(wants):
            return True
        if (i, at_main, at_digest) in seen:
            return False
        seen.add((i, at_main, at_digest))
        found = main.find(wants[i], at_main)
        if found >= 0 and fits(i + 1, found + len(wants[i]), at_digest):
            return True
        found = digest.find(wants[i], at_digest)
        return found >= 0 and fits(i + 1, at_main, found + len(wants[i]))

    return fits(0, 0, 0)


@SETTINGS
@given(bodies())
def test_cleaner_returns_plain_paragraphs_without_markup(body):
    # visible text without '<' or '>': any '<' or '>' in the result would be markup left behind
    markup = body.markup
    result = clean_body(markup)
    assert all(p and p == p.strip() and "\n" not in p and "  " not in p for p in result.paragraphs)
    assert all("\u3000" not in p and "\xa0" not in p and "\t" not in p for p in result.paragraphs)
    if not any("<" in t or ">" in t for t in body.visible):
        assert "<" not in _all_text(result) and ">" not in _all_text(result), (markup, result)
    if not any("&" in t for t in body.visible):
        assert "&" not in _all_text(result), (markup, result)
    assert result.text == "\n".join(result.paragraphs)


TAG_SOUP = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div>",
        "</div>",
        "<span>",
        "</span>",
        "<br>",
        "<script>",
        "</script>",
        "<style>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<a href='x'>",
        "</a>",
        "<table>",
        "<td>",
        "> ",
        "\n> ",
        "\n",
        "\n\n",
        "<http://x.cn/a>",
        "<>",
        "[返回首页](//finews.withounder.com/)",
        "&nbsp;",
        "&amp;",
        "&#12345;",
        "&#x1F600;",
        "&bogus;",
        "&",
        "<",
        ">",
        "**",
        "（",
        "）",
        "（文章来源：",
        "本报记者",
        "。",
        "\u3000",
        "\x00",
        "\ufeff",
        "<p style='display:none'>",
        "<?xml version='1.0'?>",
        "<!DOCTYPE html>",
        "<html>",
        "<body>",
        "<head>",
        "<title>",
        "<svg><text>",
        "</svg>",
        "<math>",
        "<img src=x>",
        "<blockquote>",
        "</blockquote>",
    ]
)


@SETTINGS
@given(st.lists(st.one_of(TAG_SOUP, st.text(max_size=8)), max_size=40).map("".join))
def test_cleaner_never_raises_on_tag_soup(soup):
    result = clean_body(soup)
    assert isinstance(result.paragraphs, list)
    for p in result.paragraphs:
        assert p and p == p.strip() and "\n" not in p


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_cleaner_never_raises_on_any_text(text):
    result = clean_body(text)
    assert all(p == p.strip() and p for p in result.paragraphs)


def test_deeply_nested_html_does_not_overflow():
    result = clean_body("<div>" * 5000 + "深处的文字。" + "</div>" * 5000)
    assert "".join(result.paragraphs).count("深处的文字") <= 1
