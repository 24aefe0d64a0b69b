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
- everything else: :class:`news_etl.settings.Settings` (environment variables).

It also holds what Airflow calls back: the failure callback, the stale-source
alert, and the deadline alert's reference time and callback. Every alert goes the same way (:func:`notify`):
one ``NEWS ETL ALERT: …`` line in the log, then the notifier the operator named
in the Variable ``news_etl_alert_notifier``.

This is the only module of ``news_etl`` that imports Airflow: the deadline
reference's base class (the DAG file imports it anyway) at the top, everything
else inside the functions Airflow calls.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from airflow.sdk.definitions.deadline import BaseDeadlineReference

from news_etl.settings import GIT_CONN_ID, SITE_TIMEZONE, SOURCE_VARIABLE, WAREHOUSE_CONN_ID, Settings

if TYPE_CHECKING:  # model imports pyarrow: not at the DAG's parse time
    from news_etl.model import Run


def warehouse_hook():
    from airflow.providers.duckdb.hooks.duckdb import DuckDBHook

    from news_etl.warehouse.snapshot import CONNECT_CONFIG

    return DuckDBHook(duckdb_conn_id=WAREHOUSE_CONN_ID, settings=CONNECT_CONFIG)


def settings() -> Settings:
    """Settings for a task: the Variable's source and the connection's warehouse file."""
    from airflow.sdk import Variable

    base = Settings()
    if base.storage_conn_id:
        from news_etl.storage import use_options

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
    """The connect function the load and publish steps use: the provider's hook (a warehouse file's
    folder is created first, as the CLI does, so a connection may name a new place)."""
    from pathlib import Path

    hook = warehouse_hook()
    database = hook.get_database()
    if not database.startswith(("md:", ":memory:")):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return hook.get_conn()


def run_identity() -> Run:
    """The pipeline's run identity from the running task's Airflow context."""
    from airflow.sdk import get_current_context

    from news_etl.pipeline import new_run

    ctx = get_current_context()
    dag_run = ctx["dag_run"]

    def iso(value):
        return value.isoformat() if value is not None else None

    # "read the site as of now" (the trigger form's param, kept in the run's conf): the moment the
    # run was triggered (its run_after, fixed in the run), so a re-run reads the same commit
    as_of_now = bool((dag_run.conf or {}).get(READ_AS_OF_NOW)) and getattr(dag_run, "run_after", None) is not None
    return new_run(
        dag_run.run_id,
        dag_run_id=dag_run.run_id,
        logical_date=iso(ctx.get("logical_date")),
        interval_start=iso(ctx.get("data_interval_start")),
        interval_end=iso(dag_run.run_after if as_of_now else ctx.get("data_interval_end")),
    )


#: The DAG's param (and run conf key): read the site as of the moment the run was triggered.
READ_AS_OF_NOW = "read_as_of_now"


@contextmanager
def fail_at_once_unless_transient():
    """Around fetch: a source error no try can mend (a path that is no folder or no repository, a
    bad spec) fails the task at once, without Airflow's retries, and so alerts now; a source that
    stayed unreachable through its own retries is left to Airflow's retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from news_etl.ingest.sources.base import SourceError

    try:
        yield
    except SourceError as exc:
        if exc.transient:
            raise
        raise AirflowFailException(f"{exc} (not retried: fix the source, then clear the task)") from exc


#: The Airflow Variable (or env ``AIRFLOW_VAR_NEWS_ETL_ALERT_NOTIFIER``) that names a notifier for
#: every alert (a failed task, a stale source, a missed deadline): JSON ``{"class": "<import path
#: of a BaseNotifier>", "kwargs": {...}}``, e.g. ``{"class":
#: "airflow.providers.smtp.notifications.smtp.SmtpNotifier", "kwargs": {"to": "ops@example.com",
#: "subject": "{{ news_etl_alert }}"}}``: its templates see the context plus ``news_etl_alert``.
ALERT_NOTIFIER_VARIABLE = "news_etl_alert_notifier"
#: The modules a notifier class may come from: the notification modules of Airflow's providers
#: (``airflow.providers.<provider>.notifications.<module>.<Class>``). The Variable is checked against
#: it before anything is imported, so a Variable cannot make the task import or run any other code.
ALERT_NOTIFIER_MODULES = re.compile(r"airflow\.providers\.(?:[a-z][a-z0-9_]*\.)+notifications\.[a-z][a-z0-9_]*")
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")


class NotifierRefused(ValueError):
    """The Variable names a class that is not an allowed notifier."""


def alert_notifier(spec_text: str):
    """The notifier the Variable's JSON names, made with its ``kwargs``; :class:`NotifierRefused`
    unless its class is in a module of :data:`ALERT_NOTIFIER_MODULES` (checked before any import)
    and is a ``BaseNotifier``."""
    import importlib
    import json

    from airflow.sdk import BaseNotifier

    spec = json.loads(spec_text)
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise NotifierRefused('the Variable must be JSON {"class": "<module>.<Notifier>", "kwargs": {...}}')
    module, _, name = spec["class"].rpartition(".")
    if not ALERT_NOTIFIER_MODULES.fullmatch(module) or not _CLASS_NAME.fullmatch(name):
        raise NotifierRefused(
            f"{spec['class']!r} is not in an allowed notifier module: name a class of a provider's "
            "notifications module, airflow.providers.<provider>.notifications.<module>.<Notifier>"
        )
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise NotifierRefused("the Variable's kwargs must be a JSON object")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseNotifier)):
        raise NotifierRefused(f"{spec['class']!r} is not a notifier (a subclass of airflow.sdk.BaseNotifier)")
    return cls(**kwargs)


def notify(context, message: str) -> None:
    """An alert: one ``NEWS ETL ALERT: <message>`` line in the log, then the notifier the operator
    configured in the Variable ``news_etl_alert_notifier`` (if any; only a provider's notifier:
    :func:`alert_notifier`), called with the context and ``news_etl_alert`` (the message). A
    notifier that is refused or fails is logged, never raised."""
    import logging

    from airflow.sdk import Variable

    log = logging.getLogger("news_etl.alert")
    log.error("NEWS ETL ALERT: %s", message)
    spec = Variable.get(ALERT_NOTIFIER_VARIABLE, default=None)
    if not spec:
        return
    try:
        notifier = alert_notifier(spec)
    except (NotifierRefused, ValueError) as exc:
        log.error("NEWS ETL ALERT: the notifier in Variable %s is refused: %s", ALERT_NOTIFIER_VARIABLE, exc)
        return
    except Exception:
        log.exception("NEWS ETL ALERT: the notifier in Variable %s could not be made", ALERT_NOTIFIER_VARIABLE)
        return
    try:
        notifier({**context, "news_etl_alert": message})
        log.error("NEWS ETL ALERT sent through %s", type(notifier).__name__)
    except Exception:
        log.exception("NEWS ETL ALERT: the notifier in Variable %s failed", ALERT_NOTIFIER_VARIABLE)


def alert_on_failure(context) -> None:
    """The DAG's failure callback: the alert for a failed task."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    task = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        task = f"{task}[{map_index}]"
    reason = context.get("exception") or context.get("reason") or "see the task log"
    notify(
        context,
        f"task {task} of run {getattr(dag_run, 'run_id', '?')} failed on try {getattr(ti, 'try_number', '?')}: "
        f"{reason}",
    )


