"""Publish: checkpoint the writer's file and copy it to the analysts' snapshot, written aside and renamed;
the writer's audit row says ``published`` only once the snapshot is in place."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import duckdb

from news_etl.warehouse.audit import mark_published
from news_etl.warehouse.connection import file_descriptor
from news_etl.warehouse.restore import SameFile, same_file, same_file_message
from news_etl.warehouse.snapshot import CONNECT_CONFIG, write_snapshot
from news_etl.warehouse.tempfiles import remove_dead_temp_files, temp_path

log = logging.getLogger(__name__)


def publish(con: duckdb.DuckDBPyConnection, published: Path, run_id: str | None) -> dict:
    """Checkpoint, copy the file aside, mark the run published in the copy, rename the copy to the
    snapshot path, and only then mark the run published in the writer's file.

    The copy is taken while this process holds the writer's file, so no load
    can run during it; readers of the old snapshot keep their open file. The
    writer's ``etl_runs`` says ``published`` only once the snapshot is in place
    (a copy or rename that fails leaves it ``loaded``); the snapshot carries its
    own status, set in the copy before the rename. A snapshot with fewer live
    articles than the last one this writer published is said in the log and in
    the run's ``etl_runs.message``. The old snapshot is never read: missing,
    stale, truncated or corrupt, it is replaced.
    """
    started = time.monotonic()
    published = Path(published)
    (writer_path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    if writer_path and same_file(writer_path, published):
        raise SameFile(same_file_message(writer_path, published))
    (live,) = con.execute("SELECT count(*) FROM articles WHERE deleted_at IS NULL").fetchall()[0]
    before, note = _fewer_than_published(con, live)
    if note:
        log.warning("publish: %s", note)
    con.execute("CHECKPOINT")
    published.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_files(published)
    tmp = temp_path(published, "tmp")
    try:
        # in a storage version DuckDB 1.x clients read, through the writer's own descriptor (snapshot.py)
        how = write_snapshot(con, tmp, file_descriptor(con))
        if run_id:
            _mark_copy_published(tmp, run_id, note, live)
        os.replace(tmp, published)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    if run_id:
        mark_published(con, run_id, note, live)  # the writer's record: only now that the snapshot is out
    return {
        "snapshot": str(published),
        "bytes": published.stat().st_size,
        "live_articles": live,
        "replaced_live_articles": before,
        "note": note,
        "how": how,
        "seconds": round(time.monotonic() - started, 3),
    }


def _mark_copy_published(copy: Path, run_id: str, note: str | None, live: int) -> None:
    """The run's row in the snapshot's own ``etl_runs``: published (what its readers see), synced."""
    con = duckdb.connect(str(copy), config=CONNECT_CONFIG)
    try:
        mark_published(con, run_id, note, live)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    with open(copy, "rb+") as fh:
        os.fsync(fh.fileno())


def _fewer_than_published(con, live: int) -> tuple[int | None, str | None]:
    """(live articles of the last snapshot this writer published, a note for the operator or None).

    Read from the writer's own record of its publishes (``etl_runs.published_live_articles``),
    never from the snapshot file: whatever state that file is in, publish replaces it."""
    row = con.execute(
        "SELECT published_live_articles FROM etl_runs WHERE published_live_articles IS NOT NULL "
        "ORDER BY loaded_at DESC LIMIT 1"
    ).fetchone()
    before = row[0] if row else None
    if before is not None and live < before:
        return before, (
            f"the new snapshot has {live} live articles, {before - live} fewer than the one it replaced ({before}): "
            "check the source (posts deleted?) and the writer's file (an older copy?)"
        )
    return before, None
