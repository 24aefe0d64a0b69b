"""The DuckDB warehouse: migrations, the one-transaction load, the snapshot.

Only one process may write a DuckDB file. The writer's file is opened by the
load (and by publish, to checkpoint and copy it); analysts and the warehouse
page read the published snapshot, a copy written aside and renamed into
place, so they never hold a lock the load needs and never see half a run.

All values go into SQL as parameters; the only identifiers in SQL text are
fixed names in this module and the migration files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from . import meaning
from .config import SQL_DIR, Settings
from .contract import MAX_REJECT_RAW_BYTES
from .securities import write_dictionary
from .snapshot import CONNECT_CONFIG, write_snapshot
from .sources import Known

log = logging.getLogger(__name__)

MIGRATIONS_DIR = SQL_DIR / "migrations"

Connect = Callable[[], duckdb.DuckDBPyConnection]


_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)")


class WarehouseBusy(Exception):
    """Another process holds the writer's file for longer than the wait allows."""


def file_connect(path: Path | str, read_only: bool = False) -> Connect:
    """A connect function for a warehouse file (the CLI's; the DAG uses the provider's hook)."""

    def connect() -> duckdb.DuckDBPyConnection:
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only, config=CONNECT_CONFIG)

    return connect


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


@contextmanager
def writer(connect: Connect, timeout: float = 60.0, memory: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection, waiting (with backoff) while another process holds the file.

    ``memory`` bounds what DuckDB holds in memory (by default ``Settings.duckdb_memory``): a
    big load spills to disk instead of growing with the run."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            con = connect()
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse file is held by another process for more than {timeout:.0f}s: {exc}. "
                    "Only one process may write it; analysts should open the published snapshot."
                ) from None
            log.warning("warehouse is locked by another process; retrying in %.1fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        con.execute("SET TimeZone = 'UTC'")
        set_memory(con, memory or Settings().duckdb_memory)
        yield con
    finally:
        con.close()


def set_memory(con: duckdb.DuckDBPyConnection, memory: str, setting: str = "NEWS_ETL_DUCKDB_MEMORY") -> None:
    """Let DuckDB on ``con`` hold ``memory`` (``512MB``, ``2GB``, ``50%`` of the machine's)."""
    limit = memory.strip()
    if not _MEMORY.fullmatch(limit):
        raise ValueError(f"{setting} must look like 512MB, 2GB or 50%, not {limit!r}")
    con.execute(f"SET memory_limit = '{limit}'")


# --- migrations --------------------------------------------------------------------------------


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every file in sql/migrations, in order."""
    out = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        out.append((version, path.stem, path.read_text(encoding="utf-8")))
    return out


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction. Safe to repeat."""
    con.execute("""
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)""")
    con.execute("COMMENT ON TABLE schema_migrations IS 'Schema migrations applied to this warehouse (sql/migrations).'")
    for column, text in (
        ("version", "The number of the migration (the prefix of its file name)."),
        ("name", "The migration file without .sql."),
        ("applied_at", "When it was applied."),
    ):
        con.execute(f"COMMENT ON COLUMN schema_migrations.{column} IS '{text}'")  # fixed texts of this module
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


# --- the watermark -----------------------------------------------------------------------------


class WatermarkMoved(Exception):
    """Another run loaded since this run's fetch read the watermark: what it staged is stale."""

    def __init__(self, source: str, read: dict, now: dict, by_run: str | None) -> None:
        self.source, self.read, self.now, self.by_run = source, read, now, by_run
        super().__init__(
            f"the watermark of {source} moved since this run's fetch read it (revision {_short(read.get('revision'))}, "
            f"{read.get('files')} files → revision {_short(now.get('revision'))}, {now.get('files')} files, "
            f"loaded by run {by_run or '?'}): the staged changes are stale"
        )


def _short(revision: str | None) -> str:
    """A revision as a log line shows it: a git commit's first 12 digits, others up to 40 characters."""
    if revision is None:
        return "none"
    return revision[:12] if re.fullmatch(r"[0-9a-f]{40}", revision) else revision[:40]


@dataclass(frozen=True)
class State:
    """What a fetch compares the source against: the files loaded from it and its revision, and
    ``watermark``, a small fingerprint of both that the load checks in its transaction."""

    known: dict[str, Known]
    revision: str | None
    watermark: dict


_EMPTY_WATERMARK = {"revision": None, "files": 0, "digest": ""}


def read_state(con: duckdb.DuckDBPyConnection, source: str) -> State:
    """The watermark of ``source`` in the warehouse open on ``con``."""
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if not {"source_files", "source_state"} <= tables:
        return State({}, None, dict(_EMPTY_WATERMARK))
    rows = con.execute(
        "SELECT path, content_hash, size, mtime_ns FROM source_files WHERE source = ? AND NOT deleted", [source]
    ).fetchall()
    known = dict(zip([r[0] for r in rows], map(Known._make, [r[1:] for r in rows]), strict=True))
    return State(known, *_watermark(con, source))


def _watermark(con: duckdb.DuckDBPyConnection, source: str) -> tuple[str | None, dict]:
    """(revision, watermark): the revision and a digest of the live files (path, hash, size, mtime).

    The digest is order-free (the xor and the sum of each file's row hash), so it costs one scan
    and no sort: 10 ms at 100,000 files where an md5 of the sorted rows took 0.2-0.3 s. Fetch
    and load compute it with the same DuckDB, in the same run."""
    found = con.execute("SELECT revision FROM source_state WHERE source = ?", [source]).fetchone()
    revision = found[0] if found else None
    files, digest = con.execute(
        """SELECT count(*), coalesce(printf('%016x', bit_xor(h)) || '-' || sum(h::HUGEINT)::VARCHAR, '')
           FROM (SELECT hash(path, content_hash, size, mtime_ns) AS h
                 FROM source_files WHERE source = ? AND NOT deleted)""",
        [source],
    ).fetchall()[0]
    return revision, {"revision": revision, "files": files, "digest": digest}


def check_watermark(con: duckdb.DuckDBPyConnection, source: str, read: dict) -> None:
    """Raise :class:`WatermarkMoved` unless the warehouse's watermark of ``source`` is still the
    one the run's fetch ``read`` (called inside the load's transaction)."""
    _, now = _watermark(con, source)
    if now != read:
        found = con.execute("SELECT run_id FROM source_state WHERE source = ?", [source]).fetchone()
        raise WatermarkMoved(source, read, now, found[0] if found else None)


def read_state_file(path: Path, source: str, timeout: float = 60.0) -> State:
    """The watermark of ``source`` read from the writer's file (read-only; waiting, like a load,
    while another process writes it). The writer's file is the truth: the published snapshot is
    never read back. No file yet: nothing was loaded."""
    if not Path(path).exists():
        return State({}, None, dict(_EMPTY_WATERMARK))
    with writer(file_connect(path, read_only=True), timeout) as con:
        return read_state(con, source)


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
    tmp = _temp_path(warehouse, "restore")
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


# --- the load ----------------------------------------------------------------------------------

#: Staged Parquet files, read as one table: the list of paths is a bound parameter, never SQL text.
READ_FILES = "read_parquet(?::VARCHAR[], union_by_name=true)"


def load(
    con: duckdb.DuckDBPyConnection,
    *,
    run: dict,
    fetch: dict,
    clean_files: list[str],
    reject_files: list[str],
    raw_files: list[str],
    deleted_file: str | None,
    quality_file: str | None,
    transform_seconds: float,
    validate_seconds: float,
) -> dict:
    """Load one run in ONE transaction; return its counts.

    The steps, in order: check that the watermark is still the one the run's
    fetch read (else :class:`WatermarkMoved`: what was staged is stale); stage
    the run's files in temp tables; pick one file per post id; write the articles batch by batch (versions, metrics, keywords);
    mark deleted posts; record every staged file in ``source_files``; write the
    rejects and the quality results; rebuild the daily tables of the days the
    run touched; write the run's audit row and move the watermark. On any error
    the transaction rolls back and the warehouse is as it was.
    """
    started = time.monotonic()
    now = datetime.now(UTC)
    run_id = run["run_id"]
    migrate(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if fetch.get("watermark") is not None:  # only on top of the watermark the fetch read
            check_watermark(con, fetch["source"], fetch["watermark"])
        _stage_files(con, raw_files, clean_files, reject_files, deleted_file)
        _pick_one_file_per_post(con, raw_files)
        counts: dict[str, int] = _write_articles(con, clean_files, now, run_id)
        counts["deleted"] = _mark_deleted(con, now, run_id)
        _record_source_files(con, run_id)
        reasons = _write_rejects(con, now, run_id)
        counts["rejects"] = sum(reasons.values())
        counts["expectations_failed"] = write_quality_results(con, run_id, quality_file, now) if quality_file else 0
        meaning.load_run(con.execute, run_id)  # stories, publishers, securities; may add days to `changed`
        _rebuild_days(con, run_id)
        _drop_staged(con)
        write_run(
            con,
            run=run,
            fetch=fetch,
            status="loaded",
            now=now,
            counts=counts,
            seconds={"transform": transform_seconds, "validate": validate_seconds, "load": time.monotonic() - started},
            message="; ".join(fetch.get("warnings", [])),
        )
        _move_watermark(con, fetch["source"], fetch.get("revision"), now, run_id)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    return {**counts, "reasons": reasons, "seconds": round(time.monotonic() - started, 3)}


def _stage(con, table: str, columns: str, files: list[str], empty: str) -> None:
    """Temp table ``table``: ``columns`` of the staged Parquet ``files`` (bulk, no Python rows),
    or, with no files, an empty table of the ``empty`` shape."""
    if files:
        con.execute("CREATE OR REPLACE TEMP TABLE " + table + " AS SELECT " + columns + " FROM " + READ_FILES, [files])
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE " + table + " AS SELECT " + empty + " WHERE false")


def _stage_files(con, raw_files, clean_files, reject_files, deleted_file) -> None:
    """The run's staged files as temp tables. Only the keys of the staged articles are held at
    once; their bodies are read batch by batch by :func:`_write_articles`."""
    _stage(
        con,
        "staged_raw",
        "source, path, content_hash, size, mtime_ns",
        raw_files,
        "NULL::VARCHAR AS source, NULL::VARCHAR AS path, NULL::VARCHAR AS content_hash, NULL::BIGINT AS size, "
        "NULL::BIGINT AS mtime_ns",
    )
    _stage(
        con,
        "staged_all",
        "source, path, post_id, content_hash, published_at",
        clean_files,
        "NULL::VARCHAR AS source, NULL::VARCHAR AS path, NULL::VARCHAR AS post_id, NULL::VARCHAR AS content_hash, "
        "NULL::TIMESTAMPTZ AS published_at",
    )
    _stage(
        con,
        "staged_rejects",
        "source, path, reason, detail, raw, content_hash, raw_size, raw_sha256",
        reject_files,
        "NULL::VARCHAR AS source, NULL::VARCHAR AS path, NULL::VARCHAR AS reason, NULL::VARCHAR AS detail, "
        "NULL::BLOB AS raw, NULL::VARCHAR AS content_hash, NULL::BIGINT AS raw_size, NULL::VARCHAR AS raw_sha256",
    )
    _stage(
        con,
        "staged_deleted",
        "source, path",
        [deleted_file] if deleted_file else [],
        "NULL::VARCHAR AS source, NULL::VARCHAR AS path",
    )


def _pick_one_file_per_post(con, raw_files: list[str]) -> None:
    """Two files, one post id: the newest wins (the later publication time, then the first path),
    whichever run saw them first, so the article never flips between them; the others become
    ``duplicate post id`` rejects. The sources read every file of a post id again when one of them
    changes (:func:`news_etl.sources.sharing_post_id`); a file holding a live article that was not
    read again keeps it. Only files of the same source compete: a new source of the same site (say
    git after dir) takes the article over. ``staged`` holds the keys of the winners (no bodies)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE staged AS
        SELECT s.source, s.path, s.post_id FROM (
            SELECT t.*, row_number() OVER (PARTITION BY t.post_id ORDER BY t.published_at DESC, t.path) AS rn
            FROM staged_all t) s
        WHERE rn = 1
          AND NOT EXISTS (  -- a live article in another file of this source, still there and not read again
              SELECT 1 FROM articles a JOIN source_files f ON f.source = a.source AND f.path = a.path
              WHERE a.post_id = s.post_id AND a.deleted_at IS NULL AND NOT f.deleted
                AND a.source = s.source AND a.path <> s.path
                AND NOT EXISTS (SELECT 1 FROM staged_deleted d WHERE d.source = a.source AND d.path = a.path)
                AND NOT EXISTS (SELECT 1 FROM staged_raw r WHERE r.source = a.source AND r.path = a.path))""")
    con.execute("""
        INSERT INTO staged_rejects (source, path, reason, detail, raw, content_hash, raw_size, raw_sha256)
        SELECT s.source, s.path, 'duplicate post id',
               'post id ' || s.post_id || ' is also in ' || coalesce(
                   (SELECT w.path FROM staged w WHERE w.post_id = s.post_id),
                   (SELECT min(a.path) FROM articles a WHERE a.post_id = s.post_id AND a.deleted_at IS NULL),
                   (SELECT min(o.path) FROM staged_all o WHERE o.post_id = s.post_id AND o.path <> s.path))
               || ', which holds the article (the newest publication time, then the first path)',
               NULL, s.content_hash, NULL, NULL
        FROM staged_all s WHERE NOT EXISTS (SELECT 1 FROM staged t WHERE t.path = s.path AND t.source = s.source)""")
    if raw_files:  # the raw bytes of duplicate-id rejects, from the raw batches
        con.execute(
            "UPDATE staged_rejects r SET raw = w.raw[1:?], raw_size = octet_length(w.raw), raw_sha256 = sha256(w.raw) "
            "FROM "
            + READ_FILES
            + """ w WHERE r.raw IS NULL AND r.reason = 'duplicate post id' AND w.path = r.path
                    AND w.source = r.source""",
            [MAX_REJECT_RAW_BYTES, raw_files],
        )


def _write_articles(con, clean_files: list[str], now: datetime, run_id: str) -> dict[str, int]:
    """Each staged batch in turn (one batch of bodies in memory); the counts per kind of change.
    ``changed`` collects the articles written and their days, for :func:`_rebuild_days`."""
    con.execute("CREATE OR REPLACE TEMP TABLE changed (post_id VARCHAR, change VARCHAR, day DATE, old_day DATE)")
    counts: dict[str, int] = {}
    for clean_file in clean_files:
        _classify_batch(con, clean_file, counts)
        _merge_articles(con, now, run_id)
        _write_versions(con, now, run_id)
        _write_metrics(con, run_id)
        _write_article_keywords(con, run_id)
        meaning.load_batch(con.execute, run_id)  # story signatures, securities of the batch
        con.execute("""INSERT INTO changed (post_id, change, day, old_day)
                       SELECT post_id, change, published_date, old_published_date
                       FROM classified WHERE change <> 'unchanged'""")
    con.execute("DROP TABLE IF EXISTS classified")
    for name in ("new", "updated", "unchanged", "moved", "revived"):
        counts.setdefault(name, 0)
    counts["unchanged"] += counts["moved"]  # a move keeps the version: unchanged content, a new path
    return counts


def _classify_batch(con, clean_file: str, counts: dict[str, int]) -> None:
    """``classified``: what each winning article of one staged batch is to the warehouse."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE classified AS
        SELECT s.*,
               a.version AS old_version, a.first_loaded_at AS old_first_loaded_at,
               a.published_date AS old_published_date,
               CASE WHEN a.post_id IS NULL THEN 'new'
                    WHEN a.deleted_at IS NOT NULL THEN 'revived'
                    WHEN a.content_hash <> s.content_hash THEN 'updated'
                    WHEN a.path <> s.path OR a.source <> s.source THEN 'moved'
                    ELSE 'unchanged' END AS change,
               CASE WHEN a.post_id IS NULL THEN 1
                    -- a revival is a version of its own, so every deletion and revival keeps its row
                    WHEN a.deleted_at IS NOT NULL OR a.content_hash <> s.content_hash THEN a.version + 1
                    ELSE a.version END AS new_version
        FROM read_parquet(?) s SEMI JOIN staged k ON k.source = s.source AND k.path = s.path
        LEFT JOIN articles a ON a.post_id = s.post_id""",
        [clean_file],
    )
    for change, n in con.execute("SELECT change, count(*) FROM classified GROUP BY change").fetchall():
        counts[change] = counts.get(change, 0) + n


