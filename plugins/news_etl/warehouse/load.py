"""The load: one run written in ONE DuckDB transaction, bulk from the staged Parquet files.

All values go into SQL as parameters; the only identifiers in SQL text are fixed names in this
module and the migration files.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from typing import Protocol

import duckdb

from news_etl.contract import MAX_REJECT_RAW_BYTES
from news_etl.model import Execute, FetchManifest, Run
from news_etl.warehouse import search_index
from news_etl.warehouse.audit import write_run
from news_etl.warehouse.keys import check_keys
from news_etl.warehouse.migrations import migrate, schema_version
from news_etl.warehouse.state import check_watermark

log = logging.getLogger(__name__)


class MeaningSteps(Protocol):
    """What the news means, written in the load's transaction: ``news_etl.meaning.steps``, which the
    pipeline passes in (the warehouse knows no meaning). Each step gets ``con.execute``."""

    def load_batch(self, x: Execute, run_id: str) -> None: ...

    def load_run(self, x: Execute, run_id: str) -> None: ...

    def rebuild_daily(self, x: Execute, run_id: str) -> None: ...

    def stamp(self) -> str: ...


#: Staged Parquet files, read as one table: the list of paths is a bound parameter, never SQL text.
READ_FILES = "read_parquet(?::VARCHAR[], union_by_name=true)"


def load(
    con: duckdb.DuckDBPyConnection,
    *,
    run: Run,
    fetch: FetchManifest,
    clean_files: list[str],
    reject_files: list[str],
    raw_files: list[str],
    deleted_file: str | None,
    quality_file: str | None,
    transform_seconds: float,
    validate_seconds: float,
    meaning: MeaningSteps,
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
        watermark = fetch.get("watermark")
        if watermark is not None:  # only on top of the watermark the fetch read
            check_watermark(con, fetch["source"], watermark)
        _stage_files(con, raw_files, clean_files, reject_files, deleted_file)
        _pick_one_file_per_post(con, raw_files)
        counts: dict[str, int] = _write_articles(con, clean_files, now, run_id, meaning)
        counts["deleted"] = _mark_deleted(con, now, run_id)
        _record_source_files(con, run_id)
        reasons = _write_rejects(con, now, run_id)
        counts["rejects"] = sum(reasons.values())
        counts["expectations_failed"] = write_quality_results(con, run_id, quality_file, now) if quality_file else 0
        meaning_stamp = _meaning_stamp(con, meaning)
        derive = _articles_changed(con) or meaning_stamp != _last_meaning_stamp(con, run_id)
        if derive:
            # search(q)'s index first, for the posts whose live version changed: its delete is what
            # runs a big warehouse's load out of memory, and a retry should not redo the stories
            search_index.update(con)
            meaning.load_run(con.execute, run_id)  # stories, publishers, securities; may add days to `changed`
            _rebuild_days(con, run_id, meaning)
        else:  # every derived table is a function of the live posts and that stamp: nothing to derive
            log.info("load: no article changed, under the seeds, rules and schema of the load before: meaning kept")
        if derive or raw_files or deleted_file:  # (a run that wrote no row of them has nothing to check)
            check_keys(con, run_id)  # the keys no index keeps, once everything is written
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
            meaning_stamp=meaning_stamp,
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


def _meaning_stamp(con, meaning: MeaningSteps) -> str:
    """The seeds and rules of ``meaning`` and the writer's schema version, as the load records them."""
    return f"{meaning.stamp()}:{schema_version(con)}"


def _articles_changed(con) -> bool:
    """Whether this load wrote, moved or deleted an article (the temp tables ``changed`` and ``gone``)."""
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM changed) OR EXISTS (SELECT 1 FROM gone)").fetchone()[0])


