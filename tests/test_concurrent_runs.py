"""Runs at once (a backfill's days with Airflow's default concurrency, two CLI runs) end equal to the
same runs in turn: ids, paths, hashes, source files, versions, rejects, and each run's counts.

The site is a real git repository whose scrapers commit a few site days: new posts, edits, a
deletion and a revival, the three-day move from ``_posts/`` to ``old_post/`` (one with an edit, one
copied first and removed a day later). Every fetch runs first (each reads the same watermark, as a
backfill's runs started together do), then the loads, in date order or in reverse.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import settings_in
from reliability import ROOT, cli_env, record
from site_repo import SiteRepo, post_text
from warehouse_checks import fingerprint, rows

from news_etl import pipeline
from news_etl.settings import SITE_TIMEZONE, Settings
from news_etl.warehouse.connection import file_connect

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

SITE = ZoneInfo(SITE_TIMEZONE)
DAYS = [date(2026, 11, 26) + timedelta(days=k) for k in range(4)]
#: The DAG's data interval of site day d ends at 00:30 the next day, site time.
ENDS = [datetime(d.year, d.month, d.day, 0, 30, tzinfo=SITE) + timedelta(days=1) for d in DAYS]
RUN_COUNTS = """SELECT run_id, source_revision, posts_seen, posts_changed, posts_deleted, articles_new,
                       articles_updated, articles_unchanged, articles_deleted, articles_revived, rejects
                FROM etl_runs ORDER BY run_id"""


def _post_day(path: str) -> date | None:
    name = path.rsplit("/", 1)[-1]
    try:
        return date.fromisoformat(name[:10])
    except ValueError:
        return None


def build_site(root: Path) -> SiteRepo:
    """The sample site, then four site days of the scrapers' commits (an hour before each interval end)."""
    repo = SiteRepo(root, when=(ENDS[0] - timedelta(days=2)).isoformat())
    deleted = ""
    for k, day in enumerate(DAYS):
        for i in range(4):  # the day's news
            pid = f"{day:%Y%m%d}24{k}{i:07d}"
            repo.write(f"_posts/{day}-{pid}.md", post_text(pid, f"第{k}天第{i}篇", day=str(day)))
        for p in repo.posts():  # the three-day move
            posted = _post_day(p)
            if p.startswith("_posts/") and posted and (day - posted).days >= 3:
                repo.move(p, p.replace("_posts/", "old_post/"))
        old = [p for p in repo.posts() if p.startswith("old_post/")]
        if k == 0:
            repo.write(old[0], repo.path(old[0]).read_text(encoding="utf-8") + "\n<p>更正：数据有误。</p>\n")
        if k == 1:
            deleted = old[1]
            saved = repo.path(deleted).read_bytes()
            repo.delete(deleted)
            # a post copied to old_post/ a day before its original goes (a duplicate for one day)
            fresh = [p for p in repo.posts() if p.startswith("_posts/") and _post_day(p) == DAYS[0]]
            repo.write(fresh[0].replace("_posts/", "old_post/"), repo.path(fresh[0]).read_bytes())
        if k == 2:
            repo.delete(fresh[0])
            # moved with an edit: git sees a delete and an add
            target = next(p for p in repo.posts() if p.startswith("_posts/") and _post_day(p) == DAYS[0])
            text = repo.path(target).read_text(encoding="utf-8") + "\n<p>（移走时改写）</p>\n"
            repo.delete(target)
            repo.write(target.replace("_posts/", "old_post/"), text)
        if k == 3:
            repo.write(deleted, saved)  # revived
            edited = [p for p in repo.posts() if p.startswith("_posts/")][-1]
            repo.write(edited, repo.path(edited).read_text(encoding="utf-8") + "\n<p>再次更正。</p>\n")
        repo.commit(f"site day {day}", when=(ENDS[k] - timedelta(hours=1)).isoformat())
    return repo


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> SiteRepo:
    return build_site(tmp_path_factory.mktemp("concurrent") / "remote")


def settings_for(folder: Path, repo: SiteRepo) -> Settings:
    return settings_in(folder, f"git+{repo.url}", source_retries=1)


def day_runs() -> list[dict]:
    return [
        pipeline.new_run(f"day{k}", interval_end=end.isoformat(), logical_date=end.isoformat())
        for k, end in enumerate(ENDS)
    ]


def in_turn(folder: Path, repo: SiteRepo, runs: list[dict]) -> Settings:
    settings = settings_for(folder, repo)
    for run in runs:
        pipeline.run_all(settings, run)
    return settings


def at_once(folder: Path, repo: SiteRepo, runs: list[dict], load_order: list[int]) -> Settings:
    """Every run's fetch, transform and validate first (all read the same watermark), then the loads."""
    settings = settings_for(folder, repo)
    staged = []
    for run in runs:
        fetched = pipeline.fetch(settings, run)
        transformed = pipeline.transform_all(fetched)
        staged.append((run, fetched, transformed, pipeline.validate(fetched["staging"], transformed)))
    assert len({f["watermark"]["digest"] for _, f, _, _ in staged}) == 1
    connect = file_connect(settings.warehouse)
    for i in load_order:
        run, fetched, transformed, validated = staged[i]
        pipeline.load(connect, settings, run, fetched, transformed, validated)
        pipeline.publish(connect, settings, run, fetched)
    return settings


