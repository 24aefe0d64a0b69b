"""The analyst layer on a small real warehouse: each defect an analyst met, reproduced, then fixed.

- article_length kept only the longest list when fewer than 10 articles were in range;
- summary counted rejects that were fixed later (current_rejects is the view for it);
- a revived, unchanged post counted as updated in daily_metrics;
- freshness mixed backfilled posts' meaningless lags into the figures;
- load_history filtered on the UTC day while showing Shanghai time;
- live_articles gives the Shanghai day and hour whatever the session's time zone; calendar zero-fills.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from news_etl import pipeline
from news_etl.analysts import reports
from news_etl.settings import Settings
from news_etl.warehouse.connection import file_connect

SHANGHAI = ZoneInfo("Asia/Shanghai")


def post(title: str, when: datetime, body: str) -> str:
    stamp = when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp} +0800\ncategories: emnews\ntags: 东财滚动新闻\n---\n{body}\n'


@pytest.fixture
def site(tmp_path):
    source = tmp_path / "posts"
    source.mkdir()
    settings = Settings().with_(
        source=str(source),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "published" / "w.duckdb",
        staging=tmp_path / "s",
        workers=1,
    )
    return source, settings


def report(settings, name, **params):
    con = reports.open_warehouse(settings.published)
    try:
        return reports.run_report(con, name, params).to_pylist()
    finally:
        con.close()


def query(settings, sql, params=None, timezone=None):
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        if timezone:
            con.execute(f"SET TimeZone = '{timezone}'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_article_length_keeps_both_lists_with_few_articles(site):
    source, settings = site
    when = datetime(2022, 5, 30, 9, 0, tzinfo=SHANGHAI)
    for i, body in enumerate(["短讯。", "一则中等长度的消息，说了两句话。", "一篇较长的报道" * 5 + "。"]):
        (source / f"2022-05-30-20220530000000000{i}.md").write_text(post(f"标题{i}", when, body), encoding="utf-8")
    pipeline.run_all(settings)
    rows = report(settings, "article_length")
    # three articles: each is in both lists, longest first in one, shortest first in the other
    assert [(r["which"], r["place"], r["post_id"][-1]) for r in rows] == [
        ("longest", 1, "2"),
        ("longest", 2, "1"),
        ("longest", 3, "0"),
        ("shortest", 1, "0"),
        ("shortest", 2, "1"),
        ("shortest", 3, "2"),
    ]


def test_a_reject_fixed_later_no_longer_counts(site):
    source, settings = site
    bad = source / "2022-05-30-202205300000000001.md"
    bad.write_text("---\ntitle: [unclosed\n---\n正文。\n", encoding="utf-8")
    (source / "2022-05-30-202205300000000002.md").write_text(
        post("另一篇", datetime(2022, 5, 30, 10, tzinfo=SHANGHAI), "正文。"), encoding="utf-8"
    )
    pipeline.run_all(settings)
    [(reason,)] = query(settings, "SELECT reason FROM current_rejects")
    assert reason.startswith("bad YAML")
    bad.write_text(post("修好了", datetime(2022, 5, 30, 9, tzinfo=SHANGHAI), "正文。"), encoding="utf-8")
    pipeline.run_all(settings)
    assert query(settings, "SELECT count(*) FROM rejects") == [(1,)]  # the history stays
    assert query(settings, "SELECT count(*) FROM current_rejects") == [(0,)]
    cli = Path(sys.executable).with_name("news-etl")
    out = subprocess.run([str(cli), "summary", "--warehouse", str(settings.published)], capture_output=True, text=True)
    assert out.returncode == 0 and "bad YAML" not in out.stdout and "(0 rows)" not in out.stdout


def test_a_revived_unchanged_post_is_not_counted_as_updated(site):
    source, settings = site
    when = datetime(2022, 5, 30, 9, tzinfo=SHANGHAI)
    kept = source / "2022-05-30-202205300000000001.md"
    edited = source / "2022-05-30-202205300000000002.md"
    kept.write_text(post("会回来的", when, "原文。"), encoding="utf-8")
    edited.write_text(post("会改的", when, "原文。"), encoding="utf-8")
    pipeline.run_all(settings)
    text = kept.read_text(encoding="utf-8")
    kept.unlink()
    edited.write_text(post("会改的", when, "改过的正文。"), encoding="utf-8")
    pipeline.run_all(settings)
    kept.write_text(text, encoding="utf-8")  # back, byte for byte
    pipeline.run_all(settings)
    assert query(settings, "SELECT version FROM articles ORDER BY post_id") == [(2,), (2,)]  # revived; edited
    day = query(
        settings, "SELECT articles, new_articles, updated_articles, deleted_articles, stories FROM daily_metrics"
    )
    assert day == [(2, 1, 1, 0, 2)]  # the revived post is as new as it was; the edited one is updated


def test_freshness_leaves_backfilled_posts_out_of_the_lag(site):
    source, settings = site
    now = datetime.now(SHANGHAI)
    (source / "fresh.md").write_text(post("刚发布", now - timedelta(minutes=10), "新消息。"), encoding="utf-8")
    (source / "old.md").write_text(post("旧闻", now - timedelta(days=400), "旧消息。"), encoding="utf-8")
    pipeline.run_all(settings)
    rows = {r["day"]: r for r in report(settings, "freshness")}
    old = rows[(now - timedelta(days=400)).date()]
    assert (old["articles"], old["backfilled"], old["median_lag_minutes"]) == (1, 1, None)
    fresh = rows[(now - timedelta(minutes=10)).date()]
    assert (fresh["articles"], fresh["backfilled"], fresh["within_a_day"]) == (1, 0, 1)
    assert 9 <= fresh["median_lag_minutes"] <= 30


def test_load_history_filters_on_the_shanghai_day_it_shows(site):
    source, settings = site
    (source / "a.md").write_text(post("一篇", datetime(2022, 5, 30, 9, tzinfo=SHANGHAI), "正文。"), encoding="utf-8")
    pipeline.run_all(settings)
    con = duckdb.connect(str(settings.warehouse))
    # the run loaded at 2026-11-25 23:30 UTC, which is 2026-11-26 07:30 in Shanghai
    con.execute("UPDATE etl_runs SET loaded_at = TIMESTAMPTZ '2026-11-25 23:30:00+00'")
    con.close()
    pipeline.publish(file_connect(settings.warehouse), settings, {"run_id": None})
    [run] = report(settings, "load_history", start="2026-11-26", end="2026-11-26")
    assert run["loaded_at"].astimezone(SHANGHAI).date().isoformat() == "2026-11-26"
    assert report(settings, "load_history", start="2026-11-25", end="2026-11-25") == []


def test_live_articles_days_and_hours_are_shanghai_whatever_the_session(site):
    source, settings = site
    # 00:30 on the 31st in Shanghai is 16:30 on the 30th in UTC
    (source / "a.md").write_text(
        post("午夜后", datetime(2022, 5, 31, 0, 30, tzinfo=SHANGHAI), "正文。"), encoding="utf-8"
    )
    (source / "b.md").write_text(
        post("三天后", datetime(2022, 6, 3, 12, 0, tzinfo=SHANGHAI), "正文。"), encoding="utf-8"
    )
    pipeline.run_all(settings)
    for tz in ("UTC", "America/New_York", "Asia/Shanghai"):
        got = query(settings, "SELECT published_day, published_hour FROM live_articles ORDER BY 1", timezone=tz)
        assert [(d.isoformat(), h) for d, h in got] == [("2022-05-31", 0), ("2022-06-03", 12)], tz
    cal = query(settings, "SELECT day, articles, stories FROM daily_totals ORDER BY day")
    assert [(d.isoformat(), a, s) for d, a, s in cal] == [
        ("2022-05-31", 1, 1),
        ("2022-06-01", 0, 0),
        ("2022-06-02", 0, 0),
        ("2022-06-03", 1, 1),
    ]
