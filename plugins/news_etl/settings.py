"""Settings and their defaults, in one place.

Every setting has a default that runs the embedded sample posts, and an
environment variable that overrides it. The DAG reads the source and the
warehouse from Airflow (a Variable and a connection, see ``dags/``) and
passes them in; the CLI takes flags. Nothing here imports anything heavy:
the DAG file imports this module at parse time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

#: The package's own folder (``plugins/news_etl`` in a checkout, ``site-packages/news_etl`` installed).
PACKAGE_DIR = Path(__file__).resolve().parent


def _project_root() -> Path:
    """The checkout the package runs from (``plugins/news_etl`` → two levels up), else the working folder."""
    checkout = PACKAGE_DIR.parents[1]
    return checkout if (checkout / "sql" / "migrations").is_dir() else Path.cwd()


#: Where the default data paths live: the checkout, or (an installed package) the working folder.
PROJECT_ROOT = _project_root()
#: The SQL migrations and reports: ``sql/`` of the checkout, or the copy an installed package carries.
SQL_DIR = PACKAGE_DIR / "sql" if (PACKAGE_DIR / "sql" / "migrations").is_dir() else PACKAGE_DIR.parents[1] / "sql"

#: The embedded sample posts: the default source, a fixed set dated 2026-11-23..25 (its
#: freshness is never measured: see news_etl/warehouse/freshness.py).
SAMPLE_POSTS = PROJECT_ROOT / "data" / "sample_posts"

#: The site's timezone: naive dates in posts are local times here, and
#: ``published_date`` and the DAG's daily intervals are days here.
SITE_TIMEZONE = "Asia/Shanghai"

#: Airflow names, shared by the DAG, the Makefile and the compose file.
DAG_ID = "news_etl_daily"
WRITER_POOL = "duckdb_writer"
#: The Celery queue of the tasks that touch the writer's DuckDB file (fetch reads its watermark;
#: validate, load, publish and check_freshness write or read it): only the worker on the machine
#: that holds the file serves it (``airflow celery worker --queues default,warehouse``); the
#: transforms run on the default queue, on any worker. The LocalExecutor ignores queues.
WRITER_QUEUE = "warehouse"
WAREHOUSE_CONN_ID = "news_warehouse"
SOURCE_VARIABLE = "news_etl_source"
#: The optional Airflow connection that holds the git source's credentials (login, password = token).
GIT_CONN_ID = "news_etl_git"


def is_url(location: str | os.PathLike) -> bool:
    """``s3://bucket/prefix`` (object storage, through fsspec) rather than a local path."""
    return "://" in str(location)


def location(value: str | os.PathLike) -> Path | str:
    """A folder that may live on object storage: a URL as given, a local path resolved."""
    return str(value).rstrip("/") if is_url(value) else Path(value).expanduser().resolve()


URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(the URL without user and password, the user, the password) of ``scheme://user:password@host/…``.

    The user part ends at the URL's last ``@``, so a password may hold ``@``, ``:``
    and ``/`` as typed (a user name may not hold ``/``); both are percent-decoded
    (write ``%`` as ``%25``). Anything else comes back whole, with no credentials.
    """
    scheme = URL_SCHEME.match(url)
    userinfo, at, rest = url[scheme.end() :].rpartition("@") if scheme else ("", "", url)
    user, colon, password = userinfo.partition(":")
    if not scheme or not at or "/" in user:
        return url, None, None
    return url[: scheme.end()] + rest, unquote(user), unquote(password) if colon else None


class SettingError(ValueError):
    """A setting out of its range: the message names the variable, what it got and what it takes."""


#: A memory size as DuckDB takes it: ``512MB``, ``2GB``, ``50%`` of the machine's.
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)")


@dataclass(frozen=True)
class Var:
    """One setting: its environment variable, its kind, its default and its allowed range."""

    env: str
    kind: str  # text, path, location, int, number, memory, flag
    default: Callable[[], object]
    doc: str
    low: float | None = None
    high: float | None = None
    shown_default: str = ""

    def allowed(self) -> str:
        """The values it takes, in words (for errors and the configuration reference)."""
        if self.kind in ("int", "number"):
            what = "an integer" if self.kind == "int" else "a number"
            if self.low is not None and self.high is not None:
                return f"{what} from {_number(self.low)} to {_number(self.high)}"
            return f"{what} ≥ {_number(self.low)}" if self.low is not None else what
        return {
            "memory": "a size such as 512MB, 2GB or 50%",
            "flag": "1 (on) or empty (off)",
            "path": "a path",
            "location": "a path or s3://bucket/prefix",
            "url": "s3://bucket/prefix, or empty",
        }.get(self.kind, "text")

    def parse(self, raw: str) -> object:
        """``raw`` (the variable's text) as a value of this setting, or :class:`SettingError`."""
        raw = raw.strip()
        if self.kind == "path":
            return Path(raw).expanduser().resolve()
        if self.kind == "location":
            return location(raw)
        if self.kind == "url":
            return raw.rstrip("/")
        if self.kind == "flag":
            if raw not in ("", "0", "1"):
                raise SettingError(f"{self.env} must be {self.allowed()}, not {raw!r}")
            return raw == "1"
        if self.kind in ("int", "number"):
            try:
                return (int if self.kind == "int" else float)(raw)
            except ValueError:
                raise SettingError(f"{self.env} must be {self.allowed()}, not {raw!r}") from None
        return raw

    def check(self, value: object) -> None:
        """Raise :class:`SettingError` unless ``value`` is in this setting's range."""
        if self.kind in ("int", "number") and isinstance(value, int | float):
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise SettingError(f"{self.env} must be {self.allowed()}, not {value!r}")
        if self.kind == "memory" and not MEMORY_SIZE.fullmatch(str(value).strip()):
            raise SettingError(f"{self.env} must be {self.allowed()}, not {value!r}")


def setting(env: str, kind: str, default: object, doc: str, **limits: Any) -> Any:
    """A field of :class:`Settings` read from ``env`` (else ``default``: a value or a function of
    nothing), parsed and checked by the rules of its kind and range."""
    shown = limits.pop("shown_default", "")
    make = default if callable(default) else (lambda: default)
    var = Var(env, kind, make, doc, shown_default=shown or _shown(default), **limits)

    def from_env() -> object:
        raw = os.environ.get(env)
        return var.parse(raw) if raw is not None and raw.strip() != "" else make()

    return field(default_factory=from_env, metadata={"var": var}, repr=kind != "secret")


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _shown(default: object) -> str:
    if callable(default):
        return ""
    if isinstance(default, Path):
        try:
            return str(default.relative_to(PROJECT_ROOT))
        except ValueError:
            return str(default)
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, int | float):
        return _number(default)
    return str(default) if default != "" else "none"


