"""Shared test set-up.

- ``corpus_dir``: the real finews posts in ``../shared/corpus`` (read at test time, never copied).
- ``sample_dir``: the project's own embedded sample posts.
- ``airflow_env``: an Airflow home of the test session (SQLite, the writer pool), and per test a
  warehouse, snapshot and staging folder in ``tmp_path`` wired through the same environment
  variables a deployment uses.
- ``require(...)``: tests that need an outside part (PostgreSQL, Redis, Chromium) use the real one;
  missing on a user's machine they are skipped with how to get it; under CI=true they fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from news_etl.settings import WRITER_POOL

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "posts"
SAMPLE = ROOT / "data" / "sample_posts"
IN_CI = os.environ.get("CI", "").lower() == "true"

# Airflow reads its configuration at import: point it at a session home before anything imports it.
# one home per checkout (two clones or worktrees testing at once never share a metadata database)
_CHECKOUT = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
_SESSION_HOME = Path(
    os.environ.get("NEWS_ETL_TEST_AIRFLOW_HOME", f"/tmp/news-etl-test-airflow-home-{os.getuid()}-{_CHECKOUT}")
)
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SESSION_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_SESSION_HOME}/airflow.db",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "GX_ANALYTICS_ENABLED": "False",
        # dag.test fails a successful run of a DAG with a deadline (apache/airflow#73428): the
        # in-process runs go without it; the real Airflow servers turn it on (airflow_servers.py)
        "NEWS_ETL_RUN_DEADLINE_MINUTES": "0",
    }
)


def require(what: str, available: bool, how: str) -> None:
    """Skip (or, under CI=true, fail) a test whose outside part is missing."""
    if available:
        return
    message = f"{what} is not available here: {how}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing part fails the run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    require(
        "the real corpus ../shared/corpus/posts",
        CORPUS.is_dir(),
        "check out the project beside the shared/ folder that holds corpus/",
    )
    return CORPUS


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


def settings_in(folder: Path, source: str | Path, **changes):
    """The settings of runs kept inside ``folder`` (their own warehouse ``w.duckdb``, snapshot
    ``p.duckdb``, staging and git cache), one worker, quick retries; ``changes`` override any."""
    from news_etl.settings import Settings

    base = {
        "source": str(source),
        "warehouse": folder / "w.duckdb",
        "published": folder / "p.duckdb",
        "staging": folder / "staging",
        "cache": folder / "cache",
        "workers": 1,
        "source_backoff": 0.01,
    }
    return Settings().with_(**{**base, **changes})


def post_of(content: str | bytes, name: str = "2026-11-20-x.md", source: str = "test"):
    """A post file as a source hands it to the transform: ``content`` (text is UTF-8) at ``name``."""
    from news_etl.model import RawPost

    raw = content.encode("utf-8") if isinstance(content, str) else content
    return RawPost(source=source, path=name, raw=raw, content_hash=hashlib.sha256(raw).hexdigest())


def raw_post(path: Path, name: str | None = None):
    from news_etl.model import RawPost

    data = path.read_bytes()
    return RawPost(source="test", path=name or path.name, raw=data, content_hash=hashlib.sha256(data).hexdigest())


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """A migrated Airflow metadata database with the writer pool, once per session."""
    marker = _SESSION_HOME / ".ready"
    if not marker.exists():
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)
        _SESSION_HOME.mkdir(parents=True)
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
        subprocess.run(
            [str(airflow), "pools", "set", WRITER_POOL, "1", "DuckDB writer"],
            check=True,
            capture_output=True,
            env=os.environ.copy(),
        )
        marker.touch()
    return _SESSION_HOME


@pytest.fixture
def airflow_env(airflow_home, tmp_path, monkeypatch):
    """Per test: source, warehouse, snapshot and staging in tmp_path, set as a deployment sets them."""
    paths = {
        "source": tmp_path / "posts",
        "warehouse": tmp_path / "warehouse.duckdb",
        "published": tmp_path / "published" / "warehouse.duckdb",
        "staging": tmp_path / "staging",
    }
    shutil.copytree(SAMPLE, paths["source"])
    monkeypatch.setenv("AIRFLOW_VAR_NEWS_ETL_SOURCE", str(paths["source"]))
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWS_WAREHOUSE", '{{"conn_type": "duckdb", "host": "{}"}}'.format(paths["warehouse"])
    )
    monkeypatch.setenv("NEWS_ETL_PUBLISHED", str(paths["published"]))
    monkeypatch.setenv("NEWS_ETL_STAGING", str(paths["staging"]))
    return paths


# Real Airflow servers shared by the local-mode and browser tests (tests/airflow_servers.py).
from airflow_servers import local_airflow, local_airflow_run  # noqa: E402,F401

# A real browser (Debian's Chromium through Playwright) for the UI tests (tests/chromium.py).
from chromium import browser, page  # noqa: E402,F401

# moto's S3 server, a real S3 API for the object-storage tests (tests/s3_server.py).
from s3_server import moto_s3  # noqa: E402,F401
