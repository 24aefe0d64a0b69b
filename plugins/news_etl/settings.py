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
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
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


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def is_url(location: str | os.PathLike) -> bool:
    """``s3://bucket/prefix`` (object storage, through fsspec) rather than a local path."""
    return "://" in str(location)


def location(value: str | os.PathLike) -> Path | str:
    """A folder that may live on object storage: a URL as given, a local path resolved."""
    return str(value).rstrip("/") if is_url(value) else Path(value).expanduser().resolve()


def _env_location(name: str, default: Path) -> Path | str:
    value = os.environ.get(name)
    return location(value) if value else default


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


@dataclass(frozen=True)
class Settings:
    """Where posts come from and where everything goes.

    ``source`` is a source spec: a folder path (``dir``), ``git+<url or path>``
    or ``feed+<url>``; see :func:`news_etl.ingest.sources.open_source`.
    """

    source: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_SOURCE", str(SAMPLE_POSTS)))
    warehouse: Path = field(
        default_factory=lambda: _env_path("NEWS_ETL_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb")
    )
    published: Path = field(
        default_factory=lambda: _env_path(
            "NEWS_ETL_PUBLISHED", PROJECT_ROOT / "data" / "published" / "warehouse.duckdb"
        )
    )
    #: Where runs stage their Parquet files: a local folder, or ``s3://bucket/prefix`` shared by
    #: workers on several hosts (credentials: the standard AWS variables, or the Airflow
    #: connection named by ``storage_conn_id``).
    staging: Path | str = field(
        default_factory=lambda: _env_location("NEWS_ETL_STAGING", PROJECT_ROOT / "data" / "staging")
    )
    #: Hours after which a run folder left in staging (a killed run's) is removed by the next fetch.
    staging_max_age_hours: float = field(
        default_factory=lambda: float(os.environ.get("NEWS_ETL_STAGING_MAX_AGE_HOURS", "24"))
    )
    #: Where the snapshot and a Parquet export are published for readers on other hosts
    #: (``s3://bucket/prefix``; a new version folder each publish, then ``latest.json``); empty: off.
    publish_url: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_PUBLISH_URL", "").strip().rstrip("/"))
    #: Published versions kept under ``publish_url`` (older ones are removed after a publish).
    publish_keep: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_PUBLISH_KEEP", "5")))
    #: An Airflow connection (type ``aws``: login = access key id, password = secret key, extra
    #: ``endpoint_url``, ``region_name``) for object storage; empty: the standard AWS variables
    #: (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``).
    storage_conn_id: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_STORAGE_CONN_ID", "").strip())
    #: Posts per staged batch: the unit of work of one transform task.
    batch_size: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_BATCH_SIZE", "2000")))
    #: ... and at most about this many MB of raw posts per batch, so a batch's memory is bounded too.
    batch_mb: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_BATCH_MB", "64")))
    #: Worker processes for the transform in the CLI (the DAG maps tasks instead).
    workers: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_WORKERS", "0")) or (os.cpu_count() or 1))
    #: Seconds the load waits for another process to release the writer's file.
    lock_timeout: float = field(default_factory=lambda: float(os.environ.get("NEWS_ETL_LOCK_TIMEOUT", "60")))
    #: Memory the writer's DuckDB may use before it spills to disk (``512MB``, ``2GB``, ``25%``
    #: of the machine's). 512 MB loads 100,000 new posts as fast as 1 GB did.
    duckdb_memory: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_DUCKDB_MEMORY", "512MB").strip())
    #: A load that runs out of ``duckdb_memory`` (a first load of several hundred thousand posts)
    #: is rolled back and run once more with this much, said in the log; equal to it: no retry.
    duckdb_memory_max: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_DUCKDB_MEMORY_MAX", "50%").strip())
    #: Keep staging files after a successful run (for debugging).
    keep_staging: bool = field(default_factory=lambda: os.environ.get("NEWS_ETL_KEEP_STAGING", "") == "1")
    #: Hours the source may go without a new post before the DAG's freshness check raises the
    #: stale-source alert (measured from the newest article to the end of the run's interval);
    #: 0 turns it off. The run stays green either way: a quiet site is not a failed pipeline.
    max_source_silence_hours: float = field(
        default_factory=lambda: float(os.environ.get("NEWS_ETL_MAX_SOURCE_SILENCE_HOURS", "0"))
    )
    #: Minutes after its interval ends (00:30 site time) by which the daily run must have finished:
    #: 150 is 03:00 Asia/Shanghai (an Airflow deadline alert, read when the DAG is parsed). 0 turns
    #: it off: ``make run``, ``make bench`` and the tests' ``dag.test`` runs do, since Airflow 3.3's
    #: ``dags test`` fails a successful run of a DAG that has a deadline (apache/airflow#73428),
    #: and without a scheduler no deadline is watched anyway.
    run_deadline_minutes: float = field(
        default_factory=lambda: float(os.environ.get("NEWS_ETL_RUN_DEADLINE_MINUTES", "150"))
    )
    #: Where the git source keeps its clones (one per repository, reused by every run).
    cache: Path = field(default_factory=lambda: _env_path("NEWS_ETL_CACHE", PROJECT_ROOT / "data" / "cache"))
    #: Seconds a network source may wait for the remote before the attempt fails (the feed: the
    #: whole attempt, connect, headers and body together).
    source_timeout: float = field(default_factory=lambda: float(os.environ.get("NEWS_ETL_SOURCE_TIMEOUT", "30")))
    #: Attempts at reaching a git remote or a feed before fetch fails (the task then retries too).
    source_retries: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_SOURCE_RETRIES", "3")))
    #: Seconds before the second attempt; doubled for each further one.
    source_backoff: float = field(default_factory=lambda: float(os.environ.get("NEWS_ETL_SOURCE_BACKOFF", "2")))
    #: The token (or password) the git source sends to an http(s) remote, so the spec holds no secret;
    #: it reaches git through the environment only. Never shown (``repr=False``).
    git_token: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_GIT_TOKEN", ""), repr=False)
    #: The user name sent with ``git_token`` (GitHub accepts any name with a token).
    git_username: str = field(
        default_factory=lambda: os.environ.get("NEWS_ETL_GIT_USERNAME", "x-access-token"), repr=False
    )

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