def _merge_articles(con, now: datetime, run_id: str) -> None:
    """``articles``: insert the new, update the changed, moved and revived (one MERGE)."""
    con.execute(
        """
        MERGE INTO articles AS a
        USING (SELECT * FROM classified WHERE change <> 'unchanged') AS c
        ON a.post_id = c.post_id
        WHEN MATCHED THEN UPDATE SET
            source = c.source, path = c.path, title = c.title, layout = c.layout,
            published_at = c.published_at, published_date = c.published_date, categories = c.categories,
            tags = c.tags, category = c.category, outlet = c.outlet, source_url = c.source_url,
            digest = c.digest, byline = c.byline, credit = c.credit, body_text = c.body_text,
            paragraphs = c.paragraphs, warnings = c.warnings, content_hash = c.content_hash,
            version = c.new_version, updated_at = ?, deleted_at = NULL, run_id = ?
        WHEN NOT MATCHED THEN INSERT (post_id, source, path, title, layout, published_at, published_date,
            categories, tags, category, outlet, source_url, digest, byline, credit, body_text, paragraphs,
            warnings, content_hash, version, first_loaded_at, updated_at, deleted_at, run_id)
        VALUES (c.post_id, c.source, c.path, c.title, c.layout, c.published_at, c.published_date,
            c.categories, c.tags, c.category, c.outlet, c.source_url, c.digest, c.byline, c.credit, c.body_text,
            c.paragraphs, c.warnings, c.content_hash, 1, ?, ?, NULL, ?)""",
        [now, run_id, now, now, run_id],
    )


