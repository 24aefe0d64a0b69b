"""The writer's file is the truth: refuse to start without it, and rebuild a missing one from a snapshot."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import duckdb

from news_etl.warehouse.migrations import migrate
from news_etl.warehouse.tempfiles import remove_dead_temp_files, temp_path

log = logging.getLogger(__name__)


class WriterMissing(Exception):
    """The writer's file is gone but a published snapshot exists: a run would start an empty
    warehouse and publish it over the good snapshot."""


def require_writer(warehouse: Path, published: Path) -> None:
    """Refuse to run when the writer's file is missing and the published snapshot exists (a new
    machine, a wrong volume): name both files and the way out."""
    if Path(warehouse).exists() or not Path(published).exists():
        return
    raise WriterMissing(
        f"the writer's warehouse file {warehouse} is missing, but the published snapshot {published} exists: "
        "refusing to start an empty warehouse that would be published over it (versions, deletions, rejects "
        "and run history would be lost). If the writer's file is elsewhere (another volume), point "
        "NEWS_ETL_WAREHOUSE or the news_warehouse connection at it; else rebuild it from the snapshot: "
        f"news-etl restore --from {published} --warehouse {warehouse}"
    )


class RestoreError(Exception):
    """``restore`` cannot rebuild the writer's file; nothing was changed."""


def restore(snapshot: Path, warehouse: Path) -> dict:
    """Rebuild a missing writer's file from a published snapshot (a full, checkpointed copy of it).

    The snapshot is checked first (it opens, it is a warehouse), copied aside, fsynced, migrated
    to this code's schema and renamed into place; an existing writer's file is never replaced.
    """
    snapshot, warehouse = Path(snapshot), Path(warehouse)
    if warehouse.exists():
        raise RestoreError(
            f"the writer's file {warehouse} exists: restore only rebuilds a missing one (move it aside first "
            "if you mean to replace it with the snapshot)"
        )
    if not snapshot.is_file():
        raise RestoreError(f"no snapshot at {snapshot}")
    try:
        con = duckdb.connect(str(snapshot), read_only=True)
        try:
            (live,) = con.execute("SELECT count(*) FROM articles WHERE deleted_at IS NULL").fetchall()[0]
            (runs,) = con.execute("SELECT count(*) FROM etl_runs").fetchall()[0]
        finally:
            con.close()
    except duckdb.Error as exc:
        raise RestoreError(f"the snapshot {snapshot} is not a readable warehouse ({exc}): nothing restored") from None
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_files(warehouse)
    tmp = temp_path(warehouse, "restore")
    try:
        shutil.copyfile(snapshot, tmp)
        con = duckdb.connect(str(tmp))
        try:
            migrate(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, warehouse)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    log.warning(
        "restore: rebuilt the writer's file %s from the snapshot %s (%d live articles, %d runs)",
        warehouse,
        snapshot,
        live,
        runs,
    )
    return {"warehouse": str(warehouse), "snapshot": str(snapshot), "live_articles": live, "runs": runs}
