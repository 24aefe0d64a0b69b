"""HTML cleaning: a post's body → the paragraphs a reader sees, and its parts.

A body mixes Markdown and HTML: a ``> digest`` blockquote, plain text lines,
raw HTML paragraphs from Eastmoney (stock-quote widgets, K-line images,
hidden paragraphs), a bare ``<http…>`` source line, and ``[返回…](…)``
links back to the site. The Markdown layer is sorted line by line; what is
left, plus the digest, is parsed ONCE with BeautifulSoup on lxml and walked
once, in document order, with an explicit stack (no recursion, so a deeply
nested document cannot overflow Python's stack).

The site's own lines are recognised in both forms, as the scraper writes them
(Markdown) and as Jekyll publishes them (kramdown's HTML, which the feed
source reads): the digest (``> …`` / a top-level ``<blockquote>``), the source
link (``<U>`` / ``<p><a href="U">U</a></p>``), the links back to the site
(``[返回…](…)｜…`` / ``<p><a …>返回…</a>｜…</p>``) and the empty link
(``<>`` / ``<p>&lt;&gt;</p>``); so a post gives the same article from its
file and from the feed.

Every text this module returns is plain (:func:`normalize_text`): no markup,
no control, bidi or invisible characters, whitespace runs one space.
:func:`plain_text` does the same for a field that may hold markup (a title,
a tag). No regular expression here backtracks: the cost of a body grows
linearly with its size (``tests/test_linear_cost.py``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote

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
        # shown only by browsers without plug-ins or frames: none today
        "noembed",
        "noframes",
    }
)
#: Elements whose content browsers show as it is written, tags included (lxml gives it as one
#: text): a reader reads its words; the tags in it are markup, never text (they are removed).
LITERAL = frozenset({"xmp", "plaintext"})
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
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^\s<>]*)?>")
_AUTOLINK_SCHEMES = ("http://", "https://", "ftp://")
#: Where a tag (or comment) starts: ``<p>``, ``</p>``, ``<img src=…/>``, ``<!--``, ``<!DOCTYPE``.
_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|!)")
#: A ``<`` in a text line that starts no tag (``占比<1%``, ``<b 1%``): text, as Markdown reads it.
_LONE_LT = re.compile(r"<(?!/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|!--)")
#: A ``<`` in a one-line field (a title) that starts no complete tag, comment or declaration
#: (``A<B``, ``a < b``): text, as a browser and jekyll-feed's ``strip_html`` read it.
_TEXT_LT = re.compile(r"<(?![A-Za-z/!?][^<>]*>)")
#: A tag inside a literal element's text (``<xmp>``): markup, removed.
_TAG_IN_TEXT = re.compile(r"<[^<>]*>")
#: ``[label](url)`` / ``![alt](src)``; a label holds no bracket, so each ``[`` is tried once.
_MD_LINK = re.compile(r"!?\[([^\[\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_BOLD_MARK = re.compile(r"(?=\*\*|__)")
_NAV_SEPARATORS = " \t｜|·/•-"
#: Characters a reader never sees: C0 and C1 controls (but tab, line feed, form feed and carriage
#: return, which are whitespace), DEL, the bidi controls (embeddings, overrides, isolates and the
#: LRM/RLM/ALM marks: they only reorder or mark text) and the invisible format characters (zero-width
#: space and joiners, word joiner, BOM, soft hyphen). They are removed, not replaced by a space.
_UNSEEN_RANGES = (
    (0x00, 0x08),
    (0x0B, 0x0B),
    (0x0E, 0x1F),
    (0x7F, 0x9F),
    (0xAD, 0xAD),
    (0x61C, 0x61C),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2069),
    (0xFEFF, 0xFEFF),
)
_UNSEEN = dict.fromkeys((c for a, b in _UNSEEN_RANGES for c in range(a, b + 1)), None)
_HAS_UNSEEN = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in _UNSEEN_RANGES) + "]")
#: A text line the cleaner hands to the HTML parser: a tag or a lone ``<``, an entity, a Markdown
#: link, a control character (the parser reads ``\r`` as a line break) or one a reader never sees.
#: A body of other lines is plain paragraphs: the parser would give back its text as it is.
_NEEDS_PARSER = re.compile(r"[<&\x00-\x08\x0b-\x1f\x7f]|\]\(|" + _HAS_UNSEEN.pattern)
_LINE_SPACES = " \t\u3000\xa0"
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_CREDIT_LINE = re.compile(r"[（(]\s*(?:文章)?来源\s*[：:]")
_SENTENCE_ENDS = tuple("。！？!?”』」…")
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
    #: (data-code, visible text) of each quote link and K-line widget, in order (news_etl/meaning/securities.py)
    codes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def clean_body(body: str, html: bool = False) -> Body:
    """Clean one post body (the text after the front matter): Markdown with HTML in it, as the
    site's files hold it, or (``html=True``) the HTML Jekyll rendered from it, as its feed holds it."""
    if html:
        return _finish(_walk(body) if body.strip() else Body(paragraphs=[]))
    return _finish(_markdown(body))