def _write_versions(con, now: datetime, run_id: str) -> None:
    """``article_versions``: a row for every new, updated and revived article of the batch."""
    con.execute(
        """
        INSERT INTO article_versions (post_id, version, change, source, path, title, published_at,
            published_date, categories, tags, outlet, source_url, digest, byline, credit, body_text,
            content_hash, loaded_at, run_id)
        SELECT post_id, new_version, change, source, path, title, published_at, published_date, categories, tags,
               outlet, source_url, digest, byline, credit, body_text, content_hash, ?, ?
        FROM classified WHERE change IN ('new', 'updated', 'revived')
        ON CONFLICT DO NOTHING""",
        [now, run_id],
    )


def _write_metrics(con, run_id: str) -> None:
    """``article_metrics`` of the articles of the batch that got a new version."""
    con.execute(
        """
        INSERT OR REPLACE INTO article_metrics (post_id, version, cjk_chars, chars, paragraph_count, sentences,
            numbers, money_mentions, percent_mentions, links, images, kline_images, tables, reading_seconds, run_id)
        SELECT post_id, new_version, cjk_chars, chars, paragraph_count, sentences, numbers, money_mentions,
               percent_mentions, links, images, kline_images, tables, reading_seconds, ?
        FROM classified WHERE change IN ('new', 'updated', 'revived')""",
        [run_id],
    )


