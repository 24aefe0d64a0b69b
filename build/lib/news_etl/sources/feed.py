"""The ``feed`` source: a Jekyll site's Atom feed (jekyll-feed), for sites whose repository is not reachable.

Each run makes one conditional GET (``If-None-Match`` / ``If-Modified-Since``
from the ETag and Last-Modified the last load recorded in ``source_state``),
with a timeout and retries with exponential backoff. A ``304 Not Modified``
means nothing changed.

Each entry becomes a post file, rendered as the site's posts are written
(YAML front matter + the entry's HTML content), so the same transform reads
it. Its path is ``feed/<8 hex of the entry id>/<slug>.md``: stable per entry
id, and nothing in it can leave the staging folder. The slug (the last part
of the entry's URL, without ``.html``) is the post id, the same the git and
dir sources give the post. jekyll-feed writes categories and tags alike as
``<category>``: terms ending in 新闻 are read as tags, the others as
categories.

A feed lists only the newest entries: an entry that drops out of it is not a
deletion (this source never reports one), and when the newest post already
loaded is older than the oldest entry of the feed, posts published in
between may have been missed; the source says so in a warning (task log and
``etl_runs.message``).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import yaml

from ..model import RawPost
from . import Deleted, Known, Retry, SourceError, with_retries

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
#: A feed larger than this is refused.
MAX_FEED_BYTES = 64 * 1024 * 1024
#: HTTP statuses worth another attempt (the server is busy or broken for a while).
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_CREDENTIALS = re.compile(r"(?<=//)[^/@]+@")
_UNSAFE = re.compile(r"[^\w.-]+")
_AUTOLINK_P = re.compile(r'<p>\s*<a href="((?:https?|ftp)://[^"<>\s]+)"[^>]*>\s*\1\s*</a>\s*</p>')
_BLOCKQUOTE = re.compile(r"<blockquote>(.*?)</blockquote>", re.S)
_P_TEXT = re.compile(r"<p>(.*?)</p>", re.S)


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
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _text(element) -> str | None:
    return None if element is None else "".join(element.itertext())


class FeedSource:
    def __init__(self, url: str, timeout: float = 30.0, retries: int = 3, backoff: float = 2.0) -> None:
        self.url = url.strip()
        self.display = _CREDENTIALS.sub("", self.url)
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
            try:
                request = urllib.request.Request(self.url, headers=headers)
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read(MAX_FEED_BYTES + 1)
                    if len(body) > MAX_FEED_BYTES:
                        raise SourceError(f"feed {self.display} is larger than {MAX_FEED_BYTES} bytes")
                    return response.status, body, dict(response.headers.items())
            except urllib.error.HTTPError as exc:
                if exc.code == 304:
                    return 304, b"", dict(exc.headers.items())
                if exc.code not in RETRY_STATUSES:
                    raise SourceError(f"feed {self.display} answered HTTP {exc.code} {exc.reason}") from None
                raise Retry(f"HTTP {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    raise Retry(f"no answer within {self.timeout:g}s") from None
                raise Retry(str(reason) or type(reason).__name__) from None

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
    def unrender(content: str) -> str:
        """Turn back the two Markdown forms the cleaner reads from a post's source, as Jekyll rendered them:
        a paragraph that is only an autolink (``<p><a href="U">U</a></p>`` → ``<U>``, the source link) and
        a blockquote (→ ``> digest`` lines). The rest stays HTML, which the cleaner reads as it is."""
        content = _AUTOLINK_P.sub(lambda m: f"\n\n<{html.unescape(m[1])}>\n\n", content)
        content = _BLOCKQUOTE.sub(
            lambda m: (
                "\n\n"
                + "\n".join("> " + " ".join(p.split()) for p in _P_TEXT.findall(m[1]) or [m[1]] if p.strip())
                + "\n\n"
            ),
            content,
        )
        return re.sub(r"\n{3,}", "\n\n", content).strip()

    @staticmethod
    def render(entry: dict) -> bytes:
        """An entry as a post file: YAML front matter and its HTML content."""
        front = {"layout": "post", "title": entry["title"]}
        published = (entry["published"] or entry["updated"] or "").strip()
        if published:
            front["date"] = published
        if entry["categories"]:
            front["categories"] = entry["categories"]
        if entry["tags"]:
            front["tags"] = entry["tags"]
        front["feed_id"] = entry["id"]
        if entry["updated"]:
            front["feed_updated"] = entry["updated"].strip()
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10_000) + "---\n\n"
        return (text + FeedSource.unrender(entry["content"]) + "\n").encode("utf-8")

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
                mtime_ns=int(when.timestamp() * 1_000_000_000) if when else 0,
            )
        log.info("feed %s: %d entries, %d new or changed", self.display, len(entries), changed)
