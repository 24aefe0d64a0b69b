"""Run-scoped staging: the Parquet files that carry a run's data between steps.

Layout of one run's folder (``<staging>/<run id>/``)::

    raw/batch-00000.parquet      posts as fetched (RAW_SCHEMA)
    deleted.parquet              files gone from the source (DELETED_SCHEMA)
    clean/batch-00000.parquet    articles with metrics (ARTICLE_SCHEMA)
    rejects/batch-00000.parquet  rejects (REJECT_SCHEMA)
    quality.parquet              Great Expectations results

Every file is written aside and renamed into place, so a reader never sees a
half-written file; a truncated or corrupt file fails with a message that
names it.

A CLI run holds a lock on ``<staging>/.<run folder>.lock`` while it runs (see
:func:`claim`); the next run removes the folders whose lock nobody holds any
more: their run was killed. Airflow runs' folders (used by one task after
another) carry no such lock and are left to their publish.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
log = logging.getLogger(__name__)


class StagingError(Exception):
    """A staging file is missing, truncated or corrupt."""


def run_folder(staging_root: Path, run_id: str) -> Path:
    """The run's own folder: the run id made safe as one path component."""
    safe = _UNSAFE.sub("_", run_id).strip("._") or "run"
    folder = (Path(staging_root) / safe[:150]).resolve()
    if folder.parent != Path(staging_root).resolve():
        raise StagingError(f"run id {run_id!r} does not give a folder inside {staging_root}")
    return folder


def write_table(table: pa.Table, path: Path, compression: str = "zstd") -> Path:
    """Write a Parquet file atomically (aside, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression=compression)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise StagingError(
            f"staging file {path} is missing (was the staging folder cleaned, or is it not shared with this worker?)"
        ) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise StagingError(f"staging file {path} is truncated or corrupt: {exc}") from None


def check_file(path: Path) -> None:
    """Fail clearly now if a staged file cannot be read back."""
    try:
        _ = pq.ParquetFile(path).metadata
    except FileNotFoundError:
        raise StagingError(f"staging file {path} is missing") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise StagingError(f"staging file {path} is truncated or corrupt: {exc}") from None


def remove_run(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _lock_path(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.lock")


@contextmanager
def claim(folder: Path) -> Iterator[None]:
    """Hold the run folder's lock while a (CLI) run uses it. The kernel drops the lock when the
    process dies, however it dies: that is how the next run knows the folder was left behind."""
    lock = _lock_path(folder)
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
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def remove_dead_runs(staging_root: Path) -> list[str]:
    """Remove the run folders whose lock nobody holds: what killed CLI runs left (raw posts
    included). A folder whose run is alive, or that has no lock (an Airflow run's), is kept."""
    removed: list[str] = []
    root = Path(staging_root)
    if not root.is_dir():
        return removed
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
            folder = root / lock.name[1 : -len(".lock")]
            remove_run(folder)
            lock.unlink(missing_ok=True)
            removed.append(folder.name)
        finally:
            os.close(fd)
    if removed:
        log.warning("staging: removed %d folder(s) left by killed runs: %s", len(removed), ", ".join(removed))
    return removed
