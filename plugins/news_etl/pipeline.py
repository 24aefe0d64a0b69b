"""The five steps of a run as plain functions: fetch, transform, validate, load, publish.

The DAG's tasks and the CLI call these and nothing else. Steps talk through
run-scoped Parquet files (``staging.py``); what each step returns is a small
JSON-able manifest (file names and counts), fit for XCom.

``run`` is the identity of a run: ``{"run_id", "dag_run_id", "logical_date",
"interval_start", "interval_end"}`` (the last four may be None).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

from news_etl import storage
from news_etl.contract import site_time
from news_etl.ingest import staging
from news_etl.ingest.sources import open_source
from news_etl.ingest.sources.base import Deleted
from news_etl.model import BatchResult, FetchManifest, RawPost, Run, Validation
from news_etl.settings import Settings
from news_etl.text import printable

log = logging.getLogger(__name__)

#: The fetch manifest, beside the run's staged batches.
MANIFEST = "manifest.json"


#: Reject reasons a log line or a manifest counts one by one (the rest are summed up).
MAX_REASONS = 12


def by_reason(reasons: dict[str, int]) -> str:
    """`` (2 no body, 1 empty file)``: counts of reject reasons for a log line, most frequent
    first, each reason cut short and escaped (a reason may quote a post); empty without any."""
    if not reasons:
        return ""
    shown = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{n} {printable(reason)[:80]}" for reason, n in shown[:MAX_REASONS])
    if len(shown) > MAX_REASONS:
        text += f", {sum(n for _, n in shown[MAX_REASONS:])} for {len(shown) - MAX_REASONS} other reasons"
    return f" ({text})"


def open_writer(connect, settings: Settings, memory: str | None = None):
    """The writer's connection (waiting while another process holds the file), once it is
    sure the writer's file is not missing under a published snapshot; DuckDB may hold
    ``memory`` (by default ``settings.duckdb_memory``)."""
    from news_etl.warehouse.connection import writer
    from news_etl.warehouse.restore import require_writer

    require_writer(settings.warehouse, settings.published)
    return writer(connect, settings.lock_timeout, memory or settings.duckdb_memory)


class QualityError(Exception):
    """A hard expectation failed: the run stops before the load."""


def folder_of(staging_folder: storage.Location) -> staging.Folder:
    """A run's staging folder from the location its manifest records (a path or an ``s3://`` URL)."""
    return storage.folder(staging_folder)


def new_run(run_id: str | None = None, **airflow) -> Run:
    """The identity of a run; the CLI's runs are named ``cli__<UTC time>``."""
    run_id = run_id or "cli__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return {
        "run_id": run_id,
        "dag_run_id": airflow.get("dag_run_id"),
        "logical_date": airflow.get("logical_date"),
        "interval_start": airflow.get("interval_start"),
        "interval_end": airflow.get("interval_end"),
    }


# --- 1. fetch ----------------------------------------------------------------------------------


