"""The published snapshot and its Parquet export, uploaded to object storage for readers on other hosts.

Under ``NEWS_ETL_PUBLISH_URL`` (``s3://bucket/prefix``)::

    versions/<version>/warehouse.duckdb           the snapshot (a DuckDB file, opened read-only)
    versions/<version>/parquet/<table>.parquet    the analysts' tables and views (``catalog.export_parquet``)
    versions/<version>/parquet/manifest.json      what the export holds: rows, bytes, SHA-256
    latest.json                                   which version is current: written last

A publish uploads a new version folder (``<UTC time>-<run id>``: names sort in time order), then
replaces ``latest.json`` (one object: a reader gets the old or the new one, whole), then removes
all but the newest ``NEWS_ETL_PUBLISH_KEEP`` versions. A reader reads ``latest.json`` first and
then the files it names; the version it names stays readable for at least ``keep - 1`` more
publishes. A publish that fails half-way leaves ``latest.json`` on the previous version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from news_etl import storage

log = logging.getLogger(__name__)

LATEST = "latest.json"
VERSIONS = "versions"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload(url: str, snapshot: Path, export: Path, run_id: str, keep: int = 5) -> dict:
    """Upload ``snapshot`` and the exported folder as a new version under ``url``, point
    ``latest.json`` at it, prune old versions; return what ``latest.json`` says."""
    fs, root = storage.fs_path(url)
    now = datetime.now(UTC)
    version = now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + (_UNSAFE.sub("_", run_id).strip("._")[:80] or "run")
    prefix = f"{VERSIONS}/{version}"
    exported = sorted(p for p in Path(export).iterdir() if p.is_file())
    local = [str(snapshot), *(str(p) for p in exported)]
    remote = [f"{root}/{prefix}/warehouse.duckdb", *(f"{root}/{prefix}/parquet/{p.name}" for p in exported)]
    fs.put(local, remote)  # one PUT a file (multipart for a big snapshot)
    latest = {
        "version": version,
        "run_id": run_id,
        "published_at": now.isoformat(timespec="seconds"),
        "snapshot": f"{prefix}/warehouse.duckdb",
        "snapshot_bytes": Path(snapshot).stat().st_size,
        "snapshot_sha256": _sha256(Path(snapshot)),
        "parquet": f"{prefix}/parquet/",
        "parquet_manifest": f"{prefix}/parquet/manifest.json",
    }
    fs.pipe_file(f"{root}/{LATEST}", json.dumps(latest, indent=1).encode())  # the switch: written last
    removed = prune(url, keep, current=version)
    log.info(
        "publish: version %s uploaded to %s (%d files); latest.json points at it; %d old version(s) removed",
        version,
        url,
        len(local),
        len(removed),
    )
    return {**latest, "url": url, "files": len(local), "pruned": removed}


def versions(url: str) -> list[str]:
    """The version folders under ``url``, oldest first."""
    fs, root = storage.fs_path(url)
    fs.invalidate_cache(f"{root}/{VERSIONS}")
    try:
        entries = fs.ls(f"{root}/{VERSIONS}", detail=False)
    except FileNotFoundError:
        return []
    return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries)


def prune(url: str, keep: int, current: str) -> list[str]:
    """Remove all but the newest ``keep`` versions (never ``current``); return the ones removed."""
    fs, root = storage.fs_path(url)
    old = [v for v in versions(url)[: -max(keep, 1)] if v != current]
    for v in old:
        fs.rm(f"{root}/{VERSIONS}/{v}", recursive=True)
    return old


def latest(url: str) -> dict:
    """What a reader reads first: the current version's ``latest.json``."""
    fs, root = storage.fs_path(url)
    return json.loads(fs.cat_file(f"{root}/{LATEST}"))
