"""A real browser: Debian's headless Chromium, driven by Playwright, against the real Airflow UI
(tests/chromium.py).

Logs in with the simple auth manager's form, finds the daily DAG and its successful run (run by
the scheduler, triggered through /api/v2: tests/airflow_servers.py), opens the "News warehouse"
page from the navigation and checks its numbers against the published snapshot. Screenshots go
to test-artifacts/. Clearing a run in the browser is in test_rerun.py, on an Airflow of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chromium import ARTIFACTS, login
from warehouse_checks import rows, scalar

from news_etl.settings import DAG_ID

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.services]


def test_a_wrong_password_does_not_get_in(page, local_airflow):
    page.goto(local_airflow.url + "/")
    page.get_by_label("Username").fill(local_airflow.user)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_timeout(1500)
    assert "/auth/login" in page.url
    page.goto(local_airflow.url + "/news-warehouse/")
    assert "News warehouse" not in page.content()


def test_login_find_the_successful_run_and_read_the_warehouse_page(page, local_airflow_run):
    af, run_id, _ = local_airflow_run
    snapshot = af.paths["published"]
    login(page, af)

    # the DAG list has the daily DAG; its page shows the run as a success
    page.goto(af.url + "/dags")
    page.get_by_role("link", name=DAG_ID).first.click()
    page.wait_for_url(f"**/dags/{DAG_ID}**")
    page.get_by_text("fetch", exact=True).first.wait_for()
    page.wait_for_load_state("load")  # not "networkidle": the UI polls while runs are active
    page.screenshot(path=str(ARTIFACTS / "02-dag.png"))
    page.goto(af.url + f"/dags/{DAG_ID}/runs")
    from playwright.sync_api import expect

    expect(page.locator("tr", has_text=run_id).first).to_contain_text("Success", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "03-dag-runs.png"))

    # the navigation entry opens the warehouse page (an iframe of the plugin's app)
    page.get_by_role("link", name="News warehouse").click()
    page.wait_for_url("**/plugin/news-warehouse**")
    frame = page.frame_locator("iframe").first
    frame.get_by_test_id("total-articles").wait_for(timeout=60_000)
    page.wait_for_load_state("load")  # not "networkidle": the UI polls while runs are active
    page.screenshot(path=str(ARTIFACTS / "04-warehouse-page.png"))

    # its numbers are the snapshot's
    live = scalar(snapshot, "SELECT count(*) FROM articles WHERE deleted_at IS NULL")
    assert frame.get_by_test_id("total-articles").inner_text() == str(live) == "43"
    assert frame.get_by_test_id("total-rejects").inner_text() == str(scalar(snapshot, "SELECT count(*) FROM rejects"))
    assert frame.get_by_test_id("total-runs").inner_text() == str(scalar(snapshot, "SELECT count(*) FROM etl_runs"))
    # the source is a copy of the sample posts (a folder like any site's), silent since 2026-11-25,
    # and the page uses the DAG's rule: stale past the limit of deploy/airflow.env (48 h)
    newest = scalar(snapshot, "SELECT max(published_at) FROM articles WHERE deleted_at IS NULL")
    stale = (datetime.now(UTC) - newest).total_seconds() / 3600 > 48
    assert frame.get_by_test_id("freshness").inner_text().startswith("Freshness: stale") == stale
    assert (frame.get_by_test_id("stale-banner").count() == 1) == stale
    if stale:  # said once, in the banner, with the newest post in the page's one time format
        assert frame.get_by_test_id("stale-banner").inner_text().startswith("STALE SOURCE: no new post for ")
        assert "(newest post 2026-11-25 18:02 Asia/Shanghai (10:02 UTC); limit 48" in (
            frame.get_by_test_id("stale-banner").inner_text()
        )
    assert frame.get_by_test_id("newest-post").inner_text().endswith("UTC)")  # site time and UTC

    run_cells = frame.get_by_test_id("runs").locator("tbody tr", has_text=run_id).first.locator("td")
    shown = {cell.get_attribute("data-col"): cell.inner_text() for cell in run_cells.all()}
    ((seen, changed, new, rejects),) = rows(
        snapshot, "SELECT posts_seen, posts_changed, articles_new, rejects FROM etl_runs WHERE run_id = ?", [run_id]
    )
    assert (shown["run_id"], shown["status"]) == (run_id, "published")
    assert (shown["posts_seen"], shown["posts_changed"], shown["articles_new"], shown["rejects"]) == (
        str(seen),
        str(changed),
        str(new),
        str(rejects),
    )

    reasons = {}
    for tr in frame.get_by_test_id("rejects").locator("tbody tr").all():
        reasons[tr.locator('td[data-col="reason"]').inner_text()] = int(tr.locator('td[data-col="posts"]').inner_text())
    assert reasons == dict(rows(snapshot, "SELECT reason, count(*) FROM rejects GROUP BY reason"))

    bars = {
        t.get_attribute("data-day"): int(t.get_attribute("data-total"))
        for t in frame.locator("svg[data-testid=chart] g[data-total]").all()
    }
    assert bars == {
        str(d): n
        for d, n in rows(snapshot, "SELECT published_date, count(*) FROM articles WHERE deleted_at IS NULL GROUP BY 1")
    }
    # Airflow's own state of the run, by its site day, linked to the run in the UI
    airflow_row = frame.get_by_test_id("airflow-runs").locator(f'tr[data-run="{run_id}"]')
    assert airflow_row.locator('td[data-col="state"]').inner_text() == "success"
    assert airflow_row.locator('td[data-col="site_day"]').inner_text() == "2026-11-24"
    # a post's title in Chinese would reach the page only as text: no script runs on it
    assert frame.locator("script").count() == 0
    # the link is the run's page in the UI (the UI's iframe may not navigate the top window: a
    # click opens it in the frame, a middle click in a tab)
    href = airflow_row.locator('td[data-col="run"] a').get_attribute("href")
    page.goto(af.url + href)
    expect(page.get_by_text(run_id).first).to_be_visible(timeout=60_000)

    # the page on its own, whole, for the guides (docs/warehouse-page.png is a copy of this one)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(af.url + "/news-warehouse/")
    page.get_by_test_id("total-articles").wait_for()
    page.screenshot(path=str(ARTIFACTS / "warehouse-page.png"), full_page=True)
