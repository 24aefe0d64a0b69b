"""The cleaner skips the HTML parser for a body of plain paragraphs (no markup, entity, link or
control character): the result must be exactly what parsing it gives, on real posts, on the
synthetic site's templates and on generated bodies made of the characters that could tell them apart."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from news_etl.ingest.clean import _markdown
from news_etl.ingest.parse import parse_post
from news_etl.model import Reject


def both(body: str):
    return _markdown(body), _markdown(body, always_parse=True)


def test_real_posts_clean_alike_with_and_without_the_parser(corpus_dir):
    checked = 0
    for path in sorted(corpus_dir.iterdir()):
        try:
            post = parse_post(path.name, path.read_bytes())
        except Reject:
            continue
        fast, parsed = both(post.body)
        assert fast == parsed, path.name
        checked += 1
    assert checked > 50


def test_synthetic_posts_clean_alike_and_most_digest_posts_skip_the_parser(tmp_path, monkeypatch):
    from bs4 import BeautifulSoup

    import news_etl.ingest.clean as clean
    from devtools.synthetic import generate_site

    site = generate_site(tmp_path / "site", 600)
    parsed_docs = []
    monkeypatch.setattr(clean, "BeautifulSoup", lambda doc, *a: parsed_docs.append(doc) or BeautifulSoup(doc, *a))
    bodies = []
    for path in sorted(site.iterdir()):
        try:
            bodies.append(parse_post(path.name, path.read_bytes()).body)
        except Reject:
            continue
    for body in bodies:
        fast = _markdown(body)
        assert fast == _markdown(body, always_parse=True), body[:200]
    parses = len(parsed_docs) - len(bodies)  # always_parse parsed each body once
    assert 0 < parses < 0.8 * len(bodies)  # the fast path is taken, and not for every post


LINE = st.text(
    alphabet="中国股份今日。，、 \t\u3000\xa0*_>[]()<&!#\r\x0b\x0c\x00\x1b\u200b\u202e\ufeff\x85aZ09",
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(LINE, max_size=8))
def test_generated_bodies_clean_alike(lines):
    body = "\n".join(lines)
    fast, parsed = both(body)
    assert fast == parsed
