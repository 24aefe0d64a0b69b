"""The analysts' tables and views as Parquet files, with a manifest, for readers that do not speak DuckDB.

``export_parquet(con, folder)`` writes ``folder/<name>.parquet`` for every table and view of the
warehouse but the pipeline's own state (``INTERNAL``), then ``folder/manifest.json`` listing them
with their rows, bytes and SHA-256. Publishing to object storage uploads this folder beside the
snapshot (``upload.py``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

#: Tables of the pipeline's own state (watermarks, migrations, raw reject bytes): not exported.
INTERNAL = frozenset({"story_signatures", "source_files", "source_state", "schema_migrations", "rejects"})

MANIFEST = "manifest.json"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_parquet(con, folder: Path | str, source: str = "") -> dict:
    """Each analysts' table and view → ``folder/<name>.parquet``, then ``folder/manifest.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    objects = con.execute(
        "SELECT table_name, 'table' FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
        "UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "ORDER BY 1"
    ).fetchall()
    files = []
    for name, kind in objects:
        if name in INTERNAL:
            continue
        path = folder / f"{name}.parquet"
        ident = '"' + name.replace('"', '""') + '"'  # a name from the catalog, quoted as an identifier
        con.execute(f"COPY (SELECT * FROM {ident}) TO {_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        (rows,) = con.execute(f"SELECT count(*) FROM {ident}").fetchone()
        data = path.read_bytes()
        files.append(
            {
                "file": path.name,
                "table": name,
                "kind": kind,
                "rows": rows,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    (version,) = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "schema_version": version,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest
