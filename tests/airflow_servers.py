"""Real Airflow servers for the tests, started once per session and shared.

``local_airflow``: the same launcher ``make airflow`` uses (scripts/airflow_local.py), with its own
home, port, warehouse and source under a session temp folder: api-server, scheduler and
dag-processor with the LocalExecutor on SQLite. The scheduler's own cron scheduling is off
(``use_job_schedule``), so the only runs are the ones a test triggers through ``/api/v2``.

``local_airflow_run``: one run of the daily DAG triggered through the REST API and run by the
scheduler to success; the local-mode and browser tests read the same run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from airflow_local import LocalAirflow  # noqa: E402

#: The logical date the tests trigger: the same day tests/test_e2e_dag.py runs with dag.test.
LOGICAL_DATE = "2026-11-25T00:00:00+00:00"


def airflow_paths(base: Path) -> dict:
    paths = {
        "home": base / "home",
        "source": base / "posts",
        "warehouse": base / "warehouse.duckdb",
        "published": base / "published" / "warehouse.duckdb",
        "staging": base / "staging",
    }
    shutil.copytree(ROOT / "data" / "sample_posts", paths["source"])
    return paths


def private_tmp(prefix: str) -> Path:
    """A folder of our own for a running server (pytest's basetemp is pruned by parallel sessions)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


@contextmanager
def running_airflow(prefix: str, **overrides: str) -> Iterator[LocalAirflow]:
    """A local Airflow (api-server, scheduler, dag-processor) in a fresh private folder, ready and
    the DAG unpaused; no schedule of its own (runs are triggered), ``overrides`` in its environment.
    Stopped and removed afterwards (kept with NEWS_ETL_KEEP_TEST_AIRFLOW=1)."""
    base = private_tmp(prefix)
    paths = airflow_paths(base)
    af = LocalAirflow(
        paths["home"],
        source=paths["source"],
        warehouse=paths["warehouse"],
        published=paths["published"],
        staging=paths["staging"],
        overrides={"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False", **overrides},
    )
    af.paths = paths
    try:
        af.prepare()
        af.start(components=("api-server", "scheduler", "dag-processor"))
        af.wait_ready()
        af.unpause()
        yield af
    finally:
        af.stop()
        if os.environ.get("NEWS_ETL_KEEP_TEST_AIRFLOW") != "1":
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def local_airflow():
    with running_airflow("news-etl-local-airflow-", NEWS_ETL_RUN_DEADLINE_MINUTES="150") as af:
        yield af


@pytest.fixture(scope="session")
def local_airflow_run(local_airflow):
    """(airflow, run id, the run as the REST API returns it) of one successful triggered run."""
    run_id = local_airflow.trigger(LOGICAL_DATE, run_id="test_rest_trigger")
    run = local_airflow.wait_run(run_id, timeout=600)
    if run["state"] != "success":
        logs = {ti["task_id"]: ti["state"] for ti in local_airflow.task_instances(run_id)}
        pytest.fail(f"run {run_id} ended {run['state']}: {logs}\n{local_airflow.tail('scheduler')}")
    return local_airflow, run_id, run
