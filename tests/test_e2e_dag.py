"""End to end: the real DAG (dag.test) on the sample posts into a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from conftest import ROOT
from warehouse_checks import fingerprint, rows, scalar

from news_etl.settings import DAG_ID

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

EXPECTED = yaml.safe_load((ROOT / "tests" / "data" / "sample_expected.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def run_day(dag, day: int = 25):
    dag_run = dag.test(logical_date=datetime(2026, 11, day, tzinfo=UTC))
    assert str(dag_run.state).endswith("success"), f"DAG run ended {dag_run.state}"
    return dag_run


def test_daily_run_loads_the_sample_posts(dag, airflow_env):
    run_day(dag)
    snapshot = airflow_env["published"]
    assert snapshot.exists(), "publish wrote no snapshot"
    assert scalar(snapshot, "SELECT count(*) FROM articles") == EXPECTED["articles"] == 43
    rejects = dict(rows(snapshot, "SELECT path, reason FROM rejects"))
    assert set(rejects) == set(EXPECTED["rejects"])
    for path, reason in EXPECTED["rejects"].items():
        assert rejects[path].startswith(reason), (path, rejects[path], reason)
    per_outlet = dict(rows(snapshot, "SELECT outlet, count(*) FROM articles GROUP BY outlet"))
    assert per_outlet == EXPECTED["articles_per_outlet"]
    per_day = {str(d): n for d, n in rows(snapshot, "SELECT published_date, count(*) FROM articles GROUP BY 1")}
    assert per_day == {str(k): v for k, v in EXPECTED["articles_per_date"].items()}
    # daily_metrics agree with the articles
    assert scalar(snapshot, "SELECT sum(articles) FROM daily_metrics") == 43
    audit = rows(snapshot, "SELECT status, posts_seen, posts_changed, articles_new, rejects, dag_run_id FROM etl_runs")
    assert len(audit) == 1
    status, seen, changed, new, n_rejects, dag_run_id = audit[0]
    assert (status, seen, changed, new, n_rejects) == ("published", 48, 48, 43, 5)
    assert dag_run_id
    # every expectation result of the run is stored
    assert scalar(snapshot, "SELECT count(*) FROM quality_results WHERE NOT success AND severity = 'hard'") == 0
    assert scalar(snapshot, "SELECT count(*) FROM quality_results") > 10
    # the staging folder of a successful run is cleaned
    assert not any(airflow_env["staging"].glob("*/raw/*.parquet"))


def test_running_the_same_day_again_changes_nothing(dag, airflow_env):
    run_day(dag)
    before = fingerprint(airflow_env["warehouse"])
    run_day(dag)
    after = fingerprint(airflow_env["warehouse"])
    assert after == before
    last = "SELECT posts_changed, articles_new, rejects, status FROM etl_runs ORDER BY loaded_at DESC LIMIT 1"
    assert rows(airflow_env["warehouse"], last) == [(0, 0, 0, "published")]
    # nothing new: the snapshot of the first run stays in place, its own etl_runs as that run left it
    assert rows(airflow_env["published"], last) == [(48, 43, 5, "published")]


def test_one_new_post_loads_exactly_one_more_article(dag, airflow_env):
    run_day(dag)
    before = scalar(airflow_env["warehouse"], "SELECT count(*) FROM articles")
    new_post = airflow_env["source"] / "2026-11-26-202611262419999999.md"
    new_post.write_text(
        '---\nlayout: post\ntitle: "测试公司：新增订单2亿元"\ndate: 2026-11-26 09:15:00 +0800\n'
        "categories: emnews\ntags: 东财滚动新闻\n---\n\n测试公司公告，新增订单2亿元，同比增长15%。\n\n"
        "<http://finance.eastmoney.com/a/202611262419999999.html>",
        encoding="utf-8",
    )
    run_day(dag, 26)
    assert scalar(airflow_env["warehouse"], "SELECT count(*) FROM articles") == before + 1
    assert rows(
        airflow_env["warehouse"],
        "SELECT title, outlet, published_date::VARCHAR FROM articles WHERE post_id = ?",
        ["202611262419999999"],
    ) == [("测试公司：新增订单2亿元", "东财滚动新闻", "2026-11-26")]


def test_a_broken_post_is_a_reject_and_the_run_succeeds(dag, airflow_env):
    run_day(dag)
    broken = airflow_env["source"] / "2026-11-26-202611262418888888.md"
    broken.write_bytes(b'---\ntitle: "unclosed\ndate: 2026-11-26\n---\nbody')
    run_day(dag, 26)
    got = rows(airflow_env["warehouse"], "SELECT reason, raw FROM rejects WHERE path = ?", [broken.name])
    assert len(got) == 1
    assert got[0][0].startswith("bad YAML at line")
    assert bytes(got[0][1]) == broken.read_bytes()


def test_a_deleted_post_is_marked_not_removed(dag, airflow_env):
    run_day(dag)
    victim = sorted(airflow_env["source"].glob("2026-11-23-*.md"))[0]
    post_id = victim.name[len("2026-11-23-") : -3]
    victim.unlink()
    run_day(dag, 26)
    got = rows(airflow_env["warehouse"], "SELECT deleted_at IS NOT NULL FROM articles WHERE post_id = ?", [post_id])
    assert got == [(True,)]
