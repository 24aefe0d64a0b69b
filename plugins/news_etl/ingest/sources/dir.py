"""The ``dir`` source: a folder of post files (a site's ``_posts``, or any folder).

New and changed files are found by content hash against the watermark: a
file whose size and modification time match what was loaded is not read
again; any other file is read and hashed, and staged if its hash differs.

What is read, and what is skipped (and counted: the run's log and ``etl_runs.message``):

- regular ``.md`` / ``.markdown`` files are posts (``README.md`` and ``index.md`` are not);
- entries whose name starts with a dot (``.git``, editors' files) are not looked at;
- symbolic links are never followed (a link may point anywhere): skipped;
- FIFOs, sockets and devices are never opened (a read could block forever): skipped;
- a file or folder this process may not read (another user's ``0600`` file or ``0700`` folder),
  or whose path is longer than the system allows (PATH_MAX): skipped, and the first few named;
- a file with other hard links, not all inside the source, is another file's content mounted
  into the source: skipped (hard links within the source are read: duplicates of one post);
- ``README.md`` and ``index.md`` are not posts: skipped (not counted: a site has them);
- any other file (images, ``.html``) is not a post: skipped.

A file's path in the warehouse is its name relative to the folder, spelled so
that two different names never give the same path (see :func:`printable_path`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from news_etl.contract import MAX_POST_BYTES, MAX_REJECT_RAW_BYTES
from news_etl.ingest.sources.base import Deleted, SourceError, sharing_post_id
from news_etl.model import Known, RawPost

log = logging.getLogger(__name__)

POST_SUFFIXES = (".md", ".markdown")
#: Files in a posts folder that are not posts.
NOT_POSTS = frozenset({"readme.md", "readme.markdown", "index.md"})
#: File times that fit the warehouse (nanoseconds in a signed 64-bit integer: 1677 to 2262).
_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1

#: What a skipped entry was, as the run's message counts it.
SKIPPED = {
    "symlink": ("symbolic link", "symbolic links", "not followed"),
    "special": ("FIFO, socket or device", "FIFOs, sockets or devices", "never opened"),
    "outside link": ("hard link to a file outside the source", "hard links to a file outside the source", "not read"),
    "not a post": ("file that is not a post", "files that are not posts", "not .md or .markdown"),
    "unreadable": ("entry that cannot be read", "entries that cannot be read", "no permission, or a path too long"),
}
#: How many unreadable entries the run's message names.
NAMED_UNREADABLE = 3


#: Paths the revision digest joins at a time (one string of a million paths took 200 MB).
_DIGEST_ROWS = 10_000


def skipped_line(skipped: Counter[str]) -> str:
    """``2 symbolic links (not followed), 1 file that is not a post (not .md or .markdown)``."""
    parts = []
    for kind, (one, many, why) in SKIPPED.items():
        if skipped[kind]:
            parts.append(f"{skipped[kind]} {one if skipped[kind] == 1 else many} ({why})")
    return ", ".join(parts)


def printable_path(name: str) -> str:
    """A file name (as ``os`` gives it: bytes that are not UTF-8 as surrogates) spelled for the
    warehouse: printable, and different for any two different names.

    A name that is printable UTF-8 without a backslash is itself. Any other name is escaped:
    ``\\\\`` for a backslash, ``\\xff`` for a byte that is not UTF-8, ``\\n``, ``\\t``, ``\\r``,
    and ``\\u202e`` (``\\U0001xxxx``) for any other character that does not print. So a real
    newline (``\\n``) and the two characters backslash and n (``\\\\n``), or the byte ``\\xff``
    (``\\xff``) and the text ``\\xff`` (``\\\\xff``), never share a path.
    """
    if name.isprintable() and "\\" not in name:
        return name  # (a lone surrogate is not printable: such names are escaped below)
    out = []
    for c in name:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (os's surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif c == "\\":
            out.append("\\\\")
        elif c in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[c])
        elif c.isprintable():
            out.append(c)
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def _warehouse_path(rel: str) -> str:
    """A path inside the source as the warehouse records it: ``/`` between folders, and a name
    that does not print spelled one-to-one (``printable_path``)."""
    if os.sep != "/":
        rel = rel.replace(os.sep, "/")
    if not rel.isprintable() or "\\" in rel:
        rel = printable_path(rel)
    return rel


#: A listed post file: (path in the warehouse, size, mtime in ns, its full name where that is not
#: the source's root joined with the path, else None).
Entry: TypeAlias = tuple[str, int, int, str | None]


@dataclass
class _Scan:
    """What one listing found against the known files."""

    read: dict[str, bytes] = field(default_factory=dict)  # the content hash of each file read (size or time changed)
    unreadable: set[str] = field(default_factory=set)  # files that could not be read and were not loaded before
    staged: set[str] = field(default_factory=set)  # (kept only beside known files: a first load's are all)
    staged_count: int = 0
    unknown: int = 0  # files listed that were never loaded
    deleted: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)  # known files in folders that cannot be read now


class DirSource:
    def __init__(self, location: str) -> None:
        self.root = Path(location).expanduser().resolve()
        self.name = f"dir:{self.root}"
        self.seen = 0
        self.revision: str | None = None
        self.warnings: list[str] = []
        #: Entries skipped by kind (:data:`SKIPPED`), after :meth:`changes`.
        self.skipped: Counter[str] = Counter()
        #: The first few entries that could not be read, and why (:data:`NAMED_UNREADABLE`).
        self.unreadable: list[str] = []
        #: Folders that could not be listed (paths in the warehouse, ending in ``/``): their files are not gone.
        self._closed: list[str] = []
        #: Files listed, then gone before they were read (one post deleted meanwhile: the next run sees it).
        self._vanished = 0

    def _cannot_read(self, full: str, exc: OSError) -> None:
        self.skipped["unreadable"] += 1
        if len(self.unreadable) < NAMED_UNREADABLE:
            rel = full[len(str(self.root)) + 1 :] or "."
            shown = printable_path(rel if len(rel) <= 200 else "…" + rel[-200:])
            self.unreadable.append(f"{shown} ({exc.strerror or type(exc).__name__})")

    def _entries(self) -> list[Entry]:
        """(path in the warehouse, size, mtime in ns, full name) of every post file; counts what
        it skips. Two ints a file, not its ``stat_result``: at a million files that is about
        400 MB less held by the fetch; the full name only where it is not the root and the path
        (a name the warehouse spells otherwise), about 110 MB less."""
        if not self.root.is_dir():
            raise SourceError(f"source folder {self.root} does not exist or is not a folder")
        prefix = len(str(self.root)) + 1  # paths are made relative by slicing: pathlib costs ~10 µs a file
        stack = [str(self.root)]
        found: list[Entry] = []
        linked: list[tuple[str, int, int, str, int, int, int]] = []  # posts with several links: checked below
        names: Counter[tuple[int, int]] = Counter()  # names in the source of each file with several links
        is_reg, suffixes = stat.S_ISREG, POST_SUFFIXES  # (the loop runs once a file: 100,000 times a run)
        while stack:
            folder = stack.pop()
            try:
                listing = os.scandir(folder)
            except OSError as exc:  # another user's 0700 folder, a path past PATH_MAX
                if folder == str(self.root):
                    raise SourceError(f"source folder {self.root} cannot be read: {exc.strerror}") from None
                self._cannot_read(folder, exc)
                self._closed.append(printable_path(folder[prefix:]) + "/")
                continue
            with listing as entries:
                for entry in entries:
                    name = entry.name
                    if name[0] == ".":
                        continue
                    if entry.is_symlink():
                        self.skipped["symlink"] += 1
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed meanwhile
                    except OSError as exc:
                        self._cannot_read(entry.path, exc)
                        continue
                    if not is_reg(st.st_mode):
                        self.skipped["special"] += 1  # a FIFO or device (also one mounted over a post's name)
                        continue
                    if st.st_nlink > 1:
                        names[(st.st_dev, st.st_ino)] += 1
                    if name.lower() in NOT_POSTS:
                        continue
                    if not name.endswith(suffixes):
                        self.skipped["not a post"] += 1
                        continue
                    full = entry.path
                    rel = _warehouse_path(full[prefix:])
                    if st.st_nlink == 1:
                        found.append((rel, st.st_size, st.st_mtime_ns, None if full[prefix:] == rel else full))
                    else:
                        linked.append((rel, st.st_size, st.st_mtime_ns, full, st.st_dev, st.st_ino, st.st_nlink))
        found.extend(self._inside_links(linked, names))
        return found

    def _inside_links(
        self, linked: list[tuple[str, int, int, str, int, int, int]], names: Counter[tuple[int, int]]
    ) -> Iterator[Entry]:
        """The files with several links whose every link is in the source; a file linked more often
        than the source holds names for it has a name outside the source (skipped, counted)."""
        for rel, size, mtime_ns, full, dev, ino, nlink in linked:
            if names[(dev, ino)] < nlink:
                self.skipped["outside link"] += 1
                continue
            yield (rel, size, mtime_ns, full)

    def _read(self, rel: str, listed_mtime_ns: int, full: str | None) -> RawPost | None:
        """The post file (``full``: its name where it is not the root and ``rel``), or None
        (counted, named) when it cannot be opened."""
        problem: tuple[str, str] | None = None
        full = full or os.path.join(self.root, rel)
        try:
            fh = open(full, "rb")  # (closed by the with below)
        except FileNotFoundError:
            self._vanished += 1
            return None  # removed since the listing: the next run sees it gone
        except OSError as exc:  # another user's 0600 file
            self._cannot_read(full, exc)
            return None
        with fh:
            raw = fh.read(MAX_POST_BYTES + 1)  # at most one byte more than a post may have
            digest, size = hashlib.sha256(raw), len(raw)
            while chunk := fh.read(1 << 20):  # a larger file is hashed, never held whole
                digest.update(chunk)
                size += len(chunk)
        if size > MAX_POST_BYTES:
            raw = raw[:MAX_REJECT_RAW_BYTES]
            problem = ("file too large", f"{size} bytes, limit {MAX_POST_BYTES}")
        mtime_ns: int | None = listed_mtime_ns
        if not _NS_MIN <= listed_mtime_ns <= _NS_MAX:
            mtime_ns = None
            problem = problem or (
                "file time out of range",
                f"the file's modification time ({listed_mtime_ns / 1e9:.0f} s after 1970) is outside what the "
                "warehouse can hold (1677 to 2262): set it right (touch the file) and it loads",
            )
        return RawPost(
            source=self.name,
            path=rel,
            raw=raw,
            content_hash=digest.hexdigest(),
            size=size,
            mtime_ns=mtime_ns,
            problem=problem[0] if problem else None,
            problem_detail=problem[1] if problem else None,
        )

    def changes(self, known: dict[str, Known], previous_revision: str | None = None) -> Iterator[RawPost | Deleted]:
        self.skipped = Counter()
        self.unreadable, self._closed, self._vanished = [], [], 0
        entries = self._entries()
        scan = _Scan()
        yield from self._changed(entries, known, scan)
        if self._vanished and not self.root.is_dir():  # not a post deleted meanwhile: the whole source went
            raise SourceError(f"source folder {self.root} disappeared during the fetch: No such file or directory")
        self.seen = len(entries)
        if scan.staged_count or scan.unknown or len(entries) != len(known):
            yield from self._gone(entries, known, scan)
        for rel in sorted(scan.deleted):
            yield Deleted(rel)
        self.revision = self._revision(entries, known, scan, previous_revision)
        self._warn_skipped()

    def _changed(self, entries: list[Entry], known: dict[str, Known], scan: _Scan) -> Iterator[RawPost]:
        """The files whose size or time changed, read; those whose content changed too, yielded."""
        get = known.get  # (the loop runs once a file: 100,000 times a run)
        for rel, size, mtime_ns, full in entries:
            old = get(rel)
            if old is not None and old.size == size and old.mtime_ns == mtime_ns:
                continue
            scan.unknown += old is None
            post = self._read(rel, mtime_ns, full)
            if post is None:  # kept as loaded, if it was: unreadable now is not gone
                if old is None:
                    scan.unreadable.add(rel)
                continue
            # (32 bytes, not a string of 64: 50 MB less at a million files)
            scan.read[rel] = bytes.fromhex(post.content_hash)
            # (a file whose time was out of range was recorded without one: once set right, it loads)
            if old is None or old.content_hash != post.content_hash or (old.mtime_ns is None and not post.problem):
                scan.staged_count += 1
                if known:  # another file may share its post id (a first load has none to share with)
                    scan.staged.add(rel)
                yield post

    def _gone(self, entries: list[Entry], known: dict[str, Known], scan: _Scan) -> Iterator[RawPost]:
        """The known files no longer listed (``scan.deleted``; those in a folder that cannot be read
        now are kept, not gone), and the files that share a post id with a staged or deleted one,
        read again so the load picks the one file that holds the article among all of them (the
        others are duplicate rejects)."""
        if not known:  # a first load: nothing is gone, no file shares a post id with a loaded one
            return
        scan.deleted = known.keys() - {entry[0] for entry in entries}
        if self._closed:
            closed = tuple(self._closed)
            scan.kept = {rel for rel in scan.deleted if rel.startswith(closed)}
            scan.deleted -= scan.kept
        again = sharing_post_id(known, scan.deleted, scan.staged)
        wanted = set(again)
        listed = {entry[0]: entry for entry in entries if entry[0] in wanted} if again else {}
        for rel in again:
            if rel in listed:
                _, _, mtime_ns, full = listed[rel]
                post = self._read(rel, mtime_ns, full)
                if post is not None:
                    yield post

    def _revision(
        self,
        entries: list[Entry],
        known: dict[str, Known],
        scan: _Scan,
        previous_revision: str | None,
    ) -> str | None:
        """A digest of every listed file's path and content hash. Nothing staged and nothing gone:
        the files and their hashes are the known ones, which the previous revision names (the load
        writes both in one transaction), so it stays, without a sort of every path."""
        if not (scan.staged_count or scan.deleted or previous_revision is None):
            return previous_revision
        unreadable, read = scan.unreadable, scan.read
        paths = sorted([*(rel for rel, *_ in entries if rel not in unreadable), *scan.kept])
        digest = hashlib.sha256()
        for start in range(0, len(paths), _DIGEST_ROWS):  # a slice at a time: no string of every path
            digest.update(
                "".join(
                    [
                        f"{rel}\0{read[rel].hex() if rel in read else known[rel].content_hash}\n"
                        for rel in paths[start : start + _DIGEST_ROWS]
                    ]
                ).encode()
            )
        return "sha256:" + digest.hexdigest()[:16]

    def _warn_skipped(self) -> None:
        self.warnings = []
        if self.skipped:
            counted = skipped_line(self.skipped)
            if self.unreadable:
                counted += f": {', '.join(self.unreadable)}" + (
                    ", …" if self.skipped["unreadable"] > len(self.unreadable) else ""
                )
            self.warnings.append(f"skipped in {self.root}: {counted}")
            log.warning("dir source: skipped %s", counted)