def _markdown(body: str, always_parse: bool = False) -> Body:
    """A Markdown body: its lines sorted into the digest (``>``), the source link, the site's links
    back, HTML blocks and text paragraphs, then parsed and walked as one document; a body of plain
    paragraphs only (no markup, no link, no entity: most digest posts) skips the parser, which would
    give its text back unchanged (``always_parse`` parses anyway: the tests compare both)."""
    lines = _MarkdownLines()
    for line in body.split("\n"):
        lines.add(line)
    lines.end_text_paragraph()
    result = lines.walked() if lines.needs_parser or always_parse else lines.plain_body()
    result.source_url = next((u for u in lines.source_urls if u), None) or result.source_url
    return result


class _MarkdownLines:
    """A Markdown body's lines, sorted one by one (:meth:`add`)."""

    __slots__ = ("chunks", "digest", "in_digest", "needs_parser", "plain", "source_urls", "text_lines")

    def __init__(self) -> None:
        self.digest: list[list[str]] = []  # paragraphs of the digest, each a list of lines
        self.chunks: list[str] = []  # the document the parser reads: paragraphs and HTML blocks
        self.plain: list[str] = []  # the text paragraphs, for a body that needs no parser
        self.text_lines: list[str] = []  # the lines of the text paragraph being read
        self.source_urls: list[str | None] = []
        self.in_digest = False
        self.needs_parser = False  # markup, an entity, a Markdown link or a character a parser may change

    def add(self, line: str) -> None:
        s = line.strip()
        if s and s[0] == ">":
            self.quoted(s)
            return
        self.in_digest = False
        if not s:
            self.end_text_paragraph()
        elif s[0] == "<" and (autolink := _AUTOLINK.fullmatch(s)):
            self.end_text_paragraph()
            self.source_urls.append(autolink.group(1))
        elif "](" in s and _is_nav_line(s):
            self.end_text_paragraph()
        elif s[0] == "<" and not self.text_lines and _TAG.match(s):
            self.chunks.append(line)  # an HTML block
            self.needs_parser = True
        else:
            self.text_lines.append(s)
            self.needs_parser = self.needs_parser or _NEEDS_PARSER.search(s) is not None

    def quoted(self, s: str) -> None:
        """A ``>`` line: the digest; a new blockquote, or a blank ``>`` line, starts a paragraph."""
        self.end_text_paragraph()
        quoted = s.lstrip(">").strip()
        if not self.in_digest or not quoted:
            self.digest.append([])
        if quoted:
            self.digest[-1].append(quoted)
            self.needs_parser = self.needs_parser or _NEEDS_PARSER.search(quoted) is not None
        self.in_digest = True

    def end_text_paragraph(self) -> None:
        if self.text_lines:
            inline = _markdown_inline("\n".join(self.text_lines))
            self.chunks.append("<p>" + inline + "</p>")
            self.plain.append(inline)
            self.text_lines.clear()

    def walked(self) -> Body:
        """The body as the parser reads it: the digest as a blockquote, then the rest."""
        doc = "\n".join(self.chunks)
        quoted_paragraphs = ["<p>" + _markdown_inline("\n".join(p)) + "</p>" for p in self.digest if p]
        if quoted_paragraphs:
            doc = "<blockquote>" + "".join(quoted_paragraphs) + "</blockquote>" + doc
        return _walk(doc) if doc else Body(paragraphs=[])

    def plain_body(self) -> Body:
        """Plain paragraphs: what the parser would give, without building a tree."""
        result = Body(paragraphs=[p for p in map(normalize_text, self.plain) if p])
        quoted_text = (normalize_text(_markdown_inline("\n".join(p))) for p in self.digest if p)
        result.digest = " ".join(p for p in quoted_text if p) or None
        return result


def _finish(result: Body) -> Body:
    result.source_url = plain_url(result.source_url)
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
        text = "\n".join(_unbold(line) if "**" in line or "__" in line else line for line in text.split("\n"))
    return text


