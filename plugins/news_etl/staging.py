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
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


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
