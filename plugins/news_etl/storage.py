"""Where files live: a local folder, or object storage (``s3://bucket/prefix``) through fsspec.

A local path is used as a :class:`pathlib.Path`; a URL is opened with fsspec (s3fs for
``s3://``) as a :class:`upath.UPath`, so the code that joins names to a folder is the same for
both. The endpoint and credentials of object storage come from the standard AWS variables
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``),
which botocore reads itself, or from options set for the process with :func:`use_options`
(``deployment.py`` does, from an Airflow connection). The options hold secrets: they are never
logged, written to disk or put in argv.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from news_etl.settings import is_url

if TYPE_CHECKING:
    from upath import UPath

_OPTIONS: dict[str, Any] = {}


def use_options(options: Mapping[str, Any]) -> None:
    """The fsspec storage options (``endpoint_url``, ``key``, ``secret``, ``client_kwargs``) for
    object storage in this process; empty: s3fs reads the standard AWS variables."""
    _OPTIONS.clear()
    _OPTIONS.update(options)


#: A local path, or a URL on object storage (``s3://bucket/prefix``).
Location: TypeAlias = "str | os.PathLike | UPath"


def folder(location: Location) -> Path | UPath:
    """A folder by its location: a local :class:`~pathlib.Path` (test for it with ``isinstance``),
    else a :class:`~upath.UPath` on object storage."""
    if isinstance(location, Path):
        return location
    loaded = sys.modules.get("upath")  # (imported for the first URL: a local run never needs fsspec)
    if loaded is not None and isinstance(location, loaded.UPath):
        return location
    spelled = cast("str | os.PathLike", location)  # (neither kind of path, so a name)
    if is_url(spelled):
        from upath import UPath

        return UPath(str(spelled), **_OPTIONS)
    return Path(spelled)


def fs_path(location: Location) -> tuple[Any, str]:
    """The fsspec filesystem of a location and the path in it (``bucket/key`` on object storage)."""
    path = folder(location)
    if not isinstance(path, Path):
        return path.fs, path.path
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem(auto_mkdir=True), str(path)