def _unbold(line: str) -> str:
    """``**bold**`` and ``__bold__`` → ``bold`` in one line: an opening mark followed by a non-space,
    closed by the nearest same mark after a non-space. In one pass: each mark is looked at once (a
    regular expression that looks for the close from every opening is quadratic on ``**a **a **a…``)."""
    closers: dict[str, list[int]] = {"**": [], "__": []}
    marks = [m.start() for m in _BOLD_MARK.finditer(line)]
    for q in marks:
        if q and not line[q - 1].isspace():
            closers[line[q : q + 2]].append(q)
    seen = {"**": 0, "__": 0}  # how many closers of each mark lie before the opening looked at
    parts: list[str] = []
    done = 0  # the text up to here is in parts
    for p in marks:
        if p < done:
            continue
        mark = line[p : p + 2]
        if p + 2 >= len(line) or line[p + 2].isspace():
            continue
        ends = closers[mark]
        i = seen[mark]
        while i < len(ends) and ends[i] < p + 3:
            i += 1
        seen[mark] = i
        if i == len(ends):
            continue
        q = ends[i]
        parts += (line[done:p], line[p + 2 : q])
        done = q + 2
    return "".join(parts) + line[done:] if parts else line


def _is_nav_line(line: str) -> bool:
    """A line made only of Markdown links, one of them back to the site (``[返回…](…)``)."""
    links = _MD_LINK.findall(line)
    if not links or _MD_LINK.sub("", line).strip(_NAV_SEPARATORS):
        return False
    return any(_links_back(label, url) for label, url in links)


def _links_back(label: str, url: str) -> bool:
    return label.startswith("返回") or "finews" in url


def _site_line(p: Tag) -> str | None:
    """The site's Markdown lines as kramdown renders them: a paragraph that is only the source link
    (``<p><a href="U">U</a></p>`` → ``U``), only links back to the site (``<p><a …>返回…</a>｜…</p>``
    → ``""``) or the empty link (``<p>&lt;&gt;</p>`` → ``""``); ``None`` for any other paragraph."""
    contents = p.contents
    if len(contents) > 9:
        return None
    links: list[Tag] = []
    for child in contents:
        if type(child) is NavigableString:
            if child.strip(_NAV_SEPARATORS + "\n"):
                return "" if len(contents) == 1 and child.strip() == "<>" else None
        elif isinstance(child, Tag) and child.name == "a":
            links.append(child)
        else:
            return None
    if not links:
        return None
    pairs = [(a.get_text().strip(), href.strip() if isinstance(href := a.get("href"), str) else "") for a in links]
    if len(pairs) == 1 and pairs[0][0] == pairs[0][1] and pairs[0][1].lower().startswith(_AUTOLINK_SCHEMES):
        return pairs[0][1]
    return "" if any(_links_back(label, href) for label, href in pairs) else None


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
    """Parse ``doc`` once and walk it in document order: visible text into paragraphs (a top-level
    blockquote's into the digest), the site's own lines and hidden elements out, links, images and
    tables counted."""
    return _Walk(BeautifulSoup(doc, "lxml")).run()


class _Walk:
    """One walk of a parsed document, without recursion: a stack of nodes to visit, with markers
    (:data:`_END`, :data:`_END_DIGEST`) pushed after a block's children where its paragraph ends."""

    __slots__ = ("body", "current", "digest", "paragraphs", "stack", "target")

    def __init__(self, soup: BeautifulSoup) -> None:
        self.body = Body(paragraphs=[])
        self.paragraphs: list[str] = []
        self.digest: list[str] = []
        self.target = self.paragraphs  # where the text of the paragraph being read goes
        self.current: list[str] = []  # the text of that paragraph so far
        self.stack: list = list(reversed(soup.contents))

    def run(self) -> Body:
        stack = self.stack
        while stack:
            node = stack.pop()
            if type(node) is NavigableString:
                self.current.append(node)
            elif node is _END:
                self.end_paragraph()
            elif node is _END_DIGEST:
                self.end_paragraph()
                self.target = self.paragraphs
            elif isinstance(node, Tag):  # not comments, CDATA, doctype, processing instructions
                self.element(node)
        self.end_paragraph()
        body = self.body
        body.paragraphs = [p for p in map(normalize_text, self.paragraphs) if p]
        body.digest = " ".join(p for p in map(normalize_text, self.digest) if p) or None
        return body

    def end_paragraph(self) -> None:
        if self.current:
            self.target.append("".join(self.current))
            self.current = []

    def element(self, node: Tag) -> None:
        name = node.name
        if name in DROP or _hidden(node):
            return
        if name == "img":
            self.image(node)
            return
        if code := node.attrs.get("data-code"):
            self.body.codes.append((str(code), normalize_text(node.get_text())))
        if name == "br":
            self.current.append("\n")
            return
        if name == "p" and (line := _site_line(node)) is not None:  # the site's own lines, as kramdown renders them
            if line and self.body.source_url is None:
                self.body.source_url = line
            return
        if name in LITERAL:
            self.end_paragraph()
            self.target.append(_TAG_IN_TEXT.sub("", node.get_text()))
            return
        if name == "a" and node.get("href"):
            self.body.links += 1
        elif name == "table":
            self.body.tables += 1
        if name in BLOCK:
            self.open_block(node)
        self.stack.extend(reversed(node.contents))

    def image(self, node: Tag) -> None:
        self.body.images += 1
        alt, src = node.get("alt"), node.get("src")
        if (isinstance(alt, str) and alt.startswith("K图")) or (isinstance(src, str) and "kline" in src.lower()):
            self.body.kline_images += 1

    def open_block(self, node: Tag) -> None:
        """A block element starts a paragraph, and ends it after its children; a top-level
        blockquote is the digest (``> …`` in Markdown)."""
        self.end_paragraph()
        top = node.parent is not None and node.parent.name == "body"
        if node.name == "blockquote" and self.target is self.paragraphs and top:
            self.target = self.digest
            self.stack.append(_END_DIGEST)
        else:
            self.stack.append(_END)


