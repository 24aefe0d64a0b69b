"""Many workers, proven natively: PostgreSQL metadata, CeleryExecutor with the Redis broker, two
Celery workers, with the settings of the compose deployment (deploy/airflow.env, the same file
docker-compose.yml reads; only addresses differ: 127.0.0.1 instead of the compose services).

Triggers the DAG through /api/v2 with small batches (NEWS_ETL_BATCH_SIZE=8: the 48 sample posts
make 6 transform tasks), then checks from the REST API that transforms ran on both workers, that
load, publish and check_freshness (the one-slot pool) never overlapped, and that the warehouse equals the one the
local mode builds (dag.test on the same posts).
"""

from __future__ import annotations

import shutil
import socket
from datetime import datetime

import pytest
from airflow_servers import LOGICAL_DATE, LocalAirflow, airflow_paths, private_tmp
from conftest import ROOT, require
from warehouse_checks import fingerprint, scalar

from news_etl.config import DAG_ID, WRITER_POOL

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.services]

DATABASE = "news_etl_celery_test"
REDIS_DB = 11


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster():
    require(
        "PostgreSQL at 127.0.0.1:5432",
        reachable(5432),
        "start PostgreSQL (trust auth for user postgres on 127.0.0.1), e.g. pg_ctlcluster 15 main start",
    )
    require("Redis at 127.0.0.1:6379", reachable(6379), "start redis-server --bind 127.0.0.1 --port 6379")
    import psycopg2
    import redis

    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DATABASE}")
    for db in (REDIS_DB, REDIS_DB + 1):
        redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()

    base = private_tmp("news-etl-celery-")
    paths = airflow_paths(base)
    pg = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DATABASE}"
    af = LocalAirflow(
        paths["home"],
        source=paths["source"],
        warehouse=paths["warehouse"],
        published=paths["published"],
        staging=paths["staging"],
        overrides={
            # what docker-compose.yml sets, pointed at 127.0.0.1
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://127.0.0.1:6379/{REDIS_DB + 1}",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "news_etl.deployment.worker_hostname",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "NEWS_ETL_BATCH_SIZE": "8",
        },
    )
    assert af.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"  # from deploy/airflow.env
    af.paths = paths
    workers = [
        (
            f"worker-{i}",
            ["celery", "worker", "--celery-hostname", f"worker-{i}@news-etl-test"],
            {"NEWS_ETL_WORKER_HOSTNAME": f"worker-{i}"},
        )
        for i in (1, 2)
    ]
    try:
        af.prepare()
        af.start(components=("api-server", "scheduler", "dag-processor"), extra=workers)
        af.wait_ready(timeout=240)
        af.unpause()
        yield af
    finally:
        af.stop()
        shutil.rmtree(base, ignore_errors=True)
        admin_close = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
        admin_close.autocommit = True
        with admin_close.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin_close.close()
        admin.close()
        for db in (REDIS_DB, REDIS_DB + 1):
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()


@pytest.fixture(scope="module")
def local_reference(cluster, airflow_home, tmp_path_factory, monkeypatch_module):
    """The warehouse the local mode builds from the same posts folder (dag.test, one process,
    one batch)."""
    from airflow.dag_processing.dagbag import DagBag

    base = tmp_path_factory.mktemp("local-reference")
    paths = airflow_paths(base)
    monkeypatch_module.setenv("AIRFLOW_VAR_NEWS_ETL_SOURCE", str(cluster.paths["source"]))
    monkeypatch_module.setenv(
        "AIRFLOW_CONN_NEWS_WAREHOUSE", '{{"conn_type": "duckdb", "host": "{}"}}'.format(paths["warehouse"])
    )
    monkeypatch_module.setenv("NEWS_ETL_PUBLISHED", str(paths["published"]))
    monkeypatch_module.setenv("NEWS_ETL_STAGING", str(paths["staging"]))
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags[DAG_ID]
    run = dag.test(logical_date=datetime.fromisoformat(LOGICAL_DATE))
    assert str(run.state).endswith("success")
    return paths


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_two_celery_workers_share_the_transforms_and_one_writer_loads(cluster, local_reference):
    run_id = cluster.trigger(LOGICAL_DATE, run_id="test_celery_run")
    run = cluster.wait_run(run_id, timeout=600)
    tis = cluster.task_instances(run_id)
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]

    transforms = [t for t in tis if t["task_id"] == "transform"]
    assert len(transforms) == 6  # 48 posts in batches of 8
    assert {t["hostname"] for t in transforms} == {"worker-1", "worker-2"}, sorted(
        (t["map_index"], t["hostname"]) for t in transforms
    )
    assert {t["hostname"] for t in tis} <= {"worker-1", "worker-2"}

    # the writer's tasks ran one at a time (pool duckdb_writer, one slot)
    writers = sorted((t for t in tis if t["pool"] == WRITER_POOL), key=lambda t: t["start_date"])
    assert [t["task_id"] for t in writers] == ["load", "publish", "check_freshness"]
    for a, b in zip(writers, writers[1:], strict=False):
        assert a["end_date"] <= b["start_date"], (a, b)

    # the same warehouse as the local mode
    assert scalar(cluster.paths["published"], "SELECT count(*) FROM articles") == 43
    assert fingerprint(cluster.paths["warehouse"]) == fingerprint(local_reference["warehouse"])
