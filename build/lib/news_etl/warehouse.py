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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .config import SQL_DIR
from .sources import Known

log = logging.getLogger(__name__)

MIGRATIONS_DIR = SQL_DIR / "migrations"

Connect = Callable[[], duckdb.DuckDBPyConnection]


_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")


class WarehouseBusy(Exception):
    """Another process holds the writer's file for longer than the wait allows."""


def file_connect(path: Path | str, read_only: bool = False) -> Connect:
    """A connect function for a warehouse file (the CLI's; the DAG uses the provider's hook)."""

    def connect() -> duckdb.DuckDBPyConnection:
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only)

    return connect


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


@contextmanager
def writer(connect: Connect, timeout: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection, waiting (with backoff) while another process holds the file."""
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
        # bounded memory: a big load spills to disk instead of growing with the run
        limit = os.environ.get("NEWS_ETL_DUCKDB_MEMORY", "1GB").strip()
        if not _MEMORY.fullmatch(limit):
            raise ValueError(f"NEWS_ETL_DUCKDB_MEMORY must look like 512MB or 2GB, not {limit!r}")
        con.execute(f"SET memory_limit = '{limit}'")
        yield con
    finally:
        con.close()


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


def read_state(path: Path, source: str) -> tuple[dict[str, Known], str | None]:
    """The files loaded from ``source`` and its revision, read from a warehouse file.

    Fetch reads the published snapshot, never the writer's file, so it never
    waits for a load. A stale snapshot only makes fetch stage a few files
    again, which the load's hash comparison finds unchanged.
    """
    if not Path(path).exists():
        return {}, None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        log.warning("cannot read the watermark from %s (%s); scanning everything", path, exc)
        return {}, None
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "source_files" not in tables:
            return {}, None
        rows = con.execute(
            "SELECT path, content_hash, size, mtime_ns FROM source_files WHERE source = ? AND NOT deleted", [source]
        ).fetchall()
        revision = con.execute("SELECT revision FROM source_state WHERE source = ?", [source]).fetchone()
    finally:
        con.close()
    return {p: Known(h, s, m) for p, h, s, m in rows}, (revision[0] if revision else None)


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

    On any error the transaction rolls back and the warehouse is as it was.
    """
    started = time.monotonic()
    now = datetime.now(UTC)
    run_id = run["run_id"]
    source = fetch["source"]
    migrate(con)
    con.execute("BEGIN TRANSACTION")
    try:
        counts = _load_in_transaction(
            con,
            now=now,
            run_id=run_id,
            source=source,
            clean_files=clean_files,
            reject_files=reject_files,
            raw_files=raw_files,
            deleted_file=deleted_file,
            quality_file=quality_file,
        )
        seconds_load = time.monotonic() - started
        con.execute("DELETE FROM etl_runs WHERE run_id = ?", [run_id])
        con.execute(
            """
            INSERT INTO etl_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                run_id,
                run.get("dag_run_id"),
                run.get("logical_date"),
                run.get("interval_start"),
                run.get("interval_end"),
                source,
                fetch.get("revision"),
                fetch["started_at"],
                now,
                fetch["seen"],
                fetch["changed"],
                fetch["deleted"],
                counts["new"],
                counts["updated"],
                counts["unchanged"],
                counts["deleted"],
                counts["revived"],
                counts["rejects"],
                counts["expectations_failed"],
                fetch["seconds"],
                transform_seconds,
                validate_seconds,
                seconds_load,
                "; ".join(fetch.get("warnings", [])) or None,
            ],
        )
        con.execute(
            """
            INSERT INTO source_state VALUES (?, ?, ?, ?)
            ON CONFLICT (source) DO UPDATE SET revision = excluded.revision,
                updated_at = excluded.updated_at, run_id = excluded.run_id""",
            [source, fetch.get("revision"), now, run_id],
        )
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    counts["seconds"] = round(time.monotonic() - started, 3)
    return counts


def _load_in_transaction(
    con, *, now, run_id, source, clean_files, reject_files, raw_files, deleted_file, quality_file
) -> dict:
    x = con.execute
    # -- stage everything in temp tables, straight from Parquet (bulk, no Python rows)
    x(
        "CREATE OR REPLACE TEMP TABLE staged_raw AS SELECT source, path, content_hash, size, mtime_ns FROM "
        + (
            READ_FILES
            if raw_files
            else "(SELECT NULL::VARCHAR source, NULL::VARCHAR path, NULL::VARCHAR content_hash, NULL::BIGINT size, NULL::BIGINT mtime_ns) WHERE false"
        ),
        [raw_files] if raw_files else [],
    )
    # only the keys of all staged articles are held at once; their bodies are read batch by batch below
    x(
        "CREATE OR REPLACE TEMP TABLE staged_all AS SELECT source, path, post_id, content_hash FROM "
        + (
            READ_FILES
            if clean_files
            else "(SELECT NULL::VARCHAR source, NULL::VARCHAR path, NULL::VARCHAR post_id, NULL::VARCHAR content_hash) WHERE false"
        ),
        [clean_files] if clean_files else [],
    )
    x(
        "CREATE OR REPLACE TEMP TABLE staged_rejects AS SELECT * FROM "
        + (
            READ_FILES
            if reject_files
            else "(SELECT NULL::VARCHAR source, NULL::VARCHAR path, NULL::VARCHAR reason, NULL::VARCHAR detail, NULL::BLOB raw, NULL::VARCHAR content_hash) WHERE false"
        ),
        [reject_files] if reject_files else [],
    )
    x(
        "CREATE OR REPLACE TEMP TABLE staged_deleted AS SELECT source, path FROM "
        + ("read_parquet(?)" if deleted_file else "(SELECT NULL::VARCHAR source, NULL::VARCHAR path) WHERE false"),
        [deleted_file] if deleted_file else [],
    )

    # -- two files, one post id: the file that holds the live article wins, else the first path;
    #    the others are rejects. Only files of the same source compete: a new source of the same
    #    site (say git after dir) takes the article over.
    x("""
        CREATE OR REPLACE TEMP TABLE staged AS  -- the keys of the files that win (narrow: no bodies copied)
        SELECT s.source, s.path, s.post_id FROM (
            SELECT t.*, row_number() OVER (
                PARTITION BY t.post_id ORDER BY (h.post_id IS NOT NULL) DESC, t.path) AS rn
            FROM staged_all t LEFT JOIN articles h ON h.post_id = t.post_id AND h.deleted_at IS NULL
                 AND h.source = t.source AND h.path = t.path) s
        WHERE rn = 1
          AND NOT EXISTS (  -- a live article with this id in another file of this source that still exists
              SELECT 1 FROM articles a JOIN source_files f ON f.source = a.source AND f.path = a.path
              WHERE a.post_id = s.post_id AND a.deleted_at IS NULL AND NOT f.deleted
                AND a.source = s.source AND a.path <> s.path
                AND NOT EXISTS (SELECT 1 FROM staged_deleted d WHERE d.source = a.source AND d.path = a.path))""")
    x("""
        INSERT INTO staged_rejects
        SELECT s.source, s.path, 'duplicate post id',
               'post id ' || s.post_id || ' is also in ' || coalesce(
                   (SELECT min(o.path) FROM staged_all o WHERE o.post_id = s.post_id AND o.path < s.path),
                   (SELECT min(a.path) FROM articles a WHERE a.post_id = s.post_id)),
               NULL, s.content_hash
        FROM staged_all s WHERE NOT EXISTS (SELECT 1 FROM staged t WHERE t.path = s.path AND t.source = s.source)""")
    if raw_files:  # the raw bytes of duplicate-id rejects, from the raw batches
        x(
            """UPDATE staged_rejects r SET raw = w.raw FROM """
            + READ_FILES
            + """ w
             WHERE r.raw IS NULL AND r.reason = 'duplicate post id' AND w.path = r.path AND w.source = r.source""",
            [raw_files],
        )

    # -- each batch of staged articles in turn (one batch of bodies in memory), same transaction
    x("CREATE OR REPLACE TEMP TABLE changed (post_id VARCHAR, change VARCHAR, day DATE, old_day DATE)")
    counts: dict[str, int] = {}
    for clean_file in clean_files:
        _load_batch(x, clean_file, now, run_id, counts)
    x("DROP TABLE IF EXISTS classified")

    # -- deletions: files gone from the source; their posts are marked, never removed
    x("""
        CREATE OR REPLACE TEMP TABLE gone AS
        SELECT a.post_id, a.version, a.published_date FROM articles a
        JOIN staged_deleted d ON d.source = a.source AND d.path = a.path
        WHERE a.deleted_at IS NULL AND a.post_id NOT IN (SELECT post_id FROM staged)""")
    counts["deleted"] = x("SELECT count(*) FROM gone").fetchone()[0]
    x(
        "UPDATE articles SET deleted_at = ?, updated_at = ?, run_id = ? WHERE post_id IN (SELECT post_id FROM gone)",
        [now, now, run_id],
    )
    x(
        """
        INSERT INTO article_versions
        SELECT a.post_id, a.version, 'deleted', a.source, a.path, a.title, a.published_at, a.published_date,
               a.categories, a.tags, a.outlet, a.source_url, a.digest, a.byline, a.credit, NULL, a.content_hash, ?, ?
        FROM articles a WHERE a.post_id IN (SELECT post_id FROM gone)
        ON CONFLICT DO NOTHING""",
        [now, run_id],
    )
    x(
        """
        UPDATE source_files SET deleted = true, run_id = ?
        FROM staged_deleted d WHERE source_files.source = d.source AND source_files.path = d.path""",
        [run_id],
    )

    # -- the watermark per file: every staged file, article or reject
    x(
        """
        INSERT OR REPLACE INTO source_files
        SELECT r.source, r.path, c.post_id, r.content_hash, r.size, r.mtime_ns,
               CASE WHEN c.post_id IS NULL THEN 'reject' ELSE 'article' END, false, ?
        FROM staged_raw r LEFT JOIN staged c ON c.source = r.source AND c.path = r.path""",
        [run_id],
    )

    # -- rejects and quality results of the run
    # a file version already rejected for the same reason (staged again by a concurrent run or a
    # stale snapshot) is not recorded twice: running twice at once equals running in turn
    x("""CREATE OR REPLACE TEMP TABLE new_rejects AS SELECT * FROM staged_rejects r WHERE NOT EXISTS (
           SELECT 1 FROM rejects o WHERE o.source = r.source AND o.path = r.path AND o.reason = r.reason
             AND o.content_hash IS NOT DISTINCT FROM r.content_hash)""")
    x(
        "INSERT INTO rejects SELECT ?, source, path, reason, detail, raw, content_hash, ? FROM new_rejects",
        [run_id, now],
    )
    counts["rejects"] = x("SELECT count(*) FROM new_rejects").fetchone()[0]
    x("DROP TABLE new_rejects")
    counts["expectations_failed"] = 0
    if quality_file:
        x("DELETE FROM quality_results WHERE run_id = ?", [run_id])
        x(
            """INSERT INTO quality_results SELECT ?, suite, batch, expectation, column_name, severity, success,
                    observed, ? FROM read_parquet(?)""",
            [run_id, now, quality_file],
        )
        counts["expectations_failed"] = x(
            "SELECT count(*) FROM quality_results WHERE run_id = ? AND NOT success", [run_id]
        ).fetchone()[0]

    # -- daily metrics of the days this run touched, rebuilt from the articles
    x("""
        CREATE OR REPLACE TEMP TABLE touched_days AS
        SELECT day FROM changed
        UNION SELECT old_day FROM changed WHERE old_day IS NOT NULL
        UNION SELECT published_date FROM gone""")
    x("DELETE FROM daily_metrics WHERE day IN (SELECT day FROM touched_days)")
    x(
        """
        INSERT INTO daily_metrics
        SELECT a.published_date, coalesce(a.outlet, '?'), coalesce(a.category, '?'),
               count(*) FILTER (WHERE a.deleted_at IS NULL),
               count(*) FILTER (WHERE a.deleted_at IS NULL AND a.version = 1),
               count(*) FILTER (WHERE a.deleted_at IS NULL AND a.version > 1),
               count(*) FILTER (WHERE a.deleted_at IS NOT NULL),
               coalesce(sum(m.chars) FILTER (WHERE a.deleted_at IS NULL), 0),
               avg(m.chars) FILTER (WHERE a.deleted_at IS NULL),
               median(m.chars) FILTER (WHERE a.deleted_at IS NULL),
               avg(CASE WHEN m.images > 0 THEN 1.0 ELSE 0.0 END) FILTER (WHERE a.deleted_at IS NULL),
               ?
        FROM articles a JOIN article_metrics m USING (post_id)
        WHERE a.published_date IN (SELECT day FROM touched_days)
        GROUP BY ALL""",
        [run_id],
    )

    _load_keywords(x, run_id)

    for name in ("new", "updated", "unchanged", "moved", "revived", "deleted"):
        counts.setdefault(name, 0)
    counts["unchanged"] += counts.pop("moved")
    for t in (
        "staged_raw",
        "staged_all",
        "staged",
        "staged_rejects",
        "staged_deleted",
        "changed",
        "gone",
        "touched_days",
    ):
        x(f"DROP TABLE IF EXISTS {t}")
    return counts


def _load_batch(x, clean_file: str, now, run_id: str, counts: dict[str, int]) -> None:
    """Classify one staged batch against the warehouse and write its articles, versions,
    metrics and keywords (inside the load's transaction)."""
    # -- what each staged article is to the warehouse
    x(
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
    for change, n in x("SELECT change, count(*) FROM classified GROUP BY change").fetchall():
        counts[change] = counts.get(change, 0) + n

    # -- articles: insert new, update changed (one MERGE)
    x(
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
    x(
        """
        INSERT INTO article_versions
        SELECT post_id, new_version, change, source, path, title, published_at, published_date, categories, tags,
               outlet, source_url, digest, byline, credit, body_text, content_hash, ?, ?
        FROM classified WHERE change IN ('new', 'updated', 'revived')
        ON CONFLICT DO NOTHING""",
        [now, run_id],
    )
    x(
        """
        INSERT OR REPLACE INTO article_metrics
        SELECT post_id, new_version, cjk_chars, chars, paragraph_count, sentences, numbers, money_mentions,
               percent_mentions, links, images, kline_images, tables, reading_seconds, ?
        FROM classified WHERE change IN ('new', 'updated', 'revived')""",
        [run_id],
    )

    _load_batch_keywords(x, run_id)
    x("""INSERT INTO changed SELECT post_id, change, published_date, old_published_date
         FROM classified WHERE change <> 'unchanged'""")


def _load_batch_keywords(x, run_id: str) -> None:
    """``article_keywords`` of one batch: replaced for the articles it writes (new, updated, revived)."""
    x("""
        DELETE FROM article_keywords
        WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('new', 'updated', 'revived'))""")
    x(
        """
        INSERT INTO article_keywords
        SELECT c.post_id, c.new_version, r.i, c.keywords[r.i].keyword, c.keywords[r.i].count,
               c.keywords[r.i].weight, ?
        FROM classified c, range(1, coalesce(len(c.keywords), 0) + 1) AS r(i)
        WHERE c.change IN ('new', 'updated', 'revived')""",
        [run_id],
    )


def _load_keywords(x, run_id: str) -> None:
    """Keywords (issue 5), inside the load's transaction, after daily_metrics.

    ``article_keywords``: replaced for the articles this run wrote (new,
    updated, revived); a deleted article keeps its rows, and ``keyword_daily``
    counts live articles only. ``keyword_daily`` is rebuilt for
    ``touched_days``, the days daily_metrics was rebuilt for.
    """
    x("DELETE FROM keyword_daily WHERE day IN (SELECT day FROM touched_days)")
    x(
        """
        INSERT INTO keyword_daily
        SELECT a.published_date, k.keyword, count(*), count(DISTINCT coalesce(a.outlet, '?')), sum(k.weight), ?
        FROM article_keywords k JOIN articles a USING (post_id)
        WHERE a.deleted_at IS NULL AND a.published_date IN (SELECT day FROM touched_days)
        GROUP BY ALL""",
        [run_id],
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
        con.execute("DELETE FROM quality_results WHERE run_id = ?", [run["run_id"]])
        con.execute(
            """INSERT INTO quality_results SELECT ?, suite, batch, expectation, column_name, severity,
                       success, observed, ? FROM read_parquet(?)""",
            [run["run_id"], now, quality_file],
        )
        (failed,) = con.execute(
            "SELECT count(*) FROM quality_results WHERE run_id = ? AND NOT success", [run["run_id"]]
        ).fetchall()[0]
        con.execute("DELETE FROM etl_runs WHERE run_id = ?", [run["run_id"]])
        con.execute(
            """
            INSERT INTO etl_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'failed validation', ?, ?, ?,
                                         0, 0, 0, 0, 0, 0, ?, ?, NULL, NULL, NULL, ?)""",
            [
                run["run_id"],
                run.get("dag_run_id"),
                run.get("logical_date"),
                run.get("interval_start"),
                run.get("interval_end"),
                fetch["source"],
                fetch.get("revision"),
                fetch["started_at"],
                now,
                fetch["seen"],
                fetch["changed"],
                fetch["deleted"],
                failed,
                fetch["seconds"],
                message[:2000],
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# --- publish -----------------------------------------------------------------------------------


def publish(con: duckdb.DuckDBPyConnection, warehouse: Path, published: Path, run_id: str | None) -> dict:
    """Mark the run published, checkpoint, and copy the file to the snapshot path atomically.

    The copy is taken while this process holds the writer's file, so no load
    can run during it; readers of the old snapshot keep their open file.
    """
    started = time.monotonic()
    if run_id:
        con.execute("UPDATE etl_runs SET status = 'published' WHERE run_id = ?", [run_id])
    con.execute("CHECKPOINT")
    published = Path(published)
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(warehouse, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, published)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {
        "snapshot": str(published),
        "bytes": published.stat().st_size,
        "seconds": round(time.monotonic() - started, 3),
    }
