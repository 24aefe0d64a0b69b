"""Run-scoped staging: the Parquet files that carry a run's data between steps.

Layout of one run's folder (``<staging>/<run id>/``)::

    raw/batch-00000.parquet      posts as fetched (RAW_SCHEMA)
    deleted.parquet              files gone from the source (DELETED_SCHEMA)
    clean/batch-00000.parquet    articles with metrics (ARTICLE_SCHEMA)
    rejects/batch-00000.parquet  rejects (REJECT_SCHEMA)
    quality.parquet              Great Expectations results

The staging root is a local folder, or ``s3://bucket/prefix`` when workers on
several hosts share no disk (``storage.py``). Every file is written whole: locally
aside, fsync'd and renamed into place; on object storage as one object (one
request per file, never per post), which appears whole or not at all. A reader
never sees a half-written file; a truncated or corrupt file fails with a
message that names it. The load reads a remote run's files from a local copy
(:func:`local_copy`), removed after it.

What dead runs leave behind is removed by the next fetch, two ways: a CLI run holds a lock on
``<staging>/.<run folder>.lock`` while it runs (:func:`claim`), and the next run removes at once
the local folders whose lock nobody holds any more (:func:`remove_unclaimed_runs`: their run was
killed); any run folder, local or on object storage, that nothing touched for
``NEWS_ETL_STAGING_MAX_AGE_HOURS`` is removed too (:func:`remove_dead_runs`: a failed Airflow run's).
Only what a run made and marked is ever removed: a local run folder holds the file
:data:`RUN_MARK` from the moment it is made, and a run's lock file starts with :data:`LOCK_MARK`;
a folder or a lock file of anyone else in the staging root is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from news_etl.storage import Location, folder, fs_path

if TYPE_CHECKING:  # (imported where used: a run that stages nothing needs neither)
    import pyarrow as pa
    from upath import UPath

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
log = logging.getLogger(__name__)

Folder: TypeAlias = "Path | UPath"
#: What a run folder holds (the layout above): a folder of the staging root with anything else in
#: it is not a run's, and is never removed.
RUN_ENTRIES = frozenset(
    {"raw", "clean", "rejects", "manifest.json", "deleted.parquet", "quality.parquet", "names.txt", ".news-etl-run"}
)
#: The file a run puts in its local folder as it makes it: only folders that hold it are removed.
RUN_MARK = ".news-etl-run"
#: How a run's lock file begins: a ``.NAME.lock`` without it is someone else's, and is left alone.
LOCK_MARK = b"news-etl run lock\n"


class StagingError(Exception):
    """A staging file is missing, truncated or corrupt."""


def run_folder(staging_root: Location, run_id: str) -> Folder:
    """The run's own folder: the run id made safe as one path component."""
    safe = _UNSAFE.sub("_", run_id).strip("._") or "run"
    root = folder(staging_root)
    if not isinstance(root, Path):
        return root / safe[:150]
    run = (root / safe[:150]).resolve()
    if run.parent != root.resolve():
        raise StagingError(f"run id {run_id!r} does not give a folder inside {staging_root}")
    return run


def new_run_folder(staging_root: Location, run_id: str) -> Folder:
    """The run's folder, emptied of what an earlier try of the run staged (a retried fetch starts
    clean). On object storage there are no folders to make: the bucket must exist."""
    run = run_folder(staging_root, run_id)
    remove_run(run)
    if isinstance(run, Path):
        run.mkdir(parents=True, exist_ok=True)
        (run / RUN_MARK).write_text(f"a staging folder of the news-etl run {run_id}\n", encoding="utf-8")
    return run


def is_marked_run(run: Path) -> bool:
    """Whether a local folder is a run's (it holds :data:`RUN_MARK`, and nothing but staging files)."""
    try:
        names = {p.name for p in run.iterdir()}
    except OSError:
        return False
    return RUN_MARK in names and {n.removesuffix(".tmp") for n in names} <= RUN_ENTRIES


def write_table(table: pa.Table, path: Folder, compression: str = "zstd") -> Folder:
    """Write a Parquet file whole: locally aside, fsync, rename; remotely as one object."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(path, Path):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression=compression)
        fs, key = fs_path(path)
        fs.pipe_file(key, sink.getvalue().to_pybytes())
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression=compression)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_table(path: Folder, columns: list[str] | None = None) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if not isinstance(path, Path):
            fs, key = fs_path(path)
            return pq.read_table(pa.BufferReader(fs.cat_file(key)), columns=columns)  # one GET
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise StagingError(
            f"staging file {path} is missing (was the staging folder cleaned, or is it not shared with this worker?)"
        ) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise StagingError(f"staging file {path} is truncated or corrupt: {exc}") from None


def check_file(path: Path) -> None:
    """Fail clearly now if a staged file (a local one: see :func:`local_copy`) cannot be read back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        _ = pq.ParquetFile(path).metadata
    except FileNotFoundError:
        raise StagingError(f"staging file {path} is missing") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise StagingError(f"staging file {path} is truncated or corrupt: {exc}") from None