def fetch(settings: Settings, run: Run, on_batch=None, read_state=None) -> FetchManifest:
    """Ask the source what changed since the last load; stage it in raw batches.

    Streams: at most one batch of posts is in memory at a time. ``on_batch(folder,
    name)`` is called as each batch is staged (the CLI starts its transform then).
    ``read_state(source name)`` gives the watermark to start from (a
    :class:`~news_etl.warehouse.State`; by default read from the writer's file).
    The manifest records it, and the load commits only on top of it.
    """
    from news_etl.contract import MAX_POST_BYTES, MAX_REJECT_RAW_BYTES
    from news_etl.meaning.securities import stage_dictionary
    from news_etl.model import post_id_from_path
    from news_etl.warehouse.restore import require_writer
    from news_etl.warehouse.state import read_state_file

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    folder = staging.new_run_folder(settings.staging, run["run_id"])  # a retried fetch starts clean
    dead = staging.remove_dead_runs(settings.staging, keep=folder, max_age_hours=settings.staging_max_age_hours)
    if dead:
        log.warning("fetch: removed %d run folder(s) that killed runs left in staging: %s", len(dead), dead)
    source = open_source(settings.source, settings, as_of=run.get("interval_end"))
    if read_state is None:
        require_writer(settings.warehouse, settings.published)
        state = read_state_file(settings.warehouse, source.name, settings.lock_timeout)
    else:
        state = read_state(source.name)
    known, previous_revision = state.known, state.revision
    # what the transform of a batch needs is staged before the first batch (the CLI transforms each
    # batch while fetch goes on): this fetch's id, the run's "as of" time (the end of its data
    # interval, or when a CLI run's fetch started) and the dictionary of names keywords keep whole
    head = {
        "run_id": run["run_id"],
        # names this fetch: transform and validate results carry it, so a load never mixes two fetches
        "fetch_id": uuid.uuid4().hex,
        "as_of": run.get("interval_end") or started_at.isoformat(),
        "started_at": started_at.isoformat(),
        "names": stage_dictionary(settings.warehouse, folder),  # (securities.py)
        "complete": False,
    }
    (folder / MANIFEST).write_text(json.dumps(head, indent=1), encoding="utf-8")

    batches: list[str] = []
    deleted: list[str] = []
    pending: list[RawPost] = []
    staged_ids: set[str] = set()  # post ids of the staged files: a deleted file with one of them has moved
    changed = pending_bytes = 0

    def flush() -> None:
        nonlocal pending_bytes
        if not pending:
            return
        import pyarrow as pa  # (here: a run that stages nothing never imports it)

        from news_etl.model import RAW_SCHEMA

        name = f"raw/batch-{len(batches):05d}.parquet"
        table = pa.Table.from_pylist([vars(p) for p in pending], schema=RAW_SCHEMA)
        staging.write_table(table, folder / name, compression="lz4")
        batches.append(name)
        pending.clear()
        pending_bytes = 0
        if on_batch is not None:
            on_batch(str(folder), name)

    for item in source.changes(known, previous_revision):
        if isinstance(item, Deleted):
            deleted.append(item.path)
            continue
        if len(item.raw) > MAX_POST_BYTES and not item.problem:  # a source read a huge file whole: keep its head
            item.size, item.raw = len(item.raw), item.raw[:MAX_REJECT_RAW_BYTES]
            item.problem, item.problem_detail = "file too large", f"{item.size} bytes, limit {MAX_POST_BYTES}"
        pending.append(item)
        pending_bytes += len(item.raw)
        if known:  # (a first load deletes nothing: a million ids less held)
            staged_ids.add(post_id_from_path(item.path))
        changed += 1
        if len(pending) >= settings.batch_size or pending_bytes >= settings.batch_mb * 1024 * 1024:
            flush()
    flush()
    deleted_file = None
    if deleted:
        import pyarrow as pa

        from news_etl.model import DELETED_SCHEMA

        deleted_file = "deleted.parquet"
        staging.write_table(
            pa.Table.from_pylist([{"source": source.name, "path": p} for p in deleted], schema=DELETED_SCHEMA),
            folder / deleted_file,
        )
    manifest: FetchManifest = {
        **head,  # type: ignore[typeddict-item]
        "complete": True,
        "staging": str(folder),
        "source": source.name,
        "revision": source.revision,
        "previous_revision": previous_revision,
        "watermark": state.watermark,
        "seen": source.seen,
        "changed": changed,
        "deleted": len(deleted),
        # files staged under a new path whose old path is gone (the three-day move to old_post/)
        "moved": sum(1 for p in deleted if post_id_from_path(p) in staged_ids),
        "batches": batches,
        "deleted_file": deleted_file,
        "warnings": list(getattr(source, "warnings", [])),
        "seconds": round(time.monotonic() - t0, 3),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    moved = manifest["moved"]
    # one fact a line, short enough for the log pane; times in site time beside UTC
    log.info("fetch: source %s", source.name)
    log.info(
        "fetch: as of %s (%s)",
        site_time(manifest["as_of"]),
        "the end of the run's interval" if run.get("interval_end") else "now",
    )
    if manifest["revision"] is None:
        log.warning("fetch: no revision at that time: nothing to load")
    else:
        log.info(
            "fetch: revision %s (%s)",
            manifest["revision"],
            f"before: {previous_revision}" if previous_revision else "a first load",
        )
    log.info("fetch: %d post files in the source", source.seen)
    log.info("fetch: %d to load: %d new or changed, %d moved", changed, changed - moved, moved)
    log.info("fetch: %d deleted", len(deleted) - moved)
    log.info("fetch: %d batch(es) staged in %.2fs", len(batches), manifest["seconds"])
    return manifest


def read_manifest(settings: Settings, run: Run) -> FetchManifest:
    """The manifest the run's fetch wrote (for tasks that run after it)."""
    path = staging.run_folder(settings.staging, run["run_id"]) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise staging.StagingError(
            f"no fetch manifest at {path}: run fetch first (or the staging folder is not shared)"
        ) from None
    if not manifest.get("complete", True):
        raise staging.StagingError(f"the fetch that wrote {path} did not finish: run fetch again")
    return manifest


def staged_manifest(settings: Settings, run: Run) -> FetchManifest | None:
    """The run's fetch manifest, for the tasks after fetch; None when the run was loaded before
    and its publish removed its staging folder: a task cleared on its own (``validate``, ``load``,
    ``publish``) after the run went through. Then validate has nothing to check and the load
    fetches again inside itself, holding the writer's file: a re-run that changes nothing but the
    audit row. A manifest missing for a run never loaded is the error it was (staging not shared)."""
    from news_etl.warehouse.connection import file_connect, writer

    try:
        return read_manifest(settings, run)
    except staging.StagingError:
        if not settings.warehouse.exists():
            raise
        with writer(file_connect(settings.warehouse, read_only=True), settings.lock_timeout) as con:
            (loaded,) = con.execute("SELECT count(*) FROM etl_runs WHERE run_id = ?", [run["run_id"]]).fetchall()[0]
        if not loaded:
            raise
    log.warning(
        "run %s was loaded before and its staging folder is gone (publish removed it): a task re-run on its own; "
        "the load fetches again",
        run["run_id"],
    )
    return None


def nothing_transformed(batch: str) -> BatchResult:
    """A transform re-run on its own after its run's staging was removed: no result of any fetch
    (validate and load leave it out; the load fetches again)."""
    return {
        "fetch_id": None,
        "batch": batch,
        "clean": "",
        "rejects_file": "",
        "posts": 0,
        "articles": 0,
        "rejects": 0,
        "reasons": {},
        "seconds": 0.0,
    }


def nothing_validated() -> Validation:
    """validate re-run on its own after its run's staging was removed: nothing staged to check here
    (the load fetches again and checks what it stages)."""
    return {
        "fetch_id": None,
        "quality_file": None,
        "expectations": 0,
        "failed_hard": 0,
        "failed_soft": 0,
        "seconds": 0.0,
    }


# --- 2. transform ------------------------------------------------------------------------------


def _manifest_in(staging_folder: storage.Location) -> dict:
    """The manifest of the fetch that staged this folder."""
    path = folder_of(staging_folder) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise staging.StagingError(f"no fetch manifest at {path}: run fetch first") from None


def run_day(staging_folder: storage.Location) -> date:
    """The site-local day of the run's "as of" time, from the manifest its fetch wrote: the
    article contract's plausible dates end a year after it (``contract.py``)."""
    from news_etl.contract import as_of_day

    manifest = _manifest_in(staging_folder)
    return as_of_day(manifest.get("as_of") or manifest["started_at"])


def transform(staging_folder: str, batch: str) -> BatchResult:
    """Clean one raw batch into an articles file and a rejects file."""
    from news_etl.ingest.transform import transform_table
    from news_etl.meaning.securities import read_dictionary

    t0 = time.monotonic()
    folder = folder_of(staging_folder)
    raw = staging.read_table(folder / batch)
    # a post outside the contract (the GX suite's hard limits) becomes a reject, not a stopped run
    articles, rejects = transform_table(raw, as_of=run_day(folder), names=read_dictionary(folder))
    stem = Path(batch).name
    clean_name, rejects_name = f"clean/{stem}", f"rejects/{stem}"
    staging.write_table(articles, folder / clean_name)
    staging.write_table(rejects, folder / rejects_name)
    reasons = Counter(rejects.column("reason").to_pylist())
    result: BatchResult = {
        "fetch_id": _manifest_in(folder).get("fetch_id"),
        "batch": batch,
        "clean": clean_name,
        "rejects_file": rejects_name,
        "posts": raw.num_rows,
        "articles": articles.num_rows,
        "rejects": rejects.num_rows,
        "reasons": dict(reasons.most_common(MAX_REASONS)),
        "seconds": round(time.monotonic() - t0, 3),
    }
    log.info(
        "transform %s: %d posts → %d articles, %d rejects%s, %.2fs",
        batch,
        raw.num_rows,
        articles.num_rows,
        rejects.num_rows,
        by_reason(result["reasons"]),
        result["seconds"],
    )
    return result


def transform_all(manifest: FetchManifest, workers: int = 1) -> list[BatchResult]:
    """Transform every batch of a fetch, in parallel processes when there are several."""
    batches = manifest["batches"]
    if workers <= 1 or len(batches) <= 1:
        return [transform(manifest["staging"], b) for b in batches]
    with ProcessPoolExecutor(max_workers=min(workers, len(batches))) as pool:
        return list(pool.map(transform, [manifest["staging"]] * len(batches), batches))


def _split_by_fetch(fetched: FetchManifest, transformed) -> tuple[list[BatchResult], list[str]]:
    """(the transform results of the fetch that wrote ``fetched``, in its batches' order; the
    batches of that fetch without a result). Results of another fetch are left out, and said."""
    given = list(transformed or [])
    mine = {t["batch"]: t for t in given if t.get("fetch_id") == fetched.get("fetch_id")}
    if len(given) > len(mine):
        log.info("%d transform result(s) of an earlier try left out: not of this try's fetch", len(given) - len(mine))
    return [mine[b] for b in fetched["batches"] if b in mine], [b for b in fetched["batches"] if b not in mine]


def of_this_fetch(fetched: FetchManifest, transformed) -> list[BatchResult]:
    """The transform results of the fetch that wrote ``fetched`` (its manifest), in its batches'
    order. A re-run (a cleared run, a backfill of "All Runs") fetches again: when that fetch stages
    fewer batches than the first try, Airflow marks the extra transform instances ``removed`` but
    still hands over their results, which name files of the first try's fetch. Those are left
    out; a batch of this fetch without its result is an error."""
    mine, missing = _split_by_fetch(fetched, transformed)
    if missing:
        raise staging.StagingError(f"no transform result of this fetch for {', '.join(missing[:5])}")
    return mine


# --- 3. validate -------------------------------------------------------------------------------

_VALIDATORS: dict = {}


def validate_batch(staging_folder: str, item: BatchResult, as_of: date | None = None) -> list[dict]:
    """The GX results of one transformed batch (one GX context per process and as-of day, reused)."""
    from news_etl.ingest.validate import COLUMNS, Validator

    table = staging.read_table(folder_of(staging_folder) / item["clean"], columns=COLUMNS)
    if table.num_rows == 0:
        return []
    as_of = as_of or run_day(staging_folder)
    if as_of not in _VALIDATORS:
        _VALIDATORS.clear()
        _VALIDATORS[as_of] = Validator(as_of)
    return _VALIDATORS[as_of].validate(table, item["batch"])


def validate(
    staging_folder: str,
    transformed: list[BatchResult],
    as_of: date | None = None,
    connect=None,
    settings: Settings | None = None,
    run: Run | None = None,
    precomputed: dict[str, list[dict]] | None = None,
) -> Validation:
    """Run the GX suite over each staged batch; stop the run on a hard failure.

    Every result is written to ``quality.parquet`` for the load (``precomputed`` holds
    results the CLI already computed, batch by batch as each transform ended). A run that
    staged nothing writes no file, so it does not import pandas (pyarrow does for any table it
    builds). On a hard failure, with ``connect`` given, the results and a ``failed validation``
    audit row are stored in the warehouse (nothing else), then
    :class:`QualityError` is raised.
    """
    t0 = time.monotonic()
    folder = folder_of(staging_folder)
    rows: list[dict] = []
    for item in transformed:
        checked = (precomputed or {}).get(item["batch"])
        rows.extend(checked if checked is not None else validate_batch(staging_folder, item, as_of))
    quality_file = "quality.parquet" if transformed else None
    if quality_file:
        import pyarrow as pa

        quality = pa.Table.from_pylist(
            rows,
            schema=pa.schema(
                [
                    ("suite", pa.string()),
                    ("batch", pa.string()),
                    ("expectation", pa.string()),
                    ("column_name", pa.string()),
                    ("severity", pa.string()),
                    ("success", pa.bool_()),
                    ("observed", pa.string()),
                ]
            ),
        )
        staging.write_table(quality, folder / quality_file)
    else:  # a no-change run
        log.info("validate: nothing staged, nothing to check")
    hard = [r for r in rows if not r["success"] and r["severity"] == "hard"]
    soft = [r for r in rows if not r["success"] and r["severity"] != "hard"]
    result: Validation = {
        "fetch_id": _manifest_in(folder).get("fetch_id"),
        "quality_file": quality_file,
        "expectations": len(rows),
        "failed_hard": len(hard),
        "failed_soft": len(soft),
        "seconds": round(time.monotonic() - t0, 3),
    }
    log.info(
        "validate: %d expectation results, %d hard failures, %d soft failures, %.2fs",
        len(rows),
        len(hard),
        len(soft),
        result["seconds"],
    )
    for r in soft:
        log.warning(
            "soft expectation failed: %s on %s in %s: %s", r["expectation"], r["column_name"], r["batch"], r["observed"]
        )
    if hard:
        details = "; ".join(
            f"{r['expectation']}({r['column_name']}) in {r['batch']}: {r['observed']}" for r in hard[:5]
        )
        message = f"{len(hard)} hard expectation(s) failed, nothing was loaded: {details}"
        if connect is not None and settings is not None and run is not None:
            from news_etl.warehouse.load import record_failed_validation

            with (
                staging.local_copy(folder, ["quality.parquet"]) as local,
                open_writer(connect, settings) as con,
            ):
                record_failed_validation(
                    con,
                    run=run,
                    fetch=read_manifest(settings, run),
                    quality_file=str(local / "quality.parquet"),
                    message=message,
                )
        raise QualityError(message)
    return result


# --- 4. load -----------------------------------------------------------------------------------


def load(
    connect,
    settings: Settings,
    run: Run,
    fetched: FetchManifest | None,
    transformed: list[BatchResult],
    validated: Validation,
) -> dict:
    """Write the run into the warehouse in one transaction (the single writer).

    The load commits only on top of the watermark its fetch read. When another
    run loaded in between (a backfill's runs at once, two CLI runs), what was
    staged is stale: the run fetches, transforms and validates again from the
    new watermark, here, while it holds the writer's file (so the watermark
    cannot move again), then loads that. So concurrent runs end as if run in turn. With no
    ``fetched`` (a load re-run on its own after its run's staging was removed:
    :func:`staged_manifest`) it fetches again too.

    A load out of ``NEWS_ETL_DUCKDB_MEMORY`` (DuckDB rolled it back) runs once more, on a new
    connection, with ``NEWS_ETL_DUCKDB_MEMORY_MAX``; out of that too, it raises
    :class:`LoadOutOfMemory` and nothing was written.
    """
    import duckdb

    try:
        counts, fetched = _load_in_turn(connect, settings, run, fetched, transformed, validated, settings.duckdb_memory)
    except duckdb.OutOfMemoryException as exc:
        if settings.duckdb_memory_max == settings.duckdb_memory:
            raise _out_of_memory(settings, exc) from exc
        # DuckDB rolled the load back, but a connection whose delete ran out of memory may still
        # refuse to delete those rows ("Conflict on tuple deletion"): the retry opens a new one
        log.warning(
            "load: out of DuckDB's memory at NEWS_ETL_DUCKDB_MEMORY=%s (nothing was written: %s); "
            "loading again with NEWS_ETL_DUCKDB_MEMORY_MAX=%s",
            settings.duckdb_memory,
            printable(str(exc).splitlines()[0][:300]) if str(exc) else type(exc).__name__,
            settings.duckdb_memory_max,
        )
        try:
            counts, fetched = _load_in_turn(
                connect, settings, run, fetched, transformed, validated, settings.duckdb_memory_max
            )
        except duckdb.OutOfMemoryException as again:
            raise _out_of_memory(settings, again) from again
    log.info(
        "load: wrote revision %s of %s: %d new, %d updated, %d moved, %d unchanged, %d deleted, %d revived, "
        "%d rejects%s, %.2fs",
        fetched["revision"],
        fetched["source"],
        counts["new"],
        counts["updated"],
        counts["moved"],
        counts["unchanged"] - counts["moved"],
        counts["deleted"],
        counts["revived"],
        counts["rejects"],
        by_reason(counts["reasons"]),
        counts["seconds"],
    )
    return counts


def _load_in_turn(
    connect,
    settings: Settings,
    run: Run,
    fetched: FetchManifest | None,
    transformed: list[BatchResult],
    validated: Validation,
    memory: str,
) -> tuple[dict, FetchManifest]:
    """:func:`_load_staged` on a writer's connection of its own with ``memory``, on top of the
    watermark: when another run loaded since this run's fetch, fetch, transform and validate
    again first, inside the connection (the watermark cannot move while it is held). The
    counts, and the fetch loaded."""
    from news_etl.warehouse.state import WatermarkMoved

    with open_writer(connect, settings, memory) as con:
        # results of another fetch (a re-run's removed transform instances) are left out; when the
        # staged fetch's own results are not all there (a retried load after a load that fetched
        # again wrote a new manifest), the load fetches again
        missing: list[str] = []
        if fetched is not None:
            transformed, missing = _split_by_fetch(fetched, transformed)
        if fetched is None or missing or validated.get("fetch_id") != fetched.get("fetch_id"):
            log.warning("load: the transformed batches are not of the staged fetch; fetching again, inside this load")
            fetched, transformed, validated = _fetch_again(con, settings, run)
        try:
            counts = _load_staged(con, run, fetched, transformed, validated)
        except WatermarkMoved as moved:
            log.warning("load: %s; fetching again from the new watermark, inside this load", moved)
            fetched, transformed, validated = _fetch_again(con, settings, run)
            counts = _load_staged(con, run, fetched, transformed, validated)
    return counts, fetched


class LoadOutOfMemory(Exception):
    """The load needed more memory than DuckDB may use: nothing was written."""


def _out_of_memory(settings: Settings, error: Exception) -> LoadOutOfMemory:
    return LoadOutOfMemory(
        f"the load ran out of memory with NEWS_ETL_DUCKDB_MEMORY_MAX={settings.duckdb_memory_max} "
        f"({str(error).splitlines()[0]}); nothing was written. "
        f"Give DuckDB more (NEWS_ETL_DUCKDB_MEMORY_MAX, e.g. 80%), or load a site this big in several "
        f"runs (make backfill: one run per site day)"
    )


def _load_staged(con, run: Run, fetched: FetchManifest, transformed: list[BatchResult], validated: Validation) -> dict:
    """Check the staged files can be read, then load them (:func:`news_etl.warehouse.load`)."""
    from news_etl.meaning import steps as meaning_steps
    from news_etl.warehouse.load import load as load_warehouse

    names: dict[str, list[str]] = {
        "clean_files": [t["clean"] for t in transformed],
        "reject_files": [t["rejects_file"] for t in transformed],
        "raw_files": list(fetched["batches"]),
    }
    deleted_file, quality_file = fetched.get("deleted_file"), validated.get("quality_file")
    extra = [name for name in (deleted_file, quality_file) if name]
    # DuckDB reads local files: a run staged on object storage is downloaded first (one GET a file)
    with staging.local_copy(folder_of(fetched["staging"]), [*(n for g in names.values() for n in g), *extra]) as folder:
        files = {group: [str(folder / n) for n in group_names] for group, group_names in names.items()}
        for path in [*(Path(p) for group in files.values() for p in group), *(folder / n for n in extra)]:
            staging.check_file(path)
        return load_warehouse(
            con,
            run=run,
            fetch=fetched,
            **files,
            deleted_file=str(folder / deleted_file) if deleted_file else None,
            quality_file=str(folder / quality_file) if quality_file else None,
            transform_seconds=round(sum(t["seconds"] for t in transformed), 3),
            validate_seconds=validated.get("seconds", 0.0),
            meaning=meaning_steps,
        )


def _fetch_again(con, settings: Settings, run: Run) -> tuple[FetchManifest, list[BatchResult], Validation]:
    """fetch → transform → validate for ``run`` from the watermark in the warehouse open on
    ``con`` (the load's), in this process. A hard expectation failure is recorded as in
    :func:`validate`, through ``con``."""
    from news_etl.warehouse.load import record_failed_validation
    from news_etl.warehouse.state import read_state

    fetched = fetch(settings, run, read_state=lambda name: read_state(con, name))
    transformed = transform_all(fetched)  # one process: this may run inside an Airflow task
    try:
        validated = validate(fetched["staging"], transformed)
    except QualityError as exc:
        with staging.local_copy(folder_of(fetched["staging"]), ["quality.parquet"]) as local:
            record_failed_validation(
                con, run=run, fetch=fetched, quality_file=str(local / "quality.parquet"), message=str(exc)
            )
        raise
    return fetched, transformed, validated


# --- 5. publish --------------------------------------------------------------------------------


def _publish_snapshot(con, settings: Settings, run: Run) -> dict:
    """The snapshot, then the names keywords keep whole for the next run's transform (beside the writer's file)."""
    from news_etl.meaning.securities import write_dictionary
    from news_etl.warehouse.publish import publish as publish_snapshot

    result = publish_snapshot(con, settings.published, run["run_id"], settings.publish_url)
    write_dictionary(con, settings.warehouse)
    return result


class NotPublished(Exception):
    """The run's load is in the writer's file, but its snapshot was not published."""


def publish(connect, settings: Settings, run: Run, fetched: FetchManifest | None = None) -> dict:
    """Publish the analysts' snapshot (and, with ``settings.publish_url``, upload it with a Parquet
    export for readers on other hosts: ``upload.py``); clean the run's staging folder.

    A publish that fails after its run's load committed leaves the load in place: the run's
    ``etl_runs`` row says ``loaded-not-published`` and why, this raises :class:`NotPublished`
    (the task fails, the CLI exits non-zero saying so), and the next run (or this task's retry)
    publishes."""
    try:
        return _publish(connect, settings, run, fetched)
    except Exception as exc:
        reason = f"not published: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
        try:
            from news_etl.warehouse.audit import mark_not_published
            from news_etl.warehouse.connection import writer

            with writer(connect, settings.lock_timeout, settings.duckdb_memory_max) as con:
                marked = mark_not_published(con, run["run_id"], reason)
        except Exception as again:  # noqa: BLE001 (the writer's file cannot be opened either: say both)
            log.error("publish: could not record that run %s is not published: %s", run["run_id"], again)
            marked = False
        if not marked:
            raise
        raise NotPublished(
            f"run {run['run_id']} is loaded into {settings.warehouse} but not published ({reason.split(': ', 1)[1]}); "
            f"etl_runs says loaded-not-published; the next run publishes {settings.published}"
        ) from exc


def _publish(connect, settings: Settings, run: Run, fetched: FetchManifest | None = None) -> dict:
    import duckdb

    from news_etl.warehouse.connection import set_memory

    with tempfile.TemporaryDirectory(prefix="news-etl-export-") as export:
        with open_writer(connect, settings) as con:
            try:
                result = _publish_snapshot(con, settings, run)
            except duckdb.OutOfMemoryException:
                if settings.duckdb_memory_max == settings.duckdb_memory:
                    raise
                log.warning(  # as the load does: the publish changed nothing yet, so it can run again
                    "publish: out of DuckDB's memory at NEWS_ETL_DUCKDB_MEMORY=%s; again with NEWS_ETL_DUCKDB_MEMORY_MAX=%s",
                    settings.duckdb_memory,
                    settings.duckdb_memory_max,
                )
                set_memory(con, settings.duckdb_memory_max, "NEWS_ETL_DUCKDB_MEMORY_MAX")
                result = _publish_snapshot(con, settings, run)
            to_upload = bool(settings.publish_url) and not result["kept"]  # a kept snapshot is uploaded already
            if to_upload:  # exported while the writer is held (no other publish meanwhile), from the snapshot as its readers open it
                from news_etl.analysts.catalog import export_parquet
                from news_etl.analysts.readers import open_reader

                snapshot = open_reader(settings.published, writes_to=export)
                try:
                    export_parquet(snapshot, export, source=str(settings.published))
                finally:
                    snapshot.close()
        if to_upload:  # uploaded once the writer is free again
            from news_etl.warehouse.upload import upload

            result["uploaded"] = upload(
                settings.publish_url, settings.published, Path(export), run["run_id"], settings.publish_keep
            )
    if fetched and not settings.keep_staging:
        staging.remove_run(folder_of(fetched["staging"]))
    log.info(
        "publish: snapshot %s (%d live articles, %d bytes, a %s) in %.2fs",
        result["snapshot"],
        result["live_articles"],
        result["bytes"],
        result["how"],
        result["seconds"],
    )
    return result


# --- retire a source ------------------------------------------------------------------------


def retire_source(connect, settings: Settings, source: str, now: datetime | None = None) -> dict:
    """Mark every live article of ``source`` deleted (``news_etl.warehouse.retire``), then publish.

    ``source`` is the name the warehouse records (``articles.source``: ``dir:/path``,
    ``git:<url>``, ``feed:<url>``), or a source spec that opens as that name.
    """
    from news_etl.meaning import steps as meaning_steps
    from news_etl.warehouse.load import load as load_warehouse
    from news_etl.warehouse.retire import RetireError, sources, stage_retired

    now = now or datetime.now(UTC)
    run = new_run(f"retire__{now:%Y%m%dT%H%M%S%fZ}")
    # the one file this run stages is the load's own input, written and read on this host: a local
    # temporary folder, whatever the staging root is (a folder, or s3://… that DuckDB does not read)
    with tempfile.TemporaryDirectory(prefix="news-etl-retire-") as tmp:
        folder = Path(tmp)
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
            files = stage_retired(con, source, str(deleted))
            fetch: FetchManifest = {
                "run_id": run["run_id"],
                "fetch_id": None,
                "as_of": now.isoformat(),
                "started_at": now.isoformat(),
                "names": {},
                "complete": True,
                "staging": str(folder),
                "source": source,
                "revision": None,  # no watermark: the source, if ever read again, is read whole
                "previous_revision": None,
                "watermark": None,  # nothing can load in between: this process holds the writer's file
                "seen": 0,
                "changed": 0,
                "deleted": files,
                "moved": 0,
                "batches": [],
                "deleted_file": deleted.name,
                "warnings": [f"source retired (news-etl retire-source): its {files} files counted as gone"],
                "seconds": 0.0,
            }
            counts = load_warehouse(
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
                meaning=meaning_steps,
            )
            published = _publish_snapshot(con, settings, run)
    return {"run_id": run["run_id"], "source": source, "files": files, "articles": counts["deleted"], **published}


def rebuild_meaning(connect, settings: Settings) -> dict:
    """``news-etl rebuild-meaning``: migrate, derive the names, keywords, securities' names and daily
    keyword and security tables again from the live articles in one transaction, then publish. For
    a warehouse loaded by an older version (whose keywords came from a dictionary that grew with
    each load); a warehouse loaded by this version is unchanged by it."""
    from news_etl.meaning import steps as meaning_steps
    from news_etl.warehouse.migrations import migrate

    run = new_run(f"rebuild_meaning__{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
    with open_writer(connect, settings) as con:
        migrate(con)
        con.execute("BEGIN TRANSACTION")
        try:
            counts = meaning_steps.rebuild(con.execute, run["run_id"])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        published = _publish_snapshot(con, settings, run)
    return {"run_id": run["run_id"], **counts, "snapshot": published["snapshot"]}


# --- all five, for the CLI ---------------------------------------------------------------------


def run_all(settings: Settings, run: Run | None = None, connect=None) -> dict:
    """fetch → transform → validate → load → publish, in this process (transform in a process pool).

    First it removes what killed runs left behind (staging folders, temporary copies of the
    snapshot or the writer's file); it holds its own staging folder's lock while it runs, and
    its pool workers die with it."""
    from news_etl.warehouse.connection import file_connect
    from news_etl.warehouse.tempfiles import remove_dead_temp_files

    run = run or new_run()
    connect = connect or file_connect(settings.warehouse)
    staging.remove_unclaimed_runs(settings.staging)
    remove_dead_temp_files(settings.published)
    remove_dead_temp_files(settings.warehouse)
    with staging.claim(staging.run_folder(settings.staging, run["run_id"])):
        return _run_all(settings, run, connect)


def give_back_memory() -> None:
    """Return the memory freed since the process began to the system: glibc's ``malloc_trim`` and
    Arrow's pool. The CLI's run fetches in the process that then loads; a first load of a million
    files freed about 900 MB in the fetch that the allocators kept (measured: 254 MB held after the
    fetch of 100,000 files, 156 MB after this), beside the load's DuckDB."""
    import ctypes
    import gc

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the C library linked in: glibc only has it
    if trim is not None:
        trim(0)


def _die_with_parent(parent: int) -> None:
    """A pool worker's initializer: the kernel kills the worker when the run's process dies
    (SIGKILL included), instead of leaving it blocked forever on the pool's queue.

    The CLI starts its workers before the fetch: a worker forked in the middle of it would
    inherit the listing of the whole source, and its garbage collector, walking those objects,
    would copy their pages into the worker (about 100 MB a worker at 100,000 files, 1 GB at a
    million)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above: go too
        os._exit(1)


def _run_all(settings: Settings, run: Run, connect) -> dict:
    t0 = time.monotonic()
    # transform each batch in a worker process as soon as fetch has staged it
    pool = (
        ProcessPoolExecutor(max_workers=settings.workers, initializer=_die_with_parent, initargs=(os.getpid(),))
        if settings.workers > 1
        else None
    )
    futures: list = []
    done: list[tuple[BatchResult, list[dict]]] = []
    try:
        if pool:  # its first task forks every worker, now, before fetch lists the source (_die_with_parent)
            pool.submit(os.getpid).result()

        def start(folder: str, batch: str) -> None:
            futures.append(pool.submit(transform, folder, batch) if pool else (folder, batch))

        fetched = fetch(settings, run, on_batch=start)
        # each batch is checked here as its transform ends, while the workers go on with the next
        # ones: Great Expectations (about 200 MB once imported) lives in this process only
        for f in futures:
            transformed_batch = f.result() if pool else transform(*f)
            done.append((transformed_batch, validate_batch(fetched["staging"], transformed_batch)))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    transformed = [t for t, _ in done]
    if fetched["changed"]:  # the fetch's listing of the source, freed, still held by the allocators
        give_back_memory()
    validated = validate(
        fetched["staging"],
        transformed,
        connect=connect,
        settings=settings,
        run=run,
        precomputed={t["batch"]: rows for t, rows in done},
    )
    loaded = load(connect, settings, run, fetched, transformed, validated)
    published = publish(connect, settings, run, fetched)
    return {
        "run": run,
        "fetch": fetched,
        "transform": transformed,
        "validate": validated,
        "load": loaded,
        "publish": published,
        "seconds": round(time.monotonic() - t0, 3),
    }
