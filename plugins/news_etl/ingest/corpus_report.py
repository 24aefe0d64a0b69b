"""``python -m news_etl corpus-report PATH``: what a folder of posts is made of.

For every post file under PATH (the files the ``dir`` source would read) it runs the transform
step and prints: the count per template, per outlet, the rejects by reason, the fields most often
missing, and the warnings the transform recorded.

The template is inferred from the post's shape, never from a list of known files (the labels are
those of ``../shared/corpus/README.md``)::

    T0   category sitenews (the site's own notices)
    T8   newspaper post (below) whose body opens with a reporter line (byline)
    T7   newspaper post: the post id starts with NW, or the source link is a NewsShare.html link
    T6   a ``> digest`` blockquote and an HTML body (2022 Eastmoney template)
    old templates: a plain-text body, a ``<url>`` line, then by the links back to the site:
    T1   no links back; T1c the same with blank line(s) before the opening ``---``
    T2   relative links ``../``       T2b  dot-relative links ``./``
    T3   links on the old domain ``finews.zning.me``
    T4   absolute links, one per line  T5   absolute links joined by ｜ on one line
    ?    none of these (a new template: look at it)
    -    the file has no readable front matter (it is a reject)

Only lines are looked at (which line starts with ``>``, ``<``, ``[返回``), never the HTML tree: the
one HTML parse of a post is the cleaner's.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from news_etl.ingest.clean import _TAG
from news_etl.ingest.parse import _string_list, decode, load_yaml, split_front_matter
from news_etl.ingest.sources.dir import DirSource
from news_etl.ingest.transform import transform_post
from news_etl.model import RawPost, Reject, post_id_from_path

TEMPLATES = {
    "T0": "site notice (sitenews)",
    "T1": "digest line + <url>, no links back",
    "T1c": "T1 with blank line(s) before the front matter",
    "T2": "digest line + <url> + relative ../ links",
    "T2b": "digest line + <url> + dot-relative ./ links",
    "T3": "digest line + <url> + old-domain finews.zning.me links",
    "T4": "digest line + <url> + absolute links on two lines",
    "T5": "digest line + <url> + absolute links joined by ｜",
    "T6": "> digest blockquote + Eastmoney HTML body",
    "T7": "newspaper post (NW id, NewsShare link)",
    "T8": "newspaper post with a reporter line",
    "?": "unknown shape",
    "-": "no readable front matter",
}
#: Fields an article may lack, in the order the report lists them.
OPTIONAL_FIELDS = ("digest", "source_url", "credit", "byline", "layout", "categories", "tags", "outlet")

_NAV_HREF = re.compile(r"\[返回[^\]]*\]\(([^)\s]*)\)")


@dataclass
class Shape:
    """What the lines of a post show."""

    post_id: str
    categories: list[str] = field(default_factory=list)
    blank_before_front_matter: bool = False
    blockquote: bool = False
    html_body: bool = False
    share_link: bool = False
    nav_hrefs: list[str] = field(default_factory=list)
    nav_lines: int = 0


def shape_of(path: str, raw: bytes) -> Shape | None:
    """The shape of a post file, or None when its front matter cannot be read."""
    warnings: list[str] = []
    try:
        text = decode(raw, warnings)
        fm_text, body, first_line = split_front_matter(text, warnings)
        fm = load_yaml(fm_text, first_line)
        categories = _string_list(fm.get("categories", fm.get("category")), "categories")
    except Reject:
        return None
    shape = Shape(
        post_id=post_id_from_path(path),
        categories=categories,
        blank_before_front_matter=any("before the front matter" in w for w in warnings),
    )
    for line in body.split("\n"):
        s = line.strip()
        if not s:
            continue
        if s[0] == ">":
            shape.blockquote = True
        elif s[0] == "<":
            if "NewsShare.html" in s:
                shape.share_link = True
            elif _TAG.match(s) and not s.startswith(("<http", "<ftp", "<>")):
                shape.html_body = True
        if "[返回" in s:
            hrefs = _NAV_HREF.findall(s)
            if hrefs:
                shape.nav_hrefs.extend(hrefs)
                shape.nav_lines += 1
    return shape


def template_of(shape: Shape | None, byline: str | None = None) -> str:
    """The template label of a post (see the module's docstring for the rules)."""
    if shape is None:
        return "-"
    if "sitenews" in shape.categories:
        return "T0"
    if shape.post_id.startswith("NW") or shape.share_link:
        return "T8" if byline else "T7"
    if shape.blockquote and shape.html_body:
        return "T6"
    if not shape.nav_hrefs:
        return "T1c" if shape.blank_before_front_matter else "T1"
    hrefs = shape.nav_hrefs
    if any(h.startswith("../") for h in hrefs):
        return "T2"
    if any(h.startswith("./") for h in hrefs):
        return "T2b"
    if any("zning.me" in h for h in hrefs):
        return "T3"
    if any(h.startswith(("//", "http://", "https://")) for h in hrefs):
        return "T4" if shape.nav_lines > 1 else "T5"
    return "?"


@dataclass
class CorpusReport:
    posts: int = 0
    articles: int = 0
    templates: Counter = field(default_factory=Counter)
    outlets: Counter = field(default_factory=Counter)
    rejects: Counter = field(default_factory=Counter)
    missing: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    template_of_path: dict[str, str] = field(default_factory=dict)


def build_report(posts) -> CorpusReport:
    """The report for an iterable of :class:`~news_etl.model.RawPost`."""
    report = CorpusReport()
    for post in posts:
        report.posts += 1
        byline = None
        try:
            article = transform_post(post)
        except Reject as exc:
            report.rejects[exc.reason] += 1
        except RecursionError:
            report.rejects["HTML too deeply nested"] += 1
        else:
            report.articles += 1
            byline = article.byline
            report.outlets[article.outlet or "(none)"] += 1
            for name in OPTIONAL_FIELDS:
                if not getattr(article, name):
                    report.missing[name] += 1
            for warning in article.warnings:
                report.warnings[_warning_kind(warning)] += 1
        template = template_of(shape_of(post.path, post.raw), byline)
        report.templates[template] += 1
        report.template_of_path[post.path] = template
    return report


def _warning_kind(warning: str) -> str:
    """A warning without its particulars (dates, counts), so that alike warnings count together."""
    kind = re.sub(r"'[^']*'", "'…'", warning)
    kind = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", kind)
    return re.sub(r"\d+", "N", kind)


def read_folder(path: str):
    """The post files under ``path``, as the ``dir`` source finds them (README.md is not a post)."""

    return (p for p in DirSource(path).changes({}) if isinstance(p, RawPost))


def _width(text: str) -> int:
    """Columns a text takes in a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_report(report: CorpusReport, path: str) -> str:
    lines = [
        f"corpus {path}: {report.posts} posts, {report.articles} articles, {report.posts - report.articles} rejects",
        "",
    ]

    def table(title: str, counter: Counter, describe=None) -> None:
        lines.append(title)
        if not counter:
            lines.append("  (none)")
        width = max((_width(str(k)) for k in counter), default=0)
        for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            key = str(key)
            extra = " " * (width - _width(key)) + f"  {describe(key)}" if describe else ""
            lines.append(f"  {count:6d}  {key}{extra}")
        lines.append("")

    table("per template (inferred from each post's shape):", report.templates, lambda t: TEMPLATES.get(t, ""))
    table("per outlet:", report.outlets)
    table("rejects by reason:", report.rejects)
    lines.append(f"fields most often missing (of {report.articles} articles):")
    for name in sorted(OPTIONAL_FIELDS, key=lambda n: (-report.missing[n], OPTIONAL_FIELDS.index(n))):
        count = report.missing[name]
        share = f"{100 * count / report.articles:5.1f}%" if report.articles else "    -"
        lines.append(f"  {count:6d}  {share}  {name}")
    lines.append("")
    table("warnings recorded:", report.warnings)
    return "\n".join(lines).rstrip() + "\n"
