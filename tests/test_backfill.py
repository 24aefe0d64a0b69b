"""Backfills as Airflow runs them: the real scheduler, not ``dag.test()``.

A git site written day by day, as finews' scrapers write it: new posts each morning, a correction of
yesterday's post at noon, and in the evening the posts of three days ago moved from ``_posts/`` to
``old_post/``. Four site days are backfilled twice into two warehouses by one running Airflow:

- with ``make backfill FROM=… TO=…`` (site days, one run at a time): one run per site day;
- with Airflow's defaults (``POST /api/v2/backfills``, the backfill's own ``max_active_runs`` of
  10): the days run at once.

Both must end in the site as it was at the end of the last day (post ids, paths, content hashes,
source files, no reject), and equal to each other, versions included.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from airflow_local import LocalAirflow
from airflow_servers import private_tmp
from conftest import ROOT
from site_repo import SiteRepo, git
from warehouse_checks import rows

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1800)]

DAG = "news_etl_daily"
SITE = ZoneInfo("Asia/Shanghai")
FIRST_DAY, LAST_DAY = date(2026, 11, 21), date(2026, 11, 24)  # the backfilled site days
HISTORY_FROM = date(2026, 11, 16)  # the site's first day
POSTS_A_DAY = 6


def at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SITE).isoformat()


def write_site(root: Path) -> SiteRepo:
    """The site, commit by commit, from HISTORY_FROM to LAST_DAY (posts are the sample's articles
    as templates, each with its own id, title and date)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from generate_site import templates

    tpls = templates()
    repo = SiteRepo(root, with_sample=False, when=at(HISTORY_FROM - timedelta(days=1), 12))
    day, n = HISTORY_FROM, 0
    while day <= LAST_DAY:
        for k in range(POSTS_A_DAY):  # the morning's posts
            front, body = tpls[n % len(tpls)]
            post_id = f"{day:%Y%m%d}24{n:08d}"
            repo.write(
                f"_posts/{day}-{post_id}.md",
                f'---\ntitle: "第{n}篇：{day}的新闻"\ndate: {day} {8 + k:02d}:15:00 +0800\n{front}\n---{body}\n',
            )
            n += 1
        repo.commit(f"posts of {day}", when=at(day, 9))
        yesterday = sorted(p for p in repo.posts() if f"/{day - timedelta(days=1)}-" in p)
        if yesterday:  # a correction of one of yesterday's posts
            path = yesterday[0]
            repo.write(path, repo.path(path).read_text(encoding="utf-8") + "\n<p>更正：数据已更新。</p>\n")
            repo.commit(f"correction of {path}", when=at(day, 12))
        for path in repo.posts():  # the evening: posts of three days ago go to old_post/
            if path.startswith("_posts/") and f"/{day - timedelta(days=3)}-" in path:
                repo.move(path, path.replace("_posts/", "old_post/"))
        repo.commit(f"archive of {day - timedelta(days=3)}", when=at(day, 20))
        day += timedelta(days=1)
    return repo


def site_at_head(repo: SiteRepo) -> dict[str, tuple[str, str]]:
    """{post id: (path, SHA-256 of the file)} of every post file of the site's last commit."""
    out = {}
    for path in repo.posts():
        data = repo.path(path).read_bytes()
        post_id = Path(path).stem.split("-", 3)[3]
        out[post_id] = (path, hashlib.sha256(data).hexdigest())
    return out


