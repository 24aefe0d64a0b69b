"""What every source shares: the records a fetch yields, the errors, the retry helper, the protocol."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import unquote

from news_etl.model import Known, RawPost, post_id_from_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deleted:
    """A post file that is gone from the source."""

    path: str


class SourceError(Exception):
    """The source cannot be read (missing, unreachable, not a Jekyll site).

    ``transient``: it stayed unreachable through its own retries (a network, a server), so a
    later try may succeed; otherwise no try will do better (a path that is no folder or no
    repository, a bad spec, a missing branch) and the DAG fails at once."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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
    raise SourceError(f"{what} is unreachable after {retries} attempt(s){where}: {last}", transient=True)


class Source(Protocol):
    name: str
    seen: int
    revision: str | None

    def changes(self, known: dict[str, Known], previous_revision: str | None) -> Iterator[RawPost | Deleted]: ...


#: Transports the git source accepts: git's own, never a remote helper (``ext::``, ``fd::``…).
#: Query parameters that carry a credential (compared lower-case, percent-decoded): a source's name,
#: which the warehouse, the logs and the messages hold, never keeps them. sql/migrations/030 strips
#: the same names from the names stored before.
CREDENTIAL_PARAMETERS = frozenset(
    {
        "token", "access_token", "auth_token", "api_token", "private_token", "id_token", "refresh_token",
        "api_key", "apikey", "key", "secret", "client_secret", "sig", "signature", "password", "passwd", "pwd",
        "auth", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
    }
)  # fmt: skip


def without_credential_parameters(url: str) -> str:
    """``url`` without the query parameters that carry a credential (:data:`CREDENTIAL_PARAMETERS`);
    every other parameter is kept as written, in its place."""
    head, hash_, fragment = url.partition("#")
    base, question, query = head.partition("?")
    if not question:
        return url
    kept = [p for p in query.split("&") if unquote(p.partition("=")[0]).strip().lower() not in CREDENTIAL_PARAMETERS]
    return base + ("?" + "&".join(kept) if kept else "") + hash_ + fragment


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
    ids = {post_id_from_path(p) for p in deleted} | {post_id_from_path(p) for p in staged}
    return sorted(p for p in known if p not in deleted and p not in staged and post_id_from_path(p) in ids)