def _write_article_keywords(con, run_id: str) -> None:
    """``article_keywords`` of the batch: replaced for the articles it writes (new, updated,
    revived); a deleted article keeps its rows (``keyword_daily`` counts live articles only)."""
    con.execute("""
        DELETE FROM article_keywords
        WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('new', 'updated', 'revived'))""")
    con.execute(
        """
        INSERT INTO article_keywords (post_id, version, rank, keyword, count, weight, run_id)
        SELECT c.post_id, c.new_version, r.i, c.keywords[r.i].keyword, c.keywords[r.i].count,
               c.keywords[r.i].weight, ?
        FROM classified c, range(1, coalesce(len(c.keywords), 0) + 1) AS r(i)
        WHERE c.change IN ('new', 'updated', 'revived')""",
        [run_id],
    )


def _mark_deleted(con, now: datetime, run_id: str) -> int:
    """Files gone from the source: their posts are marked deleted (never removed), with a
    ``deleted`` version row; their ``source_files`` rows are marked too. Returns the posts marked."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gone AS
        SELECT a.post_id, a.version, a.published_date FROM articles a
        JOIN staged_deleted d ON d.source = a.source AND d.path = a.path
        WHERE a.deleted_at IS NULL AND a.post_id NOT IN (SELECT post_id FROM staged)""")
    (deleted,) = con.execute("SELECT count(*) FROM gone").fetchone()
    con.execute(
        "UPDATE articles SET deleted_at = ?, updated_at = ?, run_id = ? WHERE post_id IN (SELECT post_id FROM gone)",
        [now, now, run_id],
    )
    con.execute(
        """
        INSERT INTO article_versions (post_id, version, change, source, path, title, published_at,
            published_date, categories, tags, outlet, source_url, digest, byline, credit, body_text,
            content_hash, loaded_at, run_id)
        SELECT a.post_id, a.version, 'deleted', a.source, a.path, a.title, a.published_at, a.published_date,
               a.categories, a.tags, a.outlet, a.source_url, a.digest, a.byline, a.credit, NULL, a.content_hash, ?, ?
        FROM articles a WHERE a.post_id IN (SELECT post_id FROM gone)
        ON CONFLICT DO NOTHING""",
        [now, run_id],
    )
    con.execute(
        """
        UPDATE source_files SET deleted = true, run_id = ?
        FROM staged_deleted d WHERE source_files.source = d.source AND source_files.path = d.path""",
        [run_id],
    )
    return deleted


