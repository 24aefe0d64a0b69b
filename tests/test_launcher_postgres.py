"""The launcher of ``make airflow`` (scripts/airflow_local.py) on PostgreSQL, not only SQLite: the
metadata database migrated, the pool, the warehouse connection and the source Variable configured
through the REST API, and a run triggered through it green in the scheduler.

PostgreSQL at 127.0.0.1:5432 with trust auth for user ``postgres``; the test makes a database of its
own and drops it after.
"""

from __future__ import annotations

import pytest
from airflow_servers import running_airflow
from conftest import require
from warehouse_checks import rows

from news_etl.settings import WRITER_POOL

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(900)]

DATABASE = "news_etl_launcher_test"


def reachable(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def admin(sql: str) -> None:
    import psycopg2

    con = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


@pytest.fixture(scope="module")
def postgres_airflow():
    require(
        "PostgreSQL at 127.0.0.1:5432",
        reachable(5432),
        "start PostgreSQL (trust auth for user postgres on 127.0.0.1), e.g. pg_ctlcluster 15 main start",
    )
    admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin(f"CREATE DATABASE {DATABASE}")
    try:
        with running_airflow(
            "news-etl-launcher-pg-",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DATABASE}",
            NEWS_ETL_RUN_DEADLINE_MINUTES="0",
        ) as af:
            yield af
    finally:
        admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def test_the_launcher_configures_and_runs_on_postgresql(postgres_airflow):
    af = postgres_airflow
    assert "sqlite" not in af.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "PYTHONPATH" not in af.env or "deploy" not in af.env["PYTHONPATH"]  # SQLite's settings only
    pools = {p["name"]: p["slots"] for p in af.api("GET", "/api/v2/pools")["pools"]}
    assert pools[WRITER_POOL] == 1
    conn = af.api("GET", "/api/v2/connections/news_warehouse")
    assert (conn["conn_type"], conn["host"]) == ("duckdb", str(af.paths["warehouse"]))
    assert af.api("GET", "/api/v2/variables/news_etl_source")["value"] == str(af.paths["source"])
    run_id = af.trigger("2026-11-25T00:00:00+00:00", run_id="test_on_postgres")
    run = af.wait_run(run_id, timeout=600)
    assert run["state"] == "success", {ti["task_id"]: ti["state"] for ti in af.task_instances(run_id)}
    assert rows(af.paths["published"], "SELECT count(*) FROM articles") == [(43,)]
