"""Many workers that share nothing but object storage, proven natively with the settings of the
compose deployment (deploy/airflow.env, the same file docker-compose.yml reads; only addresses differ):
PostgreSQL metadata, CeleryExecutor with the Redis broker, moto's S3 server (tests/s3_server.py) in
the place of MinIO, and two Celery workers that each have their own empty local folders and no
shared staging.

worker-1 is the writer's machine: it holds the source, the warehouse file and the snapshot, and is
the only worker that serves the queue ``warehouse``; worker-2 serves only the default queue. The
store's endpoint and keys reach the tasks only through an Airflow connection
(``NEWS_ETL_STORAGE_CONN_ID``): no AWS variable is set. The run stages its batches in the bucket,
the transforms spread over both workers (small batches: NEWS_ETL_BATCH_SIZE=8 makes 6 transform
tasks of the 48 sample posts), load and publish (the one-slot pool) never overlap, the warehouse
equals a local CLI run's, nothing is left under the staging prefix, worker-2 keeps no data, the
snapshot and the Parquet export are in the bucket, and the secret appears in no log.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from airflow_servers import LOGICAL_DATE, LocalAirflow, private_tmp
from conftest import SAMPLE, require
from s3_server import KEY, REGION, SECRET
from warehouse_checks import fingerprint, scalar

from news_etl.settings import WRITER_POOL, WRITER_QUEUE

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.services]

DATABASE = "news_etl_celery_test"
REDIS_DB = 11
BUCKET = "news-cluster"
AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def host_folders(base: Path, name: str) -> dict[str, Path]:
    """One worker's own local folders (all empty at the start)."""
    root = base / name
    paths = {
        "root": root,
        "warehouse": root / "warehouse.duckdb",
        "published": root / "published" / "warehouse.duckdb",
        "cache": root / "cache",
        "tmp": root / "tmp",
    }
    paths["tmp"].mkdir(parents=True)
    return paths


