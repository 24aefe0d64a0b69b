"""Re-running a loaded day in the real scheduler.

An operator's most common act is "Clear" on a run; a backfill with "All Runs" (``reprocess_behavior``
``completed``) clears the day's run the same way. The cleared run's fetch finds nothing new (the
warehouse already holds the day), so ``transform`` maps over no batch: its map index 0 of the first
try becomes ``removed`` but keeps its XCom, which names a staged file of the first try that the new
fetch no longer has. Each step must read only what this try's fetch staged: the re-run is green and
the warehouse is unchanged but for the run's audit row.

One Airflow of its own (the make airflow launcher's class, the scheduler's own schedule off) and
a warehouse of its own, so the first run of the day has batches.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from airflow_local import LocalAirflow
from airflow_servers import running_airflow
from warehouse_checks import fingerprint, rows

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1500)]

DAG = "news_etl_daily"
DAY = "2026-11-24"  # the site day (Asia/Shanghai) loaded, then re-run
LOGICAL_DATE = "2026-11-23T16:30:00Z"  # the run of site day DAY starts at its 00:30


def wait_backfill(af: LocalAirflow, backfill_id: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not af.api("GET", f"/api/v2/backfills/{backfill_id}")["completed_at"]:
        if time.monotonic() > deadline:
            pytest.fail(f"backfill {backfill_id} not complete after {timeout}s\n{af.tail('scheduler')}")
        time.sleep(2)


def backfill(af: LocalAirflow, reprocess: str) -> None:
    body = {
        "dag_id": DAG,
        "from_date": f"{DAY}T00:00:00+08:00",
        "to_date": f"{DAY}T23:59:59+08:00",
        "reprocess_behavior": reprocess,
        "max_active_runs": 1,
    }
    wait_backfill(af, af.api("POST", "/api/v2/backfills", body)["id"])


def day_run(af: LocalAirflow) -> str:
    """The id of the one run of site day DAY."""
    runs = af.api("GET", f"/api/v2/dags/{DAG}/dagRuns?limit=100")["dag_runs"]
    (run_id,) = [r["dag_run_id"] for r in runs if r["logical_date"] == LOGICAL_DATE]
    return run_id


def run_state(af: LocalAirflow) -> tuple[str, dict]:
    run_id = day_run(af)
    run = af.wait_run(run_id, timeout=600)
    states = {
        f"{ti['task_id']}[{ti['map_index']}]" if ti["map_index"] >= 0 else ti["task_id"]: ti["state"]
        for ti in af.task_instances(run_id)
    }
    return run["state"], states


def audit_rows(af: LocalAirflow) -> list[tuple]:
    return rows(af.paths["warehouse"], "SELECT run_id, status, posts_changed FROM etl_runs ORDER BY loaded_at")


@pytest.fixture(scope="module")
def loaded_day():
    """An Airflow whose warehouse holds the site day DAY, loaded by a backfill run that had batches."""
    with running_airflow("news-etl-rerun-", NEWS_ETL_RUN_DEADLINE_MINUTES="0") as af:
        backfill(af, "none")
        state, tasks = run_state(af)
        assert state == "success", (tasks, af.tail("scheduler"))
        assert tasks.get("transform[0]") == "success", tasks  # the day's run had batches
        assert audit_rows(af)[-1][2] > 0
        yield af


def check_unchanged_but_audit(af: LocalAirflow, before: dict, audit_before: list[tuple]) -> None:
    state, tasks = run_state(af)
    assert state == "success", tasks
    assert {s for t, s in tasks.items() if not t.startswith("transform")} == {"success"}, tasks
    assert fingerprint(af.paths["warehouse"]) == before
    audit = audit_rows(af)
    # one audit row for the re-run (the run's id is its key: it says what this try did, nothing new)
    assert len(audit) == len(audit_before), audit
    assert audit[-1][:3] == (day_run(af), "published", 0), audit


def test_clearing_a_loaded_day_is_green_and_changes_nothing(loaded_day):
    af = loaded_day
    before, audit_before = fingerprint(af.paths["warehouse"]), audit_rows(af)
    quoted = urllib.parse.quote(day_run(af), safe="")
    af.api("POST", f"/api/v2/dags/{DAG}/dagRuns/{quoted}/clear", {"dry_run": False})
    check_unchanged_but_audit(af, before, audit_before)


def test_clearing_a_loaded_day_in_the_browser_is_green_and_changes_nothing(loaded_day, page):
    """What an operator does: the run's page in the UI, its clear button (↻), "Confirm"."""
    from chromium import ARTIFACTS, login
    from playwright.sync_api import expect

    af = loaded_day
    before, audit_before = fingerprint(af.paths["warehouse"]), audit_rows(af)
    run_id = day_run(af)
    quoted = urllib.parse.quote(run_id, safe="")
    ended = af.api("GET", f"/api/v2/dags/{DAG}/dagRuns/{quoted}")["end_date"]
    login(page, af)
    page.goto(af.url + f"/dags/{DAG}/runs/{quoted}")
    expect(page.get_by_text("Success").first).to_be_visible()
    page.get_by_role("button", name="Press shift+c to clear").click()  # the run's ↻ (its tooltip names it)
    dialog = page.get_by_role("dialog").filter(has_text="Clear Dag Run")  # not a closed popover's
    expect(dialog).to_contain_text("Clear Dag Run")
    expect(dialog).to_contain_text("Affected Tasks: 6")  # fetch, transform[0] (the day had a batch), validate …
    expect(dialog.get_by_role("button", name="Confirm")).to_be_enabled()
    page.screenshot(path=str(ARTIFACTS / "05-clear-run.png"))
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_have_count(0)
    deadline = time.monotonic() + 120  # the clear has reached the scheduler: the run is not the one that ended
    while af.api("GET", f"/api/v2/dags/{DAG}/dagRuns/{quoted}")["end_date"] == ended:
        assert time.monotonic() < deadline, "the run was not cleared"
        time.sleep(1)
    check_unchanged_but_audit(af, before, audit_before)
    page.reload()
    expect(page.get_by_text("Success").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "06-cleared-run-green.png"))