def assert_equal_warehouses(got: Settings, want: Settings) -> None:
    assert fingerprint(got.warehouse, moments=False) == fingerprint(want.warehouse, moments=False)
    assert rows(got.warehouse, RUN_COUNTS) == rows(want.warehouse, RUN_COUNTS)


def assert_the_site_as_of_the_last_day(settings: Settings, repo: SiteRepo) -> None:
    """Every post file of the site at its last commit is a live source file, each in one place."""
    live = rows(settings.warehouse, "SELECT path FROM source_files WHERE NOT deleted ORDER BY path")
    assert [p for (p,) in live] == repo.posts()
    assert rows(settings.warehouse, "SELECT count(*) FROM rejects WHERE reason = 'duplicate post id'") == [(1,)]
    paths = rows(settings.warehouse, "SELECT path FROM articles WHERE deleted_at IS NULL")
    assert all(repo.path(p).is_file() for (p,) in paths), "a live article points at a file that is gone"


@pytest.mark.slow
@pytest.mark.parametrize("order", ["date order", "reverse order"])
def test_runs_at_once_equal_the_runs_in_turn(site, tmp_path, caplog, order):
    runs = day_runs()
    load_order = list(range(len(runs))) if order == "date order" else list(reversed(range(len(runs))))
    want = in_turn(tmp_path / "in-turn", site, [runs[i] for i in load_order])
    with caplog.at_level(logging.WARNING, logger="news_etl.pipeline"):
        got = at_once(tmp_path / "at-once", site, runs, load_order)
    assert_equal_warehouses(got, want)
    if order == "date order":
        assert_the_site_as_of_the_last_day(got, site)
    moved = [r.getMessage() for r in caplog.records if "moved since this run's fetch" in r.getMessage()]
    # every load after the first found the watermark moved, said so in one line, and fetched again
    assert len(moved) == len(runs) - 1, moved
    assert all(m.startswith("load: the watermark of git:") and "fetching again" in m for m in moved)
    record("fault", f"{len(runs)} backfill runs fetched at once, loaded in {order}")


@pytest.mark.slow
def test_cli_runs_started_together_equal_the_same_runs_in_turn(site, tmp_path):
    """Four real `news-etl run --as-of` processes at once on one warehouse: each waits for the
    writer's file and loads on top of the one before; the end equals the four in the order they loaded."""
    folder = tmp_path / "cli"
    s = settings_for(folder, site)
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).with_name("news-etl")),
                "run",
                "--source",
                s.source,
                "--warehouse",
                str(s.warehouse),
                "--published",
                str(s.published),
                "--staging",
                str(folder / f"staging{k}"),
                "--workers",
                "1",
                "--as-of",
                end.isoformat(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(NEWS_ETL_LOCK_TIMEOUT=300),
            cwd=ROOT,
        )
        for k, end in enumerate(ENDS)
    ]
    results = [p.communicate(timeout=500) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), [e[-2000:] for _, e in results]
    loaded = rows(s.warehouse, "SELECT run_id, interval_end FROM etl_runs ORDER BY loaded_at")
    by_end = {end: k for k, end in enumerate(ENDS)}
    order = [by_end[end.astimezone(SITE)] for _, end in loaded]

    runs = day_runs()
    want = in_turn(tmp_path / "in-turn", site, [runs[k] for k in order])
    got_files = rows(s.warehouse, "SELECT * EXCLUDE (run_id) FROM source_files ORDER BY ALL")
    assert got_files == rows(want.warehouse, "SELECT * EXCLUDE (run_id) FROM source_files ORDER BY ALL")
    got, ref = fingerprint(s.warehouse, moments=False), fingerprint(want.warehouse, moments=False)
    assert got == ref
    record("fault", f"{len(procs)} CLI runs with --as-of started together (loaded in order {order})")


def test_a_retried_load_after_a_fetch_again_loads_a_consistent_run(tmp_path):
    """Airflow retries a failed load without re-running fetch or transform: the retry gets the
    manifest of the fetch the first try made inside the load, and the transform results (XCom) of
    the first fetch. The load never mixes the two: it fetches again and ends as the runs in turn."""
    from reliability import write_posts

    source = tmp_path / "posts"
    write_posts(source, 6)
    settings = Settings().with_(
        source=str(source),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "p.duckdb",
        staging=tmp_path / "staging",
        workers=1,
    )
    connect = file_connect(settings.warehouse)
    late = pipeline.new_run("late")
    fetched = pipeline.fetch(settings, late)
    transformed = pipeline.transform_all(fetched)
    validated = pipeline.validate(fetched["staging"], transformed)
    pipeline.run_all(settings, pipeline.new_run("first"))  # loads the six posts first
    write_posts(source, 2, start=50)

    assert pipeline.load(connect, settings, late, fetched, transformed, validated)["new"] == 2
    # the retry: the manifest now on disk (the fetch the load made), the first try's transform results
    again = pipeline.read_manifest(settings, late)
    assert again["fetch_id"] != fetched["fetch_id"]
    assert pipeline.load(connect, settings, late, again, transformed, validated)["new"] == 0
    assert rows(settings.warehouse, "SELECT count(*) FROM articles") == [(8,)]
    assert rows(settings.warehouse, "SELECT count(*) FROM source_files") == [(8,)]
