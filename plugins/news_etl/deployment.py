"""The thin adapter between Airflow and the pipeline: where a deployment's
settings come from when the pipeline runs inside Airflow.

- the source: the Airflow Variable ``news_etl_source`` (set it in the UI, or
  with the environment variable ``AIRFLOW_VAR_NEWS_ETL_SOURCE``); unset, the
  embedded sample posts;
- the warehouse: the Airflow connection ``news_warehouse`` (type ``duckdb``,
  host = the writer's file), opened with the official DuckDB provider's hook;
  set it in the UI or with ``AIRFLOW_CONN_NEWS_WAREHOUSE``;
- the git source's credentials, if any: the Airflow connection ``news_etl_git``
  (login = user, password = token), else ``NEWS_ETL_GIT_TOKEN``;
- object storage (``NEWS_ETL_STAGING``/``NEWS_ETL_PUBLISH_URL`` = ``s3://…``): the standard AWS
  variables, or the Airflow connection named by ``NEWS_ETL_STORAGE_CONN_ID`` (see
  :func:`storage_options`), handed to the pipeline as fsspec options for the task's process;
- everything else: :class:`news_etl.config.Settings` (environment variables).

This is the only module of ``news_etl`` that imports Airflow, and only
inside functions that run in tasks.
"""

from __future__ import annotations

from .config import GIT_CONN_ID, SOURCE_VARIABLE, WAREHOUSE_CONN_ID, Settings


def warehouse_hook():
    from airflow.providers.duckdb.hooks.duckdb import DuckDBHook

    return DuckDBHook(duckdb_conn_id=WAREHOUSE_CONN_ID)


def settings() -> Settings:
    """Settings for a task: the Variable's source and the connection's warehouse file."""
    from airflow.sdk import Variable

    base = Settings()
    if base.storage_conn_id:
        from .storage import use_options

        use_options(storage_options(base.storage_conn_id))
    source = Variable.get(SOURCE_VARIABLE, default=None) or base.source
    database = warehouse_hook().get_database()
    silence = _run_conf().get("max_source_silence_hours")  # a run may set its own freshness limit
    if silence is not None:
        base = base.with_(max_source_silence_hours=float(silence))
    git = _git_connection()
    if git is not None and git.password:
        base = base.with_(git_username=git.login or base.git_username, git_token=git.password)
    if database.startswith(("md:", "motherduck:", ":memory:")) or not database:
        raise ValueError(
            f"connection {WAREHOUSE_CONN_ID!r} must name a DuckDB file on this machine (host = the file), "
            f"not {database!r}: publish copies the writer's file, and hosted DuckDB is not supported"
        )
    return base.with_(source=source, warehouse=database)


def _git_connection():
    """The connection ``news_etl_git`` (Airflow masks its password in task logs), or None."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(GIT_CONN_ID)
    except AirflowNotFoundException:
        return None


def storage_options(conn_id: str) -> dict:
    """fsspec/s3fs options from an Airflow connection of type ``aws``: login = access key id,
    password = secret access key, extra ``endpoint_url`` (MinIO, moto, another S3 API),
    ``region_name``, ``aws_session_token``. Kept in memory only: never logged or written."""
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    extra = conn.extra_dejson
    options: dict = {}
    if conn.login:
        options["key"] = conn.login
    if conn.password:
        options["secret"] = conn.password
    if extra.get("aws_session_token"):
        options["token"] = extra["aws_session_token"]
    if extra.get("endpoint_url"):
        options["endpoint_url"] = extra["endpoint_url"]
    if extra.get("region_name"):
        options["client_kwargs"] = {"region_name": extra["region_name"]}
    return options


def _run_conf() -> dict:
    from airflow.sdk import get_current_context

    try:
        return dict(get_current_context()["dag_run"].conf or {})
    except Exception:  # noqa: BLE001 - outside a task there is no run
        return {}


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

    return new_run(
        dag_run.run_id,
        dag_run_id=dag_run.run_id,
        logical_date=iso(ctx.get("logical_date")),
        interval_start=iso(ctx.get("data_interval_start")),
        interval_end=iso(ctx.get("data_interval_end")),
    )


#: The Airflow Variable (or env ``AIRFLOW_VAR_NEWS_ETL_ALERT_NOTIFIER``) that names a notifier for
#: failures: JSON ``{"class": "<import path of a BaseNotifier>", "kwargs": {...}}``, e.g.
#: ``{"class": "airflow.providers.smtp.notifications.smtp.SmtpNotifier", "kwargs": {"to": "ops@example.com"}}``.
ALERT_NOTIFIER_VARIABLE = "news_etl_alert_notifier"


def alert_on_failure(context) -> None:
    """The DAG's failure callback: one clear ``NEWS ETL ALERT`` line in the log, then the
    notifier the operator configured in the Variable ``news_etl_alert_notifier`` (if any)."""
    import importlib
    import json
    import logging

    from airflow.sdk import Variable

    log = logging.getLogger("news_etl.alert")
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    task = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        task = f"{task}[{map_index}]"
    log.error(
        "NEWS ETL ALERT: task %s of run %s failed on try %s: %s",
        task,
        getattr(dag_run, "run_id", "?"),
        getattr(ti, "try_number", "?"),
        context.get("exception") or context.get("reason") or "see the task log",
    )
    spec = Variable.get(ALERT_NOTIFIER_VARIABLE, default=None)
    if not spec:
        return
    try:
        spec = json.loads(spec)
        module, _, name = spec["class"].rpartition(".")
        notifier = getattr(importlib.import_module(module), name)(**spec.get("kwargs", {}))
        notifier(context)
        log.error("NEWS ETL ALERT sent through %s", spec["class"])
    except Exception:
        log.exception("NEWS ETL ALERT: the notifier in Variable %s failed", ALERT_NOTIFIER_VARIABLE)


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` for several workers on one host: the name in
    ``NEWS_ETL_WORKER_HOSTNAME`` (one per worker), else the machine's name as Airflow gives it."""
    import os
    import socket

    return os.environ.get("NEWS_ETL_WORKER_HOSTNAME") or socket.getfqdn()
