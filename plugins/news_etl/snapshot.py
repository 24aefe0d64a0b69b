"""The analysts' snapshot: a copy of the warehouse that DuckDB 1.x clients can open.

The writer runs DuckDB 2.0, whose files DuckDB 1.x cannot read: the official
CLI on PyPI (``duckdb-cli``) stops at 1.5, and so do most BI drivers. DuckDB 2.0
can still write the 1.4 storage format, so the snapshot is written that way:
``ATTACH … (STORAGE_VERSION 'v1.4.0')`` and ``COPY FROM DATABASE`` (every table,
view, comment and constraint), from the writer's own connection while it holds
the file, so no load can run during the copy.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The storage format of the snapshot: the oldest one current DuckDB 1.x releases read.
STORAGE_VERSION = "v1.4.0"
_ALIAS = "analysts_snapshot"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_snapshot(con, target: Path | str) -> None:
    """Write the database of ``con`` to a new file ``target`` in :data:`STORAGE_VERSION`, synced to disk."""
    target = Path(target)
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    (database,) = con.execute("SELECT current_database()").fetchone()
    # ATTACH takes no bound parameters: the path is quoted as a literal, the storage version is a constant
    con.execute(f"ATTACH {_literal(str(target))} AS {_ALIAS} (STORAGE_VERSION '{STORAGE_VERSION}')")
    try:
        con.execute(f"COPY FROM DATABASE {_identifier(database)} TO {_ALIAS}")
    finally:
        con.execute(f"DETACH {_ALIAS}")
    with open(target, "rb+") as fh:
        os.fsync(fh.fileno())
