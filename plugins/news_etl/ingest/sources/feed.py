"""The ``feed`` source: a Jekyll site's Atom feed (jekyll-feed), for sites whose repository is not reachable.

Each run makes one conditional GET (``If-None-Match`` / ``If-Modified-Since``
from the ETag and Last-Modified the last load recorded in ``source_state``),
with a timeout and retries with exponential backoff. A ``304 Not Modified``
means nothing changed.

Each entry becomes a post file: YAML front matter and, as its body, the HTML
Jekyll rendered (``rendered: html``), which the cleaner reads as it reads the
site's Markdown (``clean.clean_body(html=True)``). Its path is
``feed/<8 hex of the entry id>/<slug>.md``: stable per entry id, and nothing
in it can leave the staging folder. The slug (the last part
of the entry's URL, without ``.html``) is the post id, the same the git and
dir sources give the post. jekyll-feed writes categories and tags alike as
``<category>``: terms ending in 新闻 are read as tags, the others as
categories.

What Jekyll made of a post is all a feed knows (docs/operators/sources.md, "What the
feed cannot know"). Jekyll reads a front-matter date without an offset as UTC, so the
instant of such a post is late by the site's UTC offset: every article dated
by the feed's ``<published>`` carries a warning saying so. A post with a blank
line before its ``---`` is published without front matter (the slug as its
title, the front matter as the first paragraph of its text): its title, date,
categories and tags are read back from that paragraph, with a warning.

A feed lists only the newest entries: an entry that drops out of it is not a
deletion (this source never reports one), and when the newest post already
loaded is older than the oldest entry of the feed, posts published in
between may have been missed; the source says so in a warning (task log and
``etl_runs.message``).
"""

from __future__ import annotations

import hashlib
import html
import http.client
import json
import logging
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import yaml

from news_etl.ingest.sources.base import (
    Deleted,
    Retry,
    SourceError,
    with_retries,
    without_credential_parameters,
)
from news_etl.model import Known, RawPost

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
#: A feed larger than this is refused.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: HTTP statuses worth another attempt (the server is busy or broken for a while).
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_CREDENTIALS = re.compile(r"(?<=//)[^/@]+@")
_UNSAFE = re.compile(r"[^\w.-]+")
#: How kramdown renders a front matter Jekyll did not read: a rule (the opening ``---``), then one
#: paragraph of ``key: value`` lines.
_FRONT_MATTER_TEXT = re.compile(r"\s*<hr\s*/?>\s*<p>")
_FRONT_MATTER_KEYS = frozenset({"layout", "title", "date", "categories", "category", "tags", "tag"})
_TAG = re.compile(r"<[^<>]*>")
_QUOTES = (("“", "”"), ('"', '"'), ("‘", "’"), ("'", "'"))
#: The instants a staged file time (nanoseconds in a signed 64-bit integer) can hold.
_NS_RANGE = range(-(2**63), 2**63)
#: Said of every article dated by the feed's ``<published>``.
SHIFT_WARNING = (
    "published time from the feed: Jekyll reads a front-matter date without an offset as UTC, "
    "so it may be late by the site's UTC offset (the git and dir sources read the date as written)"
)
NO_FRONT_MATTER_WARNING = (
    "Jekyll published this post without its front matter (a blank line before '---'): "
    "title, date, categories and tags read back from its text"
)


def slug_for(entry_id: str, link: str | None) -> str:
    """The post id of an entry: the last part of its URL (or id), without ``.html``, made safe as a file name."""
    for candidate in (link, entry_id):
        if not candidate:
            continue
        path = urllib.parse.urlsplit(candidate).path or candidate
        last = urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])
        last = re.sub(r"\.html?$", "", last)
        last = _UNSAFE.sub("-", last).strip(".-")[:120]
        if last:
            return last
    return "entry"


def entry_path(entry_id: str, link: str | None) -> str:
    """The staged path of an entry: ``feed/<8 hex of its id>/<slug>.md`` (no ``/`` or ``..`` from the feed)."""
    return f"feed/{hashlib.sha256(entry_id.encode('utf-8')).hexdigest()[:8]}/{slug_for(entry_id, link)}.md"


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        value.timestamp()  # year 1 with a positive offset, year 9999 with a negative one: not an instant
    except (ValueError, OverflowError):
        return None
    return value


def _mtime_ns(when: datetime | None) -> int:
    """The file time of an entry: its instant in nanoseconds, 0 when it has none or none that fits."""
    if when is None:
        return 0
    ns = int(when.timestamp() * 1_000_000_000)
    return ns if ns in _NS_RANGE else 0


