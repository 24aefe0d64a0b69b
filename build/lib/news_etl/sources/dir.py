"""The ``dir`` source: a folder of post files (a site's ``_posts``, or any folder).

New and changed files are found by content hash against the watermark: a
file whose size and modification time match what was loaded is not read
again; any other file is read and hashed, and staged if its hash differs.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..model import RawPost
from . import Deleted, Known, SourceError

POST_SUFFIXES = (".md", ".markdown")
#: Files in a posts folder that are not posts.
NOT_POSTS = frozenset({"readme.md", "readme.markdown", "index.md"})


def _has_surrogates(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(name: str) -> str:
    """``\\xff`` for each byte that is not UTF-8, ``\\n`` etc. for control characters."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class DirSource:
    def __init__(self, location: str) -> None:
        self.root = Path(location).expanduser().resolve()
        self.name = f"dir:{self.root}"
        self.seen = 0
        self.revision: str | None = None

    def _files(self) -> Iterator[tuple[str, os.stat_result, str]]:
        if not self.root.is_dir():
            raise SourceError(f"source folder {self.root} does not exist or is not a folder")
        prefix = len(str(self.root)) + 1  # paths are made relative by slicing: pathlib costs ~10 µs a file
        stack = [str(self.root)]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or entry.name.lower() in NOT_POSTS:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.name.endswith(POST_SUFFIXES) and entry.is_file(follow_symlinks=False):
                        rel = entry.path[prefix:]
                        if os.sep != "/":
                            rel = rel.replace(os.sep, "/")
                        if not rel.isprintable() or _has_surrogates(rel):
                            # a name that is not valid UTF-8 (or holds control characters) gets
                            # a stable, printable spelling; the file is still read by its real name
                            rel = _printable(rel)
                        st = entry.stat(follow_symlinks=False)
                        if not stat.S_ISREG(st.st_mode):
                            continue  # a FIFO or device mounted over a post's name: reading it would block
                        yield rel, st, entry.path

    def changes(self, known: dict[str, Known], previous_revision: str | None = None) -> Iterator[RawPost | Deleted]:
        digest = hashlib.sha256()
        present: set[str] = set()
        hashes: list[tuple[str, str]] = []
        for rel, st, full in self._files():
            present.add(rel)
            old = known.get(rel)
            if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                hashes.append((rel, old.content_hash))
                continue
            with open(full, "rb") as fh:
                raw = fh.read()
            content_hash = hashlib.sha256(raw).hexdigest()
            hashes.append((rel, content_hash))
            if old is None or old.content_hash != content_hash:
                yield RawPost(
                    source=self.name,
                    path=rel,
                    raw=raw,
                    content_hash=content_hash,
                    size=st.st_size,
                    mtime_ns=st.st_mtime_ns,
                )
        for rel in sorted(set(known) - present):
            yield Deleted(rel)
        self.seen = len(present)
        for rel, content_hash in sorted(hashes):
            digest.update(f"{rel}\0{content_hash}\n".encode())
        self.revision = "sha256:" + digest.hexdigest()[:16]