def _last_meaning_stamp(con, run_id: str) -> str | None:
    """The meaning stamp of the load before this one (None: none, or a row from before migration 070)."""
    row = con.execute(
        "SELECT meaning_stamp FROM etl_runs WHERE run_id <> ? ORDER BY loaded_at DESC LIMIT 1", [run_id]
    ).fetchone()
    return row[0] if row else None


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
    changes (:func:`news_etl.ingest.sources.sharing_post_id`); a file holding a live article that was not
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


def _write_articles(con, clean_files: list[str], now: datetime, run_id: str, meaning: MeaningSteps) -> dict[str, int]:
    """Each staged batch in turn (one batch of bodies in memory); the counts per kind of change.
    ``changed`` collects the articles written and their days, for :func:`_rebuild_days`.

    A post new to ``articles`` has no row in any table of the posts (articles are never removed),
    so each step replaces the rows of the updated and revived posts only: deleting for every post
    of a batch scanned the whole table once a batch, which grew with the square of a first load.
    :func:`news_etl.warehouse.keys.check_keys` proves every key is still there once.

    Each batch's ``classified`` is a Parquet file on local disk that the view ``classified``
    reads, not a temp table: DuckDB keeps every version of a temp table replaced inside a
    transaction until the transaction ends, so a first load of a million posts held a copy of
    every text it loaded and ran out of its 512 MB halfway."""
    con.execute("CREATE OR REPLACE TEMP TABLE changed (post_id VARCHAR, change VARCHAR, day DATE, old_day DATE)")
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="news-etl-load-") as work:
        for i, clean_file in enumerate(clean_files):
            classified = os.path.join(work, f"classified-{i:05d}.parquet")
            _classify_batch(con, clean_file, classified, counts)
            _merge_articles(con, now, run_id)
            _write_versions(con, now, run_id)
            _write_metrics(con, run_id)
            _write_article_keywords(con, run_id)
            meaning.load_batch(con.execute, run_id)  # story signatures, securities of the batch
            con.execute("""INSERT INTO changed (post_id, change, day, old_day)
                           SELECT post_id, change, published_date, old_published_date
                           FROM classified WHERE change <> 'unchanged'""")
            os.remove(classified)  # (the next batch's is written before the view is read again)
        con.execute("DROP VIEW IF EXISTS classified")
        con.execute("RESET VARIABLE classified_file")
    for name in ("new", "updated", "unchanged", "moved", "revived", "rehashed"):
        counts.setdefault(name, 0)
    # a move keeps the version (unchanged content, a new path), and so does a new file whose every
    # analyst-visible field is equal (rehashed: its hash moves, no version, not updated)
    counts["unchanged"] += counts["moved"] + counts["rehashed"]
    return counts


#: Every field of a staged article that an analyst sees (its columns, metrics and securities; not
#: its file's path or bytes, not its keywords, which the load derives again from its text and the
#: names): two files with the same digest are the same version.
VISIBLE = """md5(to_json(struct_pack(
    title := s.title, layout := s.layout, published_at := s.published_at, published_date := s.published_date,
    categories := s.categories, tags := s.tags, category := s.category, outlet := s.outlet,
    source_url := s.source_url, digest := s.digest, byline := s.byline, credit := s.credit,
    body_text := s.body_text, paragraphs := s.paragraphs, warnings := s.warnings,
    metrics := struct_pack(s.cjk_chars, s.chars, s.paragraph_count, s.sentences, s.numbers, s.money_mentions,
                           s.percent_mentions, s.links, s.images, s.kline_images, s.tables, s.reading_seconds),
    securities := s.securities))::VARCHAR)"""