@contextlib.contextmanager
def local_copy(run: Folder, names: list[str]) -> Iterator[Path]:
    """A local folder that holds ``names`` of the run folder (their paths relative to it), for
    DuckDB to read: the folder itself when it is local; else a temporary folder (under ``TMPDIR``)
    that the run's files are downloaded to in one batch (a GET each), removed on exit."""
    if isinstance(run, Path):
        yield run
        return
    fs, key = fs_path(run)
    with tempfile.TemporaryDirectory(prefix="news-etl-load-") as tmp:
        local = Path(tmp)
        for name in names:
            (local / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            fs.get([f"{key}/{n}" for n in names], [str(local / n) for n in names])
        except FileNotFoundError as exc:
            raise StagingError(f"a staging file of {run} is missing: {exc}") from None
        yield local


def remove_run(run: Folder) -> None:
    """Remove a run's folder and everything in it (nothing to remove is fine)."""
    if isinstance(run, Path):
        shutil.rmtree(run, ignore_errors=True)
        return
    fs, key = fs_path(run)
    with contextlib.suppress(FileNotFoundError):
        fs.rm(key, recursive=True)  # one listing, then deletes in batches of up to 1,000 keys
    fs.invalidate_cache(key)


def remove_dead_runs(staging_root: Location, keep: Folder, max_age_hours: float) -> list[str]:
    """Remove the run folders (other than ``keep``) in which nothing changed for ``max_age_hours``:
    what killed runs left behind. A live run writes its folder within minutes, and no run lives a
    day. Only folders that hold nothing but staging files (:data:`RUN_ENTRIES`) count as run
    folders: anything else in the staging root is left alone. Returns the names removed."""
    if max_age_hours <= 0:
        return []
    root = folder(staging_root)
    cutoff = time.time() - max_age_hours * 3600
    newest: dict[str, float] = {}
    entries: dict[str, set[str]] = {}
    if not isinstance(root, Path):
        fs, key = fs_path(root)
        try:
            found = fs.find(key, detail=True)  # one listing of the staging prefix
        except FileNotFoundError:
            return []
        for path, info in found.items():
            name, _, rest = path[len(key) :].lstrip("/").partition("/")
            modified = info.get("LastModified")
            newest[name] = max(newest.get(name, 0.0), modified.timestamp() if modified else time.time())
            entries.setdefault(name, set()).add(rest.split("/", 1)[0])  # "" for an object at the top
    elif root.is_dir():
        for run in root.iterdir():
            if run.is_dir() and not run.is_symlink() and is_marked_run(run):
                newest[run.name] = max(_mtime(p) for p in [run, *run.rglob("*")])
                entries[run.name] = {p.name for p in run.iterdir()}
    dead = sorted(
        name
        for name, stamp in newest.items()
        if stamp < cutoff and name != keep.name and {e.removesuffix(".tmp") for e in entries[name]} <= RUN_ENTRIES
    )
    for name in dead:
        remove_run(root / name)
    return dead


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:  # removed meanwhile (by its own run): count it as new
        return time.time()


def _lock_path(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.lock")


@contextlib.contextmanager
def claim(run: Folder) -> Iterator[None]:
    """Hold the run folder's lock while a (CLI) run uses it. The kernel drops the lock when the
    process dies, however it dies: that is how the next run knows the folder was left behind.
    (A folder on object storage has no lock: what a dead run left there goes by age.)"""
    if not isinstance(run, Path):
        yield
        return
    lock = _lock_path(run)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break  # (else a cleaner removed the file between our open and our lock: take a new one)
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, LOCK_MARK, 0)  # marks the lock file a run's (remove_unclaimed_runs)
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def remove_unclaimed_runs(staging_root: Location) -> list[str]:
    """Remove the run folders whose lock nobody holds: what killed CLI runs left (raw posts
    included). A folder whose run is alive, or that has no lock (an Airflow run's), is kept; so is
    any folder or lock file a run did not make and mark (:data:`RUN_MARK`, :data:`LOCK_MARK`)."""
    removed: list[str] = []
    root = folder(staging_root)
    if not isinstance(root, Path) or not root.is_dir():
        return removed  # object storage: no locks there; remove_dead_runs goes by age
    for lock in sorted(root.glob(".*.lock")):
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its run is alive
            if os.pread(fd, len(LOCK_MARK), 0) != LOCK_MARK:
                continue  # not a run's lock file
            run = root / lock.name[1 : -len(".lock")]
            if run.is_dir() and not run.is_symlink():
                if not is_marked_run(run):
                    continue  # a folder no run made: its lock file stays too, and so does the folder
                remove_run(run)
                removed.append(run.name)
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
    if removed:
        log.warning("staging: removed %d folder(s) left by killed runs: %s", len(removed), ", ".join(removed))
    return removed
