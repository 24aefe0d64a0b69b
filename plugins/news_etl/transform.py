"""The transform step over one batch: raw post files → articles and rejects.

Pure functions of their input: no Airflow, no database, no clock. A batch is
an Arrow table of :data:`~news_etl.model.RAW_SCHEMA`; the result is two
tables, articles (:data:`ARTICLE_SCHEMA`) and rejects (:data:`REJECT_SCHEMA`).
Nothing is dropped: every input row ends in exactly one of them.
"""

from __future__ import annotations

import logging
from datetime import date

import pyarrow as pa

from .clean import clean_body, escaped, plain_text
from .keywords import keywords
from .metrics import article_metrics
from .model import ARTICLE_SCHEMA, REJECT_SCHEMA, Article, RawPost, Reject
from .outlets import outlet_for
from .parse import parse_post
from .validate import EARLIEST_DATE  # the suite's hard date range starts here (validate imports GX lazily)

log = logging.getLogger(__name__)

#: A post larger than this is rejected before it is parsed.
MAX_POST_BYTES = 20 * 1024 * 1024
#: A title longer than this is not a title (the GX suite's hard limit).
MAX_TITLE_CHARS = 500


def transform_post(post: RawPost, latest: date | None = None) -> Article:
    """One post file → one clean article, or raise :class:`Reject`.

    A post that would fail a per-row *hard* expectation of the GX suite (no
    text, a title over 500 characters, a date outside the site's range up to
    ``latest``) is rejected here, so one bad post cannot stop a whole run.
    """
    if len(post.raw) > MAX_POST_BYTES:
        raise Reject("file too large", f"{len(post.raw)} bytes, limit {MAX_POST_BYTES}")
    fm = parse_post(post.path, post.raw)
    body = clean_body(fm.body, html=fm.html)
    if not body.paragraphs and not body.digest:
        raise Reject("no body", "no visible text after cleaning")
    title = plain_text(fm.title)
    if not title:
        raise Reject("no title", "the title holds only markup or invisible characters")
    if len(title) > MAX_TITLE_CHARS:
        raise Reject("title too long", f"{len(title)} characters, limit {MAX_TITLE_CHARS}")
    if fm.published_date < EARLIEST_DATE or (latest is not None and fm.published_date > latest):
        raise Reject(
            "date out of range",
            f"{fm.published_date.isoformat()} is not between "
            f"{EARLIEST_DATE.isoformat()} and {latest.isoformat() if latest else '…'}",
        )
    if not body.paragraphs and body.digest:  # a digest-only post (a template of the site): the digest is its text
        body.paragraphs = [body.digest]
    metrics = article_metrics(body)
    # every text column holds what a reader sees: the cleaner's parts are plain already (clean.py);
    # the front matter's fields may hold markup, controls or bidi characters
    categories = [c for c in map(plain_text, fm.categories) if c]
    tags = [t for t in map(plain_text, fm.tags) if t]
    outlet = outlet_for(categories, tags)
    return Article(
        post_id=fm.post_id,
        source=post.source,
        path=post.path,
        title=title,
        layout=_plain_or_none(fm.layout),
        published_at=fm.published_at,
        published_date=fm.published_date,
        categories=categories,
        tags=tags,
        category=categories[0] if categories else None,
        outlet=_plain_or_none(outlet),
        source_url=body.source_url,
        digest=body.digest,
        byline=body.byline,
        credit=body.credit,
        body_text=body.text,
        paragraphs=body.paragraphs,
        warnings=[escaped(w) for w in fm.warnings + body.warnings],
        content_hash=post.content_hash,
        metrics=metrics,
        keywords=keywords(title, body.text),
    )


def _plain_or_none(value: str | None) -> str | None:
    return (plain_text(value) or None) if value else None


def transform_rows(posts, latest: date | None = None) -> tuple[list[dict], list[dict]]:
    """Articles and rejects, as rows, for an iterable of :class:`RawPost`."""
    articles: list[dict] = []
    rejects: list[dict] = []
    for post in posts:
        try:
            article = transform_post(post, latest)
        except Reject as exc:
            rejects.append(_reject_row(post, exc.reason, exc.detail))
        except RecursionError:
            rejects.append(_reject_row(post, "HTML too deeply nested", "the parser gave up"))
        except Exception as exc:  # a bug, not bad input: keep the post, say what broke
            log.exception("transform failed on %s", post.path)
            rejects.append(_reject_row(post, "transform error", f"{type(exc).__name__}: {exc}"))
        else:
            row = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
            row.update(article.metrics)
            articles.append(row)
    return articles, rejects


_ARTICLE_FIELDS = [f for f in ARTICLE_SCHEMA.names if f in Article.__dataclass_fields__]


def _reject_row(post: RawPost, reason: str, detail: str) -> dict:
    return {
        "source": post.source,
        "path": post.path,
        "reason": escaped(reason),
        "detail": escaped(detail),
        "raw": post.raw,
        "content_hash": post.content_hash,
    }


def transform_table(raw: pa.Table, latest: date | None = None) -> tuple[pa.Table, pa.Table]:
    """A staged raw batch → (articles table, rejects table); ``latest``: the last plausible date."""
    cols = raw.to_pydict()
    posts = (
        RawPost(source=s, path=p, raw=r, content_hash=h)
        for s, p, r, h in zip(cols["source"], cols["path"], cols["raw"], cols["content_hash"], strict=False)
    )
    articles, rejects = transform_rows(posts, latest)
    return (pa.Table.from_pylist(articles, schema=ARTICLE_SCHEMA), pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))
