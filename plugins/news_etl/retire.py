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

import shutil
from datetime import UTC, datetime

import duckdb

from .config import Settings


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


def retire_source(connect, settings: Settings, source: str, now: datetime | None = None) -> dict:
    """Mark every live article of ``source`` deleted (see the module's doc), then publish.

    ``source`` is the name the warehouse records (``articles.source``: ``dir:/path``,
    ``git:<url>``, ``feed:<url>``), or a source spec that opens as that name.
    """
    from .pipeline import new_run, open_writer
    from .sources import open_source
    from .warehouse import load, publish

    now = now or datetime.now(UTC)
    run = new_run(f"retire__{now:%Y%m%dT%H%M%S%fZ}")
    folder = settings.staging / run["run_id"]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open_writer(connect, settings) as con:  # the one writer, held to the publish
            known = {name: (articles, files) for name, articles, files in sources(con)}
            if source not in known:
                name = open_source(source, settings).name  # a spec names its source: git+URL → git:URL
                if name not in known:
                    listed = ", ".join(f"{n} ({a} live articles)" for n, (a, _) in known.items()) or "none"
                    raise RetireError(f"the warehouse has no source {source!r}; its sources: {listed}")
                source = name
            # every file of the source, gone: what a fetch hands the load for deleted files
            deleted = folder / "deleted.parquet"
            con.execute(
                """CREATE OR REPLACE TEMP TABLE retired AS
                   SELECT source, path FROM source_files WHERE source = $1 AND NOT deleted
                   UNION SELECT source, path FROM articles WHERE source = $1 AND deleted_at IS NULL""",
                [source],
            )
            con.table("retired").write_parquet(str(deleted))  # the relation API: the path is no SQL text
            (files,) = con.execute("SELECT count(*) FROM retired").fetchone()
            con.execute("DROP TABLE retired")
            fetch = {
                "source": source,
                "revision": None,  # no watermark: the source, if ever read again, is read whole
                "watermark": None,  # nothing can load in between: this process holds the writer's file
                "started_at": now,
                "seen": 0,
                "changed": 0,
                "deleted": files,
                "warnings": [f"source retired (news-etl retire-source): its {files} files counted as gone"],
            }
            counts = load(
                con,
                run=run,
                fetch=fetch,
                clean_files=[],
                reject_files=[],
                raw_files=[],
                deleted_file=str(deleted),
                quality_file=None,
                transform_seconds=0.0,
                validate_seconds=0.0,
            )
            published = publish(con, settings.warehouse, settings.published, run["run_id"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"run_id": run["run_id"], "source": source, "files": files, "articles": counts["deleted"], **published}
