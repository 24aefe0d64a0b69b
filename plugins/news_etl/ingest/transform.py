"""The transform step over one batch: raw post files → articles and rejects.

Pure functions of their input: no Airflow, no database, no clock. A batch is
an Arrow table of :data:`~news_etl.model.RAW_SCHEMA`; the result is two
tables, articles (:data:`ARTICLE_SCHEMA`) and rejects (:data:`REJECT_SCHEMA`).
Nothing is dropped: every input row ends in exactly one of them.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

import pyarrow as pa

from news_etl.contract import EARLIEST_DATE, MAX_POST_BYTES, MAX_REJECT_RAW_BYTES, MAX_TITLE_CHARS, latest_date
from news_etl.ingest.clean import clean_body, escaped, plain_text
from news_etl.ingest.metrics import article_metrics
from news_etl.ingest.parse import parse_post
from news_etl.meaning.keywords import NO_NAMES, Names, analyse
from news_etl.meaning.outlets import outlet_for
from news_etl.meaning.securities import mark_fragments, securities
from news_etl.meaning.securities import names as security_names
from news_etl.meaning.stories import signature
from news_etl.model import ARTICLE_SCHEMA, REJECT_SCHEMA, Article, RawPost, Reject

log = logging.getLogger(__name__)


def transform_post(post: RawPost, as_of: date | None = None, names: Names = NO_NAMES) -> Article:
    """One post file → one clean article, or raise :class:`Reject`.

    A post that would fail a per-row *hard* expectation of the GX suite (the
    article contract, ``contract.py``: no text, a title too long, a date
    outside the site's range for a run as of ``as_of``) is rejected here, so
    one bad post cannot stop a whole run. Without ``as_of`` only the earliest
    date is checked.
    """
    _check_file(post)
    fm = parse_post(post.path, post.raw, internal=post.source.startswith("feed:"))  # (the feed's own fields)
    body = clean_body(fm.body, html=fm.html)
    if not body.paragraphs and not body.digest:
        raise Reject("no body", "no visible text after cleaning")
    title = _checked_title(fm.title)
    _check_date(fm.published_date, as_of)
    if not body.paragraphs and body.digest:  # a digest-only post (a template of the site): the digest is its text
        body.paragraphs = [body.digest]
    metrics = article_metrics(body)
    mentioned = securities(body.codes, f"{title}\n{body.text}")
    # every text column holds what a reader sees: the cleaner's parts are plain already (clean.py);
    # the front matter's fields may hold markup, controls or bidi characters
    categories = [c for c in map(plain_text, fm.categories) if c]
    tags = [t for t in map(plain_text, fm.tags) if t]
    outlet = outlet_for(categories, tags)
    meaning = analyse(title, body.text, names, linked=security_names(mentioned))
    mark_fragments(mentioned, meaning.names)
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
        keywords=meaning.keywords,
        securities=mentioned,
        names=meaning.names,
        names_used=meaning.used,
        minhash=signature(title, body.text),
    )


def _check_file(post: RawPost) -> None:
    """A file the source could not read whole, or one over the largest post accepted: a reject."""
    if post.problem:
        raise Reject(post.problem, post.problem_detail or "")
    if max(len(post.raw), post.size or 0) > MAX_POST_BYTES:
        raise Reject("file too large", f"{max(len(post.raw), post.size or 0)} bytes, limit {MAX_POST_BYTES}")


def _checked_title(raw: str) -> str:
    """The title as a reader sees it, or a reject: none left, or longer than the contract allows."""
    title = plain_text(raw)
    if not title:
        raise Reject("no title", "the title holds only markup or invisible characters")
    if len(title) > MAX_TITLE_CHARS:
        raise Reject("title too long", f"{len(title)} characters, limit {MAX_TITLE_CHARS}")
    return title


def _check_date(published: date, as_of: date | None) -> None:
    """A publication date outside the contract's plausible range (a year past ``as_of`` at most): a reject."""
    latest = latest_date(as_of) if as_of is not None else None
    if published < EARLIEST_DATE or (latest is not None and published > latest):
        raise Reject(
            "date out of range",
            f"{published.isoformat()} is not between "
            f"{EARLIEST_DATE.isoformat()} and {latest.isoformat() if latest else '…'}",
        )


def _plain_or_none(value: str | None) -> str | None:
    return (plain_text(value) or None) if value else None


def transform_rows(posts, as_of: date | None = None, names: Names = NO_NAMES) -> tuple[list[dict], list[dict]]:
    """Articles and rejects, as rows, for an iterable of :class:`RawPost`."""
    articles: list[dict] = []
    rejects: list[dict] = []
    for post in posts:
        try:
            article = transform_post(post, as_of, names)
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
    """A reject keeps the file's bytes (at most ``MAX_REJECT_RAW_BYTES`` of them), its full size and SHA-256."""
    whole = len(post.raw) >= (post.size or 0)
    return {
        "source": post.source,
        "path": post.path,
        "reason": escaped(reason),
        "detail": escaped(detail),
        "raw": post.raw[:MAX_REJECT_RAW_BYTES],
        "content_hash": post.content_hash,
        "raw_size": len(post.raw) if whole else post.size,
        "raw_sha256": hashlib.sha256(post.raw).hexdigest() if whole else post.content_hash,
    }


def transform_table(raw: pa.Table, as_of: date | None = None, names: Names = NO_NAMES) -> tuple[pa.Table, pa.Table]:
    """A staged raw batch → (articles table, rejects table) for a run as of the day ``as_of``."""
    cols = raw.to_pydict()
    n = raw.num_rows
    posts = (
        RawPost(source=s, path=p, raw=r, content_hash=h, size=size or 0, problem=problem, problem_detail=detail)
        for s, p, r, h, size, problem, detail in zip(
            cols["source"],
            cols["path"],
            cols["raw"],
            cols["content_hash"],
            cols.get("size", [None] * n),
            cols.get("problem", [None] * n),
            cols.get("problem_detail", [None] * n),
            strict=True,
        )
    )
    articles, rejects = transform_rows(posts, as_of, names)
    return (pa.Table.from_pylist(articles, schema=ARTICLE_SCHEMA), pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))