def _record_source_files(con, run_id: str) -> None:
    """The watermark per file: every staged file, article or reject, with its content hash."""
    con.execute(
        """
        INSERT OR REPLACE INTO source_files (source, path, post_id, content_hash, size, mtime_ns, outcome,
            deleted, run_id)
        SELECT r.source, r.path, c.post_id, r.content_hash, r.size, r.mtime_ns,
               CASE WHEN c.post_id IS NULL THEN 'reject' ELSE 'article' END, false, ?
        FROM staged_raw r LEFT JOIN staged c ON c.source = r.source AND c.path = r.path""",
        [run_id],
    )


def _write_rejects(con, now: datetime, run_id: str) -> dict[str, int]:
    """The run's rejects; returns how many were written for each reason.

    A file version already rejected for the same reason (staged again by a concurrent run or a
    stale watermark) is not recorded twice: running twice at once equals running in turn.
    """
    con.execute("""CREATE OR REPLACE TEMP TABLE new_rejects AS SELECT * FROM staged_rejects r WHERE NOT EXISTS (
           SELECT 1 FROM rejects o WHERE o.source = r.source AND o.path = r.path AND o.reason = r.reason
             AND o.content_hash IS NOT DISTINCT FROM r.content_hash)""")
    con.execute(
        """INSERT INTO rejects (run_id, source, path, reason, detail, raw, content_hash, rejected_at, raw_size,
               raw_sha256)
           SELECT ?, source, path, reason, detail, raw, content_hash, ?, raw_size, raw_sha256 FROM new_rejects""",
        [run_id, now],
    )
    reasons = dict(con.execute("SELECT reason, count(*) FROM new_rejects GROUP BY reason").fetchall())
    con.execute("DROP TABLE new_rejects")
    return reasons


