"""What the warehouse holds, for people and BI tools: the data dictionary and the Parquet export.

``python -m news_etl dictionary`` prints every table and view of a warehouse
file: its grain (the primary key, or what its comment says a row is), its
columns with type and comment, the tables it joins to (the ``(table.column)``
references its column comments make), and the reports of ``sql/reports`` that
read it. Everything comes from the file itself and the report files, so the
dictionary cannot drift from the schema.

``python -m news_etl export --parquet DIR`` writes the analysts' tables and
views as Parquet files (one per object) and a ``manifest.json`` that lists
them with their rows, columns, comments and SHA-256, for BI tools that do not
speak DuckDB. Internal state (signatures, watermarks, raw reject bytes) is
left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from news_etl.model import UNINDEXED_KEYS
from news_etl.settings import SQL_DIR

#: Tables of the pipeline's own state and the search index, not for analysts: left out of the export.
INTERNAL = frozenset(
    {"story_signatures", "source_files", "source_state", "schema_migrations", "rejects", "search_grams", "search_docs"}
)
_REFERENCE = re.compile(r"\(([a-z_]+)\.([a-z_]+)\)")
#: The names export writes a file for: the migrations name every table and view so. A file's name
#: comes from the object's, so any other name (``../../x``, a name with a slash) is never written.
EXPORTABLE = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _objects(con) -> list[dict]:
    tables = con.execute(
        "SELECT table_name, 'table', comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name, 'view', comment FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "ORDER BY 1"
    ).fetchall()
    columns: dict[str, list[tuple]] = {}
    for table, name, dtype, comment in con.execute(
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall():
        columns.setdefault(table, []).append((name, dtype, comment or ""))
    keys = {  # the keys an index keeps, and those the load checks in bulk (no index)
        **{t: list(cols) for t, cols in UNINDEXED_KEYS.items()},
        **{
            t: [c.strip('"') for c in cols]
            for t, cols in con.execute(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        },
    }
    reports = {p.stem: p.read_text(encoding="utf-8") for p in sorted((SQL_DIR / "reports").glob("*.sql"))}
    out = []
    for name, kind, comment in tables:
        cols = columns.get(name, [])
        joins = sorted(
            {
                f"{col} → {table}.{target}"
                for col, _, text in cols
                for table, target in _REFERENCE.findall(text)
                if table != name
            }
        )
        word = re.compile(rf"\b{re.escape(name)}\b")
        used_by = [r for r, sql in reports.items() if word.search(sql)]
        grain = "one row per " + " × ".join(keys[name]) if name in keys else (comment or "").split(":")[0].split(".")[0]
        out.append(
            {
                "name": name,
                "kind": kind,
                "comment": comment or "",
                "grain": grain,
                "columns": [{"name": c, "type": t, "comment": k} for c, t, k in cols],
                "joins": joins,
                "reports": used_by,
                "internal": name in INTERNAL,
            }
        )
    return out


def dictionary(con) -> list[dict]:
    """Every table and view with grain, columns, joins and the reports that read it."""
    return _objects(con)


def format_dictionary(objects: list[dict]) -> str:
    """The dictionary as Markdown."""
    lines = ["# The warehouse's tables and views", ""]
    for o in objects:
        lines.append(f"## {o['name']} ({o['kind']}{', internal' if o['internal'] else ''})")
        lines.append("")
        lines.append(o["comment"])
        lines.append("")
        lines.append(f"- Grain: {o['grain']}")
        if o["joins"]:
            lines.append(f"- Joins: {'; '.join(o['joins'])}")
        lines.append(f"- Reports: {', '.join(o['reports']) or 'none'}")
        lines.append("")
        lines.append("| column | type | meaning |")
        lines.append("| --- | --- | --- |")
        for c in o["columns"]:
            lines.append(f"| {c['name']} | {c['type']} | {c['comment'].replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def export_parquet(con, folder: Path | str, source: str = "") -> dict:
    """Each analysts' table and view → ``folder/<name>.parquet``; then ``folder/manifest.json``.

    Only objects with a plain name (:data:`EXPORTABLE`) are written, each right inside ``folder``;
    ``con`` comes from :func:`news_etl.readers.open_reader` with ``writes_to=folder``, so DuckDB
    itself writes nowhere else."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for o in _objects(con):
        if o["internal"] or not EXPORTABLE.fullmatch(o["name"]):
            continue
        path = folder / f"{o['name']}.parquet"
        if path.parent != folder:  # (cannot happen with EXPORTABLE names: a second guard)
            continue
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # the relation API: the table's name is an argument, never SQL text
        con.table(o["name"]).write_parquet(str(tmp), compression="zstd")
        os.replace(tmp, path)
        rows = pq.read_metadata(path).num_rows
        files.append(
            {
                "file": path.name,
                "table": o["name"],
                "kind": o["kind"],
                "rows": rows,
                "bytes": path.stat().st_size,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "grain": o["grain"],
                "comment": o["comment"],
                "columns": o["columns"],
            }
        )
    (version,) = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "schema_version": version,
        "timezone_note": "TIMESTAMPTZ columns are stored as UTC instants; *_day/published_date are Asia/Shanghai days.",
        "files": files,
    }
    tmp = folder / f".manifest.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / "manifest.json")
    return manifest