def normalize_text(text: str) -> str:
    """Plain text of one paragraph: the characters a reader never sees (controls, bidi controls,
    zero-width and other invisible characters) gone, a line break between two Chinese characters
    joined without a space, every other run of whitespace (``&nbsp;``, full-width U+3000, tabs, line
    breaks) one space, ends stripped."""
    if _HAS_UNSEEN.search(text):
        text = text.translate(_UNSEEN)
    if "\n" in text:
        text = _join_lines(text)
    return _SPACES.sub(" ", text).strip()


def _join_lines(text: str) -> str:
    """Line breaks, with the spaces around them and blank lines, → nothing between two Chinese
    characters, else one space (the ends are stripped by the caller)."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip(_LINE_SPACES)
        if line:
            if out:
                out.append("" if _CJK.match(out[-1][-1]) and _CJK.match(line[0]) else " ")
            out.append(line)
    return "".join(out)


def plain_text(value: str) -> str:
    """What a reader sees of a one-line text field that may hold markup (a title, a tag, a
    category): tags read as HTML and removed with what they hide (``<script>…</script>``, ``<img …>``),
    entities decoded, then plain as :func:`normalize_text` makes it."""
    if "<" in value or "&" in value:
        parsed = _walk(_TEXT_LT.sub("&lt;", value) if "<" in value else value)  # 'A<B' stays text
        value = " ".join(([parsed.digest] if parsed.digest else []) + parsed.paragraphs)
    return normalize_text(value)


def escaped(text: str) -> str:
    """A message that may quote raw input (a warning, a reject's reason and detail): the characters a
    reader never sees written as escapes (``\\x1b``, ``\\u202e``), so they show and do nothing."""
    if not _HAS_UNSEEN.search(text):
        return text
    return "".join(c.encode("unicode_escape").decode("ascii") if ord(c) in _UNSEEN else c for c in text)


def plain_url(url: str | None) -> str | None:
    """A link as a browser sends it: whitespace and the characters a reader never sees percent-encoded."""
    if not url:
        return None
    if _HAS_UNSEEN.search(url) or _SPACES.search(url):
        url = "".join(quote(c) if c.isspace() or ord(c) in _UNSEEN else c for c in url)
    return url


def _take_credit(body: Body) -> None:
    """Move a ``（文章来源：X）`` paragraph or a trailing ``。（X）`` into ``credit``."""
    if not body.paragraphs:
        return
    last = body.paragraphs[-1]
    if not last.endswith(("）", ")")):
        return
    m = _CREDIT_LINE.match(last)
    if m:
        credit = last[m.end() : -1].strip()
        if credit:
            body.credit = credit
            body.paragraphs.pop()
        return
    opening = max(last.rfind("（"), last.rfind("("))
    before, tail = last[:opening].rstrip(), last[opening + 1 : -1]
    if (
        opening > 0
        and 0 < len(tail) <= 25
        and not tail[0].isdecimal()
        and "）" not in tail
        and ")" not in tail
        and before.endswith(_SENTENCE_ENDS)
        and _names_a_source(tail.strip())
    ):
        body.credit = tail.strip()
        body.paragraphs[-1] = before


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
