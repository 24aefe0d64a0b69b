"""Front matter: decoding, splitting, YAML, dates, and the reasons of rejects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from news_etl.ingest.parse import parse_date, parse_post
from news_etl.model import Reject, post_id_from_path

SHANGHAI = timezone(timedelta(hours=8))


def post(front: str, body: str = "正文。") -> bytes:
    return f"---\n{front}\n---\n\n{body}".encode()


GOOD = 'layout: post\ntitle: "标题"\ndate: 2021-12-08 10:46:18\ncategories: emnews\ntags: 东财滚动新闻'


def test_all_five_fields():
    fm = parse_post("2021-12-08-202112082206672930.md", post(GOOD))
    assert fm.post_id == "202112082206672930"
    assert (fm.layout, fm.title, fm.categories, fm.tags) == ("post", "标题", ["emnews"], ["东财滚动新闻"])
    assert fm.published_at == datetime(2021, 12, 8, 10, 46, 18, tzinfo=SHANGHAI)
    assert fm.published_date.isoformat() == "2021-12-08"
    assert fm.warnings == []


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2022-01-07 08:14:19 +0800", datetime(2022, 1, 7, 0, 14, 19, tzinfo=UTC)),
        ("2022-01-07 08:14:19", datetime(2022, 1, 7, 0, 14, 19, tzinfo=UTC)),  # naive: site time
        ("2022-01-07T08:14:19+08:00", datetime(2022, 1, 7, 0, 14, 19, tzinfo=UTC)),
        ("2022-01-07 08:14:19 -0500", datetime(2022, 1, 7, 13, 14, 19, tzinfo=UTC)),
        ("2022-01-07", datetime(2022, 1, 6, 16, 0, tzinfo=UTC)),
    ],
)
def test_dates_with_and_without_offsets(raw, expected):
    assert parse_date(raw, None, []) == expected


def test_a_date_after_16_utc_is_the_next_site_day():
    fm = parse_post("2021-12-09-1.md", post(GOOD.replace("2021-12-08 10:46:18", "2021-12-08 17:30:00 +0000")))
    assert fm.published_date.isoformat() == "2021-12-09"


def test_file_name_date_is_a_fallback_with_a_warning():
    fm = parse_post("2021-12-08-1.md", post(GOOD.replace("2021-12-08 10:46:18", "someday")))
    assert fm.published_date.isoformat() == "2021-12-08"
    assert any("unparseable date 'someday'" in w for w in fm.warnings)


def test_disagreeing_file_name_date_is_recorded():
    fm = parse_post("2021-12-07-1.md", post(GOOD))
    assert any("differs" in w for w in fm.warnings)


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty file"),
        (b"  \n\n ", "empty file"),
        ("只有正文，没有前言。".encode(), "no front matter"),
        (b"---\ntitle: x\nno closing line", "no front matter"),
        (post('title: "unclosed\ndate: 2021-12-08'), "bad YAML at line"),
        (post('title: ""\ndate: 2021-12-08'), "no title"),
        (post("date: 2021-12-08"), "no title"),
        (post('title: "x"\ndate: "not a date"'), "unparseable date 'not a date'"),
        (post("title: [a, b]\ndate: 2021-12-08"), "bad field title"),
        (post("- a list\n- not a mapping"), "bad YAML: front matter is not a mapping"),
        (post("a: &x [1]\nb: *x\ntitle: t\ndate: 2021-12-08"), "bad YAML: aliases are not allowed"),
        (post('title: !!python/object/apply:os.system ["true"]\ndate: 2021-12-08'), "bad YAML: tags are not allowed"),
        (b"\xff\xfe\xfa\xfb---", "not UTF-8"),
    ],
)
def test_rejects_have_plain_reasons(raw, reason):
    with pytest.raises(Reject) as err:
        parse_post("x.md", raw)  # no date in the name: no fallback
    assert err.value.reason.startswith(reason)


def test_bad_yaml_names_the_line_in_the_file():
    with pytest.raises(Reject) as err:
        parse_post("x.md", b'---\nlayout: post\ntitle: "a "b" c"\ndate: 2021-12-08\n---\n')
    assert err.value.reason == "bad YAML at line 3"


def test_leading_blank_line_and_bom_and_crlf_are_accepted():
    raw = "\ufeff\n---\r\ntitle: 标题\r\ndate: 2021-12-08 10:00:00\r\n---\r\n正文".encode()
    fm = parse_post("2021-12-08-1.md", raw)
    assert fm.title == "标题" and fm.body.strip() == "正文"
    assert any("blank line" in w for w in fm.warnings)


def test_gbk_is_decoded_with_a_warning():
    raw = '---\ntitle: "中文标题"\ndate: 2021-12-08\n---\n正文'.encode("gbk")
    fm = parse_post("2021-12-08-1.md", raw)
    assert fm.title == "中文标题"
    assert any("gb18030" in w for w in fm.warnings)


def test_categories_and_tags_as_lists_or_strings():
    fm = parse_post("2021-12-08-1.md", post('title: t\ndate: 2021-12-08\ncategories: [a, b]\ntags: "x y"'))
    assert fm.categories == ["a", "b"] and fm.tags == ["x", "y"]


@pytest.mark.parametrize(
    "path, post_id",
    [
        ("2021-12-08-202112082206672930.md", "202112082206672930"),
        ("_posts/2022-01-07-NW202201072239307540.md", "NW202201072239307540"),
        ("-202205262391921712.md", "202205262391921712"),
        ("2021-12-01-init.md", "init"),
    ],
)
def test_post_id_is_the_slug(path, post_id):
    assert post_id_from_path(path) == post_id
