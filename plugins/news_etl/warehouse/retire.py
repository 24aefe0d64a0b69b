"""Retire a source: after a source switch, the old source's articles are marked deleted.

Switching ``news_etl_source`` from one source to another does not touch what the first one loaded:
its articles stay live beside the new source's (one source per warehouse; post ids compete only
within a source). ``news-etl retire-source SOURCE`` ends that: it is a run of the load in which
every file of SOURCE is gone, so it does what the load does for a deleted file, in the load's one
transaction and by the load's own steps (nothing copied): each live article of SOURCE gets
``deleted_at`` and a ``deleted`` row in ``article_versions`` (every earlier version is kept), its
``source_files`` rows are marked deleted, ``daily_metrics`` and ``keyword_daily`` are rebuilt for
the days it touched, an ``etl_runs`` row records it, and the source's watermark is cleared, so
that pointing a deployment at SOURCE again reads it whole and revives its posts. Then the
analysts' snapshot is published.
"""

from __future__ import annotations

import duckdb


class RetireError(Exception):
    """The source cannot be retired (unknown to the warehouse)."""


def sources(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """(source, live articles, live files) of every source the warehouse knows."""
    return con.execute("""
        SELECT source, count(*) FILTER (WHERE live_article), count(*) FILTER (WHERE live_file) FROM (
            SELECT source, deleted_at IS NULL AS live_article, false AS live_file FROM articles
            UNION ALL SELECT source, false, NOT deleted FROM source_files
            UNION ALL SELECT source, false, false FROM source_state)
        GROUP BY source ORDER BY source""").fetchall()


def stage_retired(con: duckdb.DuckDBPyConnection, source: str, deleted: str) -> int:
    """Write every live file of ``source`` to the Parquet file ``deleted`` (what a fetch hands the
    load for files that are gone) and return how many there are."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE retired AS
           SELECT source, path FROM source_files WHERE source = $1 AND NOT deleted
           UNION SELECT source, path FROM articles WHERE source = $1 AND deleted_at IS NULL""",
        [source],
    )
    con.table("retired").write_parquet(deleted)  # the relation API: the path is no SQL text
    (files,) = con.execute("SELECT count(*) FROM retired").fetchall()[0]
    con.execute("DROP TABLE retired")
    return files
