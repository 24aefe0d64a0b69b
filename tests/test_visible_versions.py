"""A version is a change an analyst can see: bytes that change no visible field record no version."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from conftest import settings_in

from news_etl import pipeline


def rows(path, sql, params=None):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_newline_appended_to_every_file_is_no_version_and_no_update(tmp_path, corpus_dir):
    source = tmp_path / "posts"
    shutil.copytree(corpus_dir, source)
    settings = settings_in(tmp_path, source)
    pipeline.run_all(settings)
    before = rows(settings.warehouse, "SELECT post_id, content_hash FROM articles ORDER BY 1")
    files = sorted(source.glob("*.md"))
    for f in files:
        f.write_bytes(f.read_bytes() + b"\n")
    result = pipeline.run_all(settings)
    load = result["load"]
    assert load["updated"] == 0 and load["new"] == 0 and load["rehashed"] == len(before)
    assert rows(settings.warehouse, "SELECT max(version), count(*) FROM article_versions") == [(1, len(before))]
    assert rows(settings.warehouse, "SELECT sum(updated_articles) FROM daily_metrics") == [(0,)]
    assert rows(settings.warehouse, "SELECT articles_updated FROM etl_runs ORDER BY loaded_at DESC LIMIT 1") == [(0,)]
    # the hash still moves (and so the watermark: the next run finds nothing to do)
    after = dict(rows(settings.warehouse, "SELECT post_id, content_hash FROM articles"))
    assert all(after[p] != h for p, h in before)
    assert pipeline.run_all(settings)["fetch"]["changed"] == 0
    # a change an analyst sees is a version
    edited = source / "2021-12-08-202112082206748961.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace('title: "', 'title: "更正：', 1), encoding="utf-8")
    again = pipeline.run_all(settings)["load"]
    assert again["updated"] == 1 and again["rehashed"] == 0
    assert rows(settings.warehouse, "SELECT max(version) FROM articles") == [(2,)]
