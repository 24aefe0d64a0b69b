"""Local Airflow for real: the scheduler (not a test helper) runs the daily DAG, triggered through /api/v2.

Shares one running Airflow (api-server, scheduler, dag-processor; LocalExecutor, SQLite) with the
browser test: see tests/airflow_servers.py.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
import yaml
from conftest import ROOT
from warehouse_checks import rows, scalar

from news_etl.settings import DAG_ID, WRITER_POOL

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

EXPECTED = yaml.safe_load((ROOT / "tests" / "data" / "sample_expected.yaml").read_text(encoding="utf-8"))


def test_the_scheduler_runs_a_run_triggered_through_the_rest_api(local_airflow_run):
    af, run_id, run = local_airflow_run
    assert run["state"] == "success"
    assert run["run_type"] == "manual"
    tis = af.task_instances(run_id)
    assert {ti["task_id"] for ti in tis} >= {"fetch", "transform", "validate", "load", "publish"}
    assert all(ti["state"] == "success" for ti in tis), [(ti["task_id"], ti["state"]) for ti in tis]
    # the writer's tasks ran in the one-slot pool
    assert {ti["pool"] for ti in tis if ti["task_id"] in ("load", "publish")} == {WRITER_POOL}


def test_the_warehouse_holds_the_run(local_airflow_run):
    af, run_id, _ = local_airflow_run
    snapshot = af.paths["published"]
    assert scalar(snapshot, "SELECT count(*) FROM articles") == EXPECTED["articles"]
    assert scalar(snapshot, "SELECT count(*) FROM rejects") == len(EXPECTED["rejects"])
    assert rows(snapshot, "SELECT dag_run_id, status, posts_seen, articles_new FROM etl_runs") == [
        (run_id, "published", 48, EXPECTED["articles"])
    ]
    # the writer's file and the snapshot agree
    assert scalar(af.paths["warehouse"], "SELECT count(*) FROM articles") == EXPECTED["articles"]


def test_task_logs_say_what_each_step_did_in_numbers(local_airflow_run):
    af, run_id, _ = local_airflow_run
    fetch = af.task_log(run_id, "fetch")
    # one fact a line, site time beside UTC
    assert "fetch: as of 2026-11-25 00:30 Asia/Shanghai (2026-11-24 16:30 UTC) (the end of the run's interval)" in fetch
    assert re.search(r"fetch: revision sha256:\w+ \(a first load\)", fetch), fetch[-2000:]
    assert "fetch: 48 post files in the source" in fetch and "fetch: 48 to load: 48 new or changed, 0 moved" in fetch
    assert re.search(r"fetch: 1 batch\(es\) staged in [\d.]+s", fetch), fetch[-2000:]
    # no deprecation warning opens the task log (the plugins' .airflowignore in the glob syntax did)
    assert "deprecated" not in fetch.lower(), fetch[:2000]
    transform = af.task_log(run_id, "transform", map_index=0)
    assert re.search(r"48 posts → 43 articles, 5 rejects \(1 bad YAML at line 3, .*\), [\d.]+s", transform), transform[
        -2000:
    ]
    validate = af.task_log(run_id, "validate")
    assert re.search(r"validate: \d+ expectation results, 0 hard failures", validate), validate[-2000:]
    load = af.task_log(run_id, "load")
    assert re.search(
        r"load: wrote revision sha256:\w+ of dir:.*: 43 new, 0 updated, 0 moved, 0 unchanged, 0 deleted, 0 revived, "
        r"5 rejects \(1 bad YAML at line 3, .*\), [\d.]+s",
        load,
    ), load[-2000:]
    # Great Expectations' registration noise is silenced: the validate log is a handful of lines
    assert validate.count("great_expectations") == 0 and len(validate.splitlines()) < 40, validate[-4000:]
    assert "publish: snapshot" in af.task_log(run_id, "publish")


def test_the_dag_carries_its_docs(local_airflow):
    details = local_airflow.api("GET", f"/api/v2/dags/{DAG_ID}/details")
    assert "News warehouse, daily" in (details.get("doc_md") or "")
    assert details["is_paused"] is False
    pools = {p["name"]: p["slots"] for p in local_airflow.api("GET", "/api/v2/pools")["pools"]}
    assert pools[WRITER_POOL] == 1
    conn = local_airflow.api("GET", "/api/v2/connections/news_warehouse")
    assert (conn["conn_type"], conn["host"]) == ("duckdb", str(local_airflow.paths["warehouse"]))


def test_the_warehouse_page_is_behind_airflow_login(local_airflow_run):
    af, _, _ = local_airflow_run
    for path in ("/news-warehouse/", "/news-warehouse/summary.json", "/news-warehouse/?q=%E9%93%B6%E8%A1%8C"):
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            urllib.request.urlopen(af.url + path, timeout=30)
        assert anonymous.value.code in (401, 403), path
        req = urllib.request.Request(af.url + path, headers={"Authorization": "Bearer not-a-token"})
        with pytest.raises(urllib.error.HTTPError) as forged:
            urllib.request.urlopen(req, timeout=30)
        assert forged.value.code in (401, 403), path
    summary = af.api("GET", "/news-warehouse/summary.json")
    assert summary["snapshot"] == str(af.paths["published"])  # the snapshot, never the writer's file
    assert summary["totals"] == {"articles": EXPECTED["articles"], "rejects": len(EXPECTED["rejects"]), "runs": 1}
    page = af.api("GET", "/news-warehouse/", raw=True).decode()
    assert "News warehouse" in page and "<script" not in page
    found = af.api("GET", "/news-warehouse/?q=%E9%93%B6%E8%A1%8C", raw=True).decode()  # 银行, logged in
    assert 'data-testid="search-results"' in found and 'value="银行"' in found and "<script" not in found


def test_a_silent_source_is_an_alert_and_the_run_stays_green(local_airflow_run):
    """A run whose freshness limit (run conf) is one hour, on posts whose newest is hours older than
    the end of the run's interval: loaded and published, the run green, check_freshness skipped with
    the STALE SOURCE message, and the alert line logged."""
    af, _, _ = local_airflow_run
    run_id = af.trigger("2026-11-25T20:00:00+00:00", run_id="test_stale_source", conf={"max_source_silence_hours": 1})
    run = af.wait_run(run_id, timeout=300)
    states = {ti["task_id"]: ti["state"] for ti in af.task_instances(run_id)}
    assert run["state"] == "success", states
    assert states["publish"] == "success" and states["check_freshness"] == "skipped", states
    log = af.task_log(run_id, "check_freshness")
    assert re.search(r"STALE SOURCE: no new post for [\d.]+ h .* limit 1.0 h", log), log[-3000:]
    assert "NEWS ETL ALERT: run test_stale_source: STALE SOURCE" in log, log[-3000:]


def test_the_deadline_alert_is_registered_and_spares_manual_runs(local_airflow_run):
    """The DAG's deadline alert (03:00 Asia/Shanghai) is parsed, serialized and stored by the real
    dag-processor with its custom reference; the scheduler creates no deadline for a run triggered by
    hand (a replay of an old day must not alert)."""
    af, run_id, _ = local_airflow_run
    (alert,) = af.api("GET", "/ui/dags/news_etl_daily/deadlineAlerts")["deadline_alerts"]
    assert (alert["name"], alert["reference_type"], alert["interval"]) == (
        "daily run finished by 03:00 Asia/Shanghai",
        "DailyDeadline",
        9000.0,
    )
    assert af.api("GET", f"/ui/dags/news_etl_daily/dagRuns/{run_id}/deadlines")["total_entries"] == 0
    # the scheduler found the plugin's reference: no "not registered" error while it created runs
    assert "DeadlineReferenceNotRegistered" not in af.tail("scheduler", 200_000)


def test_the_unpause_waits_for_a_busy_metadata_database(local_airflow):
    """make airflow's unpause while another process holds SQLite's write lock for 8 s (longer than
    SQLite's default 5 s wait, which answered 500): the call waits or is retried, and succeeds."""
    import sqlite3
    import threading
    import time

    af = local_airflow
    con = sqlite3.connect(str(af.home / "airflow.db"), timeout=30, isolation_level=None, check_same_thread=False)
    held = threading.Event()

    def writer():
        con.execute("BEGIN IMMEDIATE")  # a writer's lock, as the scheduler's while it writes a task
        con.execute("UPDATE dag SET is_paused = 1 WHERE dag_id = 'news_etl_daily'")
        held.set()
        time.sleep(8)
        con.execute("COMMIT")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(30)
        started = time.monotonic()
        af.unpause()
        waited = time.monotonic() - started
    finally:
        thread.join()
        con.close()
    assert waited > 5, "the PATCH did not meet the lock"
    assert af.api("GET", "/api/v2/dags/news_etl_daily")["is_paused"] is False


def test_a_corrupt_snapshot_gives_a_page_that_says_so(local_airflow_run):
    af, _, _ = local_airflow_run
    snapshot = af.paths["published"]
    good = snapshot.read_bytes()
    try:
        snapshot.write_bytes(good[: len(good) // 3])
        page = af.api("GET", "/news-warehouse/", raw=True).decode()
        assert 'data-testid="snapshot-unreadable"' in page and "is unreadable" in page
        assert af.api("GET", "/news-warehouse/summary.json")["error"].startswith("snapshot unreadable: ")
    finally:
        snapshot.write_bytes(good)
    assert "snapshot-unreadable" not in af.api("GET", "/news-warehouse/", raw=True).decode()
