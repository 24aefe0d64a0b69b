"""The analysts' snapshot: a copy of the warehouse that DuckDB 1.x clients can open.

The writer runs DuckDB 2.0, whose own storage format DuckDB 1.x cannot read: the
official CLI on PyPI (``duckdb-cli``) stops at 1.5, and so do most BI drivers.
DuckDB 2.0 can still write the 1.4 storage format, so the writer's file is
created in it (:data:`CONNECT_CONFIG`, for the CLI's connections and the DAG's
hook alike), and the snapshot is a copy of the checkpointed file's bytes: its
cost is a file copy (in the kernel, a reflink where the file system has them;
a plain copy when the snapshot is on another file system than the writer's file,
where the kernel's copy fails with EXDEV), not a rewrite of every table. A writer's file made before, in DuckDB 2.0's
format, is copied table by table instead: ``ATTACH … (STORAGE_VERSION 'v1.4.0')``
and ``COPY FROM DATABASE`` (every table, view, comment and constraint);
``news-etl restore --from SNAPSHOT`` turns it into a file of the 1.4 format.
Either way the copy is taken from the writer's own connection while it holds the
file, so no load can run during it; the file copy reads through the descriptor the
writer's connection keeps (``connection.file_descriptor``) and never opens the file
again, since closing it would drop the writer's lock.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: The storage format of the snapshot: the oldest one current DuckDB 1.x releases read.
STORAGE_VERSION = "v1.4.0"
#: The configuration every writer's connection opens with: a new file is made in that format.
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {"storage_compatibility_version": STORAGE_VERSION}
_ALIAS = "analysts_snapshot"
_COPY_CHUNK = 1 << 30


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_snapshot(con, target: Path | str, descriptor: int | None = None) -> str:
    """Write the database of ``con`` to a new file ``target`` in :data:`STORAGE_VERSION`, synced to
    disk; ``con`` has just checkpointed. ``descriptor`` is a read descriptor of ``con``'s file
    (the writer's: ``connection.file_descriptor``); without it the copy is table by table.
    Returns how: ``"file copy"`` or ``"table copy"``."""
    target = Path(target)
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    source = _copyable_file(con)
    if source is not None and descriptor is not None and _same_file(descriptor, source):
        _copy_file(descriptor, source, target)
        how = "file copy"
    else:
        (database,) = con.execute("SELECT current_database()").fetchone()
        # ATTACH takes no bound parameters: the path is quoted as a literal, the storage version is a constant
        con.execute(f"ATTACH {_literal(str(target))} AS {_ALIAS} (STORAGE_VERSION '{STORAGE_VERSION}')")
        try:
            con.execute(f"COPY FROM DATABASE {_identifier(database)} TO {_ALIAS}")
        finally:
            con.execute(f"DETACH {_ALIAS}")
        how = "table copy"
    with open(target, "rb+") as fh:
        os.fsync(fh.fileno())
    return how


def _copyable_file(con) -> Path | None:
    """The writer's file, if its bytes are the snapshot: in :data:`STORAGE_VERSION`, everything
    checkpointed into it (no write-ahead log left beside it)."""
    path, tags = con.execute(
        "SELECT path, tags FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not path or (tags or {}).get("storage_version") != STORAGE_VERSION + "+":
        return None
    wal = Path(path + ".wal")
    if wal.exists() and wal.stat().st_size:
        return None
    return Path(path)


#: Why ``copy_file_range`` may refuse a copy that a plain read and write makes: another file system
#: (EXDEV: a separate volume for analysts, /dev/shm, a mounted share), or none in this kernel or file system.
_NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM})


def _same_file(descriptor: int, path: Path) -> bool:
    held, named = os.fstat(descriptor), os.stat(path)
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def _copy_file(descriptor: int, source: Path, target: Path) -> None:
    """The bytes of ``source`` (read through ``descriptor``, at explicit offsets, never closed here)
    into a new ``target``, copied by the kernel (``copy_file_range``: a reflink on file systems that
    share blocks), or read and written when the kernel cannot copy between the two (another file
    system)."""
    with open(target, "xb") as dst:
        size = os.fstat(descriptor).st_size
        offset = 0
        while offset < size:
            try:
                done = os.copy_file_range(descriptor, dst.fileno(), min(size - offset, _COPY_CHUNK), offset)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY or offset:
                    raise
                _read_and_write(descriptor, source, dst, size)  # (nothing copied yet)
                return
            if done == 0:
                raise OSError(f"{source} ended before its size while copying it to {target}")
            offset += done


def _read_and_write(descriptor: int, source: Path, dst, size: int) -> None:
    offset = 0
    while offset < size:
        chunk = os.pread(descriptor, min(size - offset, 1 << 24), offset)
        if not chunk:
            raise OSError(f"{source} ended before its size while copying it to {dst.name}")
        dst.write(chunk)
        offset += len(chunk)