def _front_matter_text(content: str) -> tuple[dict, str] | None:
    """A front matter Jekyll published as text (``<hr /><p>layout: post\ntitle: “…”\n…\n—</p>``):
    its fields (title, date, categories, tags, layout) and the content after it; None if there is none.
    kramdown made the quotes around a value typographic (``"…"`` → ``“…”``): one pair is removed."""
    opening = _FRONT_MATTER_TEXT.match(content)
    if not opening:
        return None
    end = content.find("</p>", opening.end())
    if end < 0:
        return None
    fields: dict = {}
    key = None
    for line in html.unescape(_TAG.sub("", content[opening.end() : end])).split("\n"):
        name, colon, value = line.partition(":")
        value = value.strip()
        if colon and name.strip() in _FRONT_MATTER_KEYS:
            key = name.strip()
            if value:
                fields[key] = _unquote(value)
        elif key in ("categories", "category", "tags", "tag") and line.strip().startswith("- "):
            items = fields.get(key)
            fields[key] = [*(items if isinstance(items, list) else []), _unquote(line.strip()[2:].strip())]
        elif not fields:
            return None  # the first line is no front matter field: an ordinary rule and paragraph
    if "title" not in fields:
        return None
    return fields, content[end + len("</p>") :]


def _unquote(value: str) -> str:
    for first, last in _QUOTES:
        if len(value) >= 2 and value.startswith(first) and value.endswith(last):
            return value[len(first) : -len(last)]
    return value


