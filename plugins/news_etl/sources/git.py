"""The ``git`` source: a Jekyll site's git repository, given by URL or local path.

The repository is cloned once (``git clone --mirror``) into the cache folder
and fetched at each run; a force-push is followed (the mirror's refs are
forced). What changed is the diff between the last loaded commit (the
watermark in ``source_state``) and the new head, read with ``git diff-tree -r
-M`` (the plumbing form of ``git diff --name-status -M`` that also gives the
blob ids): added, modified, renamed and deleted post files under ``_posts/``
and ``old_post/`` (the finews site moves posts there after three days). The
changed blobs are read in one ``git cat-file --batch`` process. So a run
costs in proportion to the changed posts, not to the history.

When the watermark commit is unknown to the clone, or is no ancestor of the
new head (history rewritten by a force-push), or there is no watermark but
files were loaded before, the source falls back to a full scan: every post
blob at the head is read and compared by content hash with what was loaded.
It says so in a warning (task log and ``etl_runs.message``).

No checkout is made: everything is read from the object store.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from ..model import RawPost
from . import Deleted, Known, Retry, SourceError, sharing_post_id, with_retries
from .dir import NOT_POSTS, POST_SUFFIXES

log = logging.getLogger(__name__)

#: Top-level folders whose files are posts (Jekyll's ``_posts``, and finews' ``old_post``).
POST_FOLDERS = ("_posts/", "old_post/")
#: Top-level names that make a repository a Jekyll site.
JEKYLL_MARKERS = frozenset({"_config.yml", "_config.yaml", "_config.toml", "_posts"})
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_CREDENTIALS = re.compile(r"(?<=//)[^/@]+@")


def is_post_path(path: str) -> bool:
    """Whether a path in the repository is a post file."""
    if not path.endswith(POST_SUFFIXES):
        return False
    name = path.rsplit("/", 1)[-1]
    if name.startswith(".") or name.lower() in NOT_POSTS:
        return False
    return path.startswith(POST_FOLDERS) or "/_posts/" in path


def _decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


class GitSource:
    def __init__(
        self, location: str, cache: Path | str, timeout: float = 30.0, retries: int = 3, backoff: float = 2.0
    ) -> None:
        location, _, branch = location.partition("#")
        is_url = "://" in location or re.match(r"^[\w.-]+@[\w.-]+:", location) is not None
        self.url = location if is_url else str(Path(location).expanduser().resolve())
        self.branch = branch or None
        #: The URL without credentials: what the warehouse, the logs and the messages show.
        self.display = _CREDENTIALS.sub("", self.url) + (f"#{self.branch}" if self.branch else "")
        self.name = f"git:{self.display}"
        tail = re.sub(r"[^A-Za-z0-9._-]+", "-", self.url.rstrip("/").rsplit("/", 1)[-1])[:40] or "repo"
        self.clone = Path(cache) / "git" / f"{tail}-{hashlib.sha256(self.name.encode()).hexdigest()[:12]}"
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.seen = 0
        self.revision: str | None = None
        self.warnings: list[str] = []
        self.mode: str | None = None  # "diff", "full", "same" or "older" after changes()
        #: Read the site as it was at this time (ISO 8601; a run's data interval end): the last commit
        #: on the branch's first-parent line committed at or before it. None: the head.
        self.as_of: str | None = None

    # --- git plumbing --------------------------------------------------------------------------

    def _env(self) -> dict:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        # a stalled transfer over http(s) fails after `timeout` seconds below 1 KB/s
        env.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
        env.setdefault("GIT_HTTP_LOW_SPEED_TIME", str(max(1, int(self.timeout))))
        env.setdefault("GIT_SSH_COMMAND", f"ssh -o BatchMode=yes -o ConnectTimeout={max(1, int(self.timeout))}")
        return env

    def _git(
        self, *args: str, cwd: Path | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess:
        cmd = ["git", *args] if cwd is None else ["git", "-C", str(cwd), *args]
        try:
            done = subprocess.run(cmd, capture_output=True, env=self._env(), timeout=timeout)
        except FileNotFoundError:
            raise SourceError("the git command is not installed: the git source needs it on PATH") from None
        except subprocess.TimeoutExpired:
            raise SourceError(f"git {args[0]} on {self.display} took more than {timeout:.0f}s") from None
        if check and done.returncode != 0:
            raise SourceError(
                f"git {args[0]} failed on {self.display}: "
                f"{done.stderr.decode('utf-8', 'replace').strip() or 'exit ' + str(done.returncode)}"
            )
        return done

    def _sync(self) -> None:
        """Clone the repository into the cache once, then fetch it; retried with backoff."""
        self.clone.parent.mkdir(parents=True, exist_ok=True)
        # a remote that is slow but alive may take long; a dead one fails fast or stalls (low-speed limit)
        network_timeout = max(600.0, self.timeout * 20)

        def attempt() -> None:
            try:
                if (self.clone / "HEAD").is_file():
                    self._git(
                        "fetch", "--prune", "--force", "--quiet", "origin", cwd=self.clone, timeout=network_timeout
                    )
                else:
                    tmp = self.clone.with_name(self.clone.name + f".tmp{os.getpid()}")
                    shutil.rmtree(tmp, ignore_errors=True)
                    try:
                        self._git("clone", "--mirror", "--quiet", self.url, str(tmp), timeout=network_timeout)
                        shutil.rmtree(self.clone, ignore_errors=True)
                        os.replace(tmp, self.clone)
                    finally:
                        shutil.rmtree(tmp, ignore_errors=True)
            except SourceError as exc:
                raise Retry(str(exc)) from None

        with_retries(
            attempt,
            what=f"git repository {self.display}",
            retries=self.retries,
            backoff=self.backoff,
            where=f" (cache {self.clone})",
        )

    def _head(self) -> str | None:
        """The commit to load: the branch's head, or its last commit at or before ``as_of`` (None: none yet)."""
        ref = f"refs/heads/{self.branch}" if self.branch else "HEAD"
        done = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=self.clone, check=False)
        if done.returncode != 0:
            what = f"branch {self.branch!r}" if self.branch else "its default branch"
            raise SourceError(f"git repository {self.display} has no commit on {what}")
        head = done.stdout.decode().strip()
        if not self.as_of:
            return head
        out = self._git("rev-list", "-1", "--first-parent", f"--before={self.as_of}", head, cwd=self.clone)
        return out.stdout.decode().strip() or None

    def _has_commit(self, sha: str) -> bool:
        return self._git("cat-file", "-e", f"{sha}^{{commit}}", cwd=self.clone, check=False).returncode == 0

    def _is_ancestor(self, old: str, new: str) -> bool:
        return self._git("merge-base", "--is-ancestor", old, new, cwd=self.clone, check=False).returncode == 0

    def _check_jekyll(self, head: str) -> None:
        top = self._git("ls-tree", "-z", "--name-only", head, cwd=self.clone).stdout.split(b"\0")
        names = {_decode_path(n) for n in top if n}
        if not names & JEKYLL_MARKERS:
            raise SourceError(
                f"git repository {self.display} (commit {head[:12]}) is not a Jekyll site: its top level has "
                f"no _config.yml and no _posts/ folder (found: {', '.join(sorted(names)[:8]) or 'nothing'})"
            )

    def _post_blobs(self, head: str) -> dict[str, str]:
        """Every post file at ``head``: path → blob id (one ``ls-tree``, the size of the tree)."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", head, cwd=self.clone).stdout
        blobs: dict[str, str] = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, sha = meta.split(b" ")
            if kind != b"blob" or mode == b"120000":
                continue
            path = _decode_path(raw_path)
            if is_post_path(path):
                blobs[path] = sha.decode()
        return blobs

    def _diff(self, old: str, new: str) -> tuple[dict[str, str], set[str]]:
        """(post paths to read → blob id, post paths gone) between two commits."""
        out = self._git("diff-tree", "-r", "-z", "-M", "--no-commit-id", "--no-abbrev", old, new, cwd=self.clone).stdout
        fields = out.split(b"\0")
        to_read: dict[str, str] = {}
        gone: set[str] = set()
        i = 0
        while i < len(fields):
            meta = fields[i]
            if not meta.startswith(b":"):
                i += 1
                continue
            _old_mode, new_mode, _old_sha, new_sha, status = meta[1:].split(b" ")
            kind = status[:1]
            if kind in (b"R", b"C"):
                src, dst = _decode_path(fields[i + 1]), _decode_path(fields[i + 2])
                i += 3
            else:
                src = dst = _decode_path(fields[i + 1])
                i += 2
            if kind == b"D":
                if is_post_path(src):
                    gone.add(src)
                continue
            if kind == b"R" and is_post_path(src):
                gone.add(src)
            if is_post_path(dst) and new_mode not in (b"120000", b"160000"):
                to_read[dst] = new_sha.decode()
            elif kind in (b"M", b"T") and is_post_path(dst):
                gone.add(dst)  # a post file that became a symlink or submodule
        return to_read, gone

    def _read_blobs(self, names: list[tuple[str, str]]) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) for each (path, object name), through one ``git cat-file --batch``."""
        if not names:
            return
        proc = subprocess.Popen(
            ["git", "-C", str(self.clone), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env(),
        )

        stdin, out = proc.stdin, proc.stdout
        assert stdin is not None and out is not None  # both are pipes

        def feed() -> None:  # a thread, so a full stdout pipe never blocks our writes
            try:
                for _, obj in names:
                    stdin.write(obj.encode() + b"\n")
                stdin.close()
            except BrokenPipeError:
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for path, obj in names:
                header = out.readline()
                parts = header.split()
                if len(parts) == 2 and parts[1] == b"missing":
                    log.warning("git source %s: object %s of %s is missing; skipped", self.display, obj, path)
                    continue
                if len(parts) != 3:
                    raise SourceError(f"git cat-file gave an unexpected answer for {path}: {header[:200]!r}")
                size = int(parts[2])
                data = out.read(size)
                out.read(1)  # the newline after the content
                if parts[1] != b"blob":
                    continue
                yield path, data
        finally:
            writer.join(timeout=5)
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    # --- the source interface ------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        log.warning("git source %s: %s", self.display, message)
        self.warnings.append(message)

    def changes(self, known: dict[str, Known], previous_revision: str | None) -> Iterator[RawPost | Deleted]:
        lock_path = self.clone.with_name(self.clone.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time uses a clone
            yield from self._changes(known, previous_revision)

    def _changes(self, known: dict[str, Known], previous_revision: str | None) -> Iterator[RawPost | Deleted]:
        self.warnings = []
        self._sync()
        head = self._head()
        previous = previous_revision if previous_revision and _SHA.match(previous_revision) else None
        if head is None:  # the site has no commit yet at as_of
            self.mode, self.revision, self.seen = "older", previous_revision, len(known)
            log.info("git source %s: no commit at or before %s; nothing to load", self.display, self.as_of)
            return
        self._check_jekyll(head)
        self.revision = head

        full = True
        if previous and previous != head and self._has_commit(previous) and self._is_ancestor(head, previous):
            # a backfill of a day older than what is loaded: that state is covered already
            self.mode, self.revision, self.seen = "older", previous, len(known)
            log.info(
                "git source %s: the commit as of %s (%s) is older than the loaded %s; nothing to load",
                self.display,
                self.as_of,
                head[:12],
                previous[:12],
            )
            return
        if previous == head:
            self.mode = "same"
            to_read: dict[str, str] = {}
            gone: set[str] = set()
            full = False
        elif previous and not self._has_commit(previous):
            self._warn(
                f"the last loaded commit {previous[:12]} is not in the repository (history rewritten, "
                "or another repository): scanning every post by content hash"
            )
        elif previous and not self._is_ancestor(previous, head):
            self._warn(
                f"history was rewritten (force-push): the last loaded commit {previous[:12]} is not an "
                f"ancestor of {head[:12]}; scanning every post by content hash"
            )
        elif not previous and known:
            self._warn(
                f"no loaded commit is recorded ({previous_revision!r}) but {len(known)} files were "
                "loaded: scanning every post by content hash"
            )
        elif previous:
            self.mode = "diff"
            to_read, gone = self._diff(previous, head)
            full = False
        if full:
            self.mode = "full"
            blobs = self._post_blobs(head)
            self.seen = len(blobs)
            to_read = blobs
            gone = set(known) - set(blobs)
        else:
            self.seen = len(self._post_blobs(head)) if self.mode == "diff" or not known else len(known)
            gone &= set(known)  # files never loaded need no deletion
        log.info(
            "git source %s: %s → %s (%s): %d post files to read, %d gone",
            self.display,
            (previous or "nothing")[:12],
            head[:12],
            self.mode,
            len(to_read),
            len(gone),
        )

        names = sorted(to_read.items())
        names += [(p, f"{head}:{p}") for p in sharing_post_id(known, gone, set(to_read)) if "\n" not in p]
        for path, raw in self._read_blobs(names):
            content_hash = hashlib.sha256(raw).hexdigest()
            old = known.get(path)
            if old is not None and old.content_hash == content_hash and path in to_read:
                continue
            yield RawPost(source=self.name, path=path, raw=raw, content_hash=content_hash, size=len(raw), mtime_ns=0)
        for path in sorted(gone):
            yield Deleted(path)
