"""Where posts come from, behind one interface.

A source is opened from a spec string (see :func:`open_source`) and asked,
with the files already loaded (the watermark kept in the warehouse), what
changed: it yields :class:`~news_etl.model.RawPost` for new and changed post
files and :class:`Deleted` for files that are gone. Afterwards ``seen`` is the
number of post files it holds and ``revision`` names the state it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

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


class Source(Protocol):
    name: str
    seen: int
    revision: str | None

    def changes(self, known: dict[str, Known], previous_revision: str | None) -> Iterator[RawPost | Deleted]:
        ...


def open_source(spec: str) -> Source:
    """A source from its spec: a folder path (or ``dir+PATH``)."""
    kind, _, location = spec.partition("+") if spec.split("+", 1)[0] in ("dir", "git", "feed") else ("dir", "", spec)
    if kind == "dir":
        from .dir import DirSource

        return DirSource(location)
    raise SourceError(f"unknown source kind {kind!r} in {spec!r}; use a folder path")
