"""Keywords: rjieba segmentation, the stop-word list in the repo, deterministic weights."""

from __future__ import annotations

import yaml
from conftest import ROOT, raw_post

from news_etl.ingest.transform import transform_post, transform_rows
from news_etl.meaning import keywords as kw

EXPECTED = yaml.safe_load((ROOT / "tests" / "data" / "sample_expected.yaml").read_text(encoding="utf-8"))


def test_keywords_of_a_sample_article_counted_by_hand(sample_dir):
    # 澄江新材 post; its quote links name 澄江新材 and the board 固态电池, kept whole:
    # 澄江新材 in the title, paragraph 1 and paragraph 6 (澄江新材报32.18元) -> 3 (the 澄江 of 澄江控股 is
    # another word); 电解质 in the title and paragraphs 1, 3, 4 -> 4; 固态 in the title and paragraphs 1, 3
    # -> 3 (paragraph 4 says 固态电池, the board). Scores (title x3): 电解质 6, 澄江新材 5, 固态 5 (later).
    article = transform_post(raw_post(sample_dir / "2026-11-23-202611232410402290.md"))
    record = EXPECTED["records"]["2026-11-23-202611232410402290.md"]
    assert article.body_text.split("\n") == record["paragraphs"]
    got = {k["keyword"]: k["count"] for k in article.keywords}
    assert got["澄江新材"] == 3 and got["固态"] == 3 and got["电解质"] == 4
    assert [k["keyword"] for k in article.keywords[:3]] == ["电解质", "澄江新材", "固态"]
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


def test_names_are_never_split_and_words_around_them_are_kept():
    names = kw.Names(["宁德时代", "中国平安", "拼多多", "蔚来", "贵州茅台", "电机", "银行", "中信证券", "证券"])
    text = "宁德时代、贵州茅台和中国平安上涨，拼多多与蔚来下跌；中信证券、中国银行走强。"
    got = {k["keyword"] for k in kw.keywords("", text, top_n=50, names=names)}
    plain = {k["keyword"] for k in kw.keywords("", text, top_n=50)}
    # rjieba alone: 宁德 + 时代, 贵州 + 茅台, 中国 (平安 is an adjective), 拼多多 and 蔚来 gone
    assert {"宁德", "时代", "贵州", "茅台"} <= plain and not {"宁德时代", "拼多多", "蔚来"} & plain
    assert {"宁德时代", "贵州茅台", "中国平安", "拼多多", "蔚来", "中信证券", "中国银行"} <= got
    assert not {"宁德", "时代", "贵州", "茅台", "平安", "证券", "银行"} & got  # no piece of a name, 中国银行 whole
    # a name across a word boundary cuts it (澄江新材报 -> 澄江新材 + 报)
    assert [k["keyword"] for k in kw.keywords("", "澄江新材报32.18元", names=kw.Names(["澄江新材"]))] == ["澄江新材"]


def test_stop_word_review():
    stop = kw.stopwords()
    assert "人民币" not in stop  # a topic (汇率, 贷款)
    assert {"现报", "收报", "银许", "决字"} <= stop
    # 在岸人民币兑美元升至2018年5月以来新高 现报6.3565 (corpus 2021-12-08-202112082206748961)
    words = [k["keyword"] for k in kw.keywords("在岸人民币兑美元升至2018年5月以来新高 现报6.3565", "")]
    assert "人民币" in words and "现报" not in words


def test_names_match_leftmost_longest_never_inside_a_longer_name():
    # 比亚迪 and 比亚迪电子 are two listed companies: a post about the second never counts the first
    names = kw.Names(["比亚迪", "比亚迪电子", "电子", "赣锋锂业", "天能动力", "Faraday Future"])
    text = "比亚迪电子涨停，比亚迪跟涨；赣锋锂业、天能动力走强，Faraday Future下跌。"
    got = {k["keyword"]: k["count"] for k in kw.keywords("", text, top_n=50, names=names)}
    assert got["比亚迪电子"] == 1 and got["比亚迪"] == 1 and "电子" not in got
    assert {"赣锋锂业", "天能动力", "Faraday Future"} <= set(got)
    assert not {"赣锋", "锂业", "天能", "动力", "Faraday", "Future"} & set(got)
    # the spans are leftmost-longest and never overlap
    assert names.spans("比亚迪电子") == [(0, 5)]


