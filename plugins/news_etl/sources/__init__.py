"""Where posts come from, behind one interface.

A source is opened from a spec string (see :func:`open_source`) and asked,
with the files already loaded (the watermark kept in the warehouse), what
changed: it yields :class:`~news_etl.model.RawPost` for new and changed post
files and :class:`Deleted` for files that are gone. Afterwards ``seen`` is the
number of post files it holds and ``revision`` names the state it read.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar
from urllib.parse import unquote

from ..model import RawPost


class Known(NamedTuple):
    """A post file as the warehouse last loaded it (a tuple: a fetch builds one per live file)."""

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


#: Transports the git source accepts: git's own, never a remote helper (``ext::``, ``fd::``…).
GIT_SCHEMES = ("http", "https", "ssh", "git", "file")
#: C0 and C1 control characters (a spec is one line of plain text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
#: A branch name as ``git check-ref-format --branch`` accepts it (no option, no revision syntax).
_BRANCH = re.compile(r"^(?!-)(?!.*(?:\.\.|//|@\{|\.lock/|/\.))(?!\.)[^\x00-\x20\x7f~^:?*\[\\]+(?<![./])(?<!\.lock)$")


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(the URL without user and password, the user, the password) of ``scheme://user:password@host/…``.

    The user part ends at the URL's last ``@``, so a password may hold ``@``, ``:``
    and ``/`` as typed (a user name may not hold ``/``); both are percent-decoded
    (write ``%`` as ``%25``). Anything else comes back whole, with no credentials.
    """
    scheme = _SCHEME.match(url)
    userinfo, at, rest = url[scheme.end() :].rpartition("@") if scheme else ("", "", url)
    user, colon, password = userinfo.partition(":")
    if not scheme or not at or "/" in user:
        return url, None, None
    return url[: scheme.end()] + rest, unquote(user), unquote(password) if colon else None


def check_spec(spec: str) -> tuple[str, str]:
    """(kind, location) of a source spec, or a :class:`SourceError` that says what is wrong with it.

    A spec is refused when it holds control characters, when it or its location
    begins with ``-`` (git would read it as an option), when a git spec uses a
    transport other than :data:`GIT_SCHEMES`, a local path or ``[user@]host:path``
    (``ext::`` runs commands), when a git branch is no plain branch name, or when
    a feed is not ``http(s)://``.
    """
    spec = spec.strip()
    shown = "+".join(split_credentials(part)[0] for part in spec.split("+", 1))  # never a password in a message
    if _CONTROL.search(spec):
        raise SourceError(f"source spec {shown!r} contains control characters: give it as one line of plain text")
    head, plus, rest = spec.partition("+")
    kind, location = (head, rest.strip()) if plus and head in ("dir", "git", "feed") else ("dir", spec)
    if not location:
        raise SourceError(f"source spec {shown!r} names no location: use a folder, git+<url or path> or feed+<url>")
    if location.startswith("-"):
        raise SourceError(
            f"source spec {shown!r} begins with '-': a location cannot be an option "
            "(write a folder whose name begins with '-' as ./-name)"
        )
    scheme = _SCHEME.match(location)
    if kind == "git":
        url, _, branch = location.partition("#")
        if _HELPER.match(url) or (scheme and scheme.group(1).lower() not in GIT_SCHEMES):
            transport = scheme.group(1) + "://" if scheme else url.split("::", 1)[0] + "::"
            raise SourceError(
                f"source spec {shown!r} uses the transport {transport}, which the git source refuses: "
                "use http(s)://, ssh://, git://, file://, [user@]host:path or a local path"
            )
        if branch and not _BRANCH.match(branch):
            raise SourceError(f"source spec {shown!r} names {branch!r}, which is no valid branch name")
    if kind == "feed" and not (scheme and scheme.group(1).lower() in ("http", "https")):
        raise SourceError(f"source spec {shown!r}: a feed is read over http:// or https:// only")
    return kind, location


def open_source(spec: str, settings=None, as_of: str | None = None) -> Source:
    """A source from its spec (checked by :func:`check_spec`).

    - a folder path, or ``dir+PATH``: a folder of post files;
    - ``git+URL`` or ``git+PATH`` (optionally ``#branch``): a Jekyll site's git repository,
      cloned once into the cache folder (``settings.cache``) and fetched each run;
    - ``feed+URL``: the site's Atom feed (jekyll-feed).

    ``settings`` (a :class:`~news_etl.config.Settings`) gives the cache folder,
    timeout, retries and git credentials of the network sources; the defaults
    apply without it. ``as_of`` (ISO 8601, a run's data interval end) makes the
    git source read the site as it was then, so a backfill replays the days one
    by one; the dir and feed sources can only read the present.
    """
    kind, location = check_spec(spec)
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
            username=settings.git_username,
            token=settings.git_token,
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
