"""The ``git`` source: a Jekyll site's git repository, given by URL or local path.

A remote repository is cloned once into the cache folder as a **blob-less,
shallow** clone (``--filter=blob:none --depth=1``, only the branch read):
commits and trees arrive as history is needed, file contents only for the
post files a run reads. Each run fetches the branch (a force-push is
followed) and deepens the history only as far back as the run asks: to the
commit at ``as_of`` for a backfill, to the last loaded commit (the watermark
in ``source_state``) for a diff. The site's real repository is about 7 GB of
history; a run needs the posts at the head and the last day or so of trees.
(A local path is cloned whole with hard links, as git does.)

A server that speaks only git's **dumb HTTP** protocol (a static mirror of the repository behind
a plain web server: ``git update-server-info`` and files) can serve neither a shallow nor a
blob-less clone. The source then clones it whole, every commit, tree and file of its history,
once, and says so in a warning (task log and ``etl_runs.message``): the first run downloads the
whole repository (the finews site's: about 7 GB) and the cache holds it; later runs fetch only
the new objects, as with any clone. Serving it through git's smart HTTP (``git http-backend``)
makes the first run cheap again.

What changed is the diff between the watermark and the new head, read with
``git diff-tree -r`` (trees only, no file contents): added, modified and
deleted post files under ``_posts/`` and ``old_post/`` (the finews site moves
posts there after three days: a delete plus an add, joined again by the post
id downstream, so no rename detection is needed). The blobs to read are
fetched in one request, then read in one ``git cat-file --batch`` process. So
a run costs in proportion to the changed posts, not to the history.

When the watermark commit cannot be found (another repository, or no
ancestor of the new head: history rewritten by a force-push), or there is no
watermark but files were loaded before, the source falls back to a full
scan: every post blob at the head is read and compared by content hash with
what was loaded. It says so in a warning (task log and ``etl_runs.message``).

Credentials (a user and password in an http(s) URL, or ``NEWS_ETL_GIT_TOKEN``)
reach git only through the environment, as an ``Authorization`` header
(``http.<url>.extraHeader`` given in ``GIT_CONFIG_*`` variables): never in a
command's arguments, the clone's config, a log line or an error message.

No checkout is made: everything is read from the object store.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from news_etl.ingest.sources.base import (
    Deleted,
    Retry,
    SourceError,
    sharing_post_id,
    with_retries,
    without_credential_parameters,
)
from news_etl.ingest.sources.dir import NOT_POSTS, POST_SUFFIXES, printable_path
from news_etl.model import Known, RawPost
from news_etl.settings import GIT_CONN_ID, split_credentials

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Top-level folders whose files are posts (Jekyll's ``_posts``, and finews' ``old_post``).
POST_FOLDERS = ("_posts/", "old_post/")
#: Top-level names that make a repository a Jekyll site.
JEKYLL_MARKERS = frozenset({"_config.yml", "_config.yaml", "_config.toml", "_posts"})
#: The transports git may use for this source (``GIT_ALLOW_PROTOCOL``): no remote helper ever runs.
ALLOWED_PROTOCOLS = "http:https:ssh:git:file"
#: How far back (days before the oldest commit fetched) the source deepens history to find the
#: watermark commit before it falls back to a full scan; the search window doubles from one day.
WATERMARK_SEARCH_DAYS = 128
#: Blobs asked for in one fetch request.
FETCH_CHUNK = 20_000
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
#: What git says when a server speaks only the dumb HTTP protocol and a clone asks for less than all.
_DUMB_HTTP = b"dumb http transport does not support"
DUMB_HTTP_WARNING = (
    "the server speaks only git's dumb HTTP protocol (a static mirror), which serves no shallow or "
    "blob-less clone: cloned it whole instead (a full clone: every commit and file of its history, "
    "downloaded once and kept in the cache; later runs fetch only new objects). Serve it with git's "
    "smart HTTP (git http-backend) to make the first clone small"
)
_SCP = re.compile(r"^(?:[^@/:]+@)?[^@/:]+:(?!//)")


def is_post_path(path: str) -> bool:
    """Whether a path in the repository is a post file."""
    if not path.endswith(POST_SUFFIXES):
        return False
    name = path.rsplit("/", 1)[-1]
    if name.startswith(".") or name.lower() in NOT_POSTS:
        return False
    return path.startswith(POST_FOLDERS) or "/_posts/" in path


def _decode_path(raw: bytes) -> str:
    """A path in the repository as the warehouse spells it: the dir source's one-to-one spelling
    (``printable_path``), so two names that print alike never share a path here either."""
    return printable_path(raw.decode("utf-8", errors="surrogateescape"))


class GitSource:
    def __init__(
        self,
        location: str,
        cache: Path | str,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 2.0,
        username: str = "x-access-token",
        token: str = "",
    ) -> None:
        location, _, branch = location.partition("#")
        #: A remote (cloned blob-less and shallow) or a local path (cloned whole, with hard links).
        self.remote = "://" in location or _SCP.match(location) is not None
        url = location if self.remote else str(Path(location).expanduser().resolve())
        #: The URL without credentials: what git's config, the warehouse, the logs and the messages hold.
        self.url, user, password = split_credentials(url)
        http = self.url.lower().startswith(("http://", "https://"))
        if password is not None and not http:
            raise SourceError(
                f"git repository {self.url}: a password is only sent over http(s); ssh uses a key "
                "(GIT_SSH_COMMAND or the ssh agent)"
            )
        if user is not None and not http:
            self.url = url  # an ssh:// user name is no secret, and ssh needs it
        if password is None and token and http:
            user, password = user or username, token
        #: Each form a secret may take in a text (as typed, percent-encoded, inside the header): all redacted.
        self._secrets: list[str] = []
        self._auth: dict[str, str] = {}
        if password is not None:
            basic = base64.b64encode(f"{user or ''}:{password}".encode()).decode()
            self._secrets = [s for s in {password, quote(password, safe=""), basic} if s]
            self._auth = {f"http.{self.url}.extraHeader": f"Authorization: Basic {basic}"}
        self.branch = branch or None
        # the name (warehouse, logs, messages) without a token a URL's query may carry
        self.display = without_credential_parameters(self.url) + (f"#{self.branch}" if self.branch else "")
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

    def __repr__(self) -> str:
        return f"GitSource({self.display!r})"

    # --- git plumbing --------------------------------------------------------------------------

    def _env(self) -> dict:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_ALLOW_PROTOCOL=ALLOWED_PROTOCOLS)
        # a stalled transfer over http(s) fails after `timeout` seconds below 1 KB/s
        env.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
        env.setdefault("GIT_HTTP_LOW_SPEED_TIME", str(max(1, int(self.timeout))))
        env.setdefault("GIT_SSH_COMMAND", f"ssh -o BatchMode=yes -o ConnectTimeout={max(1, int(self.timeout))}")
        # credentials as configuration in the environment (after any the operator set): never in argv or on disk
        count = int(env.get("GIT_CONFIG_COUNT") or 0)
        for n, (key, value) in enumerate(self._auth.items(), start=count):
            env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
        if self._auth:
            env["GIT_CONFIG_COUNT"] = str(count + len(self._auth))
        return env

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        timeout: float | None = None,
        config: tuple[str, ...] = (),
        stdin: bytes | None = None,
    ) -> subprocess.CompletedProcess:
        """``git [-C cwd] [-c config]... args``; a failure is a :class:`SourceError` naming the command."""
        cmd = ["git", *(["-C", str(cwd)] if cwd is not None else [])]
        for item in config:
            cmd += ["-c", item]
        try:
            done = subprocess.run(cmd + list(args), input=stdin, capture_output=True, env=self._env(), timeout=timeout)
        except FileNotFoundError:
            raise SourceError("the git command is not installed: the git source needs it on PATH") from None
        except subprocess.TimeoutExpired:
            raise SourceError(f"git {args[0]} on {self.display} took more than {timeout:.0f}s") from None
        if check and done.returncode != 0:
            raise self._failure(args[0], done)
        return done

    def _failure(self, command: str, done: subprocess.CompletedProcess) -> SourceError:
        stderr = self._redact(done.stderr.decode("utf-8", "replace").strip())
        if "could not read Username" in stderr or "Authentication failed" in stderr:
            stderr += (
                " (the remote wants credentials or refused these: set the token in the Airflow connection "
                f"{GIT_CONN_ID} or NEWS_ETL_GIT_TOKEN)"
            )
        return SourceError(f"git {command} failed on {self.display}: {stderr or 'exit ' + str(done.returncode)}")

    def _network(self, what: str, attempt: Callable[[], _T]) -> _T:
        """``attempt()`` (git commands that talk to the remote), retried with backoff. A local
        repository is no network: what fails there (not a repository, no such path) fails again,
        so it is raised at once."""
        if not self.remote:
            return attempt()

        def once() -> _T:
            try:
                return attempt()
            except SourceError as exc:
                raise Retry(str(exc)) from None

        return with_retries(once, what=what, retries=self.retries, backoff=self.backoff, where=f" (cache {self.clone})")

    @property
    def _network_timeout(self) -> float:
        # a remote that is slow but alive may take long; a dead one fails fast or stalls (low-speed limit)
        return max(600.0, self.timeout * 20)

    def _sync(self) -> None:
        """Clone the repository into the cache once, then fetch its branch; retried with backoff."""
        self.clone.parent.mkdir(parents=True, exist_ok=True)

        def attempt() -> bool:
            """Whether the branch was found."""
            if (self.clone / "HEAD").is_file():
                current = self._git("config", "remote.origin.url", cwd=self.clone, check=False).stdout.decode()
                if current.strip() != self.url:  # a clone made when credentials were kept in the URL
                    self._git("config", "--", "remote.origin.url", self.url, cwd=self.clone)
                self._git(
                    "fetch", "--prune", "--force", "--quiet", "--no-tags", "--", "origin",
                    cwd=self.clone, timeout=self._network_timeout,
                )  # fmt: skip
                return True
            tmp = self.clone.with_name(self.clone.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            lean = ("--filter=blob:none", "--depth=1") if self.remote else ()
            branch = ("--branch", self.branch) if self.branch else ()
            try:
                done = self._git(
                    "clone", "--bare", "--quiet", "--no-tags", *lean, *branch, "--", self.url, str(tmp),
                    timeout=self._network_timeout, check=False,
                )  # fmt: skip
                if done.returncode != 0 and b"not found in upstream" in done.stderr:
                    return False  # no use trying again
                if done.returncode != 0 and lean and _DUMB_HTTP in done.stderr:
                    self._warn(DUMB_HTTP_WARNING)
                    shutil.rmtree(tmp, ignore_errors=True)
                    done = self._git(
                        "clone", "--bare", "--quiet", "--no-tags", *branch, "--", self.url, str(tmp),
                        timeout=self._network_timeout, check=False,
                    )  # fmt: skip
                    if done.returncode != 0 and b"not found in upstream" in done.stderr:
                        return False
                if done.returncode != 0:
                    raise self._failure("clone", done)
                name = self.branch or self._git("symbolic-ref", "--short", "HEAD", cwd=tmp).stdout.decode().strip()
                self._git("config", "remote.origin.fetch", f"+refs/heads/{name}:refs/heads/{name}", cwd=tmp)
                self._git("config", "gc.autoDetach", "false", cwd=tmp)  # no git left running after the run
                shutil.rmtree(self.clone, ignore_errors=True)
                os.replace(tmp, self.clone)
                return True
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        if not self._network(f"git repository {self.display}", attempt):
            raise SourceError(f"git repository {self.display} has no branch {self.branch!r}")

    # --- history as far back as the run needs ---------------------------------------------------

    def _is_shallow(self) -> bool:
        return self._git("rev-parse", "--is-shallow-repository", cwd=self.clone).stdout.strip() == b"true"

    def _oldest_fetched(self) -> datetime:
        """The commit time of the oldest commit a shallow clone holds (its shallow boundary)."""
        boundary = (self.clone / "shallow").read_text().split()
        out = self._git("show", "--no-patch", "--format=%ct", *boundary, "--", cwd=self.clone).stdout.split()
        return datetime.fromtimestamp(min(int(t) for t in out), UTC)

    def _deepen(self, since: datetime | None) -> None:
        """Fetch the history back to ``since`` (commits and trees only); None: all of it."""
        log.info("git source %s: fetching history back to %s", self.display, since or "the first commit")
        depth = f"--shallow-since=@{int(since.timestamp())}" if since else "--unshallow"
        self._network(
            f"git repository {self.display}",
            lambda: self._git(
                "fetch", "--quiet", "--no-tags", depth, "--", "origin", cwd=self.clone, timeout=self._network_timeout
            ),
        )

    def _head(self) -> str | None:
        """The commit to load: the branch's head, or its last commit at or before ``as_of`` (None: none yet).

        A shallow clone is deepened until it holds a commit at or before ``as_of`` (or the whole history)."""
        ref = f"refs/heads/{self.branch}" if self.branch else "HEAD"
        done = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", "--", cwd=self.clone, check=False)
        if done.returncode != 0:
            what = f"branch {self.branch!r}" if self.branch else "its default branch"
            raise SourceError(f"git repository {self.display} has no commit on {what}")
        head = done.stdout.decode().strip()
        if not self.as_of:
            return head
        try:
            as_of = datetime.fromisoformat(self.as_of)
        except ValueError:
            raise SourceError(f"as_of {self.as_of!r} is no ISO 8601 time") from None
        as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        window, start = timedelta(days=1), None
        while True:
            before = f"--before={as_of.isoformat()}"
            found = self._git("rev-list", "-1", "--first-parent", before, head, "--", cwd=self.clone).stdout.strip()
            if found or not self._is_shallow():
                return found.decode() or None
            # back to a day before as_of, then a window that doubles; past ten years, the whole history
            start = start or min(as_of, self._oldest_fetched())
            self._deepen(start - window if window.days < 3660 else None)
            window *= 2

    def _has_commit(self, sha: str) -> bool:
        """Whether the clone holds the commit (asked without fetching it: a blob-less clone would
        otherwise fetch the commit and all its history)."""
        args = ("rev-list", "--missing=print", "--no-walk", sha, "--")
        return self._git(*args, cwd=self.clone, check=False).returncode == 0

    def _reach(self, commit: str) -> None:
        """Deepen a shallow clone until it holds ``commit``: back a day before the oldest commit fetched,
        then a window that doubles, up to :data:`WATERMARK_SEARCH_DAYS` (then the source scans in full)."""
        window, start = timedelta(days=1), None
        while not self._has_commit(commit) and self._is_shallow() and window.days <= WATERMARK_SEARCH_DAYS:
            start = start or self._oldest_fetched()
            self._deepen(start - window)
            window *= 2

    def _is_ancestor(self, old: str, new: str) -> bool:
        return self._git("merge-base", "--is-ancestor", "--", old, new, cwd=self.clone, check=False).returncode == 0

    def _check_jekyll(self, head: str) -> None:
        top = self._git("ls-tree", "-z", "--name-only", head, "--", cwd=self.clone).stdout.split(b"\0")
        names = {_decode_path(n) for n in top if n}
        if not names & JEKYLL_MARKERS:
            raise SourceError(
                f"git repository {self.display} (commit {head[:12]}) is not a Jekyll site: its top level has "
                f"no _config.yml and no _posts/ folder (found: {', '.join(sorted(names)[:8]) or 'nothing'})"
            )

    def _post_blobs(self, head: str) -> dict[str, str]:
        """Every post file at ``head``: path → blob id (one ``ls-tree``, the size of the tree)."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", head, "--", cwd=self.clone).stdout
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
        """(post paths to read → blob id, post paths gone) between two commits.

        No rename detection (it would read file contents): a moved post is a delete plus an add."""
        out = self._git("diff-tree", "-r", "-z", "--no-commit-id", "--no-abbrev", old, new, "--", cwd=self.clone)
        fields = out.stdout.split(b"\0")
        to_read: dict[str, str] = {}
        gone: set[str] = set()
        for meta, raw_path in zip(fields[0::2], fields[1::2], strict=False):
            _old_mode, new_mode, _old_sha, new_sha, status = meta[1:].split(b" ")
            path = _decode_path(raw_path)
            if not is_post_path(path):
                continue
            if status != b"D" and new_mode not in (b"120000", b"160000"):
                to_read[path] = new_sha.decode()
            elif status != b"A":
                gone.add(path)  # deleted, or a post file that became a symlink or submodule
        return to_read, gone

    def _is_partial(self) -> bool:
        return self._git("config", "--get", "remote.origin.promisor", cwd=self.clone, check=False).stdout.strip() == (
            b"true"
        )

    def _prefetch(self, head: str, objects: set[str]) -> None:
        """Fetch the blobs a blob-less clone lacks, many per request (``cat-file`` would fetch them one by one)."""
        if not objects or not self._is_partial():
            return
        args = ("rev-list", "--objects", "--missing=print", "--no-object-names", "-1", head, "--")
        listing = self._git(*args, cwd=self.clone).stdout.split()
        missing = sorted({line[1:].decode() for line in listing if line.startswith(b"?")} & objects)
        log.info("git source %s: fetching %d of the %d files to read", self.display, len(missing), len(objects))
        for start in range(0, len(missing), FETCH_CHUNK):
            wanted = "".join(f"{obj}\n" for obj in missing[start : start + FETCH_CHUNK]).encode()
            fetch = partial(
                self._git,
                "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no",
                "--filter=blob:none", "--stdin", "--", "origin",
                config=("fetch.negotiationAlgorithm=noop",), stdin=wanted,
                cwd=self.clone, timeout=self._network_timeout,
            )  # fmt: skip
            self._network(f"git repository {self.display}", fetch)

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

    def _plan(
        self, known: dict[str, Known], previous: str | None, previous_revision: str | None, head: str
    ) -> tuple[dict[str, str], set[str], dict[str, str]]:
        """(post path → blob to read, paths gone, post path → blob at the head where the run needs
        them): a diff from the loaded commit when the history allows it, else every post at the head,
        compared by content hash (``mode``: same, diff or full; ``seen``: the post files)."""
        to_read: dict[str, str] = {}
        gone: set[str] = set()
        if previous == head:
            self.mode = "same"
        elif previous and self._has_commit(previous) and self._is_ancestor(previous, head):
            self.mode = "diff"
            to_read, gone = self._diff(previous, head)
        else:
            reason = self._why_scan(known, previous, previous_revision, head)
            if reason:
                self._warn(reason)
            self.mode = "full"
            at_head = self._post_blobs(head)
            self.seen = len(at_head)
            return at_head, set(known) - set(at_head), at_head
        if self.mode == "diff" or not known:
            at_head = self._post_blobs(head)
            self.seen = len(at_head)
            return to_read, gone & set(known), at_head  # files never loaded need no deletion
        self.seen = len(known)
        return to_read, gone, {}

    def _why_scan(
        self, known: dict[str, Known], previous: str | None, previous_revision: str | None, head: str
    ) -> str | None:
        """Why no diff serves and every post is read (None: a first load, nothing to warn about)."""
        if previous and not self._has_commit(previous):
            return (
                f"the last loaded commit {previous[:12]} is not in the repository (history rewritten, "
                "or another repository): scanning every post by content hash"
            )
        if previous:
            return (
                f"history was rewritten (force-push): the last loaded commit {previous[:12]} is not an "
                f"ancestor of {head[:12]}; scanning every post by content hash"
            )
        if known:
            return (
                f"no loaded commit is recorded ({previous_revision!r}) but {len(known)} files were "
                "loaded: scanning every post by content hash"
            )
        return None

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
            self._warn(
                f"no commit at or before {self.as_of}: nothing to load (a run reads the site as of the end "
                "of its interval; trigger with 'read the site as of now' for today's commits)"
            )
            return
        self._check_jekyll(head)
        self.revision = head
        if previous and previous != head:
            self._reach(previous)

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
        to_read, gone, at_head = self._plan(known, previous, previous_revision, head)
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
        names += [(p, at_head[p]) for p in sharing_post_id(known, gone, set(to_read)) if p in at_head]
        self._prefetch(head, {obj for _, obj in names})
        for path, raw in self._read_blobs(names):
            content_hash = hashlib.sha256(raw).hexdigest()
            old = known.get(path)
            if old is not None and old.content_hash == content_hash and path in to_read:
                continue
            yield RawPost(source=self.name, path=path, raw=raw, content_hash=content_hash, size=len(raw), mtime_ns=0)
        for path in sorted(gone):
            yield Deleted(path)
