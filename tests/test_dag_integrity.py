"""The DAG folder imports cleanly, the DAG has the promised shape, and parsing it is cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from news_etl.settings import DAG_ID, SITE_TIMEZONE, SOURCE_VARIABLE, WRITER_POOL

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[DAG_ID]


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {DAG_ID}


def test_tasks_and_order(dag):
    assert set(dag.task_ids) == {"fetch", "transform", "validate", "load", "publish", "check_freshness"}
    down = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "fetch": ["transform"],
        "transform": ["load", "validate"],
        "validate": ["load"],
        "load": ["publish"],
        "publish": ["check_freshness"],
        "check_freshness": [],
    }


def test_transform_is_mapped_over_batches(dag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dag.get_task("transform"), MappedOperator)


def test_retries_pool_and_assets(dag):
    fetch = dag.get_task("fetch")
    assert fetch.retries >= 2 and fetch.retry_exponential_backoff
    assert dag.get_task("load").pool == WRITER_POOL
    assert dag.get_task("publish").pool == WRITER_POOL
    assert [a.name for a in dag.get_task("load").outlets] == ["news_warehouse"]
    assert dag.max_active_runs == 1


def test_timetable_is_daily_interval_in_shanghai(dag):
    from airflow.sdk import CronDataIntervalTimetable

    timetable = dag.timetable
    assert type(timetable).__name__ == CronDataIntervalTimetable.__name__
    assert timetable.expression == "30 0 * * *"
    assert str(getattr(timetable.timezone, "name", timetable.timezone)) == SITE_TIMEZONE


def test_docs_are_shown_in_the_ui(dag):
    assert "fetch" in dag.doc_md and SOURCE_VARIABLE in dag.doc_md
    for task in dag.tasks:
        partial = getattr(task, "partial_kwargs", {})  # a mapped task keeps its callable here
        callable_ = getattr(task, "python_callable", None) or partial.get("python_callable")
        doc = task.doc_md or (callable_.__doc__ if callable_ else None)
        assert (doc or "").strip(), f"task {task.task_id} has no docstring"


def test_parsing_imports_nothing_heavy():
    code = (
        "import importlib.util, json, sys, time\n"
        f"sys.path.insert(0, {str(ROOT / 'plugins')!r})\n"
        f"spec = importlib.util.spec_from_file_location('dagfile', {str(ROOT / 'dags' / 'news_etl_daily.py')!r})\n"
        "t = time.perf_counter(); before = set(sys.modules)\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "heavy = sorted({n.split('.')[0] for n in set(sys.modules) - before} & "
        "{'great_expectations', 'pandas', 'bs4', 'duckdb', 'pyarrow', 'lxml', 'numpy'})\n"
        "print(json.dumps({'heavy': heavy, 'seconds': time.perf_counter() - t}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []


def test_the_deadline_alert_is_the_daily_runs_by_three_in_the_morning():
    """With the deadline on (as every Airflow deployment runs it; the test session turns it off for
    dag.test), the DAG carries one deadline alert: the custom reference, 2 h 30 min, the triggerer's
    callback, and it serializes as the dag-processor writes it."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'plugins')!r})\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "from airflow.serialization.serialized_objects import DagSerialization\n"
        f"dag = DagBag(dag_folder={str(ROOT / 'dags')!r}).dags['news_etl_daily']\n"
        "print(json.dumps(DagSerialization.to_dict(dag)['dag']['deadline'], default=str))\n"
    )
    env = {**os.environ, "NEWS_ETL_RUN_DEADLINE_MINUTES": "150"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    (alert,) = json.loads(out.stdout.strip().splitlines()[-1])
    assert alert["reference"] == {
        "reference_type": "DailyDeadline",
        "__class_path": "news_etl.deployment.DailyDeadline",
    }
    assert alert["interval"]["__data__"] == 9000.0  # 2 h 30 min after the 00:30 interval end: 03:00
    assert alert["callback"]["__classname__"].endswith("AsyncCallback")
    assert alert["callback"]["__data__"]["path"] == "news_etl.deployment.alert_on_deadline_miss"
