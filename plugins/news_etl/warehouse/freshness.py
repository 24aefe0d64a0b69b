"""Freshness: has the site produced a new post lately? One rule for the DAG and the page.

A quiet source is the site's problem, not a failed pipeline: the check never fails a run.
It answers fresh, stale, off (no limit set) or not measured (the embedded sample posts, a
fixed set dated 2026-11-23..25), and the DAG turns a stale answer into an alert
(``deployment.report_freshness``): the ``NEWS ETL ALERT`` line, the operator's notifier, and
a ``skipped`` check_freshness task in a green run. The warehouse page shows the same verdict
as its banner.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from news_etl.settings import SAMPLE_POSTS, Settings
from news_etl.warehouse.connection import writer

log = logging.getLogger(__name__)


def is_embedded_sample(source: str | None) -> bool:
    """Whether a source spec names the embedded sample posts (a folder path, or ``dir+PATH``)."""
    if not source:
        return False
    spec = source.strip()
    spec = spec[len("dir+") :] if spec.startswith("dir+") else spec
    if spec.startswith(("git+", "feed+")):
        return False
    try:
        return Path(spec).expanduser().resolve() == SAMPLE_POSTS.resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def assess(newest: datetime | None, at: datetime, limit_hours: float, source: str | None) -> dict:
    """The verdict on a source whose newest live article is ``newest``, at time ``at``.

    ``stale`` is true only for a measured source with a limit whose newest post is older than
    the limit (or that has no post at all); ``message`` is one line for a log or a page.
    """
    hours = None if newest is None else round((at - newest).total_seconds() / 3600, 1)
    result = {
        "newest_post_at": newest.isoformat() if newest else None,
        "checked_at": at.isoformat(),
        "hours_without_new_post": hours,
        "limit_hours": limit_hours,
        "stale": False,
    }
    if is_embedded_sample(source):
        result["verdict"] = "not measured"
        result["message"] = (
            f"freshness: not measured: the source is the embedded sample posts, a fixed set "
            f"(newest post {result['newest_post_at']})"
        )
    elif not limit_hours:
        result["verdict"] = "off"
        result["message"] = (
            f"freshness: newest post {result['newest_post_at']}, {hours} h before {result['checked_at']} "
            f"(check off: NEWS_ETL_MAX_SOURCE_SILENCE_HOURS=0)"
        )
    elif hours is None or hours > limit_hours:
        result["stale"] = True
        result["verdict"] = "stale"
        silence = "no post at all" if hours is None else f"no new post for {hours} h"
        result["message"] = (
            f"STALE SOURCE: {silence} at {result['checked_at']} (newest post {result['newest_post_at']}; "
            f"limit {limit_hours} h). The data is loaded and published; is the site's scraper still committing?"
        )
    else:
        result["verdict"] = "fresh"
        result["message"] = (
            f"freshness: newest post {result['newest_post_at']}, {hours} h before {result['checked_at']} "
            f"(limit {limit_hours} h): fresh"
        )
    return result


def newest_post(con) -> datetime | None:
    """The publication time of the newest live article of an open warehouse connection."""
    (newest,) = con.execute("SELECT max(published_at) FROM articles WHERE deleted_at IS NULL").fetchone()
    return newest


def check(connect, settings: Settings, run: dict, now: datetime | None = None) -> dict:
    """The DAG's check after publish: read the newest article from the writer's file (the truth),
    judge it at the end of the run's interval (or now), log the verdict and return it."""

    at = datetime.fromisoformat(run["interval_end"]) if run.get("interval_end") else (now or datetime.now(UTC))
    with writer(connect, settings.lock_timeout) as con:
        newest = newest_post(con)
    result = assess(newest, at, settings.max_source_silence_hours, settings.source)
    (log.warning if result["stale"] else log.info)("%s", result["message"])
    return result
