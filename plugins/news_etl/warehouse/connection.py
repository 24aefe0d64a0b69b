"""The writer's connection: one process writes a DuckDB file; everyone else waits or reads the snapshot.

Only one process may write a DuckDB file. The writer's file is opened by the load (and by
publish, to checkpoint and copy it); analysts and the warehouse page read the published
snapshot, so they never hold a lock the load needs and never see half a run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from news_etl.settings import MEMORY_SIZE, Settings
from news_etl.warehouse.snapshot import CONNECT_CONFIG

log = logging.getLogger(__name__)

Connect = Callable[[], duckdb.DuckDBPyConnection]

#: One read descriptor of each writer's file open in this process, by its connection's id, for
#: publish's copy (:func:`file_descriptor`). DuckDB's lock on its file is a POSIX record lock, and
#: POSIX drops every such lock a process holds on a file as soon as the process closes *any*
#: descriptor of that file: a copy that opened and closed the writer's file by its path would let
#: another run open it for writing while this one still writes (each then overwrites the other's
#: work). So nothing opens the writer's file while it is held; this descriptor, opened with the
#: connection, is closed only after it.
_DESCRIPTORS: dict[int, int] = {}


class WarehouseBusy(Exception):
    """Another process holds the writer's file for longer than the wait allows."""


def file_connect(path: Path | str, read_only: bool = False) -> Connect:
    """A connect function for a warehouse file (the CLI's; the DAG uses the provider's hook)."""

    def connect() -> duckdb.DuckDBPyConnection:
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only, config=CONNECT_CONFIG)

    return connect


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


#: How the writer's checkpoints compress text. DuckDB's own choice for the articles' Chinese
#: text (dictionary and FSST) keeps it near its UTF-8 size; zstd stores the same warehouse in
#: about a third of the bytes (635 → 192 MiB at 100,000 posts of the bench's site), and so a
#: third of what publish copies and syncs and of what a checkpoint rewrites, read as fast.
#: Columns zstd cannot hold (numbers, lists' offsets) keep DuckDB's choice. DuckDB 1.2 and later
#: read it: the snapshot's 1.4 format holds it.
COMPRESSION = "zstd"


@contextmanager
def writer(connect: Connect, timeout: float = 60.0, memory: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection, waiting (with backoff) while another process holds the file.

    ``memory`` bounds what DuckDB holds in memory (by default ``Settings.duckdb_memory``): a
    big load spills to disk instead of growing with the run. What its checkpoints write is
    compressed with zstd (:data:`COMPRESSION`)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            con = connect()
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse file is held by another process for more than {timeout:.0f}s: {exc}. "
                    "Only one process may write it; analysts should open the published snapshot."
                ) from None
            log.warning("warehouse is locked by another process; retrying in %.1fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    descriptor = _open_descriptor(con)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET force_compression = '{COMPRESSION}'")
        set_memory(con, memory or Settings().duckdb_memory)
        yield con
    finally:
        _DESCRIPTORS.pop(id(con), None)
        try:
            con.close()
        finally:
            if descriptor is not None:
                os.close(descriptor)  # only now: DuckDB has released the file


def file_descriptor(con: duckdb.DuckDBPyConnection) -> int | None:
    """A read descriptor of the file ``con`` writes, valid while ``con`` is open (``None`` when
    ``con`` was not opened by :func:`writer`). Read it with offsets (``os.pread``,
    ``os.copy_file_range``) and never close it: see :data:`_DESCRIPTORS`."""
    return _DESCRIPTORS.get(id(con))


def _open_descriptor(con: duckdb.DuckDBPyConnection) -> int | None:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    path = row[0] if row else None
    if not path:
        return None  # an in-memory database
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    _DESCRIPTORS[id(con)] = descriptor
    return descriptor


def set_memory(con: duckdb.DuckDBPyConnection, memory: str, setting: str = "NEWS_ETL_DUCKDB_MEMORY") -> None:
    """Let DuckDB on ``con`` hold ``memory`` (``512MB``, ``2GB``, ``50%`` of the machine's)."""
    limit = memory.strip()
    if not MEMORY_SIZE.fullmatch(limit):
        raise ValueError(f"{setting} must look like 512MB, 2GB or 50%, not {limit!r}")
    con.execute(f"SET memory_limit = '{limit}'")
