"""Where posts come from, behind one interface.

A source is opened from a spec string (see :func:`open_source`) and asked,
with the files already loaded (the watermark kept in the warehouse), what
changed: it yields :class:`~news_etl.model.RawPost` for new and changed post
files and :class:`Deleted` for files that are gone. Afterwards ``seen`` is the
number of post files it holds and ``revision`` names the state it read.
"""

from __future__ import annotations

import re

from news_etl.ingest.sources.base import Source, SourceError
from news_etl.settings import URL_SCHEME, split_credentials

GIT_SCHEMES = ("http", "https", "ssh", "git", "file")
#: C0 and C1 control characters (a spec is one line of plain text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
#: A branch name as ``git check-ref-format --branch`` accepts it (no option, no revision syntax).
_BRANCH = re.compile(r"^(?!-)(?!.*(?:\.\.|//|@\{|\.lock/|/\.))(?!\.)[^\x00-\x20\x7f~^:?*\[\\]+(?<![./])(?<!\.lock)$")


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
    scheme = URL_SCHEME.match(location)
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

    ``settings`` (a :class:`~news_etl.settings.Settings`) gives the cache folder,
    timeout, retries and git credentials of the network sources; the defaults
    apply without it. ``as_of`` (ISO 8601, a run's data interval end) makes the
    git source read the site as it was then, so a backfill replays the days one
    by one; the dir and feed sources can only read the present.
    """
    kind, location = check_spec(spec)
    if kind == "dir":
        from news_etl.ingest.sources.dir import DirSource

        return DirSource(location)
    if settings is None:
        from news_etl.settings import Settings

        settings = Settings()
    if kind == "git":
        from news_etl.ingest.sources.git import GitSource

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
    from news_etl.ingest.sources.feed import FeedSource

    return FeedSource(
        location, timeout=settings.source_timeout, retries=settings.source_retries, backoff=settings.source_backoff
    )
