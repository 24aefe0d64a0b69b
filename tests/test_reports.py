"""Every report of sql/reports on the sample and on the real corpus, against counts made by hand.

The sample's counts come from tests/data/sample_expected.yaml, the corpus's
from tests/data/corpus_golden.yaml (outlets and dates read from the files by
hand); pairs of the same story and keywords were counted by reading titles.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT, SAMPLE

from news_etl import pipeline
from news_etl.analysts import reports
from news_etl.settings import Settings

SAMPLE_EXPECTED = yaml.safe_load((ROOT / "tests/data/sample_expected.yaml").read_text(encoding="utf-8"))
GOLDEN = yaml.safe_load((ROOT / "tests/data/corpus_golden.yaml").read_text(encoding="utf-8"))
ALL_REPORTS = [
    "article_length",
    "daily_volume",
    "data_quality",
    "freshness",
    "load_history",
    "rising_keywords",
    "same_story",
    "top_keywords",
    "top_securities",
]


def build(tmp_path_factory, source, name):
    base = tmp_path_factory.mktemp(name)
    settings = Settings().with_(
        source=str(source),
        warehouse=base / "w.duckdb",
        published=base / "published.duckdb",
        staging=base / "s",
        workers=1,
    )
    pipeline.run_all(settings)
    return settings.published


@pytest.fixture(scope="module")
def sample_wh(tmp_path_factory):
    return build(tmp_path_factory, SAMPLE, "sample")


@pytest.fixture(scope="module")
def corpus_wh(tmp_path_factory, corpus_dir):
    return build(tmp_path_factory, corpus_dir, "corpus")


def run(path, name, **params):
    con = reports.open_warehouse(path)
    try:
        return reports.run_report(con, name, params).to_pylist()
    finally:
        con.close()


def test_the_reports_are_listed_with_a_description_and_their_parameters():
    listed = {n: (d, p) for n, d, p in reports.list_reports()}
    assert sorted(listed) == ALL_REPORTS
    assert all(d and not d.startswith("-") for d, _ in listed.values())
    assert listed["daily_volume"][1] == ["start", "end"]
    assert listed["rising_keywords"][1] == ["day"]
    assert listed["data_quality"][1] == []


# --- the sample ------------------------------------------------------------------------------------


def test_daily_volume_on_the_sample(sample_wh):
    rows = run(sample_wh, "daily_volume")
    per_outlet, per_day = collections.Counter(), collections.Counter()
    for r in rows:
        per_outlet[r["channel"]] += r["articles"]
        per_day[r["day"].isoformat()] += r["articles"]
        assert r["new"] == r["articles"] and r["updated"] == r["deleted"] == 0
    assert dict(per_outlet) == SAMPLE_EXPECTED["articles_per_outlet"]
    assert dict(per_day) == SAMPLE_EXPECTED["articles_per_date"]
    assert (
        len(rows) == 15
    )  # 23rd: 东财 站长 中国商报 财联社; 24th: 东财 站长 中国商报 上证 每经 券商中国; 25th: 东财 站长 中国商报 央行 财联社
    one_day = run(sample_wh, "daily_volume", start="2026-11-24", end="2026-11-24")
    assert sum(r["articles"] for r in one_day) == 15 and len(one_day) == 6
    assert run(sample_wh, "daily_volume", start="2026-11-25") == [r for r in rows if r["day"] == dt.date(2026, 11, 25)]


def test_keyword_reports_on_the_sample(sample_wh):
    # 24th: 无人机 in the 低空物流 story (东财 and 上证) and the 北辰精工 post (每经): 3 articles, 3 outlets
    top = {r["keyword"]: r for r in run(sample_wh, "top_keywords", start="2026-11-24", end="2026-11-24")}
    assert (top["无人机"]["articles"], top["无人机"]["channels"]) == (3, 3)
    assert len(run(sample_wh, "top_keywords")) == 20
    # 25th: three 衡远银行 posts (all 东财), no 衡远 on the 24th -> rising, new that day
    rising = {r["keyword"]: r for r in run(sample_wh, "rising_keywords", day="2026-11-25")}
    assert (rising["衡远"]["articles"], rising["衡远"]["stories"], rising["衡远"]["channels"]) == (3, 3, 1)
    assert rising["衡远"]["rank_day_before"] is None
    assert all(r["stories"] >= 2 for r in rising.values())
    ranks = [r["rank"] for r in run(sample_wh, "rising_keywords", day="2026-11-25")]
    assert ranks == sorted(ranks) and len(ranks) > 1  # by rank that day
    assert run(sample_wh, "rising_keywords") == run(sample_wh, "rising_keywords", day="2026-11-25")  # default: last day


def test_same_story_on_the_sample(sample_wh):
    stories = [(r["story_id"], r["copies"], r["channels"], r["linked_by"]) for r in run(sample_wh, "same_story")]
    assert stories == [
        ("202611242412098735", 2, 2, "copy"),  # 东财 and 上海证券报: the dual posts X and NWX
        ("202611232410324406", 2, 1, "text"),  # two 东财 posts, the same text (titles differ by a final 。)
    ]


def test_longest_and_shortest_on_the_sample(sample_wh):
    rows = run(sample_wh, "article_length")
    assert [r["which"] for r in rows] == ["longest"] * 5 + ["shortest"] * 5
    record = SAMPLE_EXPECTED["records"]["2026-11-23-202611232410402290.md"]
    assert rows[0]["post_id"] == "202611232410402290"
    assert rows[0]["chars"] == sum(len(p) for p in record["paragraphs"])
    assert rows[0]["paragraphs"] == record["paragraph_count"] == 6
    assert all(a["chars"] >= b["chars"] for a, b in zip(rows[:5], rows[1:5], strict=False))
    assert max(r["chars"] for r in rows[5:]) < min(r["chars"] for r in rows[:5])


def test_freshness_on_the_sample(sample_wh):
    rows = run(sample_wh, "freshness")
    assert sum(r["articles"] for r in rows) == SAMPLE_EXPECTED["articles"]
    assert len(rows) == 15
    # the sample is dated 2026-11-23..25 and loaded by a CLI run later: a backfill, whose lag means nothing
    assert all(r["backfilled"] == r["articles"] and r["median_lag_minutes"] is None for r in rows)


def test_run_reports_on_the_sample(sample_wh):
    [quality] = run(sample_wh, "data_quality")
    assert quality["rejects"] == SAMPLE_EXPECTED["reject_count"] == 5
    for reason in SAMPLE_EXPECTED["rejects"].values():
        assert f"{reason} ×1" in quality["reject_reasons"]
    assert quality["failed_hard"] == 0 and quality["expectations"] > 0
    [load] = run(sample_wh, "load_history")
    assert (load["seen"], load["new"], load["rejects"], load["status"]) == (48, 43, 5, "published")
    assert run(sample_wh, "load_history", start="2000-01-01", end="2000-01-02") == []


def test_values_are_bound_never_pasted(sample_wh):
    con = reports.open_warehouse(sample_wh)
    try:
        with pytest.raises(reports.ReportError, match="YYYY-MM-DD"):  # a day is checked before it is bound
            reports.run_report(con, "daily_volume", {"start": "2026-11-24' OR 1=1 --"})
        assert reports.run_report(con, "top_securities", {"kind": "board' OR 1=1 --"}).num_rows == 0  # bound
        with pytest.raises(reports.ReportError, match="takes"):
            reports.run_report(con, "daily_volume", {"day": "2026-11-24"})
        with pytest.raises(reports.ReportError, match="no report"):
            reports.run_report(con, "../migrations/001_core", {})
    finally:
        con.close()


# --- the real corpus ----------------------------------------------------------------------------------


def golden_articles():
    out = []
    for _name, rec in GOLDEN.items():
        if rec.get("kind") == "article":
            out.append((dt.datetime.fromisoformat(rec["published_at"]).date().isoformat(), rec["outlet"]))
    return out


def test_daily_volume_on_the_corpus(corpus_wh):
    expected = collections.Counter(golden_articles())
    rows = run(corpus_wh, "daily_volume")
    assert {(r["day"].isoformat(), r["channel"]): r["articles"] for r in rows} == dict(expected)
    assert sum(r["articles"] for r in rows) == 115
    dec8 = run(corpus_wh, "daily_volume", start="2021-12-08", end="2021-12-08")
    assert [(r["channel"], r["articles"]) for r in dec8] == [("东财滚动新闻", expected[("2021-12-08", "东财滚动新闻")])]


def test_same_story_on_the_corpus(corpus_wh):
    # NW posts whose digits are an emnews post's: 307540, 506117, 034850 (391921712's twin is the reject);
    # and two emnews posts whose titles differ by a final 。 (748961, 749391)
    rows = run(corpus_wh, "same_story")
    assert [(r["story_id"], r["copies"], r["channels"]) for r in rows] == [
        ("202201072239307540", 2, 2),
        ("202205302396506117", 2, 2),
        ("202205312398034850", 2, 2),
        ("202112082206748961", 2, 1),
    ]
    assert rows[0]["posts"] == "202201072239307540 (东财滚动新闻), NW202201072239307540 (券商中国)"
    assert [r["story_id"] for r in run(corpus_wh, "same_story", start="2022-05-30", end="2022-05-30")] == [
        "202205302396506117"
    ]


def test_other_reports_on_the_corpus(corpus_wh):
    [quality] = run(corpus_wh, "data_quality")
    rejects = [r for r in GOLDEN.values() if r.get("kind") == "reject"]
    assert quality["rejects"] == len(rejects) == 1
    assert quality["reject_reasons"] == f"{rejects[0]['reason']} ×1"
    [load] = run(corpus_wh, "load_history")
    assert (load["seen"], load["new"], load["rejects"]) == (116, 115, 1)
    fresh = run(corpus_wh, "freshness")
    assert sum(r["articles"] for r in fresh) == 115 and len(fresh) == len(set(golden_articles()))
    lengths = run(corpus_wh, "article_length")
    assert len(lengths) == 10
    assert lengths[5]["post_id"] == "init"  # 开站大吉: the body is 祝贺开站, 4 characters
    assert lengths[5]["chars"] == 4
    top = run(corpus_wh, "top_keywords")
    assert len(top) == 20 and [r["stories"] for r in top] == sorted((r["stories"] for r in top), reverse=True)
    assert all(r["articles"] >= r["stories"] >= 2 for r in top)
    # 雪球: the 资管圈 post and its NW copy: two articles, one story, on 2022-01-07
    jan7 = {r["keyword"]: r for r in run(corpus_wh, "top_keywords", start="2022-01-07", end="2022-01-07")}
    assert (jan7["雪球"]["articles"], jan7["雪球"]["stories"], jan7["雪球"]["channels"]) == (2, 1, 2)
    # securities: the board 证券 (BK0473) is linked in four stories: 雪球, 昇兴股份, 绿色经济, 消费电子
    secs = run(corpus_wh, "top_securities")
    assert secs[0]["code"] == "BK0473" and secs[0]["name"] == "证券"
    # 2022-05-31: the 消费电子 story appears in 东财 and 财联社 -> its keywords have 2 articles, 2 outlets
    # ... but that is one story copied: nothing rises that day
    assert run(corpus_wh, "rising_keywords", day="2022-05-31") == []
    # 2021-12-08, the first day of Eastmoney posts in the corpus: all new, each in two stories or more
    rising = run(corpus_wh, "rising_keywords", day="2021-12-08")
    assert rising and all(r["stories"] >= 2 and r["rank_day_before"] is None for r in rising)
    # (比亚迪 is in five different 12-08 posts, 目标价 in ten: grep the corpus)
    assert {"目标价", "比亚迪"} <= {r["keyword"] for r in rising}


# --- the command line and make ----------------------------------------------------------------------


def cli(*args):
    env = dict(os.environ)
    return subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_cli_formats(sample_wh, tmp_path):
    listing = cli("report", "--warehouse", str(sample_wh))
    assert listing.returncode == 0 and all(n in listing.stdout for n in ALL_REPORTS)
    table = cli("report", "same_story", "--warehouse", str(sample_wh))
    assert table.returncode == 0 and "(2 rows)" in table.stdout and "低空物流" in table.stdout
    csv = cli(
        "report",
        "daily_volume",
        "--format",
        "csv",
        "--param",
        "start=2026-11-24",
        "--param",
        "end=2026-11-24",
        "--warehouse",
        str(sample_wh),
    )
    assert csv.returncode == 0 and len(csv.stdout.strip().splitlines()) == 1 + 6
    out = tmp_path / "v.json"
    assert (
        cli("report", "daily_volume", "--format", "json", "--out", str(out), "--warehouse", str(sample_wh)).returncode
        == 0
    )
    assert sum(r["articles"] for r in json.loads(out.read_text(encoding="utf-8"))) == 43
    pq_out = tmp_path / "v.parquet"
    assert (
        cli(
            "report", "top_keywords", "--format", "parquet", "--out", str(pq_out), "--warehouse", str(sample_wh)
        ).returncode
        == 0
    )
    assert pq.read_table(pq_out).num_rows == 20
    bad = cli("report", "nope", "--warehouse", str(sample_wh))
    assert bad.returncode != 0 and "no report named" in bad.stderr


def test_make_report_and_make_sql_open_the_snapshot(sample_wh):
    env = dict(os.environ, NEWS_ETL_PUBLISHED=str(sample_wh))
    env.pop("MAKEFLAGS", None)
    rep = subprocess.run(["make", "-s", "report", "NAME=same_story"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert rep.returncode == 0, rep.stderr
    assert "(2 rows)" in rep.stdout
    listing = subprocess.run(["make", "-s", "report"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "daily_volume" in listing.stdout and "Daily volume by channel" in listing.stdout
    shell = subprocess.run(
        ["make", "-s", "sql"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        input="SELECT count(*) AS live FROM articles WHERE deleted_at IS NULL;\n.tables\n",
    )
    assert shell.returncode == 0, shell.stderr + shell.stdout
    assert "43" in shell.stdout and "keyword_trend" in shell.stdout  # tests/test_analyst_clients.py has more


def test_an_empty_answer_says_why_and_a_reversed_range_is_an_error(sample_wh):
    empty = cli(
        "report",
        "daily_volume",
        "--param",
        "start=2030-01-01",
        "--param",
        "end=2030-01-31",
        "--warehouse",
        str(sample_wh),
    )
    assert empty.returncode == 0, empty.stderr
    assert "(0 rows)" in empty.stdout
    assert (
        "no rows: report daily_volume looked from 2030-01-01 to 2030-01-31; "
        "the live articles run from 2026-11-23 to 2026-11-25" in empty.stdout
    )
    day = cli(
        "report", "rising_keywords", "--param", "day=2026-11-22", "--format", "csv", "--warehouse", str(sample_wh)
    )
    assert day.returncode == 0 and "no rows: report rising_keywords looked on 2026-11-22" in day.stderr
    data_quality_columns = cli("report", "data_quality", "--format", "json", "--warehouse", str(sample_wh))
    assert data_quality_columns.returncode == 0 and "no rows" not in data_quality_columns.stderr  # rows: no message
    reversed_range = cli(
        "report",
        "top_keywords",
        "--param",
        "start=2026-11-25",
        "--param",
        "end=2026-11-23",
        "--warehouse",
        str(sample_wh),
    )
    assert reversed_range.returncode != 0
    assert "start 2026-11-25 is after end 2026-11-23: a reversed range" in reversed_range.stderr
    con = reports.open_warehouse(sample_wh)
    try:
        with pytest.raises(reports.ReportError, match="reversed range"):
            reports.run_report(con, "daily_volume", {"start": "2026-11-25", "end": "2026-11-24"})
        with pytest.raises(reports.ReportError, match="YYYY-MM-DD"):
            reports.run_report(con, "daily_volume", {"start": "25 Nov"})
    finally:
        con.close()
