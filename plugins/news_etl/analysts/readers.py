"""The one way a reader on a server opens a warehouse file: read-only, external access off.

The warehouse page (inside Airflow's api-server), ``summary``, ``report``, ``dictionary``,
``export`` and publish's export open a warehouse file (the published snapshot, or any file an
operator names) through :func:`open_reader`. A file's views and macros are SQL that runs with the
reader's rights: a view that reads ``read_text('/etc/…')`` or writes with ``COPY`` would read or
write the host's files. So the connection is read-only, DuckDB's external access is disabled
(no file, URL or extension outside the database file), except the one folder a command must
write (``writes_to``: export's folder, set first), and the configuration is locked, so no SQL the
file holds can turn either back on.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def open_reader(
    path: Path | str, writes_to: Path | str | None = None, timezone: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the warehouse file ``path`` with external access disabled and the
    configuration locked; ``writes_to``: the one folder it may write files into (and read back);
    ``timezone``: the session's time zone (set before the lock)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        if timezone is not None:
            con.execute("SET TimeZone = $1", [timezone])
        if writes_to is not None:
            folder = Path(writes_to).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            # a folder with a trailing separator: a sibling whose name merely starts the same stays out
            con.execute("SET allowed_directories = $1", [[str(folder) + "/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con
