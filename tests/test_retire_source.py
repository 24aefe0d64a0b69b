"""A source switch, and retiring the old source: ``news-etl retire-source`` (news_etl/warehouse/retire.py).

The warehouse first loads one folder (the sample posts, 43 articles), then is pointed at another
folder (three posts, one of them with an id the first folder has): both sources' articles are live
side by side, the shared id taken over by the new source. Retiring the first source marks its live
articles deleted with a ``deleted`` version each (earlier versions kept), rebuilds the daily tables
of the days it touched, records the retirement in ``etl_runs``, publishes, and can be undone by
reading the first source again (its posts come back as ``revived``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE
from site_repo import post_text
from warehouse_checks import fingerprint, rows, scalar

SHARED_ID = "202611252413002216"  # a sample post the new folder also has


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), *args], capture_output=True, text=True, env=dict(os.environ)
    )


@pytest.fixture
def switched(tmp_path):
    """A warehouse loaded from folder A (the sample), then from folder B."""
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(SAMPLE, a)
    b.mkdir()
    (b / "2026-11-26-202611262419000001.md").write_text(post_text("202611262419000001", "新源一", day="2026-11-26"))
    (b / "2026-11-26-202611262419000002.md").write_text(post_text("202611262419000002", "新源二", day="2026-11-26"))
    (b / f"2026-11-25-{SHARED_ID}.md").write_text(post_text(SHARED_ID, "新源接管的文章", day="2026-11-25"))
    paths = {"a": a, "b": b, "warehouse": tmp_path / "w.duckdb", "published": tmp_path / "p.duckdb"}
    common = ["--warehouse", str(paths["warehouse"]), "--published", str(paths["published"])]
    paths["common"] = common
    for folder in (a, b):
        done = cli("run", "--source", str(folder), *common, "--staging", str(tmp_path / "staging"), "--workers", "1")
        assert done.returncode == 0, done.stderr
    return paths


def live_by_source(warehouse) -> dict[str, int]:
    return dict(rows(warehouse, "SELECT source, count(*) FROM articles WHERE deleted_at IS NULL GROUP BY 1"))


def test_a_switch_keeps_the_old_sources_articles_live(switched):
    a, b = f"dir:{switched['a']}", f"dir:{switched['b']}"
    assert live_by_source(switched["warehouse"]) == {a: 42, b: 3}  # 43 - the one taken over
    assert scalar(switched["warehouse"], "SELECT source FROM articles WHERE post_id = ?", [SHARED_ID]) == b


def test_retiring_the_old_source_marks_its_articles_deleted_and_keeps_their_versions(switched):
    w = switched["warehouse"]
    a = f"dir:{switched['a']}"
    versions_before = rows(w, "SELECT post_id, version, change FROM article_versions ORDER BY ALL")

    done = cli("retire-source", a, *switched["common"])
    assert done.returncode == 0, done.stderr
    assert "42 articles marked deleted" in done.stdout and "3 live articles" in done.stdout

    assert live_by_source(w) == {f"dir:{switched['b']}": 3}
    retired = rows(w, "SELECT post_id, deleted_at IS NOT NULL, run_id FROM articles WHERE source = ?", [a])
    assert len(retired) == 42 and {(d, r.startswith("retire__")) for _, d, r in retired} == {(True, True)}
    # every earlier version kept, one 'deleted' row more per retired article
    versions_after = rows(w, "SELECT post_id, version, change FROM article_versions ORDER BY ALL")
    assert set(versions_before) < set(versions_after)
    added = set(versions_after) - set(versions_before)
    assert {change for _, _, change in added} == {"deleted"} and {p for p, _, _ in added} == {p for p, _, _ in retired}
    # its files are gone from the watermark; the source will be read whole if read again
    assert rows(w, "SELECT count(*) FILTER (WHERE NOT deleted) FROM source_files WHERE source = ?", [a]) == [(0,)]
    assert rows(w, "SELECT revision FROM source_state WHERE source = ?", [a]) == [(None,)]
    # the daily tables of the touched days, rebuilt by the load's rule: live and deleted per day
    per_day = rows(
        w,
        "SELECT d.day, sum(d.articles), sum(d.deleted_articles), (SELECT count(*) FROM articles x "
        "WHERE x.published_date = d.day AND x.deleted_at IS NULL), (SELECT count(*) FROM articles x "
        "WHERE x.published_date = d.day AND x.deleted_at IS NOT NULL) FROM daily_metrics d GROUP BY d.day ORDER BY 1",
    )
    assert [(str(d), n, x) for d, n, x, _, _ in per_day] == [
        ("2026-11-23", 0, 16),
        ("2026-11-24", 0, 15),
        ("2026-11-25", 1, 11),
        ("2026-11-26", 2, 0),
    ]
    assert all(n == live and x == gone for _, n, x, live, gone in per_day)
    assert scalar(w, "SELECT count(*) FROM keyword_daily WHERE day < DATE '2026-11-25'") == 0
    # the retirement is a run of its own, and the analysts' snapshot shows it
    ((status, deleted, message),) = rows(
        w, "SELECT status, articles_deleted, message FROM etl_runs WHERE run_id LIKE 'retire__%'"
    )
    assert (
        (status, deleted) == ("published", 42)
        and "source retired" in message
        and "42 fewer than the one it replaced" in message
    )
    assert scalar(switched["published"], "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 3

    # the new source's next run finds nothing to do
    before = fingerprint(w)
    assert cli("run", "--source", str(switched["b"]), *switched["common"], "--workers", "1").returncode == 0
    assert fingerprint(w) == before


def test_a_retired_source_read_again_comes_back(switched):
    w = switched["warehouse"]
    assert cli("retire-source", str(switched["a"]), *switched["common"]).returncode == 0  # the spec works too
    done = cli("run", "--source", str(switched["a"]), *switched["common"], "--workers", "1")
    assert done.returncode == 0, done.stderr
    # (the shared post id goes to whichever file the load's one-file-per-post rule picks)
    assert sum(live_by_source(w).values()) == 45
    assert scalar(w, "SELECT count(*) FROM article_versions WHERE change = 'revived'") == 42


def test_the_sources_are_listed_and_an_unknown_one_is_refused(switched):
    listed = cli("retire-source", *switched["common"])
    assert listed.returncode == 0
    assert f"dir:{switched['a']}  42 articles, 48 files" in listed.stdout
    assert f"dir:{switched['b']}  3 articles, 3 files" in listed.stdout
    before = fingerprint(switched["warehouse"])
    refused = cli("retire-source", "dir:/no/such/site", *switched["common"])
    assert refused.returncode == 1 and "the warehouse has no source 'dir:/no/such/site'" in refused.stderr
    assert fingerprint(switched["warehouse"]) == before