def start_local_run(source: Path, base: Path) -> subprocess.Popen:
    """The reference: a CLI run of the same posts folder with a local staging folder and the same
    batches (started beside the cluster's start-up, waited for before the test)."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("news-etl")),
            "run",
            "--source",
            str(source),
            "--warehouse",
            str(base / "warehouse.duckdb"),
            "--published",
            str(base / "published.duckdb"),
            "--staging",
            str(base / "staging"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NEWS_ETL_"))},
            "NEWS_ETL_BATCH_SIZE": "8",
        },
    )


def worker_env(host: dict[str, Path], name: str) -> dict[str, str]:
    return {
        "NEWS_ETL_WORKER_HOSTNAME": name,
        "AIRFLOW_CONN_NEWS_WAREHOUSE": json.dumps({"conn_type": "duckdb", "host": str(host["warehouse"])}),
        "NEWS_ETL_PUBLISHED": str(host["published"]),
        "NEWS_ETL_CACHE": str(host["cache"]),
        "TMPDIR": str(host["tmp"]),
    }


@pytest.fixture(scope="module")
def cluster(moto_s3):
    require(
        "PostgreSQL at 127.0.0.1:5432",
        reachable(5432),
        "start PostgreSQL (trust auth for user postgres on 127.0.0.1), e.g. pg_ctlcluster 15 main start",
    )
    require("Redis at 127.0.0.1:6379", reachable(6379), "start redis-server --bind 127.0.0.1 --port 6379")
    import psycopg2
    import redis

    def reset():
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.close()
        for db in (REDIS_DB, REDIS_DB + 1):
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()

    reset()
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {DATABASE}")
    admin.close()
    moto_s3.bucket(BUCKET)

    base = private_tmp("news-etl-celery-")
    writer, other = host_folders(base, "writer-host"), host_folders(base, "other-host")
    source = writer["root"] / "posts"
    shutil.copytree(SAMPLE, source)
    connection = {
        "conn_type": "aws",
        "login": KEY,
        "password": SECRET,
        "extra": {"endpoint_url": moto_s3.endpoint, "region_name": REGION},
    }
    af = LocalAirflow(
        base / "home",
        source=source,
        warehouse=writer["warehouse"],
        published=writer["published"],
        overrides={
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DATABASE}",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://127.0.0.1:6379/{REDIS_DB + 1}",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "news_etl.deployment.worker_hostname",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "NEWS_ETL_BATCH_SIZE": "8",
            "NEWS_ETL_STAGING": f"s3://{BUCKET}/staging",
            "NEWS_ETL_PUBLISH_URL": f"s3://{BUCKET}/published",
            "NEWS_ETL_STORAGE_CONN_ID": "news_object_storage",
            "AIRFLOW_CONN_NEWS_OBJECT_STORAGE": json.dumps(connection),
        },
    )
    assert af.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"  # from deploy/airflow.env
    for name in AWS_VARIABLES:  # the store is reachable only through the connection
        af.env.pop(name, None)
    af.hosts = {"writer": writer, "other": other, "base": base, "source": source}
    reference = start_local_run(source, base / "reference")
    workers = [
        (
            "worker-1",
            ["celery", "worker", "--celery-hostname", "worker-1@news-etl-test", "--queues", f"default,{WRITER_QUEUE}"],
            worker_env(writer, "worker-1"),
        ),
        (
            "worker-2",
            ["celery", "worker", "--celery-hostname", "worker-2@news-etl-test", "--queues", "default"],
            worker_env(other, "worker-2"),
        ),
    ]
    try:
        af.prepare()
        af.start(components=("api-server", "scheduler", "dag-processor"), extra=workers)
        af.wait_ready(timeout=240)
        af.unpause()
        _, err = reference.communicate(timeout=300)
        assert reference.returncode == 0, err[-3000:]
        af.reference = base / "reference" / "warehouse.duckdb"
        yield af
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()
        af.stop()
        shutil.rmtree(base, ignore_errors=True)
        reset()


def test_two_celery_workers_share_only_object_storage_and_one_writer_loads(cluster, moto_s3):
    started = time.monotonic()
    before = len(moto_s3.requests())
    run_id = cluster.trigger(LOGICAL_DATE, run_id="test_celery_run")
    run = cluster.wait_run(run_id, timeout=600)
    tis = cluster.task_instances(run_id)
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]
    print(f"the triggered run took {time.monotonic() - started:.1f}s")

    # transforms on both workers; everything that touches the writer's file on the writer's worker
    transforms = [t for t in tis if t["task_id"] == "transform"]
    assert len(transforms) == 6  # 48 posts in batches of 8
    assert {t["hostname"] for t in transforms} == {"worker-1", "worker-2"}, sorted(
        (t["map_index"], t["hostname"]) for t in transforms
    )
    writers = {t["task_id"]: t["hostname"] for t in tis if t["task_id"] != "transform"}
    assert set(writers) == {"fetch", "validate", "load", "publish", "check_freshness"}
    assert set(writers.values()) == {"worker-1"}, writers
    assert {t["queue"] for t in tis if t["task_id"] != "transform"} == {WRITER_QUEUE}

    # the writer's tasks ran one at a time (pool duckdb_writer, one slot)
    pooled = sorted((t for t in tis if t["pool"] == WRITER_POOL), key=lambda t: t["start_date"])
    assert [t["task_id"] for t in pooled] == ["load", "publish", "check_freshness"]
    for a, b in zip(pooled, pooled[1:], strict=False):
        assert a["end_date"] <= b["start_date"], (a, b)

    # the warehouse equals a local run's; the staging prefix is empty; worker-2 keeps no data
    writer, other = cluster.hosts["writer"], cluster.hosts["other"]
    assert fingerprint(writer["warehouse"]) == fingerprint(cluster.reference)
    assert scalar(writer["published"], "SELECT count(*) FROM articles") == 43
    assert moto_s3.keys(f"{BUCKET}/staging") == []
    kept = [p for p in other["root"].rglob("*") if p.suffix in (".duckdb", ".parquet", ".md", ".json")]
    assert kept == [], kept

    # the snapshot and the Parquet export are in the bucket, and latest.json names them
    fs = moto_s3.fs()
    latest = json.loads(fs.cat_file(f"{BUCKET}/published/latest.json"))
    assert latest["run_id"] == run_id
    snapshot = fs.cat_file(f"{BUCKET}/published/{latest['snapshot']}")
    assert hashlib.sha256(snapshot).hexdigest() == latest["snapshot_sha256"]
    assert snapshot == writer["published"].read_bytes()
    manifest = json.loads(fs.cat_file(f"{BUCKET}/published/{latest['parquet_manifest']}"))
    exported = {f["table"]: f["rows"] for f in manifest["files"]}
    assert exported["articles"] == 43
    assert sorted(moto_s3.keys(f"{BUCKET}/published/{latest['parquet']}")) == sorted(
        [f"{BUCKET}/published/{latest['parquet']}{f['file']}" for f in manifest["files"]]
        + [f"{BUCKET}/published/{latest['parquet_manifest']}"]
    )

    requests = moto_s3.requests()[before:]
    staged = [r for r in requests if r[1].startswith(f"/{BUCKET}/staging")]
    print(f"object storage requests: {len(requests)} in all, {len(staged)} for staging (6 batches, 48 posts)")

    # the store's secret is in no log and no file the deployment wrote
    for path in [*cluster.home.rglob("*"), *writer["root"].rglob("*"), *other["root"].rglob("*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