def test_clearing_one_step_of_a_loaded_day_is_green_and_changes_nothing(loaded_day):
    """validate cleared on its own (with what follows it, as the UI clears by default), not fetch:
    the run's staging is gone (its publish removed it); validate has nothing to check and the load
    fetches again inside itself."""
    af = loaded_day
    before, audit_before = fingerprint(af.paths["warehouse"]), audit_rows(af)
    body = {
        "dry_run": False,
        "dag_run_id": day_run(af),
        "task_ids": ["validate"],
        "include_downstream": True,
        "only_failed": False,
        "reset_dag_runs": True,
    }
    af.api("POST", f"/api/v2/dags/{DAG}/clearTaskInstances", body)
    check_unchanged_but_audit(af, before, audit_before)


def test_a_backfill_of_all_runs_over_a_loaded_day_is_green_and_changes_nothing(loaded_day):
    af = loaded_day
    before, audit_before = fingerprint(af.paths["warehouse"]), audit_rows(af)
    backfill(af, "completed")
    check_unchanged_but_audit(af, before, audit_before)


def test_the_warehouse_page_shows_airflows_runs_by_site_day(loaded_day):
    """The page reads Airflow's runs through the REST API with the viewer's own token: the re-run
    day is there by its site day, with its state, linked to the run."""
    af = loaded_day
    run_id = day_run(af)
    summary = af.api("GET", "/news-warehouse/summary.json")
    assert summary["airflow"]["error"] is None, summary["airflow"]
    (shown,) = [r for r in summary["airflow"]["runs"] if r["run_id"] == run_id]
    assert (shown["site_day"], shown["state"]) == (DAY, "success")
    html = af.api("GET", "/news-warehouse/", raw=True).decode()
    row = re.search(rf'<tr data-run="{re.escape(run_id)}" data-state="success">(.*?)</tr>', html, re.S)[1]
    assert f'<td data-col="site_day">{DAY}</td>' in row
    assert f'href="/dags/{DAG}/runs/{urllib.parse.quote(run_id, safe="")}"' in row
    # one time format: no raw ISO instant anywhere on the page
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", html.replace(run_id, "")), html
    # a caller without a token gets nothing
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(af.url + "/news-warehouse/summary.json", timeout=30)
    assert denied.value.code in (401, 403)


@pytest.fixture
def source_variable(loaded_day):
    """Set the source Variable for one test; the sample folder again afterwards."""
    af = loaded_day
    key = "news_etl_source"

    def set_source(value: str) -> None:
        af.api("PATCH", f"/api/v2/variables/{key}", {"key": key, "value": value})

    yield set_source
    set_source(str(af.paths["source"]))


