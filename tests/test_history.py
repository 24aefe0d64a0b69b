"""History: after a sequence of real commits (add, modify, rename, move + delete, copy then delete,
revive, force-push) and runs, the warehouse equals a fresh full load of the final state, plus the
right versions and deletions. The watermark moves only with the data; a backfill equals the days
run one by one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, settings_in
from site_repo import SiteRepo, post_text
from warehouse_checks import fingerprint, rows, scalar

from news_etl import pipeline
from news_etl.settings import DAG_ID, Settings
from news_etl.warehouse.connection import file_connect

LIVE_ARTICLES = """SELECT post_id, source, path, title, published_at, categories, tags, outlet, source_url, digest,
                          byline, credit, body_text, content_hash
                   FROM articles WHERE deleted_at IS NULL ORDER BY post_id"""
LIVE_METRICS = """SELECT m.* EXCLUDE (version, run_id) FROM article_metrics m JOIN articles a USING (post_id)
                  WHERE a.deleted_at IS NULL ORDER BY post_id"""
LIVE_FILES = """SELECT source, path, post_id, content_hash, outcome FROM source_files WHERE NOT deleted ORDER BY path"""
DAILY = """SELECT day, outlet, category, articles, chars_total, chars_mean, chars_median, share_with_images
           FROM daily_metrics WHERE articles > 0 ORDER BY ALL"""


def settings_for(tmp_path, repo: SiteRepo, name: str) -> Settings:
    return settings_in(
        tmp_path,
        f"git+{repo.url}",
        warehouse=tmp_path / f"{name}.duckdb",
        published=tmp_path / f"{name}-published.duckdb",
        cache=tmp_path / f"cache-{name}",
        source_retries=1,
    )


def versions(warehouse, post_id: str) -> list[tuple]:
    return rows(
        warehouse,
        "SELECT version, change FROM article_versions WHERE post_id = ? ORDER BY version, change = 'deleted'",
        [post_id],
    )


def pid(path: str) -> str:
    return path.rsplit("/", 1)[-1][len("2026-11-25-") : -3]


def test_a_sequence_of_commits_ends_in_a_fresh_full_load_plus_versions_and_deletions(tmp_path):
    repo = SiteRepo(tmp_path / "remote")
    settings = settings_for(tmp_path, repo, "incremental")
    w = settings.warehouse
    pipeline.run_all(settings)
    names = [p for p in repo.posts() if scalar(w, "SELECT count(*) FROM articles WHERE path = ?", [p])]
    m1, m2, git_mv, mv_edit, d1, d2, y = names[:7]
    d1_bytes = repo.path(d1).read_bytes()

    # 1. add one post, modify one
    added = "_posts/2026-11-26-202611262419000001.md"
    repo.write(added, post_text("202611262419000001", "新增的一篇", day="2026-11-26"))
    repo.write(m1, repo.path(m1).read_text(encoding="utf-8") + "\n<p>更正：数据有误。</p>\n")
    repo.commit("add and modify")
    load = pipeline.run_all(settings)["load"]
    assert (load["new"], load["updated"], load["deleted"]) == (1, 1, 0)

    # 2. the three-day move (_posts/ → old_post/): one plain rename, one rename with an edit
    #    (git sees a delete and an add); and one deletion, all in one commit
    repo.move(git_mv, git_mv.replace("_posts/", "old_post/"))
    repo.write(mv_edit.replace("_posts/", "old_post/"), post_text(pid(mv_edit), "移走时改写", day="2026-11-25"))
    repo.delete(mv_edit)
    repo.delete(d1)
    repo.commit("move old posts, delete one")
    load = pipeline.run_all(settings)["load"]
    assert (load["new"], load["updated"], load["deleted"], load["revived"]) == (0, 1, 1, 0)

    # 3. a move across two runs: the copy first (a duplicate for a day), the original later
    y_copy = y.replace("_posts/", "old_post/")
    repo.write(y_copy, repo.path(y).read_bytes())
    repo.commit("copy to old_post")
    assert pipeline.run_all(settings)["load"]["rejects"] == 1  # duplicate post id, for now
    repo.delete(y)
    repo.commit("drop the original")
    load = pipeline.run_all(settings)["load"]
    assert (load["deleted"], load["revived"], load["updated"]) == (0, 0, 0)

    # 4. the deleted post comes back; the added one changes again
    before_rewrite = repo.commit("nothing")  # an empty commit the force-push will replace
    repo.write(d1, d1_bytes)
    repo.write(added, post_text("202611262419000001", "新增的一篇（第二版）", day="2026-11-26"))
    repo.commit("revive and edit")
    load = pipeline.run_all(settings)["load"]
    assert (load["revived"], load["updated"]) == (1, 1)

    # 5. force-push: the last two commits rewritten; one more post gone, another edited
    repo.delete(d2)
    repo.write(m2, repo.path(m2).read_text(encoding="utf-8") + "\n<p>（修订）</p>\n")
    repo.force_push(before_rewrite, "rewritten history")
    result = pipeline.run_all(settings)
    assert any("history was rewritten" in w for w in result["fetch"]["warnings"])
    message = scalar(w, "SELECT message FROM etl_runs WHERE run_id = ?", [result["run"]["run_id"]])
    assert "history was rewritten" in message
    assert (result["load"]["deleted"], result["load"]["updated"]) == (1, 1)

    # the final state, loaded fresh from the same repository
    fresh = settings_for(tmp_path, repo, "fresh")
    pipeline.run_all(fresh)
    for sql in (LIVE_ARTICLES, LIVE_METRICS, LIVE_FILES, DAILY):
        assert rows(w, sql) == rows(fresh.warehouse, sql), sql
    assert rows(w, "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == [(43 + 1 - 1,)]

    # ... plus the versions and the deletions
    assert sorted(rows(w, "SELECT post_id FROM articles WHERE deleted_at IS NOT NULL")) == [(pid(d2),)]
    assert versions(w, pid(m1)) == [(1, "new"), (2, "updated")]
    assert versions(w, pid(m2)) == [(1, "new"), (2, "updated")]
    assert versions(w, "202611262419000001") == [(1, "new"), (2, "updated")]
    assert versions(w, pid(git_mv)) == [(1, "new")]  # a move is no new version
    assert versions(w, pid(y)) == [(1, "new")]  # nor a move over two runs
    assert versions(w, pid(mv_edit)) == [(1, "new"), (2, "updated")]
    assert versions(w, pid(d1)) == [(1, "new"), (1, "deleted"), (2, "revived")]
    assert versions(w, pid(d2)) == [(1, "new"), (1, "deleted")]
    assert rows(w, "SELECT path, version FROM articles WHERE post_id = ?", [pid(y)]) == [(y_copy, 1)]
    assert rows(w, "SELECT count(*) FROM article_versions WHERE run_id IS NULL") == [(0,)]

    # and re-running changes nothing
    before = fingerprint(w)
    assert pipeline.run_all(settings)["fetch"]["changed"] == 0
    assert fingerprint(w) == before


def test_the_watermark_moves_only_with_the_data(tmp_path):
    repo = SiteRepo(tmp_path / "remote")
    settings = settings_for(tmp_path, repo, "w")
    pipeline.run_all(settings)
    loaded = scalar(settings.warehouse, "SELECT revision FROM source_state")
    assert loaded == repo.head()
    repo.write("_posts/2026-11-26-202611262419000002.md", post_text("202611262419000002", "新的一篇", day="2026-11-26"))
    new_head = repo.commit("one more")

    run = pipeline.new_run()
    fetched = pipeline.fetch(settings, run)
    assert fetched["revision"] == new_head and fetched["changed"] == 1
    transformed = pipeline.transform_all(fetched)
    validated = pipeline.validate(fetched["staging"], transformed)
    clean = settings.staging / run["run_id"] / transformed[0]["clean"]
    table = pq.read_table(clean)
    table = table.set_column(
        table.schema.get_field_index("title"), "title", pa.array([None] * table.num_rows, pa.string())
    )
    pq.write_table(table, clean)
    with pytest.raises(Exception, match="NOT NULL"):
        pipeline.load(file_connect(settings.warehouse), settings, run, fetched, transformed, validated)
    assert scalar(settings.warehouse, "SELECT revision FROM source_state") == loaded  # not moved
    result = pipeline.run_all(settings)  # the next run sees the same change
    assert result["load"]["new"] == 1
    assert scalar(settings.warehouse, "SELECT revision FROM source_state") == new_head


# --- backfill: several days in one go equals the days one by one --------------------------------


@pytest.fixture(scope="module")
def dag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


DAYS = [datetime(2026, 11, d, tzinfo=UTC) for d in (24, 25, 26)]


def _interval_end(dag, logical_date):
    """The end of the data interval dag.test gives a logical date (Airflow core's timetable)."""
    import pendulum
    from airflow.timetables.interval import CronDataIntervalTimetable

    from news_etl.settings import SITE_TIMEZONE

    timetable = CronDataIntervalTimetable("30 0 * * *", timezone=SITE_TIMEZONE)
    return timetable.infer_manual_data_interval(run_after=pendulum.instance(logical_date)).end


def _commit_day(repo: SiteRepo, k: int, when: datetime) -> None:
    """The scrapers' work of day k (committed an hour before the day's run covers it)."""
    stamp = (when - timedelta(hours=1)).isoformat()
    if k == 0:
        repo.write(
            "_posts/2026-11-24-202611242419000001.md", post_text("202611242419000001", "第一天", day="2026-11-24")
        )
        posts = [p for p in repo.posts() if "2026-11-23" in p]
        repo.write(posts[0], repo.path(posts[0]).read_text(encoding="utf-8") + "\n<p>更正。</p>\n")
    elif k == 1:
        posts = [p for p in repo.posts() if p.startswith("_posts/2026-11-23")]
        for p in posts[:3]:
            repo.move(p, p.replace("_posts/", "old_post/"))
        repo.delete(posts[3])
        repo.write(
            "_posts/2026-11-24-202611242419000001.md", post_text("202611242419000001", "第一天（改）", day="2026-11-24")
        )
    else:
        repo.write(
            "_posts/2026-11-26-202611262419000003.md", post_text("202611262419000003", "第三天", day="2026-11-26")
        )
    repo.commit(f"day {k}", when=stamp)


def _point_at(monkeypatch, tmp_path, repo, name):
    paths = {"warehouse": tmp_path / f"{name}.duckdb", "published": tmp_path / name / "published.duckdb"}
    monkeypatch.setenv("AIRFLOW_VAR_NEWS_ETL_SOURCE", f"git+{repo.url}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWS_WAREHOUSE", '{{"conn_type": "duckdb", "host": "{}"}}'.format(paths["warehouse"])
    )
    monkeypatch.setenv("NEWS_ETL_PUBLISHED", str(paths["published"]))
    monkeypatch.setenv("NEWS_ETL_STAGING", str(tmp_path / name / "staging"))
    monkeypatch.setenv("NEWS_ETL_CACHE", str(tmp_path / name / "cache"))
    return paths


def _run(dag, day):
    dag_run = dag.test(logical_date=day)
    assert str(dag_run.state).endswith("success"), f"DAG run of {day} ended {dag_run.state}"


@pytest.mark.airflow
@pytest.mark.slow
def test_a_backfill_equals_the_days_run_one_by_one(dag, airflow_env, tmp_path, monkeypatch):
    ends = [_interval_end(dag, d) for d in DAYS]
    start = (ends[0] - timedelta(days=2)).isoformat()

    # one by one: each day the scrapers commit, then the day's run
    repo = SiteRepo(tmp_path / "remote", when=start)
    daily = _point_at(monkeypatch, tmp_path, repo, "daily")
    for k, day in enumerate(DAYS):
        _commit_day(repo, k, ends[k])
        _run(dag, day)
    daily_runs = rows(
        daily["warehouse"],
        "SELECT interval_end, source_revision, articles_new, articles_updated, "
        "articles_deleted FROM etl_runs ORDER BY logical_date",
    )

    # backfill: the same site, all its commits there already; the three days run in one go
    shutil.move(tmp_path / "remote", tmp_path / "daily-remote")
    repo = SiteRepo(tmp_path / "remote", when=start)
    for k in range(len(DAYS)):
        _commit_day(repo, k, ends[k])
    backfill = _point_at(monkeypatch, tmp_path, repo, "backfill")
    for day in DAYS:
        _run(dag, day)

    # every data table; deleted_at is when the run saw the file go: only whether it is set counts
    assert fingerprint(backfill["warehouse"], moments=False) == fingerprint(daily["warehouse"], moments=False)
    backfill_runs = rows(
        backfill["warehouse"],
        "SELECT interval_end, source_revision, articles_new, "
        "articles_updated, articles_deleted FROM etl_runs ORDER BY logical_date",
    )
    assert backfill_runs == daily_runs
    # each day's run loaded that day's commit, not the newest
    assert [r[2:] for r in daily_runs] == [(43 + 1, 0, 0), (0, 1, 1), (1, 0, 0)]  # (new, updated, deleted)
    assert len({r[1] for r in daily_runs}) == 3
