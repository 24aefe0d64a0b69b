"""Every real post of ../shared/corpus goes through the transform: an article or a reject with a reason."""

from __future__ import annotations

from conftest import raw_post

from news_etl.ingest.transform import transform_rows


def test_every_corpus_post_is_an_article_or_a_reject(corpus_dir):
    files = sorted(corpus_dir.glob("*.md"))
    assert len(files) == 116
    articles, rejects = transform_rows(raw_post(f) for f in files)
    assert len(articles) + len(rejects) == len(files)
    assert {a["path"] for a in articles} | {r["path"] for r in rejects} == {f.name for f in files}
    for r in rejects:
        assert r["reason"] and r["reason"] != "transform error", r
        assert r["raw"] == (corpus_dir / r["path"]).read_bytes()
    assert len(articles) == 115
    assert [r["path"] for r in rejects] == ["-202205262391921712.md"]
