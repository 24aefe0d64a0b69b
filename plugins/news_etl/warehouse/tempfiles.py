"""Temporary copies written beside a file before they are renamed into place, and their cleanup."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)


#: ``.<file>.<host>.<pid>.<tmp|restore>[.wal]``: a copy being written beside ``<file>``.
_TEMP = re.compile(r"(?P<host>.+)\.(?P<pid>\d+)\.(?:tmp|restore)(?:\.wal)?")
#: A temporary copy from another host is left for this long (no way to ask whether its writer lives).
FOREIGN_TEMP_HOURS = 24


def temp_path(path: Path, kind: str) -> Path:
    """Where a copy of ``path`` is written before it is renamed into place: named after this host
    and process, so the next run can tell whether its writer still lives."""
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{kind}")


def remove_dead_temp_files(path: Path) -> list[str]:
    """Remove the temporary copies of ``path`` that killed publishes or restores left: on this
    host, those whose process is gone; from another host, those older than a day."""
    path = Path(path)
    removed: list[str] = []
    if not path.parent.is_dir():
        return removed
    host = socket.gethostname()
    prefix = f".{path.name}."
    for tmp in path.parent.iterdir():
        m = _TEMP.fullmatch(tmp.name[len(prefix) :]) if tmp.name.startswith(prefix) else None
        if not m:
            continue
        if m["host"] == host:
            try:
                os.kill(int(m["pid"]), 0)
                continue  # its writer lives
            except ProcessLookupError:
                pass
            except PermissionError:
                continue  # a live process of another user
        else:
            try:
                if time.time() - tmp.stat().st_mtime < FOREIGN_TEMP_HOURS * 3600:
                    continue
            except FileNotFoundError:
                continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp.name)
    if removed:
        log.warning(
            "removed %d temporary copie(s) left by killed runs beside %s: %s", len(removed), path, ", ".join(removed)
        )
    return removed