@dataclass(frozen=True)
class Settings:
    """Where posts come from and where everything goes: every ``NEWS_ETL_*`` setting, checked once.

    Each field is read from its environment variable (else its default) and checked against its
    range when the settings are made, and again for a value a flag passes (``with_``): a wrong one
    stops the command at start, naming the variable and what it takes. ``news-etl settings``
    prints them; ``docs/operators/configuration.md`` is generated from this table.
    ``source`` is a source spec: a folder path (``dir``), ``git+<url or path>`` or ``feed+<url>``;
    see :func:`news_etl.ingest.sources.open_source`.
    """

    source: str = setting(
        "NEWS_ETL_SOURCE",
        "text",
        lambda: str(SAMPLE_POSTS),
        "the source: a folder of posts, `git+<url or path>[#branch]` or `feed+<url>` (in Airflow: the Variable `news_etl_source`)",
        shown_default="data/sample_posts",
    )
    warehouse: Path = setting(
        "NEWS_ETL_WAREHOUSE",
        "path",
        PROJECT_ROOT / "data" / "warehouse.duckdb",
        "the writer's warehouse file (in Airflow: the connection `news_warehouse`)",
    )
    published: Path = setting(
        "NEWS_ETL_PUBLISHED",
        "path",
        PROJECT_ROOT / "data" / "published" / "warehouse.duckdb",
        "the analysts' snapshot (never the writer's file)",
    )
    staging: Path | str = setting(
        "NEWS_ETL_STAGING",
        "location",
        PROJECT_ROOT / "data" / "staging",
        "where runs stage their Parquet files: a folder every worker shares, or `s3://bucket/prefix`",
    )
    staging_max_age_hours: float = setting(
        "NEWS_ETL_STAGING_MAX_AGE_HOURS",
        "number",
        24.0,
        "hours after which a run folder left in staging (a killed run's) is removed by the next fetch (0: never)",
        low=0,
    )
    publish_url: str = setting(
        "NEWS_ETL_PUBLISH_URL",
        "url",
        "",
        "publish the snapshot and a Parquet export to `s3://bucket/prefix` for readers on other hosts (empty: off)",
    )
    publish_keep: int = setting(
        "NEWS_ETL_PUBLISH_KEEP", "int", 5, "published versions kept under `NEWS_ETL_PUBLISH_URL`", low=1, high=1000
    )
    storage_conn_id: str = setting(
        "NEWS_ETL_STORAGE_CONN_ID",
        "text",
        "",
        "an Airflow connection (type `aws`) for object storage; empty: the standard AWS variables",
    )
    batch_size: int = setting(
        "NEWS_ETL_BATCH_SIZE", "int", 2000, "posts per staged batch (one transform task each)", low=1, high=1_000_000
    )
    batch_mb: int = setting(
        "NEWS_ETL_BATCH_MB",
        "int",
        64,
        "MB of raw posts per batch at most (bounds a transform's memory)",
        low=1,
        high=4096,
    )
    workers: int = setting(
        "NEWS_ETL_WORKERS",
        "int",
        0,
        "transform processes of the CLI, 0: one per core (the DAG maps tasks instead)",
        low=0,
        high=256,
        shown_default="0: one per core",
    )
    lock_timeout: float = setting(
        "NEWS_ETL_LOCK_TIMEOUT",
        "number",
        60.0,
        "seconds a load waits for another process to release the writer's file",
        low=0,
        high=86400,
    )
    duckdb_memory: str = setting(
        "NEWS_ETL_DUCKDB_MEMORY", "memory", "512MB", "memory the writer's DuckDB may use before it spills to disk"
    )
    duckdb_memory_max: str = setting(
        "NEWS_ETL_DUCKDB_MEMORY_MAX",
        "memory",
        "50%",
        "what a load that ran out of `NEWS_ETL_DUCKDB_MEMORY` gets for one more try (equal to it: no retry)",
    )
    keep_staging: bool = setting("NEWS_ETL_KEEP_STAGING", "flag", False, "keep a successful run's staging files")
    max_source_silence_hours: float = setting(
        "NEWS_ETL_MAX_SOURCE_SILENCE_HOURS",
        "number",
        0.0,
        "hours without a new post before the stale-source alert (0: off; the run stays green)",
        low=0,
    )
    run_deadline_minutes: float = setting(
        "NEWS_ETL_RUN_DEADLINE_MINUTES",
        "number",
        150.0,
        "minutes after the 00:30 interval end by which the daily run must be done (150 = 03:00 site time; 0: off)",
        low=0,
        high=1440,
    )
    cache: Path = setting(
        "NEWS_ETL_CACHE", "path", PROJECT_ROOT / "data" / "cache", "where the git source keeps its clones"
    )
    source_timeout: float = setting(
        "NEWS_ETL_SOURCE_TIMEOUT",
        "number",
        30.0,
        "seconds a git remote may stall an attempt; for a feed, the whole attempt",
        low=0.1,
        high=3600,
    )
    source_retries: int = setting(
        "NEWS_ETL_SOURCE_RETRIES", "int", 3, "attempts at a git remote or a feed before fetch fails", low=1, high=20
    )
    source_backoff: float = setting(
        "NEWS_ETL_SOURCE_BACKOFF",
        "number",
        2.0,
        "seconds before the second attempt (doubled each time)",
        low=0,
        high=600,
    )
    git_token: str = setting(
        "NEWS_ETL_GIT_TOKEN",
        "secret",
        "",
        "the token (or password) for an http(s) git remote, so the spec holds none; never shown",
    )
    git_username: str = setting(
        "NEWS_ETL_GIT_USERNAME", "secret", "x-access-token", "the user name sent with `NEWS_ETL_GIT_TOKEN`"
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            f.metadata["var"].check(getattr(self, f.name))
        if self.workers == 0:
            object.__setattr__(self, "workers", os.cpu_count() or 1)

    def __repr__(self) -> str:
        """The settings, with no password: the source's URL shown without its user and password."""
        kind, plus, location = self.source.partition("+")
        shown = kind + plus + split_credentials(location)[0] if plus else split_credentials(self.source)[0]
        items = (f"{f.name}={shown if f.name == 'source' else getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"Settings({', '.join(items)})"

    def with_(self, **changes) -> Settings:
        """A copy with some settings changed (paths are resolved)."""
        for key in ("warehouse", "published", "cache"):
            if changes.get(key) is not None:
                changes[key] = Path(changes[key]).expanduser().resolve()
        if changes.get("staging") is not None:
            changes["staging"] = location(changes["staging"])
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def variables() -> list[Var]:
    """Every setting's :class:`Var`, in the order of :class:`Settings`."""
    return [f.metadata["var"] for f in fields(Settings)]


def reference() -> str:
    """The configuration reference (``docs/operators/configuration.md``'s table), made from :class:`Settings`."""
    rows = ["| variable | what it sets | takes | default |", "|---|---|---|---|"]
    for var in variables():
        default = var.shown_default or "none"
        rows.append(f"| `{var.env}` | {var.doc} | {var.allowed()} | {default} |")
    return "\n".join(rows) + "\n"