def write_quality_results(con, run_id: str, quality_file: str, now: datetime) -> int:
    """The one writer of ``quality_results``: every GX result of the run (replacing any the run
    wrote before); returns how many expectations failed."""
    con.execute("DELETE FROM quality_results WHERE run_id = ?", [run_id])
    con.execute(
        """INSERT INTO quality_results (run_id, suite, batch, expectation, column_name, severity, success,
               observed, checked_at)
           SELECT ?, suite, batch, expectation, column_name, severity, success, observed, ? FROM read_parquet(?)""",
        [run_id, now, quality_file],
    )
    (failed,) = con.execute(
        "SELECT count(*) FROM quality_results WHERE run_id = ? AND NOT success", [run_id]
    ).fetchone()
    return failed


def _rebuild_days(con, run_id: str) -> None:
    """``daily_metrics`` and ``keyword_daily`` of the days the run touched (a written article's
    day, its old day, a deleted article's day), rebuilt from the articles."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE touched_days AS
        SELECT day FROM changed
        UNION SELECT old_day FROM changed WHERE old_day IS NOT NULL
        UNION SELECT published_date FROM gone""")
    con.execute("DELETE FROM daily_metrics WHERE day IN (SELECT day FROM touched_days)")
    con.execute(
        """
        INSERT INTO daily_metrics (day, outlet, category, articles, new_articles, updated_articles,
            deleted_articles, chars_total, chars_mean, chars_median, share_with_images, run_id, stories)
        SELECT a.published_date, coalesce(a.outlet, '?'), coalesce(a.category, '?'),
               count(*) FILTER (WHERE a.deleted_at IS NULL),
               count(*) FILTER (WHERE a.deleted_at IS NULL AND NOT coalesce(v.edited, false)),
               count(*) FILTER (WHERE a.deleted_at IS NULL AND coalesce(v.edited, false)),
               count(*) FILTER (WHERE a.deleted_at IS NOT NULL),
               coalesce(sum(m.chars) FILTER (WHERE a.deleted_at IS NULL), 0),
               avg(m.chars) FILTER (WHERE a.deleted_at IS NULL),
               median(m.chars) FILTER (WHERE a.deleted_at IS NULL),
               avg(CASE WHEN m.images > 0 THEN 1.0 ELSE 0.0 END) FILTER (WHERE a.deleted_at IS NULL),
               ?, count(DISTINCT a.story_id) FILTER (WHERE a.deleted_at IS NULL)
        FROM articles a JOIN article_metrics m USING (post_id)
        LEFT JOIN (SELECT post_id, count(DISTINCT content_hash) > 1 AS edited FROM article_versions
                   WHERE post_id IN (SELECT post_id FROM articles WHERE published_date IN (SELECT day FROM touched_days))
                   GROUP BY post_id) v USING (post_id)  -- text changed since the first load (not a revival)
        WHERE a.published_date IN (SELECT day FROM touched_days)
        GROUP BY ALL""",
        [run_id],
    )
    meaning.rebuild_daily(con.execute, run_id)  # keyword_daily, security_daily


