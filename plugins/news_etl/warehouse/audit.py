"""The audit row: one ``etl_runs`` row per run, written in the load's transaction or after it."""

from __future__ import annotations

from datetime import datetime

from news_etl.model import FetchManifest, Run

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
    "meaning_stamp",
)
INSERT_RUN = f"INSERT OR REPLACE INTO etl_runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
#: etl_runs.message is cut to this many characters.
MAX_MESSAGE_CHARS = 2000


def write_run(
    con,
    *,
    run: Run,
    fetch: FetchManifest,
    status: str,
    now: datetime,
    counts: dict | None = None,
    seconds: dict | None = None,
    message: str | None = None,
    meaning_stamp: str | None = None,
) -> None:
    """The one writer of a run's audit row in ``etl_runs`` (a run that writes it again replaces it;
    :func:`mark_published` only sets its status and adds to its message).

    ``counts``: the load's counts (``new``, ``updated``, ...); ``seconds``: ``transform``,
    ``validate``, ``load`` (fetch's come from ``fetch``); ``message``: what the operator should know;
    ``meaning_stamp``: the seeds, rules and schema the load derived meaning with.
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
        "meaning_stamp": meaning_stamp,
    }
    con.execute(INSERT_RUN, [row[c] for c in RUN_COLUMNS])


def mark_published(
    con, run_id: str, note: str | None = None, live: int | None = None, stamp: str | None = None
) -> None:
    """The audit row once its run's snapshot is out: status ``published``, the snapshot's live
    articles and (in the writer) its file's stamp, and ``note`` (what the operator should know about
    the publish) added to its message."""
    con.execute(
        "UPDATE etl_runs SET status = 'published', published_live_articles = coalesce(?, published_live_articles), "
        "snapshot_stamp = ? WHERE run_id = ?",
        [live, stamp, run_id],
    )
    if note:
        con.execute(
            "UPDATE etl_runs SET message = left(concat_ws('; ', message, ?), ?) WHERE run_id = ?",
            [note, MAX_MESSAGE_CHARS, run_id],
        )


def mark_not_published(con, run_id: str, reason: str) -> bool:
    """A run whose load committed but whose publish failed: ``loaded-not-published`` and why, in
    its audit row (the next run publishes). Whether its row said ``loaded``."""
    changed = con.execute(
        "UPDATE etl_runs SET status = 'loaded-not-published', message = left(concat_ws('; ', message, ?), ?) "
        "WHERE run_id = ? AND status IN ('loaded', 'loaded-not-published') RETURNING run_id",
        [reason, MAX_MESSAGE_CHARS, run_id],
    ).fetchall()
    return bool(changed)