def report_freshness(result: dict) -> dict:
    """check_freshness's ending. Fresh (or not measured, or off): the task succeeds. Stale: the
    alert, then the task ends ``skipped`` with the STALE SOURCE message, so the grid shows it
    while the run, whose data is loaded and published, stays green."""
    if not result["stale"]:
        return result
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowSkipException

    context = get_current_context()
    notify(context, f"run {context['dag_run'].run_id}: {result['message']}")
    raise AirflowSkipException(result["message"])


# --- the deadline alert: the daily run finished by 03:00 site time ----------------------------


def deadline_base(run_type: str, interval_end: datetime | None, now: datetime) -> datetime | None:
    """When a run's deadline interval starts counting: for a scheduled run, the end of its data
    interval (00:30 site time), or its creation when the scheduler creates it later than that (the
    first start of ``make airflow``, a scheduler that was down), so a late run gets the same time
    to finish instead of an alert at once. Manual and backfill runs have no deadline (None)."""
    if run_type != "scheduled" or interval_end is None:
        return None
    return max(interval_end, now)


class DailyDeadline(BaseDeadlineReference):
    """The deadline reference of the daily run (an Airflow 3 Deadline Alert; registered by the
    plugin in ``plugins/daily_deadline.py``): :func:`deadline_base` of the run being created."""

    required_kwargs = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session, **kwargs) -> datetime | None:
        from datetime import UTC

        from airflow.models import DagRun
        from sqlalchemy import select

        row = session.execute(
            select(DagRun.run_type, DagRun.data_interval_end).where(
                DagRun.dag_id == kwargs["dag_id"], DagRun.run_id == kwargs["run_id"]
            )
        ).one_or_none()
        if row is None:
            return None
        return deadline_base(str(getattr(row[0], "value", row[0])), row[1], datetime.now(UTC))


def daily_deadline():
    """The DAG's deadline alert: a scheduled run not finished ``run_deadline_minutes`` (150) after
    its interval ends at 00:30 site time, i.e. by 03:00 Asia/Shanghai, calls
    :func:`alert_on_deadline_miss`. None when ``NEWS_ETL_RUN_DEADLINE_MINUTES=0``."""
    from datetime import timedelta

    from airflow.sdk import AsyncCallback, DeadlineAlert

    minutes = Settings().run_deadline_minutes
    if minutes <= 0:
        return None
    return DeadlineAlert(
        reference=DailyDeadline(),
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(alert_on_deadline_miss),
        name="daily run finished by 03:00 Asia/Shanghai",
    )


async def alert_on_deadline_miss(context: dict, **kwargs) -> None:
    """The deadline alert's callback, run by the triggerer when the deadline passes with the run
    unfinished: the alert, naming the run, its state and the deadline in site time and UTC.

    The triggerer (not the executor) runs it: in Airflow 3.3 an executor-run callback may not read
    Variables or Connections from the metadata database (apache/airflow#66141), the triggerer may.
    The notifier is a blocking call, so it runs in a thread, off the triggerer's event loop."""
    import asyncio
    from zoneinfo import ZoneInfo

    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    if isinstance(deadline, str):
        deadline = datetime.fromisoformat(deadline)
    when = (
        f"{deadline.astimezone(ZoneInfo(SITE_TIMEZONE)):%Y-%m-%d %H:%M} {SITE_TIMEZONE} "
        f"({deadline.astimezone(ZoneInfo('UTC')):%H:%M} UTC)"
        if isinstance(deadline, datetime)
        else str(deadline)
    )
    message = (
        f"DEADLINE MISSED: run {run.get('dag_run_id') or run.get('run_id') or '?'} of {run.get('dag_id', '?')} "
        f"has not finished by {when}; it is {run.get('state', '?')}"
    )
    await asyncio.to_thread(notify, context, message)


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` for several workers on one host: the name in
    ``NEWS_ETL_WORKER_HOSTNAME`` (one per worker), else the machine's name as Airflow gives it."""
    import os
    import socket

    return os.environ.get("NEWS_ETL_WORKER_HOSTNAME") or socket.getfqdn()
