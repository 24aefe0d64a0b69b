"""Keywords: rjieba segmentation, the stop-word list in the repo, deterministic weights."""

from __future__ import annotations

import yaml
from conftest import ROOT, raw_post

from news_etl import keywords as kw
from news_etl.transform import transform_post, transform_rows

EXPECTED = yaml.safe_load((ROOT / "tests" / "data" / "sample_expected.yaml").read_text(encoding="utf-8"))


def test_keywords_of_a_sample_article_counted_by_hand(sample_dir):
    # 澄江新材 post: 澄江 in the title and in paragraphs 1, 2 (澄江控股) and 6 -> 4;
    # 固态 and 电解质 in the title and paragraphs 1, 3, 4 -> 4 each.
    article = transform_post(raw_post(sample_dir / "2026-11-23-202611232410402290.md"))
    record = EXPECTED["records"]["2026-11-23-202611232410402290.md"]
    assert article.body_text.split("\n") == record["paragraphs"]
    got = {k["keyword"]: k["count"] for k in article.keywords}
    assert got["澄江"] == 4 and got["固态"] == 4 and got["电解质"] == 4
    assert [k["keyword"] for k in article.keywords[:3]] == ["澄江", "固态", "电解质"]
    assert len(article.keywords) == kw.TOP_N
    weights = [k["weight"] for k in article.keywords]
    assert weights == sorted(weights, reverse=True) and 0 < sum(weights) <= 1


def test_stop_words_and_numbers_are_never_keywords(corpus_dir):
    stop = kw.stopwords()
    assert {"公司", "记者", "亿元", "的", "表示"} <= stop
    articles, _ = transform_rows(raw_post(f) for f in sorted(corpus_dir.glob("*.md")))
    seen = [k["keyword"] for a in articles for k in a["keywords"]]
    assert seen, "the corpus gives keywords"
    assert not set(seen) & stop
    assert all(len(w) >= 2 and not w.isdigit() for w in seen)


def test_title_words_weigh_three_times():
    only_body = kw.keywords("", "港口吞吐量创新高。航运市场回暖，航运企业订单增加。")
    with_title = kw.keywords("港口吞吐量创新高", "航运市场回暖，航运企业订单增加。")
    assert only_body[0]["keyword"] == "航运"
    assert with_title[0]["keyword"] in {"港口", "吞吐量"}
    assert kw.keywords("", "") == [] and kw.keywords(None, None) == []


def test_deterministic_and_loaded_once_per_process(sample_dir):
    files = sorted(sample_dir.glob("2026-*.md"))
    first, _ = transform_rows(raw_post(f) for f in files)
    again, _ = transform_rows(raw_post(f) for f in reversed(files))
    by_path = {a["path"]: a["keywords"] for a in again}
    assert all(a["keywords"] == by_path[a["path"]] for a in first)
    assert kw._segmenter.cache_info().misses == 1
