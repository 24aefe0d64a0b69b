"""Publish: checkpoint the writer's file and copy it to the analysts' snapshot, written aside and renamed;
the writer's audit row says ``published`` only once the snapshot is in place. A run that changed
nothing analysts read keeps the snapshot in place when the writer's record shows it is current."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import duckdb

from news_etl.warehouse.audit import mark_published
from news_etl.warehouse.connection import file_descriptor
from news_etl.warehouse.migrations import schema_version
from news_etl.warehouse.restore import SameFile, same_file, same_file_message
from news_etl.warehouse.snapshot import CONNECT_CONFIG, write_snapshot
from news_etl.warehouse.tempfiles import remove_dead_temp_files, temp_path

log = logging.getLogger(__name__)


def publish(con: duckdb.DuckDBPyConnection, published: Path, run_id: str | None, upload_url: str | None = None) -> dict:
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

    A run whose load changed nothing (:func:`_snapshot_in_place`) copies nothing: the snapshot
    the run before it published holds the same tables, and copying a gigabyte to say so is most
    of a quiet day's run. Its audit row says ``published`` with the same ``snapshot_stamp``; the
    snapshot's own ``etl_runs`` lists the runs that changed it.
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
    kept = _snapshot_in_place(con, published, run_id, upload_url) if run_id else None
    if kept and run_id:
        stamp, by = kept
        mark_published(con, run_id, f"nothing new: the snapshot run {by} published holds this run", live, stamp)
        how, before, note = "kept file (nothing new)", None, None
    else:
        how = _copy(con, published, run_id, note, live)
        if run_id:  # the writer's record: only now that the snapshot is out
            mark_published(con, run_id, note, live, snapshot_stamp(con, published, upload_url))
    return {
        "snapshot": str(published),
        "bytes": published.stat().st_size,
        "live_articles": live,
        "replaced_live_articles": before,
        "note": note,
        "how": how,
        "kept": bool(kept),
        "seconds": round(time.monotonic() - started, 3),
    }


def _copy(con, published: Path, run_id: str | None, note: str | None, live: int) -> str:
    """Checkpoint, copy the writer's file aside (marked published for ``run_id``), rename it into
    place; how it was copied."""
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
    return how


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


#: A run's audit row says it changed nothing analysts read: no file staged or gone, nothing written.
_NOTHING_NEW = """posts_changed = 0 AND posts_deleted = 0 AND articles_new = 0 AND articles_updated = 0
    AND articles_deleted = 0 AND articles_revived = 0 AND rejects = 0 AND expectations_failed = 0"""


def snapshot_stamp(con, published: Path, upload_url: str | None = None) -> str | None:
    """The snapshot file as the writer sees it (device, inode, size, modification time) with the
    writer's schema version and where it is uploaded: another file, a file changed in place, a
    migrated writer or another upload stamps differently. None: no file."""
    try:
        st = published.stat()
    except FileNotFoundError:
        return None
    uploaded = f" {hashlib.sha256(upload_url.encode()).hexdigest()[:16]}" if upload_url else ""  # (no URL on disk)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{schema_version(con)}{uploaded}"


def _snapshot_in_place(con, published: Path, run_id: str, upload_url: str | None) -> tuple[str, str] | None:
    """(stamp, run id) when the snapshot in place already holds everything this run loaded: the
    run's audit row says it changed nothing and kept the source's revision, and the run loaded
    just before it was published into the very file that is there now (same stamp: not replaced,
    touched, migrated since). Else None: the file is copied. Only the writer's record and a stat
    of the snapshot are read, never the snapshot."""
    row = con.execute(
        "SELECT r.source, r.source_revision, r.loaded_at FROM etl_runs r WHERE r.run_id = ? AND r.status = 'loaded' AND "
        + _NOTHING_NEW,
        [run_id],
    ).fetchone()
    if row is None:
        return None
    source, revision, loaded_at = row
    before = con.execute(  # the run loaded last but this one: none loaded after it
        "SELECT run_id, loaded_at, status, source, source_revision, snapshot_stamp FROM etl_runs "
        "WHERE run_id <> ? ORDER BY loaded_at DESC LIMIT 1",
        [run_id],
    ).fetchone()
    if before is None or before[1] > loaded_at:
        return None
    by, _, status, was_source, was_revision, stamp = before
    if status != "published" or (was_source, was_revision) != (source, revision) or stamp is None:
        return None
    return (stamp, by) if stamp == snapshot_stamp(con, published, upload_url) else None


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