def test_tickers_and_long_tokens_are_no_keywords_and_no_names():
    text = "港交所(00388.HK)与港交所（0388.HK）、潍柴动力(000338.SZ)、AAPL.O；5G手机。" + "啊" * 40
    words = {k["keyword"] for k in kw.keywords("", text, top_n=50)}
    assert not {"00388.HK", "0388.HK", "000338.SZ", "AAPL.O"} & words
    assert all(len(w) <= kw.MAX_NAME_CHARS for w in words)
    assert kw.Names(["00388.HK", "啊" * 17, "x", "港交所"]).names == ("港交所",)


def test_a_link_inside_a_longer_word_is_no_name():
    # the site's auto-links and a hostile post's links: 国平 in 中国平安 (rjieba: 中国|平安), 币汇 in
    # 人民币汇率, 向资 in 北向资金, 回购操 in 回购操作, 大智慧 in 培育壮大智慧产品, 线上线下 in 产品线上线下
    text = "中国平安人民币汇率北向资金回购操作，培育壮大智慧产品线上线下，宁德时代和比亚迪电子。"
    links = ["国平", "币汇", "向资", "回购操", "大智慧", "线上线下", "宁德时代", "比亚迪", "00388.HK"]
    assert kw.aligned_names(text, links) == ["宁德时代", "比亚迪"]
    assert kw.aligned_names(text, ["不在文中"]) == []


def test_keywords_depend_only_on_the_names_that_occur():
    text = "中国平安与宁德时代公告：比亚迪电子和比亚迪的订单。"
    occurring = kw.Names(["中国平安", "宁德时代", "比亚迪电子", "比亚迪"])
    more = occurring | ["招商银行", "国平", "啊啊"]  # names that do not occur in the text
    assert kw.analyse("标题", text, occurring) == kw.analyse("标题", text, more)
    # a name that occurs but never wins a match (inside a longer matched one) changes nothing either
    assert kw.analyse("", text, occurring) == kw.analyse("", text, occurring | ["亚迪电"])


def test_the_2mb_post_with_39_overlapping_linked_names_is_bounded():
    import resource
    import time

    names = ["啊" * n for n in range(2, 41)]
    text = "啊" * 1_950_000
    started = time.monotonic()
    result = kw.analyse("啊啊", text, kw.Names(names), linked=names)
    seconds = time.monotonic() - started
    assert all(len(k["keyword"]) <= kw.MAX_NAME_CHARS for k in result.keywords)
    assert len(kw.Names(names).spans(text)) == kw.MAX_SPANS  # capped, not one per position
    assert result.used == ["啊" * 2, "啊" * kw.MAX_NAME_CHARS]  # the title, the text
    assert all(len(n) <= kw.MAX_NAME_CHARS for n in result.names)
    print(
        f"2 MB post, 39 overlapping names: {seconds:.2f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    )


def test_a_posts_own_names_match_as_if_one_dictionary_held_them_all():
    # the transform matches the run's dictionary and the post's own names without building an
    # automaton of both for every post: the spans are the same, on random names and texts
    import random

    rng = random.Random(5)
    alphabet = "比亚迪电子中国平安宁德时代啊的了"
    for _ in range(300):
        a = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(2, 17))) for _ in range(rng.randrange(0, 20))]
        b = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(2, 17))) for _ in range(rng.randrange(0, 5))]
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 3000)))
        assert kw.union_spans(text, kw.Names(a), kw.Names(b), 500) == kw.Names(a + b).spans(text, 500)
