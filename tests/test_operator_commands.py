"""The operator's make commands, where no Airflow is needed to show them right: `make backfill`
and `make airflow-stop` refuse a home where no Airflow of ours runs (they used to act on it and
exit 0), `make run DAY=` names the site day loaded, and the local Airflow's
LocalExecutor is sized to the machine.
"""

from __future__ import annotations

import os
import subprocess

from airflow_local import LocalAirflow, local_parallelism
from conftest import ROOT


def make(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), *args],
        env={**os.environ, "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backfill_and_stop_refuse_a_home_where_nothing_runs(tmp_path):
    for args, what in [
        (("backfill", "FROM=2026-11-21", "TO=2026-11-22"), "no scheduler would run the backfill"),
        (("airflow-stop",), "there is nothing to stop"),
    ]:
        done = make(*args, home=tmp_path)
        assert done.returncode != 0, done.stdout
        assert f"no Airflow started by `make airflow` runs in AIRFLOW_HOME={tmp_path}" in done.stderr
        assert what in done.stderr and "Created backfill" not in done.stdout and "stopped" not in done.stdout
    # a dry run lists the runs without a scheduler
    assert "--dry-run" in make("backfill", "FROM=2026-11-21", "TO=2026-11-22", "DRY_RUN=1", home=tmp_path).stdout


def test_make_run_names_the_site_day_it_loads(tmp_path):
    done = make("-n", "run", "DAY=2026-12-06", home=tmp_path)
    # the run of site day 2026-12-06 starts at 00:30 site time on the 7th: its interval is the 6th
    assert "airflow dags test news_etl_daily 2026-12-07T00:30:00+08:00" in done.stdout, done.stdout
    from airflow.timetables.interval import CronDataIntervalTimetable
    from pendulum import parse

    interval = CronDataIntervalTimetable("30 0 * * *", timezone="Asia/Shanghai").infer_manual_data_interval(
        run_after=parse("2026-12-07T00:30:00+08:00")
    )
    assert interval.start.in_timezone("Asia/Shanghai").to_date_string() == "2026-12-06"
    assert interval.end.in_timezone("Asia/Shanghai").to_datetime_string() == "2026-12-07 00:30:00"


def test_the_local_executor_is_sized_to_the_machine(tmp_path):
    af = LocalAirflow(tmp_path / "home", port=1)
    cores = len(os.sched_getaffinity(0))
    assert af.env["AIRFLOW__CORE__PARALLELISM"] == str(max(2, cores)) == str(local_parallelism())
