"""The thin adapter between Airflow and the pipeline: where a deployment's
settings come from when the pipeline runs inside Airflow.

- the source: the Airflow Variable ``news_etl_source`` (set it in the UI, or
  with the environment variable ``AIRFLOW_VAR_NEWS_ETL_SOURCE``); unset, the
  embedded sample posts;
- the warehouse: the Airflow connection ``news_warehouse`` (type ``duckdb``,
  host = the writer's file), opened with the official DuckDB provider's hook;
  set it in the UI or with ``AIRFLOW_CONN_NEWS_WAREHOUSE``;
- everything else: :class:`news_etl.config.Settings` (environment variables).

This is the only module of ``news_etl`` that imports Airflow, and only
inside functions that run in tasks.
"""

from __future__ import annotations

from .config import SOURCE_VARIABLE, WAREHOUSE_CONN_ID, Settings


def warehouse_hook():
    from airflow.providers.duckdb.hooks.duckdb import DuckDBHook

    return DuckDBHook(duckdb_conn_id=WAREHOUSE_CONN_ID)


def settings() -> Settings:
    """Settings for a task: the Variable's source and the connection's warehouse file."""
    from airflow.sdk import Variable

    base = Settings()
    source = Variable.get(SOURCE_VARIABLE, default=None) or base.source
    database = warehouse_hook().get_database()
    return base.with_(source=source, warehouse=None if database.startswith(("md:", ":memory:")) else database)


def connect():
    """The connect function the load and publish steps use: the provider's hook."""
    return warehouse_hook().get_conn()


def run_identity() -> dict:
    """The pipeline's run identity from the running task's Airflow context."""
    from airflow.sdk import get_current_context

    from .pipeline import new_run

    ctx = get_current_context()
    dag_run = ctx["dag_run"]

    def iso(value):
        return value.isoformat() if value is not None else None

    return new_run(dag_run.run_id, dag_run_id=dag_run.run_id, logical_date=iso(ctx.get("logical_date")),
                   interval_start=iso(ctx.get("data_interval_start")), interval_end=iso(ctx.get("data_interval_end")))