class _Deadline:
    """One HTTP attempt's time limit, over connect, headers and body together. A socket timeout
    bounds each read alone, so a server that sends a byte a second never trips it; here every
    socket the attempt opens is shut down when the time is up, wherever the attempt waits."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def connect(self, *args, **kwargs) -> socket.socket:
        """``socket.create_connection``, watched."""
        sock = socket.create_connection(*args, **kwargs)
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def opener(self) -> urllib.request.OpenerDirector:
        """A urllib opener whose HTTP and HTTPS connections open their sockets through :meth:`connect`."""
        deadline = self

        class HTTP(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(_WatchedHTTP, req, deadline=deadline)

        class HTTPS(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(_WatchedHTTPS, req, context=self._context, deadline=deadline)

        return urllib.request.build_opener(HTTP, HTTPS)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns at once; the owner closes the socket
    except OSError:
        pass


class _WatchedHTTP(http.client.HTTPConnection):
    def __init__(self, *args, deadline: _Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = deadline.connect


class _WatchedHTTPS(http.client.HTTPSConnection):
    def __init__(self, *args, deadline: _Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = deadline.connect


def _text(element) -> str | None:
    return None if element is None else "".join(element.itertext())


class FeedSource:
    def __init__(self, url: str, timeout: float = 30.0, retries: int = 3, backoff: float = 2.0) -> None:
        self.url = url.strip()
        # no user, password or token in a name, a log or a message
        self.display = without_credential_parameters(_CREDENTIALS.sub("", self.url))
        self.name = f"feed:{self.display}"
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.seen = 0
        self.revision: str | None = None
        self.warnings: list[str] = []
        self.not_modified = False

    # --- HTTP ----------------------------------------------------------------------------------

    def _get(self, etag: str | None, last_modified: str | None) -> tuple[int, bytes, dict]:
        """(status, body, headers) of one conditional GET, retried with backoff; 304 has an empty body."""
        headers = {
            "User-Agent": "news-etl (+https://github.com/zning1994/finews)",
            "Accept": "application/atom+xml, application/xml;q=0.9, */*;q=0.1",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        def attempt() -> tuple[int, bytes, dict]:
            request = urllib.request.Request(self.url, headers=headers)
            with _Deadline(self.timeout) as deadline:
                try:
                    with deadline.opener().open(request, timeout=self.timeout) as response:
                        body = response.read(MAX_FEED_BYTES + 1)
                        status, got = response.status, dict(response.headers.items())
                except urllib.error.HTTPError as exc:
                    if exc.code == 304:
                        return 304, b"", dict(exc.headers.items())
                    if exc.code not in RETRY_STATUSES:
                        raise SourceError(f"feed {self.display} answered HTTP {exc.code} {exc.reason}") from None
                    raise Retry(f"HTTP {exc.code} {exc.reason}") from None
                except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                    reason = getattr(exc, "reason", exc)
                    if deadline.expired or isinstance(reason, (socket.timeout, TimeoutError)):
                        raise Retry(f"no complete answer within {self.timeout:g}s") from None
                    raise Retry(str(reason) or type(reason).__name__) from None
            if deadline.expired:  # the body was cut off (a body without a length just ends)
                raise Retry(f"no complete answer within {self.timeout:g}s")
            if len(body) > MAX_FEED_BYTES:
                raise SourceError(f"feed {self.display} is larger than {MAX_FEED_BYTES} bytes")
            return status, body, got

        return with_retries(attempt, what=f"feed {self.display}", retries=self.retries, backoff=self.backoff)

    # --- Atom → post files ---------------------------------------------------------------------

    def _entries(self, body: bytes) -> list[dict]:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise SourceError(f"feed {self.display} is not valid XML: {exc}") from None
        if root.tag != f"{ATOM}feed":
            raise SourceError(
                f"feed {self.display} is not an Atom feed (its root element is <{root.tag}>, "
                "expected <feed> in the Atom namespace, as jekyll-feed writes)"
            )
        entries = []
        for element in root.findall(f"{ATOM}entry"):
            link = None
            for candidate in element.findall(f"{ATOM}link"):
                if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                    link = candidate.get("href")
                    break
            content = element.find(f"{ATOM}content")
            if content is None:
                content = element.find(f"{ATOM}summary")
            entry_id = (
                (_text(element.find(f"{ATOM}id")) or "").strip()
                or link
                or "sha256:" + hashlib.sha256(ET.tostring(element)).hexdigest()
            )
            terms = [c.get("term", "").strip() for c in element.findall(f"{ATOM}category") if c.get("term", "").strip()]
            entries.append(
                {
                    "id": entry_id,
                    "link": link,
                    "title": (_text(element.find(f"{ATOM}title")) or "").strip(),
                    "published": _text(element.find(f"{ATOM}published")),
                    "updated": _text(element.find(f"{ATOM}updated")),
                    "categories": [t for t in terms if not t.endswith("新闻")],
                    "tags": [t for t in terms if t.endswith("新闻")],
                    "content": _text(content) or "",
                }
            )
        return entries

    @staticmethod
    def render(entry: dict) -> bytes:
        """An entry as a post file: YAML front matter and, as its body, the HTML Jekyll rendered."""
        content = entry["content"]
        front: dict = {"layout": "post", "title": entry["title"]}
        published = (entry["published"] or entry["updated"] or "").strip()
        if published:
            front["date"] = published
        if entry["categories"]:
            front["categories"] = entry["categories"]
        if entry["tags"]:
            front["tags"] = entry["tags"]
        unread = _front_matter_text(content)
        if unread is not None:  # Jekyll did not read the front matter: its text opens the content
            fields, content = unread
            front.update(fields)
            warnings = [NO_FRONT_MATTER_WARNING]
        else:
            warnings = [SHIFT_WARNING] if published else []
        front["feed_id"] = entry["id"]
        if entry["updated"]:
            front["feed_updated"] = entry["updated"].strip()
        front["rendered"] = "html"
        if warnings:
            front["feed_warnings"] = warnings
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10_000) + "---\n"
        return (text + content.strip() + "\n").encode("utf-8")

    # --- the source interface ------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        log.warning("feed %s: %s", self.display, message)
        self.warnings.append(message)

    def changes(self, known: dict[str, Known], previous_revision: str | None) -> Iterator[RawPost | Deleted]:
        self.warnings = []
        try:
            previous = json.loads(previous_revision) if previous_revision else {}
        except ValueError:
            previous = {}
        if not isinstance(previous, dict):
            previous = {}
        status, body, headers = self._get(previous.get("etag"), previous.get("last_modified"))
        lower = {k.lower(): v for k, v in headers.items()}
        if status == 304:
            self.not_modified = True
            self.revision = previous_revision
            self.seen = int(previous.get("entries") or 0)
            log.info("feed %s: not modified since the last load", self.display)
            return
        entries = self._entries(body)
        self.seen = len(entries)
        self.revision = json.dumps(
            {"etag": lower.get("etag"), "last_modified": lower.get("last-modified"), "entries": len(entries)},
            sort_keys=True,
        )
        published = [t for t in (_parse_time(e["published"] or e["updated"]) for e in entries) if t]
        loaded = [k.mtime_ns for k in known.values() if k.mtime_ns]
        if published and loaded:
            oldest_entry = min(published)
            newest_loaded = datetime.fromtimestamp(max(loaded) / 1e9, tz=UTC)
            if newest_loaded < oldest_entry:
                self._warn(
                    f"posts may have been missed: the newest loaded post is from {newest_loaded.isoformat()}, "
                    f"the oldest of the feed's {len(entries)} entries from {oldest_entry.isoformat()}; "
                    "the feed lists only its newest entries, so run more often or load the gap from the git source"
                )
        changed = 0
        for entry in entries:
            raw = self.render(entry)
            path = entry_path(entry["id"], entry["link"])
            content_hash = hashlib.sha256(raw).hexdigest()
            old = known.get(path)
            if old is not None and old.content_hash == content_hash:
                continue
            when = _parse_time(entry["published"] or entry["updated"])
            changed += 1
            yield RawPost(
                source=self.name,
                path=path,
                raw=raw,
                content_hash=content_hash,
                size=len(raw),
                mtime_ns=_mtime_ns(when),
            )
        log.info("feed %s: %d entries, %d new or changed", self.display, len(entries), changed)
