"""Where posts come from, behind one interface.

A source is opened from a spec string (see :func:`open_source`) and asked,
with the files already loaded (the watermark kept in the warehouse), what
changed: it yields :class:`~news_etl.model.RawPost` for new and changed post
files and :class:`Deleted` for files that are gone. Afterwards ``seen`` is the
number of post files it holds and ``revision`` names the state it read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..model import RawPost


@dataclass(frozen=True)
class Known:
    """A post file as the warehouse last loaded it."""

    content_hash: str
    size: int | None
    mtime_ns: int | None


@dataclass(frozen=True)
class Deleted:
    """A post file that is gone from the source."""

    path: str


class SourceError(Exception):
    """The source cannot be read (missing, unreachable, not a Jekyll site)."""


class Retry(Exception):
    """An attempt at a remote source failed in a way worth trying again; the message says why."""


_T = TypeVar("_T")
_log = logging.getLogger(__name__)


def with_retries(attempt: Callable[[], _T], *, what: str, retries: int, backoff: float, where: str = "") -> _T:
    """``attempt()`` until it returns. A :class:`Retry` is tried again after ``backoff`` seconds,
    doubled each time; after ``retries`` attempts the source fails with
    ``<what> is unreachable after N attempt(s)<where>: <the last reason>``."""
    last = "no attempt made"
    for n in range(1, retries + 1):
        try:
            return attempt()
        except Retry as exc:
            last = str(exc)
        if n < retries:
            delay = backoff * 2 ** (n - 1)
            _log.warning("%s: attempt %d of %d failed (%s); retrying in %.1fs", what, n, retries, last, delay)
            time.sleep(delay)
    raise SourceError(f"{what} is unreachable after {retries} attempt(s){where}: {last}")


class Source(Protocol):
    name: str
    seen: int
    revision: str | None

    def changes(self, known: dict[str, Known], previous_revision: str | None) -> Iterator[RawPost | Deleted]: ...


def open_source(spec: str, settings=None, as_of: str | None = None) -> Source:
    """A source from its spec.

    - a folder path, or ``dir+PATH``: a folder of post files;
    - ``git+URL`` or ``git+PATH`` (optionally ``#branch``): a Jekyll site's git repository,
      cloned once into the cache folder (``settings.cache``) and fetched each run;
    - ``feed+URL``: the site's Atom feed (jekyll-feed).

    ``settings`` (a :class:`~news_etl.config.Settings`) gives the cache folder,
    timeout and retries of the network sources; the defaults apply without it.
    ``as_of`` (ISO 8601, a run's data interval end) makes the git source read
    the site as it was then, so a backfill replays the days one by one; the
    dir and feed sources can only read the present.
    """
    spec = spec.strip()
    head, plus, rest = spec.partition("+")
    kind, location = (head, rest) if plus and head in ("dir", "git", "feed") else ("dir", spec)
    if not location:
        raise SourceError(f"source spec {spec!r} names no location: use a folder, git+<url or path> or feed+<url>")
    if kind == "dir":
        from .dir import DirSource

        return DirSource(location)
    if settings is None:
        from ..config import Settings

        settings = Settings()
    if kind == "git":
        from .git import GitSource

        source = GitSource(
            location,
            cache=settings.cache,
            timeout=settings.source_timeout,
            retries=settings.source_retries,
            backoff=settings.source_backoff,
        )
        source.as_of = as_of
        return source
    from .feed import FeedSource

    return FeedSource(
        location, timeout=settings.source_timeout, retries=settings.source_retries, backoff=settings.source_backoff
    )


def sharing_post_id(known: dict[str, Known], deleted: set[str], staged: set[str]) -> list[str]:
    """Known files, still there and not staged, that share a post id with a deleted or a staged file.

    Two files may claim one post id (a post copied to ``old_post/`` before
    ``_posts/`` loses it, or two posts with one slug): one holds the article, the
    others are ``duplicate post id`` rejects. When one of them changes, comes or
    goes, the others are read again, so the load picks among all of them (the
    newest publication, then the first path) and the article never depends on
    which file the runs happened to see first.
    """
    if not deleted and not staged:
        return []
    from ..parse import post_id_from_path

    ids = {post_id_from_path(p) for p in deleted} | {post_id_from_path(p) for p in staged}
    return sorted(p for p in known if p not in deleted and p not in staged and post_id_from_path(p) in ids)
