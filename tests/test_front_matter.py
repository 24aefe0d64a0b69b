"""Front matter as Jekyll reads it: internal fields, duplicate keys, UTF-16 files, YAML 1.1 scalars shown as Jekyll shows them, the file and the feed agreeing."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.reliability]


def _parse(text: str, path: str = "2026-11-25-x.md"):
    from news_etl.ingest.parse import parse_post

    return parse_post(path, text.encode("utf-8"))


def test_internal_fields_cannot_come_from_a_post():
    fm = _parse("---\ntitle: t\ndate: 2026-11-25\nfeed_warnings: [injected warning]\nrendered: html\n---\nbody\n")
    assert not any("injected" in w for w in fm.warnings), fm.warnings
    assert fm.html is False
    assert any("feed_warnings" in w for w in fm.warnings), fm.warnings


def test_duplicate_keys_are_a_warning():
    fm = _parse("---\ntitle: first\ndate: 2026-11-25\ntitle: second\n---\nbody\n")
    assert fm.title == "second"  # as Jekyll: the last one
    assert any("duplicate" in w and "title" in w for w in fm.warnings), fm.warnings


def test_a_utf16_file_is_rejected_naming_utf16():
    from news_etl.ingest.parse import parse_post
    from news_etl.model import Reject

    text = "---\ntitle: 标题\ndate: 2026-11-25\n---\n正文\n"
    for raw in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-16-be")):
        with pytest.raises(Reject) as caught:
            parse_post("2026-11-25-x.md", raw)
        assert "UTF-16" in f"{caught.value.reason} {caught.value.detail}", caught.value


@pytest.mark.parametrize(
    ("yaml_value", "shown"),
    [
        ("no", "false"),
        ("yes", "true"),
        ("on", "true"),
        ("1.50", "1.5"),
        ("2026-11-25 10:00:00 +08:00", "2026-11-25 10:00:00 +0800"),
        ("2026-11-25", "2026-11-25"),
    ],
)
def test_scalars_are_read_and_shown_as_jekyll_does(yaml_value, shown):
    fm = _parse(f"---\ntitle: {yaml_value}\ndate: 2026-11-25\ntags: [{yaml_value}, x]\n---\nbody\n")
    assert fm.title == shown
    assert fm.tags == [shown, "x"]


def test_the_file_and_the_feed_agree():
    """Jekyll rendered ``title: no`` as ``false`` in its feed; the file reads the same."""
    from news_etl.ingest.sources.feed import FeedSource

    entry = {
        "id": "https://site/2026/11/25/x.html",
        "link": "https://site/2026/11/25/x.html",
        "title": "false",
        "published": "2026-11-25T09:30:00+08:00",
        "updated": None,
        "categories": ["true"],
        "tags": [],
        "content": "<p>body</p>",
    }
    from news_etl.ingest.parse import parse_post

    fed = parse_post("x.md", FeedSource.render(entry))
    filed = _parse("---\ntitle: no\ndate: 2026-11-25 09:30:00 +0800\ncategories: [yes]\n---\nbody\n")
    assert (fed.title, fed.categories) == (filed.title, filed.categories) == ("false", ["true"])
