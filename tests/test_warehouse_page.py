"""The warehouse page's rendering, on real snapshot files: the chart's time axis and range, times in
the site's zone and UTC, the freshness verdict, Airflow's runs by site day with the failing task and
its alert, escaping by the templates, and a snapshot that cannot be read.

(The page inside a running Airflow, behind its login, is tests/test_airflow_local.py and
tests/test_browser.py.)
"""

from __future__ import annotations

import re
import shutil
import sys
from datetime import UTC, date, datetime

import duckdb
import pytest
from conftest import ROOT, SAMPLE

sys.path.insert(0, str(ROOT / "plugins"))

import warehouse_page as page

NOV_25 = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    """A published snapshot of the sample posts, made by the CLI (43 articles, 2026-11-23..25)."""
    from news_etl.pipeline import run_all
    from news_etl.settings import Settings

    base = tmp_path_factory.mktemp("page")
    settings = Settings().with_(
        source=str(SAMPLE),
        warehouse=base / "w.duckdb",
        published=base / "published.duckdb",
        staging=base / "staging",
        workers=1,
    )
    run_all(settings)
    return settings.published


def moved(snapshot, tmp_path, days: dict[str, str]):
    """A copy of the snapshot with some articles moved to other days ({post_id: day})."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(snapshot, copy)
    con = duckdb.connect(str(copy))
    for post_id, day in days.items():
        con.execute("UPDATE articles SET published_date = ? WHERE post_id = ?", [day, post_id])
    con.close()
    return copy


def post_ids(snapshot, n):
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT post_id FROM articles ORDER BY post_id LIMIT ?", [n]).fetchall()]
    finally:
        con.close()


def test_the_chart_is_a_time_axis_where_days_without_articles_are_gaps(snapshot, tmp_path):
    a, b = post_ids(snapshot, 2)
    copy = moved(snapshot, tmp_path, {a: "2026-11-10", b: "2026-11-11"})
    summary = page.read_summary(copy, source="git+https://example.invalid/site.git", now=NOV_25, days=None)
    html = page.render(summary)
    svg = re.search(r'<svg data-testid="chart".*?</svg>', html, re.S).group(0)
    assert 'data-first="2026-11-10"' in svg and 'data-last="2026-11-25"' in svg
    assert 'data-days="16"' in svg  # every calendar day has its place, not only the days with articles
    bars = {m[0]: int(m[1]) for m in re.findall(r'<g data-day="([\d-]+)" data-total="(\d+)"', svg)}
    assert list(bars) == ["2026-11-10", "2026-11-11", "2026-11-23", "2026-11-24", "2026-11-25"]
    assert sum(bars.values()) == 43
    # the bars stand at their dates: 11-11 → 11-23 is twelve days' width, 11-10 → 11-11 one
    x = {
        d: float(re.search(rf'<g data-day="{d}"[^>]*>\s*(?:<title>[^<]*</title>)?\s*<rect x="([\d.]+)"', svg)[1])
        for d in bars
    }
    one_day = x["2026-11-11"] - x["2026-11-10"]
    assert one_day > 0 and x["2026-11-23"] - x["2026-11-11"] == pytest.approx(12 * one_day, rel=0.01)
    # one year: labels without the year
    ticks = re.findall(r'data-tick="([\d-]+)"[^>]*>([^<]+)<', svg)
    assert ticks and all(label == tick[5:] for tick, label in ticks)
    assert "5 days with articles from 2026-11-10 to 2026-11-25; 11 days without" in html


def test_labels_carry_the_year_when_the_range_spans_years(snapshot, tmp_path):
    (a,) = post_ids(snapshot, 1)
    copy = moved(snapshot, tmp_path, {a: "2021-12-01"})
    html = page.render(page.read_summary(copy, source="git+https://example.invalid/site.git", now=NOV_25, days=None))
    ticks = re.findall(r'data-tick="([\d-]+)"[^>]*>([^<]+)<', html)
    assert len(ticks) <= 8
    assert all(label == tick for tick, label in ticks), ticks  # 2022-01-01, not 01-01
    assert {t[:4] for t, _ in ticks} >= {"2022", "2023", "2024", "2025", "2026"}
    assert 'data-days="1821"' in html  # 2021-12-01 .. 2026-11-25
    width = float(re.search(r'<svg data-testid="chart"[^>]* width="([\d.]+)"', html)[1])
    assert width < 1100  # five years fit the page: a day is a fraction of a pixel, not a scroll


def test_ticks_on_a_short_range_are_days():
    assert page._ticks(date(2026, 11, 23), date(2026, 11, 25)) == [date(2026, 11, d) for d in (23, 24, 25)]
    weekly = page._ticks(date(2026, 10, 1), date(2026, 11, 25))
    assert len(weekly) <= 8 and weekly[0] == date(2026, 10, 1)


def test_times_are_shown_in_the_site_zone_and_in_utc(snapshot):
    assert page.when(datetime(2026, 11, 25, 9, 5, tzinfo=UTC)) == "2026-11-25 17:05 Asia/Shanghai (09:05 UTC)"
    assert (
        page.when(datetime(2026, 11, 25, 20, 0, tzinfo=UTC)) == "2026-11-26 04:00 Asia/Shanghai (2026-11-25 20:00 UTC)"
    )
    html = page.render(page.read_summary(snapshot, source=str(SAMPLE)))
    newest = re.search(r'data-testid="newest-post">([^<]+)<', html)[1]
    assert newest == "2026-11-25 18:02 Asia/Shanghai (10:02 UTC)"
    last_load = re.search(r'data-testid="last-load">([^<]+)<', html)[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d Asia/Shanghai \((\d{4}-\d\d-\d\d )?\d\d:\d\d UTC\)", last_load)


def test_the_freshness_line_is_the_dags_rule(snapshot, monkeypatch):
    # the embedded sample posts are a fixed set: never stale, whatever the limit
    monkeypatch.setenv("NEWS_ETL_MAX_SOURCE_SILENCE_HOURS", "48")
    sample = page.read_summary(snapshot, source=str(SAMPLE), now=datetime(2027, 6, 1, tzinfo=UTC))
    assert sample["freshness"]["verdict"] == "not measured"
    html = page.render(sample)
    assert "stale-banner" not in html and "not measured" in html
    # a real site quiet for a week: the banner says so, in the words of the DAG's alert
    quiet = page.read_summary(
        snapshot, source="git+https://example.invalid/site.git", now=datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert quiet["freshness"]["stale"] and quiet["freshness"]["verdict"] == "stale"
    banner = re.search(r'data-testid="stale-banner">([^<]+)<', page.render(quiet))[1]
    assert banner.startswith("STALE SOURCE: no new post for 158.0 h") and "limit 48.0 h" in banner
    fresh = page.read_summary(
        snapshot, source="git+https://example.invalid/site.git", now=datetime(2026, 11, 26, tzinfo=UTC)
    )
    assert fresh["freshness"]["verdict"] == "fresh" and "stale-banner" not in page.render(fresh)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_an_unreadable_snapshot_is_said_not_raised(snapshot, tmp_path, damage):
    broken = tmp_path / "published.duckdb"
    data = snapshot.read_bytes()
    broken.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"not a database " * 100)
    summary = page.read_summary(broken)
    assert summary["available"] and summary["error"].startswith("snapshot unreadable: ")
    html = page.render(summary)
    assert 'data-testid="snapshot-unreadable"' in html and "is unreadable" in html
    assert page._jsonable(summary)["error"] == summary["error"]


def test_the_chart_shows_the_last_30_days_by_default(snapshot, tmp_path):
    (a,) = post_ids(snapshot, 1)
    copy = moved(snapshot, tmp_path, {a: "2022-03-01"})  # an old article: outside the default range
    summary = page.read_summary(copy, source=str(SAMPLE), now=datetime(2026, 12, 2, 4, tzinfo=UTC))
    html = page.render(summary)
    assert 'data-first="2026-11-03"' in html and 'data-last="2026-12-02"' in html and 'data-days="30"' in html
    assert "3 days with articles from 2026-11-03 to 2026-12-02; 27 days without." in html
    assert '<a href="?days=all">all days</a>' in html
    whole = page.render(
        page.read_summary(copy, source=str(SAMPLE), now=datetime(2026, 12, 2, 4, tzinfo=UTC), days=None)
    )
    assert 'data-first="2022-03-01"' in whole


def test_runs_are_named_by_site_day():
    # a scheduled run of 2026-11-24 starts at 00:30 Asia/Shanghai, 16:30 UTC the day before
    assert page.site_day("2026-11-23T16:30:00Z") == "2026-11-24"
    assert page.site_day(None, datetime(2026, 11, 25, tzinfo=UTC)) == "2026-11-25"
    assert page.site_day(None, None) is None


def test_the_alert_is_read_from_the_task_log():
    structured = [
        {"event": "fetch: starting"},
        {"event": "NEWS ETL ALERT: news_etl_daily.fetch failed: git repository /tmp/x is not a repository"},
        {"event": "Task failed with exception"},
    ]
    assert page.alert_text(structured).endswith("is not a repository")
    # the alert, not the notifier's report that follows it
    notified = "a\nNEWS ETL ALERT: task fetch failed\nNEWS ETL ALERT: the notifier in Variable x failed\n"
    assert page.alert_text(notified) == "task fetch failed"
    assert page.alert_text([]) is None


def test_airflow_runs_failed_and_running_are_shown_escaped(snapshot):
    airflow = {
        "dag_id": "news_etl_daily",
        "error": None,
        "source": None,
        "runs": [
            {
                "site_day": "2026-11-24",
                "run_id": "manual__<b>x</b>",
                "run_type": "manual",
                "state": "failed",
                "start": "2026-11-25T01:00:00Z",
                "end": "2026-11-25T01:05:00+00:00",
                "as_of": None,
                "href": "/dags/news_etl_daily/runs/manual__%3Cb%3Ex%3C%2Fb%3E",
                "tasks": [
                    {"task_id": "validate", "href": "/dags/x/tasks/validate", "alert": "<script>alert(1)</script>"}
                ],
            },
            {**page._run_row({"dag_id": "d", "dag_run_id": "r2", "state": "running"}), "site_day": "2026-11-25"},
        ],
    }
    html = page.render(page.read_summary(snapshot, source=str(SAMPLE)), airflow)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "manual__&lt;b&gt;x&lt;/b&gt;" in html
    failed = re.search(r'<tr data-run="manual__&lt;b&gt;x&lt;/b&gt;" data-state="failed">(.*?)</tr>', html, re.S)[1]
    assert '<td data-col="state" class="bad">failed</td>' in failed
    assert '<a href="/dags/x/tasks/validate">validate</a>' in failed
    assert '<td data-col="start">2026-11-25 09:00 Asia/Shanghai (01:00 UTC)</td>' in failed
    assert 'data-run="r2" data-state="running"' in html
    unreachable = page.render(page.read_summary(snapshot), {**airflow, "error": "ConnectError: refused", "runs": []})
    assert "Airflow&#39;s runs could not be read" in unreachable or "Airflow's runs could not be read" in unreachable
