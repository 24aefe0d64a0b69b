"""HTML cleaning: a post's body → the paragraphs a reader sees, and its parts.

A body mixes Markdown and HTML: a ``> digest`` blockquote, plain text lines,
raw HTML paragraphs from Eastmoney (stock-quote widgets, K-line images,
hidden paragraphs), a bare ``<http…>`` source line, and ``[返回…](…)``
links back to the site. The Markdown layer is sorted line by line; what is
left, plus the digest, is parsed ONCE with BeautifulSoup on lxml and walked
once, in document order, with an explicit stack (no recursion, so a deeply
nested document cannot overflow Python's stack).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString, Tag

#: Elements whose text a reader never sees.
DROP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "iframe",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "canvas",
        "audio",
        "video",
        "source",
        "track",
        "button",
        "select",
        "option",
        "input",
        "textarea",
        "form",
        "frame",
        "frameset",
        "map",
    }
)
#: Elements that start and end a paragraph.
BLOCK = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "blockquote",
        "center",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "main",
        "pre",
        "figure",
        "figcaption",
        "hr",
        "address",
        "details",
        "summary",
        "body",
        "html",
    }
)
_DIGEST_CLASS = "news-etl-digest"

_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^\s<>]*)?>")
#: Where a tag (or comment) starts: ``<p>``, ``</p>``, ``<img src=…/>``, ``<!--``, ``<!DOCTYPE``.
_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|!)")
#: A ``<`` in a text line that starts no tag (``占比<1%``, ``<b 1%``): text, as Markdown reads it.
_LONE_LT = re.compile(r"<(?!/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|!--)")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_MD_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_NAV_SEPARATORS = " \t｜|·/•-"
_NEWLINE = re.compile(r"[ \t\u3000\xa0]*\n[ \t\u3000\xa0\n]*")
_SPACES = re.compile(r"[ \t\r\f\v\xa0\u3000\u2002\u2003\u2009\u200a\u202f\u205f]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_HAS_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_CREDIT_LINE = re.compile(r"^[（(]\s*(?:文章)?来源\s*[：:]\s*(.+?)\s*[）)]$")
_TRAILING_CREDIT = re.compile(r"^(.*[。！？!?”』」…])\s*[（(]([^（）()\d][^（）()]{0,24})[）)]$", re.S)
_NOT_CREDIT = {"完", "全文完", "待续", "续", "注", "下同", "同上", "节选", "摘要", "全文", "图", "组图", "视频"}
#: A bracketed tail that starts like this points at something (``（附名单）``, ``（详见附件）``,
#: ``（图）``), it does not name a source.
_NOT_CREDIT_PREFIXES = ("附", "详见", "见", "注", "图", "含", "点击", "更新", "编者按", "上接", "下转", "接上", "转下")
_BYLINE = re.compile(
    r"^[■●▲◆□★\s]*[^，。！？；,.!?;\s]{0,4}?(?:本报|本刊)?(?:实习|见习|特约)?(?:记者|通讯员)[\s：:]*\S"
)
_SENTENCE_PUNCT = re.compile(r"[，。！？；,!?;]")


@dataclass
class Body:
    """The parts of a cleaned body."""

    paragraphs: list[str]
    digest: str | None = None
    source_url: str | None = None
    credit: str | None = None
    byline: str | None = None
    links: int = 0
    images: int = 0
    kline_images: int = 0
    tables: int = 0
    warnings: list[str] = field(default_factory=list)
    #: (data-code, visible text) of each quote link and K-line widget, in order (news_etl/securities.py)
    codes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def clean_body(body: str) -> Body:
    """Clean one post body (the text after the front matter)."""
    digest_lines: list[str] = []
    chunks: list[str] = []
    text_lines: list[str] = []
    source_urls: list[str | None] = []

    def end_text_paragraph() -> None:
        if text_lines:
            chunks.append("<p>" + _markdown_inline("\n".join(text_lines)) + "</p>")
            text_lines.clear()

    for line in body.split("\n"):
        s = line.strip()
        if not s:
            end_text_paragraph()
        elif s[0] == ">":
            end_text_paragraph()
            digest_lines.append(s.lstrip(">").strip())
        elif s[0] == "<" and (autolink := _AUTOLINK.fullmatch(s)):
            end_text_paragraph()
            source_urls.append(autolink.group(1))
        elif "](" in s and _is_nav_line(s):
            end_text_paragraph()
        elif s[0] == "<" and not text_lines and _TAG.match(s):
            chunks.append(line)  # an HTML block
        else:
            text_lines.append(s)
    end_text_paragraph()

    doc = "\n".join(chunks)
    if digest_lines:
        doc = f'<blockquote class="{_DIGEST_CLASS}">' + "\n".join(digest_lines) + "</blockquote>" + doc
    result = _walk(doc) if doc else Body(paragraphs=[])
    result.source_url = next((u for u in source_urls if u), None)
    _take_credit(result)
    _take_byline(result)
    return result


def _markdown_inline(text: str) -> str:
    """The little Markdown a text line uses: links and bold; a ``<`` that starts no tag is text."""
    if "<" in text:
        text = _LONE_LT.sub("&lt;", text)
    if "](" in text:
        text = _MD_LINK.sub(lambda m: m[1] if m[0][0] == "!" else f'<a href="{html.escape(m[2])}">{m[1]}</a>', text)
    if "**" in text or "__" in text:
        text = _MD_BOLD.sub(r"\2", text)
    return text


def _is_nav_line(line: str) -> bool:
    """A line made only of Markdown links, one of them back to the site (``[返回…](…)``)."""
    links = _MD_LINK.findall(line)
    if not links or _MD_LINK.sub("", line).strip(_NAV_SEPARATORS):
        return False
    return any(label.startswith("返回") or "finews" in url for label, url in links)


_END = object()
_END_DIGEST = object()


def _hidden(tag: Tag) -> bool:
    attrs = tag.attrs
    if not attrs:
        return False
    if "hidden" in attrs:
        return True
    style = attrs.get("style")
    if isinstance(style, str) and style:
        style = style.replace(" ", "").lower()
        return "display:none" in style or "visibility:hidden" in style
    return False


def _walk(doc: str) -> Body:
    soup = BeautifulSoup(doc, "lxml")
    body = Body(paragraphs=[])
    paragraphs: list[str] = []
    digest: list[str] = []
    target = paragraphs
    current: list[str] = []
    stack: list = list(reversed(soup.contents))

    while stack:
        node = stack.pop()
        if node is _END:
            if current:
                target.append("".join(current))
                current = []
            continue
        if node is _END_DIGEST:
            if current:
                target.append("".join(current))
                current = []
            target = paragraphs
            continue
        if type(node) is NavigableString:
            current.append(node)
            continue
        if not isinstance(node, Tag):
            continue  # comments, CDATA, doctype, processing instructions
        name = node.name
        if name in DROP or _hidden(node):
            continue
        if name != "img" and (code := node.attrs.get("data-code")):
            body.codes.append((str(code), normalize_text(node.get_text())))
        if name == "img":
            body.images += 1
            alt, src = node.get("alt"), node.get("src")
            if (isinstance(alt, str) and alt.startswith("K图")) or (isinstance(src, str) and "kline" in src.lower()):
                body.kline_images += 1
            continue
        if name == "br":
            current.append("\n")
            continue
        if name == "a" and node.get("href"):
            body.links += 1
        elif name == "table":
            body.tables += 1
        if name in BLOCK:
            if current:
                target.append("".join(current))
                current = []
            if name == "blockquote" and _DIGEST_CLASS in (node.get("class") or ()):
                target = digest
                stack.append(_END_DIGEST)
            else:
                stack.append(_END)
        stack.extend(reversed(node.contents))
    if current:
        target.append("".join(current))

    body.paragraphs = [p for p in map(normalize_text, paragraphs) if p]
    digest_text = " ".join(p for p in map(normalize_text, digest) if p)
    body.digest = digest_text or None
    return body


def _join_lines(m: re.Match) -> str:
    s, start, end = m.string, m.start(), m.end()
    before = s[start - 1] if start else ""
    after = s[end] if end < len(s) else ""
    return "" if (_CJK.match(before) and _CJK.match(after)) else " "


def normalize_text(text: str) -> str:
    """Plain text of one paragraph: invisible characters gone, a line break
    between two Chinese characters joined without a space, every other run of
    whitespace (``&nbsp;``, full-width U+3000, tabs) one space, ends stripped."""
    if _HAS_INVISIBLE.search(text):
        text = text.translate(_INVISIBLE)
    if "\n" in text:
        text = _NEWLINE.sub(_join_lines, text)
    return _SPACES.sub(" ", text).strip()


def _take_credit(body: Body) -> None:
    """Move a ``（文章来源：X）`` paragraph or a trailing ``。（X）`` into ``credit``."""
    if not body.paragraphs:
        return
    last = body.paragraphs[-1]
    m = _CREDIT_LINE.match(last)
    if m:
        body.credit = m[1].strip()
        body.paragraphs.pop()
        return
    m = _TRAILING_CREDIT.match(last)
    if m and _names_a_source(m[2].strip()):
        body.credit = m[2].strip()
        body.paragraphs[-1] = m[1].rstrip()


def _names_a_source(text: str) -> bool:
    """Whether a trailing ``（…）`` names where the story comes from (``澎湃新闻``, ``央视新闻客户端``)
    rather than pointing at something (``附名单``) or closing the text (``完``)."""
    return (
        bool(_CJK.search(text))
        and text not in _NOT_CREDIT
        and not text.startswith(_NOT_CREDIT_PREFIXES)
        and not _SENTENCE_PUNCT.search(text)
        and "、" not in text
    )


def _take_byline(body: Body) -> None:
    """Move an opening reporter line (``本报记者 张三``) into ``byline``: short, no
    sentence punctuation, and not the only paragraph."""
    if len(body.paragraphs) < 2:
        return
    first = body.paragraphs[0]
    if len(first) <= 40 and _BYLINE.match(first) and not _SENTENCE_PUNCT.search(first):
        body.byline = first.lstrip("■●▲◆□★ ").strip()
        body.paragraphs.pop(0)