@pytest.fixture(scope="module")
def backfilled():
    """One Airflow (the make airflow launcher's class, scheduler's own schedule off), the site, and
    the two backfills run into two warehouses."""
    base = private_tmp("news-etl-backfill-")
    repo = write_site(base / "remote")
    assert git(repo.work, "log", "-1", "--format=%cI") == at(LAST_DAY, 20)
    warehouses = {"in turn": base / "in-turn.duckdb", "at once": base / "at-once.duckdb"}
    af = LocalAirflow(
        base / "home",
        source=f"git+{repo.url}",
        warehouse=warehouses["in turn"],
        published=base / "published" / "warehouse.duckdb",
        staging=base / "staging",
        overrides={"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False", "NEWS_ETL_CACHE": str(base / "cache")},
    )
    result = {"repo": repo, "warehouses": warehouses, "af": af}
    try:
        af.prepare()
        af.start(components=("api-server", "scheduler", "dag-processor"))
        af.wait_ready()
        af.unpause()

        # 1. make backfill FROM=2026-11-21 TO=2026-11-24: site days, one run at a time
        started = time.monotonic()
        done = subprocess.run(
            ["make", "-s", "-C", str(ROOT), "backfill", f"FROM={FIRST_DAY}", f"TO={LAST_DAY}"],
            env={**os.environ, "AIRFLOW_HOME": str(af.home)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        result["command"] = next(line for line in done.stdout.splitlines() if "backfill create" in line)
        result["in turn"] = wait_backfill(af)
        result["seconds in turn"] = time.monotonic() - started

        # 2. Airflow's defaults, into the other warehouse: the days again, at once. A new writer's
        #    file with the old one's snapshot still there is refused (it could be a lost warehouse):
        #    the first snapshot goes aside, as an operator starting a second warehouse does
        af.published.rename(af.published.with_name("in-turn-snapshot.duckdb"))
        af.api(
            "PATCH",
            "/api/v2/connections/news_warehouse",
            {"connection_id": "news_warehouse", "conn_type": "duckdb", "host": str(warehouses["at once"])},
        )
        started = time.monotonic()
        body = {
            "dag_id": DAG,
            "from_date": at(FIRST_DAY, 0),
            "to_date": f"{LAST_DAY}T23:59:59+08:00",
            "reprocess_behavior": "completed",  # the same days again
        }
        earlier = {b["id"] for b in af.api("GET", f"/api/v2/backfills?dag_id={DAG}")["backfills"]}
        while True:  # the scheduler may still be closing the first backfill (409) for a moment
            try:
                backfill = af.api("POST", "/api/v2/backfills", body)
                break
            except RuntimeError as exc:
                # a try answered 503 "database is locked" by SQLite may have created it all the same
                ours = [
                    b for b in af.api("GET", f"/api/v2/backfills?dag_id={DAG}")["backfills"] if b["id"] not in earlier
                ]
                if ours:
                    (backfill,) = ours
                    break
                if "409" not in str(exc) or time.monotonic() - started > 120:
                    raise
                time.sleep(3)
        assert backfill["max_active_runs"] == 10  # Airflow's default: not one at a time
        result["at once"] = wait_backfill(af)
        result["seconds at once"] = time.monotonic() - started
        yield result
    finally:
        af.stop()
        if os.environ.get("NEWS_ETL_KEEP_TEST_AIRFLOW") != "1":
            shutil.rmtree(base, ignore_errors=True)


def wait_backfill(af: LocalAirflow, timeout: float = 900) -> list[dict]:
    """The runs of the DAG's latest backfill, once the scheduler has marked it complete."""
    deadline = time.monotonic() + timeout
    while True:
        backfills = af.api("GET", f"/api/v2/backfills?dag_id={DAG}")["backfills"]
        latest = max(backfills, key=lambda b: b["created_at"])
        if latest["completed_at"]:
            runs = af.api("GET", f"/api/v2/dags/{DAG}/dagRuns?run_type=backfill&limit=100")["dag_runs"]
            return sorted(runs, key=lambda r: r["logical_date"])
        if time.monotonic() > deadline:
            pytest.fail(f"backfill {latest} not complete after {timeout}s")
        time.sleep(3)


def test_make_backfill_gives_one_run_per_site_day(backfilled):
    assert (
        "--from-date 2026-11-21T00:00:00+08:00 --to-date 2026-11-24T23:59:59+08:00 --max-active-runs 1"
        in (backfilled["command"])
    )
    runs = backfilled["in turn"]
    # the run of site day D starts at D 00:30 Asia/Shanghai and covers the day
    assert [r["logical_date"] for r in runs] == [
        "2026-11-20T16:30:00Z",
        "2026-11-21T16:30:00Z",
        "2026-11-22T16:30:00Z",
        "2026-11-23T16:30:00Z",
    ]
    assert {r["state"] for r in runs} == {"success"}, [(r["logical_date"], r["state"]) for r in runs]


@pytest.mark.parametrize("how", ["in turn", "at once"])
def test_the_backfill_ends_in_the_site_of_the_last_day(backfilled, how):
    runs = backfilled[how]
    assert {r["state"] for r in runs} == {"success"}, [(r["logical_date"], r["state"]) for r in runs]
    warehouse = backfilled["warehouses"][how]
    want = site_at_head(backfilled["repo"])
    assert len(want) == POSTS_A_DAY * ((LAST_DAY - HISTORY_FROM).days + 1)
    got = {
        pid: (path, h)
        for pid, path, h in rows(warehouse, "SELECT post_id, path, content_hash FROM articles WHERE deleted_at IS NULL")
    }
    assert got == want  # ids, paths (moves followed), hashes (corrections loaded)
    assert rows(warehouse, "SELECT count(*) FROM articles WHERE deleted_at IS NOT NULL") == [(0,)]
    live = dict(rows(warehouse, "SELECT path, content_hash FROM source_files WHERE NOT deleted"))
    assert live == {path: h for path, h in want.values()}
    assert rows(warehouse, "SELECT reason, count(*) FROM rejects GROUP BY reason") == []
    # each run loaded its own day's commit, the last one the site's last commit
    revisions = [r for (r,) in rows(warehouse, "SELECT source_revision FROM etl_runs ORDER BY interval_end")]
    assert revisions[-1] == backfilled["repo"].head()


def test_at_once_equals_in_turn(backfilled):
    """Days loaded at once end where the days in turn end: the same articles, files, metrics, stories
    and no reject. What may differ is history: a day whose load commits after a later day's finds
    that state loaded, so a correction made and overwritten between two of its days is not a
    version of its own (make backfill, one run at a time, keeps every day's versions). Every
    version the runs at once wrote is one the runs in turn wrote too: none is made up."""
    turn, once = backfilled["warehouses"]["in turn"], backfilled["warehouses"]["at once"]
    articles = (
        "SELECT * EXCLUDE (run_id, first_loaded_at, updated_at, deleted_at, version) FROM articles ORDER BY post_id"
    )
    assert rows(once, articles) == rows(turn, articles)
    live = "SELECT source, path, post_id, content_hash FROM source_files WHERE NOT deleted ORDER BY ALL"
    assert rows(once, live) == rows(turn, live)
    metrics = "SELECT * EXCLUDE (version, run_id) FROM article_metrics ORDER BY post_id"
    assert rows(once, metrics) == rows(turn, metrics)
    assert rows(once, "SELECT count(*) FROM rejects") == rows(turn, "SELECT count(*) FROM rejects") == [(0,)]
    # a version is content: its path is where the file lay when that content was first loaded, so
    # a post first loaded by a later day's run is recorded at the folder it had moved to by then
    versions = "SELECT DISTINCT post_id, content_hash FROM article_versions WHERE change <> 'deleted'"
    assert set(rows(once, versions)) <= set(rows(turn, versions))
    paths = """SELECT DISTINCT post_id, path FROM article_versions UNION SELECT post_id, path FROM articles"""
    assert set(rows(once, paths)) <= set(rows(turn, paths))
    print(
        f"backfill of {len(backfilled['in turn'])} site days: in turn {backfilled['seconds in turn']:.0f}s, "
        f"at once {backfilled['seconds at once']:.0f}s"
    )