def _classify_batch(con, clean_file: str, path: str, counts: dict[str, int]) -> None:
    """``classified``: what each winning article of one staged batch is to the warehouse, written
    to the Parquet file ``path``, which the view ``classified`` reads.

    A new file whose analyst-visible fields (:data:`VISIBLE`) equal the article's is ``rehashed``:
    its content hash and path move, it records no version and is not counted as updated. An
    article loaded before migration 020 has no digest: its first changed file is a version."""
    con.sql(
        """
        SELECT v.*,
               CASE WHEN v.old_post_id IS NULL THEN 'new'
                    WHEN v.old_deleted THEN 'revived'
                    WHEN v.old_hash <> v.content_hash AND v.old_visible IS DISTINCT FROM v.visible_hash THEN 'updated'
                    WHEN v.old_hash <> v.content_hash THEN 'rehashed'
                    WHEN v.old_path <> v.path OR v.old_source <> v.source THEN 'moved'
                    ELSE 'unchanged' END AS change,
               CASE WHEN v.old_post_id IS NULL THEN 1
                    -- a revival is a version of its own, so every deletion and revival keeps its row
                    WHEN v.old_deleted OR (v.old_hash <> v.content_hash AND v.old_visible IS DISTINCT FROM v.visible_hash)
                    THEN v.old_version + 1
                    ELSE v.old_version END AS new_version
        FROM (SELECT s.*, """
        + VISIBLE
        + """ AS visible_hash,
                     a.post_id AS old_post_id, a.version AS old_version, a.first_loaded_at AS old_first_loaded_at,
                     a.published_date AS old_published_date, a.deleted_at IS NOT NULL AS old_deleted,
                     a.content_hash AS old_hash, a.visible_hash AS old_visible, a.path AS old_path,
                     a.source AS old_source
              FROM read_parquet(?) s SEMI JOIN staged k ON k.source = s.source AND k.path = s.path
              LEFT JOIN articles a ON a.post_id = s.post_id) v""",
        params=[clean_file],
    ).write_parquet(path, compression="uncompressed")
    con.execute("SET VARIABLE classified_file = ?", [path])
    con.execute("CREATE OR REPLACE TEMP VIEW classified AS SELECT * FROM read_parquet(getvariable('classified_file'))")
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
            visible_hash = c.visible_hash, version = c.new_version,
            updated_at = CASE WHEN c.change = 'rehashed' THEN a.updated_at ELSE ? END, deleted_at = NULL, run_id = ?
        WHEN NOT MATCHED THEN INSERT (post_id, source, path, title, layout, published_at, published_date,
            categories, tags, category, outlet, source_url, digest, byline, credit, body_text, paragraphs,
            warnings, content_hash, visible_hash, version, first_loaded_at, updated_at, deleted_at, run_id)
        VALUES (c.post_id, c.source, c.path, c.title, c.layout, c.published_at, c.published_date,
            c.categories, c.tags, c.category, c.outlet, c.source_url, c.digest, c.byline, c.credit, c.body_text,
            c.paragraphs, c.warnings, c.content_hash, c.visible_hash, 1, ?, ?, NULL, ?)""",
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
        FROM classified WHERE change IN ('new', 'updated', 'revived')""",
        [now, run_id],
    )


def _write_metrics(con, run_id: str) -> None:
    """``article_metrics`` of the articles of the batch that got a new version (replaced)."""
    con.execute("""
        DELETE FROM article_metrics
        WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('updated', 'revived'))""")
    con.execute(
        """
        INSERT INTO article_metrics (post_id, version, cjk_chars, chars, paragraph_count, sentences,
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
        WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('updated', 'revived'))""")
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
          AND NOT EXISTS (SELECT 1 FROM article_versions v
                          WHERE v.post_id = a.post_id AND v.version = a.version AND v.change = 'deleted')""",
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
    """The watermark per file: every staged file, article or reject, with its content hash (replaced)."""
    con.execute("""
        DELETE FROM source_files
        WHERE EXISTS (SELECT 1 FROM staged_raw r WHERE r.source = source_files.source AND r.path = source_files.path)""")
    con.execute(
        """
        INSERT INTO source_files (source, path, post_id, content_hash, size, mtime_ns, outcome,
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


def _rebuild_days(con, run_id: str, meaning: MeaningSteps) -> None:
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


def record_failed_validation(
    con: duckdb.DuckDBPyConnection, *, run: Run, fetch: FetchManifest, quality_file: str, message: str
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
