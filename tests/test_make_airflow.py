"""``make airflow`` as a newcomer meets it: the launcher the Makefile runs (``scripts/airflow_local.py
up``) on a fresh Airflow home, with the real api-server, scheduler, dag-processor and triggerer.

1. The sample, while another process keeps SQLite's write lock busy during the start (the locks that
   made the unpause answer 500): the launcher comes up, the scheduler's first run is green in the
   REST API and in the browser, and a backfill of site days set in the UI (screenshot for the
   operators' guide) creates one run per site day.
2. Every documented override from the environment, as compose takes them: a git source
   (``AIRFLOW_VAR_NEWS_ETL_SOURCE``), the warehouse connection (``AIRFLOW_CONN_NEWS_WAREHOUSE``), the
   silence limit (``NEWS_ETL_MAX_SOURCE_SILENCE_HOURS``), the deadline, the notifier: the run reads
   that source into that warehouse, stays green, and the stale-source and missed-deadline alerts
   reach the operator by mail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socketserver
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from airflow_local import LocalAirflow, free_port
from airflow_servers import private_tmp
from chromium import ARTIFACTS, login
from conftest import ROOT
from test_alert_notifier import _SMTPHandler, subject
from warehouse_checks import rows, scalar

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG = "news_etl_daily"


class Launched:
    """``make airflow`` running in a child process, and a REST client for its api-server."""

    def __init__(self, base: Path, env: dict[str, str]):
        self.base, self.env = base, env
        self.home = Path(env["AIRFLOW_HOME"])
        self.output = base / "make-airflow.out"
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), "up"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.af: LocalAirflow | None = None

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_up(self, timeout: float = 420) -> float:
        """Seconds until the launcher says Airflow is up (its own count, from its start)."""
        deadline = time.monotonic() + timeout
        while "Airflow is up" not in self.text():
            if self.proc.poll() is not None:
                pytest.fail(f"make airflow exited {self.proc.returncode}:\n{self.text()[-5000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"make airflow not up after {timeout}s:\n{self.text()[-5000:]}")
            time.sleep(1)
        self.af = LocalAirflow(
            self.home, port=int(self.env["AIRFLOW_PORT"]), password=self.env["AIRFLOW_ADMIN_PASSWORD"], environ={}
        )
        return float(re.search(r"ready in (\d+)s", self.text())[1])

    def first_run(self, timeout: float = 600) -> dict:
        """The run the scheduler starts by itself (catchup off: the latest daily interval), finished."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.af.api("GET", f"/api/v2/dags/{DAG}/dagRuns?run_type=scheduled")["dag_runs"]
            if runs:
                return self.af.wait_run(runs[0]["dag_run_id"], timeout=max(60, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                pytest.fail("the scheduler started no run")
            time.sleep(2)

    def stop(self) -> None:
        """Ctrl-C's signal to the launcher, which stops every part; make airflow-stop if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                subprocess.run(
                    [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), "stop"], env=self.env, timeout=120
                )
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        assert not (self.home / "airflow-local.pids").exists(), "a part of Airflow was left running"


def newcomer_env(base: Path, **extra: str) -> dict[str, str]:
    """The environment of a shell that runs ``make airflow`` (the Makefile's exports), with its
    own home, port, warehouse and snapshot; ``extra`` are the operator's overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_ETL_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(base / "airflow_home"),
            "AIRFLOW_PORT": str(free_port()),
            "AIRFLOW_ADMIN_PASSWORD": "newcomer-password",
            "AIRFLOW_CONN_NEWS_WAREHOUSE": json.dumps({"conn_type": "duckdb", "host": str(base / "warehouse.duckdb")}),
            "NEWS_ETL_PUBLISHED": str(base / "published" / "warehouse.duckdb"),
            "NEWS_ETL_STAGING": str(base / "staging"),
            "NEWS_ETL_CACHE": str(base / "cache"),
        }
    )
    env.update(extra)
    return env


@pytest.fixture
def base():
    path = private_tmp("news-etl-make-airflow-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def busy_writer(home: Path, stop: threading.Event, hold: float = 6.0) -> threading.Thread:
    """Another process's writes to the metadata database once Airflow's parts start (the database
    migrated): SQLite's write lock held ``hold`` seconds at a time (more than SQLite's default 5 s
    wait), a short pause, again, until ``stop``."""

    def run():
        while not (home / "process-logs" / "api-server.log").exists() and not stop.is_set():
            time.sleep(0.2)
        con = sqlite3.connect(str(home / "airflow.db"), timeout=60, isolation_level=None)
        try:
            while not stop.is_set():
                con.execute("BEGIN IMMEDIATE")
                stop.wait(hold)
                con.execute("COMMIT")
                stop.wait(1.5)
        finally:
            con.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.services  # Chromium
def test_a_newcomers_first_run_is_green_in_the_api_and_the_browser(base, page):
    env = newcomer_env(base)
    launched = Launched(base, env)
    stop = threading.Event()
    writer = busy_writer(Path(env["AIRFLOW_HOME"]), stop)
    try:
        ready = launched.wait_up()
        stop.set()
        writer.join(30)
        print(f"make airflow on a fresh home, under a busy SQLite writer: ready in {ready:.0f}s")
        assert "could not unpause" not in launched.text(), launched.text()
        assert "source    " + str(ROOT / "data" / "sample_posts") in launched.text()
        af = launched.af

        # the first run the scheduler starts by itself is green, every task
        run = launched.first_run()
        tis = {ti["task_id"]: ti["state"] for ti in af.task_instances(run["dag_run_id"])}
        assert run["state"] == "success" and set(tis.values()) == {"success"}, tis
        assert "freshness: not measured: the source is the embedded sample posts" in af.task_log(
            run["dag_run_id"], "check_freshness"
        )
        assert scalar(base / "warehouse.duckdb", "SELECT count(*) FROM articles") == 43

        # ... and in the browser: the DAG's runs list shows it as a success, no failed run
        login(page, af)
        page.goto(af.url + f"/dags/{DAG}/runs")
        from playwright.sync_api import expect

        expect(page.locator("tr", has_text=run["dag_run_id"]).first).to_contain_text("Success", timeout=60_000)
        assert page.locator("tr", has_text="Failed").count() == 0
        page.screenshot(path=str(ARTIFACTS / "10-first-run.png"))

        # a backfill of site days from the UI: the UI's time zone set to the site's, then the
        # Trigger dialog's Backfill with the days' first and last minute (docs/operators.md)
        page.get_by_role("button", name="+00:00").click()
        page.get_by_role("dialog").locator("input").first.fill("Shanghai")
        page.get_by_role("option", name="Asia/Shanghai").click()
        page.keyboard.press("Escape")
        page.goto(af.url + f"/dags/{DAG}")
        page.get_by_role("button", name="Trigger").click()
        # the Trigger dialog by its "Single Run" card: a date picker's popover is a dialog too, and
        # it can stay in the page, closed, after the picker has gone
        dialog = page.get_by_role("dialog").filter(has_text="Single Run")
        dialog.get_by_text("Backfill", exact=True).click()
        picker = page.get_by_placeholder("YYYY/MM/DD")
        for day, minute in (("2026/11/23", "00:00"), ("2026/11/25", "23:59")):
            expect(picker).to_have_count(0, timeout=30_000)  # the last day's picker has closed (slow under load)
            dialog.get_by_text("Select date and time").first.click()
            picker.fill(day)
            page.get_by_placeholder("HH:mm").fill(minute)
            dialog.get_by_text("Date Range").click()
        expect(dialog.get_by_text("3 runs will be triggered.")).to_be_visible()
        assert dialog.locator("input[name=max_active_runs]").input_value() == "1"
        page.screenshot(path=str(ARTIFACTS / "backfill-ui.png"))
        dialog.get_by_role("button", name="Run Backfill").click()
        expect(dialog).to_be_hidden()

        (backfill,) = af.api("GET", f"/api/v2/backfills?dag_id={DAG}")["backfills"]
        assert backfill["max_active_runs"] == 1
        runs = af.api("GET", f"/api/v2/dags/{DAG}/dagRuns?run_type=backfill")["dag_runs"]
        days = sorted(r["logical_date"] for r in runs)
        # one run per site day: 2026-11-23, 24 and 25 at 00:30 Asia/Shanghai (16:30 UTC the day before)
        assert days == ["2026-11-22T16:30:00Z", "2026-11-23T16:30:00Z", "2026-11-24T16:30:00Z"], days
        af.api("PUT", f"/api/v2/backfills/{backfill['id']}/cancel")
    finally:
        stop.set()
        launched.stop()


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_every_documented_override_is_honoured(base, smtp_server):
    sys.path.insert(0, str(ROOT / "tests"))
    from generate_site import generate

    site = base / "site.git"
    generate(site, posts=60, commits=3)
    warehouse = base / "elsewhere" / "warehouse.duckdb"
    env = newcomer_env(
        base,
        AIRFLOW_VAR_NEWS_ETL_SOURCE=f"git+{site}",
        AIRFLOW_CONN_NEWS_WAREHOUSE=json.dumps({"conn_type": "duckdb", "host": str(warehouse)}),
        NEWS_ETL_MAX_SOURCE_SILENCE_HOURS="1",
        # the deadline, 6 s after the run is created: it passes while the run works
        NEWS_ETL_RUN_DEADLINE_MINUTES="0.1",
        AIRFLOW_VAR_NEWS_ETL_ALERT_NOTIFIER=json.dumps(
            {
                "class": "airflow.providers.smtp.notifications.smtp.SmtpNotifier",
                "kwargs": {
                    "from_email": "etl@example.test",
                    "to": "ops@example.test",
                    "subject": "{{ news_etl_alert }}",
                },
            }
        ),
        AIRFLOW_CONN_SMTP_DEFAULT=json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp_server.server_address[1],
                "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10},
            }
        ),
    )
    launched = Launched(base, env)
    try:
        launched.wait_up()
        af = launched.af
        assert f"source    git+{site}" in launched.text()
        # what the UI shows is what runs: the Variable and the connection hold the overrides
        assert af.api("GET", "/api/v2/variables/news_etl_source")["value"] == f"git+{site}"
        assert af.api("GET", "/api/v2/connections/news_warehouse")["host"] == str(warehouse)

        run = launched.first_run()
        tis = {ti["task_id"]: ti["state"] for ti in af.task_instances(run["dag_run_id"])}
        assert run["state"] == "success", tis
        assert tis["check_freshness"] == "skipped", tis  # the generated posts end on 2026-11-25

        # the run read the git site into the connection's warehouse
        ((source, seen, new),) = rows(warehouse, "SELECT source, posts_seen, articles_new FROM etl_runs")
        assert (source, seen, new) == (f"git:{site}", 60, 60)
        assert scalar(Path(env["NEWS_ETL_PUBLISHED"]), "SELECT count(*) FROM articles") == 60
        assert not (base / "warehouse.duckdb").exists()

        # the deadline passed while the run worked: the scheduler marked it, the triggerer mailed
        (deadline,) = af.api("GET", f"/ui/dags/{DAG}/dagRuns/{run['dag_run_id']}/deadlines")["deadlines"]
        assert deadline["missed"] is True
        until = time.monotonic() + 120
        while len(smtp_server.messages) < 2 and time.monotonic() < until:
            time.sleep(1)
        subjects = sorted(subject(m) for m in smtp_server.messages)
        assert len(subjects) == 2, smtp_server.messages
        assert subjects[0].startswith(f"DEADLINE MISSED: run {run['dag_run_id']} of {DAG} has not finished by ")
        assert subjects[1].startswith(f"run {run['dag_run_id']}: STALE SOURCE: no new post for ")
    finally:
        launched.stop()
