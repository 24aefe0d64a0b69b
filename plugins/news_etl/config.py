"""Settings and their defaults, in one place.

Every setting has a default that runs the embedded sample posts, and an
environment variable that overrides it. The DAG reads the source and the
warehouse from Airflow (a Variable and a connection, see ``dags/``) and
passes them in; the CLI takes flags. Nothing here imports anything heavy:
the DAG file imports this module at parse time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

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
#: freshness is never measured: see news_etl/freshness.py).
SAMPLE_POSTS = PROJECT_ROOT / "data" / "sample_posts"

#: The site's timezone: naive dates in posts are local times here, and
#: ``published_date`` and the DAG's daily intervals are days here.
SITE_TIMEZONE = "Asia/Shanghai"

#: Airflow names, shared by the DAG, the Makefile and the compose file.
DAG_ID = "news_etl_daily"
WRITER_POOL = "duckdb_writer"
WAREHOUSE_CONN_ID = "news_warehouse"
SOURCE_VARIABLE = "news_etl_source"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Where posts come from and where everything goes.

    ``source`` is a source spec: a folder path (``dir``), ``git+<url or path>``
    or ``feed+<url>``; see :func:`news_etl.sources.open_source`.
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
    staging: Path = field(default_factory=lambda: _env_path("NEWS_ETL_STAGING", PROJECT_ROOT / "data" / "staging"))
    #: Posts per staged batch: the unit of work of one transform task.
    batch_size: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_BATCH_SIZE", "2000")))
    #: Worker processes for the transform in the CLI (the DAG maps tasks instead).
    workers: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_WORKERS", "0")) or (os.cpu_count() or 1))
    #: Seconds the load waits for another process to release the writer's file.
    lock_timeout: float = field(default_factory=lambda: float(os.environ.get("NEWS_ETL_LOCK_TIMEOUT", "60")))
    #: Memory the writer's DuckDB may use before it spills to disk (``512MB``, ``2GB``, ...).
    duckdb_memory: str = field(default_factory=lambda: os.environ.get("NEWS_ETL_DUCKDB_MEMORY", "1GB").strip())
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
    #: Seconds a network source (git, feed) may wait for the remote before the attempt fails.
    source_timeout: float = field(default_factory=lambda: float(os.environ.get("NEWS_ETL_SOURCE_TIMEOUT", "30")))
    #: Attempts at reaching a git remote or a feed before fetch fails (the task then retries too).
    source_retries: int = field(default_factory=lambda: int(os.environ.get("NEWS_ETL_SOURCE_RETRIES", "3")))
    #: Seconds before the second attempt; doubled for each further one.
    source_backoff: float = field(default_factory=lambda: float(os.environ.get("NEWS_ETL_SOURCE_BACKOFF", "2")))

    def with_(self, **changes) -> Settings:
        """A copy with some settings changed (paths are resolved)."""
        for key in ("warehouse", "published", "staging", "cache"):
            if changes.get(key) is not None:
                changes[key] = Path(changes[key]).expanduser().resolve()
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
