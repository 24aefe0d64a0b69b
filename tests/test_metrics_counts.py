"""Money and percent counting, checked against counts made by hand on real posts and on short texts."""

from __future__ import annotations

import pytest
from conftest import raw_post

from news_etl.ingest.metrics import money_mentions, percent_mentions, sentences
from news_etl.ingest.transform import transform_post

# file → (money amounts, percentages, numbers), counted by hand on the post's text:
HAND_COUNTED = {
    # 17.74港元, 225亿港元, 21港元 | 9%, 15% | 9869 9% 2日 15% 17.74 225 21 9月 2020 2023
    "2021-12-08-202112082206826055.md": (3, 2, 10),
    # 41港元 | 46% 16% 11% 32% 9% | 46 190 41 11月 12.25 16 11 32 11月 9 11月
    "2021-12-08-202112082206876726.md": (1, 5, 11),
    # 27.3及56.2港元 (two prices of two stocks) | 3%, 7% | 2023 3 7 1928 0027 27.3 56.2
    "2021-12-08-202112082206796032.md": (2, 2, 7),
    # 人民币75.37亿元, 977.79亿元 | 26%和50%, 8%及5% | 12 8 11 75.37 511,348 26 50 11 977.79 6,768,389 8 5
    "2021-12-08-202112082206896686.md": (2, 4, 12),
    # none | 7% 2.5% 8% 7% 6% 5%
    "2021-12-08-202112082206805832.md": (0, 6, 6),
    # 6.1港元 | 20%, 18%/21% | 03868 2025 20 18 21 6.1
    "2021-12-08-202112082206793370.md": (1, 3, 6),
    # 11亿美元, 3.54亿美元, 5.42亿美元 | none
    "2021-12-08-202112082206703990.md": (3, 0, None),
    # 1.66亿元-1.82亿元 (two figures), 1364.12万元 | 1116.9%-1232.73% (two figures)
    "2022-01-21-202201212257099936.md": (3, 2, None),
    # 1191.7亿元, 43.4亿元, 16.6亿元 | 16.3% 57.78% 17.4% 16.7% (2.6个百分点 is not a percentage)
    "2022-01-19-NW202201192252999413.md": (3, 4, None),
}


@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_counts_on_real_posts(corpus_dir, name):
    money, percent, numbers = HAND_COUNTED[name]
    metrics = transform_post(raw_post(corpus_dir / name)).metrics
    assert (metrics["money_mentions"], metrics["percent_mentions"]) == (money, percent)
    if numbers is not None:
        assert metrics["numbers"] == numbers


@pytest.mark.parametrize(
    "text, money",
    [
        ("贵州茅台股价重回2000元", 1),
        ("营收1191.7亿元，净利润3,500万元，派息0.5元", 3),
        ("目标价分别下调至27.3及56.2港元", 2),
        ("募资100-200亿元", 2),  # a range: two figures, as in 1.66亿元-1.82亿元
        ("预计净利1.66亿元-1.82亿元", 2),
        ("2020至2023年", 0),
        ("以980.43美元的价格卖出", 1),
        ("1月1日元旦前后", 0),  # New Year's Day, not yen
        ("农历正月15日元宵节", 0),
        ("数十亿元", 0),  # no figure, no amount
        ("第2单元", 0),
        ("", 0),
    ],
)
def test_money(text, money):
    assert money_mentions(text) == money


@pytest.mark.parametrize(
    "text, percent",
    [
        ("撤回率达93.1%", 1),
        ("同比分别下降26%和50%", 2),
        ("增长8%及5%，下降-3.5％", 3),
        ("收入增长18%/21%", 2),
        ("同比增1116.9%-1232.73%", 2),
        ("增长10至20%", 2),
        ("百分之三十的股份", 1),
        ("高于全国平均增幅2.6个百分点", 0),
        ("5G行业专网产品体系2.0", 0),
    ],
)
def test_percent(text, percent):
    assert percent_mentions(text) == percent


def test_sentence_metric_agrees_with_sentences(corpus_dir):
    for path in sorted(corpus_dir.glob("2022-*.md")):
        article = transform_post(raw_post(path))
        assert article.metrics["sentences"] == len(sentences(article.body_text)), path.name