def _drop_staged(con) -> None:
    for table in (
        "staged_raw",
        "staged_all",
        "staged",
        "staged_rejects",
        "staged_deleted",
        "changed",
        "gone",
        "touched_days",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _move_watermark(con, source: str, revision: str | None, now: datetime, run_id: str) -> None:
    """``source_state``: the revision this load covers. It moves only with the data, in the load's transaction."""
    con.execute(
        """
        INSERT INTO source_state (source, revision, updated_at, run_id) VALUES (?, ?, ?, ?)
        ON CONFLICT (source) DO UPDATE SET revision = excluded.revision,
            updated_at = excluded.updated_at, run_id = excluded.run_id""",
        [source, revision, now, run_id],
    )


# --- the audit row -----------------------------------------------------------------------------

#: The columns of ``etl_runs``, in the order :func:`write_run` binds them.
RUN_COLUMNS = (
    "run_id",
    "dag_run_id",
    "logical_date",
    "interval_start",
    "interval_end",
    "source",
    "source_revision",
    "started_at",
    "loaded_at",
    "status",
    "posts_seen",
    "posts_changed",
    "posts_deleted",
    "articles_new",
    "articles_updated",
    "articles_unchanged",
    "articles_deleted",
    "articles_revived",
    "rejects",
    "expectations_failed",
    "seconds_fetch",
    "seconds_transform",
    "seconds_validate",
    "seconds_load",
    "message",
)
INSERT_RUN = f"INSERT OR REPLACE INTO etl_runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
#: etl_runs.message is cut to this many characters.
MAX_MESSAGE_CHARS = 2000


def write_run(
    con,
    *,
    run: dict,
    fetch: dict,
    status: str,
    now: datetime,
    counts: dict | None = None,
    seconds: dict | None = None,
    message: str | None = None,
) -> None:
    """The one writer of a run's audit row in ``etl_runs`` (a run that writes it again replaces it;
    :func:`mark_published` only sets its status and adds to its message).

    ``counts``: the load's counts (``new``, ``updated``, ...); ``seconds``: ``transform``,
    ``validate``, ``load`` (fetch's come from ``fetch``); ``message``: what the operator should know.
    """
    counts = counts or {}
    seconds = seconds or {}
    row = {
        "run_id": run["run_id"],
        "dag_run_id": run.get("dag_run_id"),
        "logical_date": run.get("logical_date"),
        "interval_start": run.get("interval_start"),
        "interval_end": run.get("interval_end"),
        "source": fetch["source"],
        "source_revision": fetch.get("revision"),
        "started_at": fetch["started_at"],
        "loaded_at": now,
        "status": status,
        "posts_seen": fetch["seen"],
        "posts_changed": fetch["changed"],
        "posts_deleted": fetch["deleted"],
        "articles_new": counts.get("new", 0),
        "articles_updated": counts.get("updated", 0),
        "articles_unchanged": counts.get("unchanged", 0),
        "articles_deleted": counts.get("deleted", 0),
        "articles_revived": counts.get("revived", 0),
        "rejects": counts.get("rejects", 0),
        "expectations_failed": counts.get("expectations_failed", 0),
        "seconds_fetch": fetch.get("seconds"),
        "seconds_transform": seconds.get("transform"),
        "seconds_validate": seconds.get("validate"),
        "seconds_load": seconds.get("load"),
        "message": message[:MAX_MESSAGE_CHARS] if message else None,
    }
    con.execute(INSERT_RUN, [row[c] for c in RUN_COLUMNS])


def mark_published(con, run_id: str, note: str | None = None, live: int | None = None) -> None:
    """The audit row once its run's snapshot is out: status ``published``, the snapshot's live
    articles, and ``note`` (what the operator should know about the publish) added to its message."""
    con.execute(
        "UPDATE etl_runs SET status = 'published', published_live_articles = coalesce(?, published_live_articles) "
        "WHERE run_id = ?",
        [live, run_id],
    )
    if note:
        con.execute(
            "UPDATE etl_runs SET message = left(concat_ws('; ', message, ?), ?) WHERE run_id = ?",
            [note, MAX_MESSAGE_CHARS, run_id],
        )


def record_failed_validation(
    con: duckdb.DuckDBPyConnection, *, run: dict, fetch: dict, quality_file: str, message: str
) -> None:
    """A run stopped by a hard expectation: store its GX results and an audit row, nothing else.

    The data tables and the watermark are not touched, so the next run sees
    the same changes again.
    """
    now = datetime.now(UTC)
    migrate(con)
    con.execute("BEGIN TRANSACTION")
    try:
        failed = write_quality_results(con, run["run_id"], quality_file, now)
        write_run(
            con,
            run=run,
            fetch=fetch,
            status="failed validation",
            now=now,
            counts={"expectations_failed": failed},
            message=message,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# --- temporary copies ----------------------------------------------------------------------------

#: ``.<file>.<host>.<pid>.<tmp|restore>[.wal]``: a copy being written beside ``<file>``.
_TEMP = re.compile(r"(?P<host>.+)\.(?P<pid>\d+)\.(?:tmp|restore)(?:\.wal)?")
#: A temporary copy from another host is left for this long (no way to ask whether its writer lives).
FOREIGN_TEMP_HOURS = 24


def _temp_path(path: Path, kind: str) -> Path:
    """Where a copy of ``path`` is written before it is renamed into place: named after this host
    and process, so the next run can tell whether its writer still lives."""
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{kind}")


def remove_dead_temp_files(path: Path) -> list[str]:
    """Remove the temporary copies of ``path`` that killed publishes or restores left: on this
    host, those whose process is gone; from another host, those older than a day."""
    path = Path(path)
    removed: list[str] = []
    if not path.parent.is_dir():
        return removed
    host = socket.gethostname()
    prefix = f".{path.name}."
    for tmp in path.parent.iterdir():
        m = _TEMP.fullmatch(tmp.name[len(prefix) :]) if tmp.name.startswith(prefix) else None
        if not m:
            continue
        if m["host"] == host:
            try:
                os.kill(int(m["pid"]), 0)
                continue  # its writer lives
            except ProcessLookupError:
                pass
            except PermissionError:
                continue  # a live process of another user
        else:
            try:
                if time.time() - tmp.stat().st_mtime < FOREIGN_TEMP_HOURS * 3600:
                    continue
            except FileNotFoundError:
                continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp.name)
    if removed:
        log.warning(
            "removed %d temporary copie(s) left by killed runs beside %s: %s", len(removed), path, ", ".join(removed)
        )
    return removed


# --- publish -----------------------------------------------------------------------------------


def publish(con: duckdb.DuckDBPyConnection, warehouse: Path, published: Path, run_id: str | None) -> dict:
    """Mark the run published, checkpoint, and copy the file to the snapshot path atomically.

    The copy is taken while this process holds the writer's file, so no load
    can run during it; readers of the old snapshot keep their open file. A
    snapshot with fewer live articles than the last one this writer published is
    said in the log and in the run's ``etl_runs.message``. The old snapshot is
    never read: missing, stale, truncated or corrupt, it is replaced.
    """
    started = time.monotonic()
    published = Path(published)
    (live,) = con.execute("SELECT count(*) FROM articles WHERE deleted_at IS NULL").fetchall()[0]
    before, note = _fewer_than_published(con, live)
    if note:
        log.warning("publish: %s", note)
    if run_id:
        mark_published(con, run_id, note, live)
    con.execute("CHECKPOINT")
    published.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_files(published)
    tmp = _temp_path(published, "tmp")
    try:
        how = write_snapshot(con, tmp)  # in a storage version DuckDB 1.x clients read (snapshot.py)
        os.replace(tmp, published)
        write_dictionary(con, warehouse)  # the names keywords keep whole, for the next run's transform
    finally:
        if tmp.exists():
            tmp.unlink()
    return {
        "snapshot": str(published),
        "bytes": published.stat().st_size,
        "live_articles": live,
        "replaced_live_articles": before,
        "note": note,
        "how": how,
        "seconds": round(time.monotonic() - started, 3),
    }


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
