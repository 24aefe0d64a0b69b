"""The writer's file is the truth: refuse to start without it, and rebuild a missing one from a snapshot."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import duckdb

from news_etl.warehouse.migrations import migrate, strangers
from news_etl.warehouse.tempfiles import remove_dead_temp_files, temp_path

log = logging.getLogger(__name__)


class WriterMissing(Exception):
    """The writer's file is gone but a published snapshot exists: a run would start an empty
    warehouse and publish it over the good snapshot."""


class SameFile(Exception):
    """The published snapshot and the writer's file are one file: publishing would replace the truth."""


def same_file(warehouse: Path | str, published: Path | str) -> bool:
    """Whether two paths name one file (also by another spelling, a link, or a mount of it)."""
    a, b = Path(warehouse), Path(published)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def same_file_message(warehouse: Path | str, published: Path | str) -> str:
    return (
        f"the published snapshot {published} and the writer's file {warehouse} are the same file: a publish "
        "would replace the writer's file with its copy while it is open. Give the snapshot its own path "
        "(--published, NEWS_ETL_PUBLISHED), readable by the analysts"
    )


def require_writer(warehouse: Path, published: Path) -> None:
    """Refuse to run when the snapshot path is the writer's file, or when the writer's file is
    missing and the published snapshot exists (a new machine, a wrong volume): name both files
    and the way out."""
    if same_file(warehouse, published):
        raise SameFile(same_file_message(warehouse, published))
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


def _open_untrusted(path: Path) -> duckdb.DuckDBPyConnection:
    """A file not yet checked, opened read-only with external access off and the configuration locked."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def restore(snapshot: Path, warehouse: Path) -> dict:
    """Rebuild a missing writer's file from a published snapshot (a full, checkpointed copy of it).

    The snapshot is checked first: it opens, and it holds exactly the objects the migrations it
    records define, by kind, name and SQL (:func:`strangers`; anything else is refused, listed);
    then it is copied aside, fsynced, migrated to this code's schema and renamed into place. An
    existing writer's file is never replaced.
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
        con = _open_untrusted(snapshot)
        try:
            unknown = strangers(con)
            if unknown:
                raise RestoreError(
                    f"the snapshot {snapshot} holds what the migrations do not define, so it is not restored "
                    f"(a copy that was changed, or of another program): {'; '.join(unknown)}"
                )
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