def test_a_source_that_cannot_exist_fails_at_once_with_the_alert_and_the_page_shows_it(
    loaded_day, source_variable, tmp_path
):
    """Item 4: a local path that is no repository is no transient error: fetch fails on its first
    try (no Airflow retry, no source retry), with the alert; item 3: the page shows the run failed,
    with the failing task and its alert."""
    af = loaded_day
    not_a_repo = tmp_path / "not-a-repository"
    not_a_repo.mkdir()
    source_variable(f"git+{not_a_repo}")
    started = time.monotonic()
    run_id = af.trigger("2026-11-26T00:00:00+00:00", run_id="test_no_repository")
    run = af.wait_run(run_id, timeout=300)
    seconds = time.monotonic() - started
    tis = {ti["task_id"]: ti for ti in af.task_instances(run_id)}
    assert run["state"] == "failed" and tis["fetch"]["state"] == "failed", tis
    assert tis["fetch"]["try_number"] == 1, tis["fetch"]  # not retried
    log = af.task_log(run_id, "fetch")
    assert "NEWS ETL ALERT: task fetch of run test_no_repository failed on try 1" in log, log[-3000:]
    assert str(not_a_repo) in log and "not retried" in log and "attempt 1 of" not in log, log[-3000:]
    print(f"a source that cannot exist: red in {seconds:.0f}s")

    summary = af.api("GET", "/news-warehouse/summary.json")
    (shown,) = [r for r in summary["airflow"]["runs"] if r["run_id"] == run_id]
    assert (shown["state"], shown["site_day"]) == ("failed", "2026-11-25")
    (task,) = shown["tasks"]
    assert task["task_id"] == "fetch" and task["href"].endswith(f"/runs/{run_id}/tasks/fetch")
    assert str(not_a_repo) in task["alert"] and "not retried" in task["alert"]
    html = af.api("GET", "/news-warehouse/", raw=True).decode()
    row = re.search(rf'<tr data-run="{run_id}" data-state="failed">(.*?)</tr>', html, re.S)[1]
    assert '<td data-col="state" class="bad">failed</td>' in row and ">fetch</a>" in row and "not retried" in row


def test_read_the_site_as_of_now_is_frozen_into_the_run(loaded_day, source_variable, tmp_path):
    """Item 2: a git source committed today. A run reads the site as of its interval's end: it finds
    no commit, says so in a warning, and loads nothing. Triggered with the param "read the site as of
    now", it loads today's commit; cleared after a newer commit, it reads the same commit again."""
    from site_repo import SiteRepo, post_text

    af = loaded_day
    repo = SiteRepo(tmp_path / "remote", with_sample=False)
    repo.write("_posts/2026-12-06-202612062400000001.md", post_text("202612062400000001", "今天的新闻", "2026-12-06"))
    today = repo.commit("today's post")
    source_variable(f"git+{repo.url}")

    old = af.trigger("2026-11-27T00:00:00+00:00", run_id="test_as_of_interval")
    assert af.wait_run(old, timeout=300)["state"] == "success"
    log = af.task_log(old, "fetch")
    assert "no commit at or before" in log and "read the site as of now" in log, log[-3000:]
    assert "deprecated" not in log.lower(), log[:2000]  # no deprecation warning opens a task log

    now = af.trigger("2026-11-28T00:00:00+00:00", run_id="test_as_of_now", conf={"read_as_of_now": True})
    assert af.wait_run(now, timeout=300)["state"] == "success"
    warehouse = af.paths["warehouse"]
    assert rows(warehouse, "SELECT source_revision, posts_changed FROM etl_runs WHERE run_id = ?", [now]) == [
        (today, 1)
    ]

    repo.write("_posts/2026-12-07-202612072400000002.md", post_text("202612072400000002", "更新的新闻", "2026-12-07"))
    repo.commit("a later post")
    af.api("POST", f"/api/v2/dags/{DAG}/dagRuns/{now}/clear", {"dry_run": False})
    assert af.wait_run(now, timeout=300)["state"] == "success"
    assert rows(warehouse, "SELECT source_revision FROM etl_runs WHERE run_id = ?", [now]) == [(today,)]
    assert rows(warehouse, "SELECT count(*) FROM articles WHERE post_id = '202612072400000002'") == [(0,)]
