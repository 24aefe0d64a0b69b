"""The rules behind the alerts and the backfill form, as plain functions: the freshness verdict
(news_etl.warehouse.freshness), when the daily run's deadline starts counting (news_etl.deployment), and
the site days of ``make backfill`` (scripts/airflow_local.py)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ROOT, SAMPLE

sys.path.insert(0, str(ROOT / "scripts"))

from airflow_local import site_days

from news_etl.deployment import deadline_base
from news_etl.warehouse.freshness import assess, is_embedded_sample

NEWEST = datetime(2026, 11, 25, 10, 2, tzinfo=UTC)


def test_a_quiet_site_is_stale_only_past_the_limit():
    at = NEWEST + timedelta(hours=49)
    assert assess(NEWEST, at, 48, "git+https://example.invalid/site.git")["verdict"] == "stale"
    assert assess(NEWEST, at, 50, "git+https://example.invalid/site.git")["verdict"] == "fresh"
    stale = assess(NEWEST, at, 48, "/srv/posts")
    assert stale["stale"] and stale["message"].startswith("STALE SOURCE: no new post for 49.0 h")
    assert assess(None, at, 48, "/srv/posts")["message"].startswith("STALE SOURCE: no post at all")


def test_no_limit_means_no_alert():
    assert assess(NEWEST, NEWEST + timedelta(days=400), 0, "/srv/posts") | {"message": ""} == {
        "newest_post_at": NEWEST.isoformat(),
        "checked_at": (NEWEST + timedelta(days=400)).isoformat(),
        "hours_without_new_post": 9600.0,
        "limit_hours": 0,
        "stale": False,
        "verdict": "off",
        "message": "",
    }


@pytest.mark.parametrize("spec", [str(SAMPLE), f"dir+{SAMPLE}", f"{SAMPLE}/", str(SAMPLE / ".." / "sample_posts")])
def test_the_embedded_sample_is_never_measured(spec):
    """The sample posts are dated 2026-11-23..25 and never change: whatever the limit and the day,
    a deployment that reads them (make airflow's default) is not told its site went quiet."""
    assert is_embedded_sample(spec)
    verdict = assess(NEWEST, datetime(2030, 1, 1, tzinfo=UTC), 48, spec)
    assert verdict["verdict"] == "not measured" and not verdict["stale"]


@pytest.mark.parametrize("spec", ["git+" + str(SAMPLE), "feed+http://x", "/srv/posts", "", None])
def test_other_sources_are_measured(spec):
    assert not is_embedded_sample(spec)


def test_the_deadline_counts_from_the_interval_end_of_a_scheduled_run():
    end = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2026-12-02 00:30 Asia/Shanghai
    on_time = end + timedelta(seconds=3)
    assert deadline_base("scheduled", end, now=on_time) == on_time  # created at 00:30:03 → 03:00:03
    assert deadline_base("scheduled", end, now=end - timedelta(seconds=1)) == end
    # created late (a first start at noon, a scheduler that was down): the same 2 h 30 min from then
    noon = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    assert deadline_base("scheduled", end, now=noon) == noon
    # manual and backfill runs replay old days: no deadline
    for run_type in ("manual", "backfill", "asset_triggered"):
        assert deadline_base(run_type, end, now=on_time) is None


def test_site_days_cover_each_day_from_its_midnight_in_shanghai():
    assert site_days("2026-11-21", "2026-11-25") == ("2026-11-21T00:00:00+08:00", "2026-11-25T23:59:59+08:00")
    assert site_days("2026-11-25", "2026-11-25") == ("2026-11-25T00:00:00+08:00", "2026-11-25T23:59:59+08:00")
    with pytest.raises(ValueError, match="before FROM"):
        site_days("2026-11-25", "2026-11-21")


def test_the_site_days_hold_one_run_each_and_plain_dates_miss_the_first(airflow_home):
    """The runs Airflow's backfill would create between the bounds (the serialized DAG's
    ``iter_dagrun_infos_between``, which ``airflow backfill create`` walks): five site days give five
    runs, one per day, where the plain dates of the old docs gave four."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    from news_etl.settings import SITE_TIMEZONE

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["news_etl_daily"]
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))

    def runs(first: str, last: str) -> list[str]:
        infos = scheduler_dag.iter_dagrun_infos_between(pendulum.parse(first), pendulum.parse(last))
        return [i.logical_date.in_timezone(SITE_TIMEZONE).strftime("%Y-%m-%d %H:%M") for i in infos]

    assert runs(*site_days("2026-11-21", "2026-11-25")) == [f"2026-11-{d} 00:30" for d in range(21, 26)]
    assert runs("2026-11-21", "2026-11-25") == [f"2026-11-{d} 00:30" for d in range(22, 26)]
