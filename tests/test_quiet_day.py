"""A day with nothing new: the run changes nothing analysts read, so its publish keeps the snapshot
in place instead of copying the whole writer's file to say so (most of such a run's time at 100,000
posts) — but only when the writer's own record shows that the file in place holds every run."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from conftest import SAMPLE
from reliability import loaded, record, run_cli
from site_repo import post_text
from warehouse_checks import rows, scalar

pytestmark = [pytest.mark.reliability]

RUNS = "SELECT status, snapshot_stamp, message FROM etl_runs ORDER BY loaded_at"


def again(paths: dict, source=None):
    done = run_cli(source or paths["source"], paths["warehouse"], paths["published"], paths["staging"])
    assert done.returncode == 0, done.stderr
    return done


def identity(path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def test_runs_with_nothing_new_keep_the_snapshot_until_one_changes_something(tmp_path):
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLE, posts)
    paths = loaded(tmp_path, source=posts)
    published, warehouse = paths["published"], paths["warehouse"]
    first = identity(published)
    for _ in range(2):  # two quiet days in a row: each relies on the snapshot of the run before
        done = again(paths)
        assert "(kept: nothing new" in done.stdout, done.stdout
        assert identity(published) == first  # not copied, not touched
    runs = rows(warehouse, RUNS)
    assert [status for status, _, _ in runs] == ["published"] * 3
    assert runs[0][1] is not None and {stamp for _, stamp, _ in runs} == {runs[0][1]}
    assert all("nothing new: the snapshot run" in message for _, _, message in runs[1:]), runs
    assert scalar(published, "SELECT count(*) FROM etl_runs") == 1  # the snapshot lists the runs that changed it

    (posts / "2026-11-26-202611262419000001.md").write_text(
        post_text("202611262419000001", "新的一篇", day="2026-11-26"), encoding="utf-8"
    )
    done = again(paths)
    assert "published" in done.stdout and "kept" not in done.stdout, done.stdout
    assert identity(published) != first
    assert scalar(published, "SELECT count(*) FROM articles") == 44
    assert scalar(published, "SELECT count(*) FROM etl_runs") == 4  # the quiet days' rows come with it
    stamps = [stamp for _, stamp, _ in rows(warehouse, RUNS)]
    assert stamps[-1] not in (None, stamps[0])
    record("fault", "runs with nothing new keep the snapshot in place; the next change copies it with their rows")


@pytest.mark.parametrize("how", ["truncated", "replaced", "removed", "migrated"])
def test_a_run_with_nothing_new_copies_again_when_the_snapshot_is_not_the_one_published(tmp_path, how):
    """The snapshot was changed by hand (truncated in place, replaced by another file, removed), or
    the writer's schema moved on: the stamp differs, so the quiet run copies the writer's file."""
    paths = loaded(tmp_path)
    published, warehouse = paths["published"], paths["warehouse"]
    if how == "truncated":
        with open(published, "r+b") as fh:
            fh.truncate(4096)
    elif how == "replaced":
        shutil.copyfile(published, tmp_path / "other.duckdb")
        (tmp_path / "other.duckdb").replace(published)
    elif how == "removed":
        published.unlink()
    else:  # a later version of this code, with one more migration applied
        with duckdb.connect(str(warehouse)) as con:
            con.execute("INSERT INTO schema_migrations VALUES (9999, '9999_later', now())")
    done = again(paths)
    assert "published" in done.stdout and "kept" not in done.stdout, done.stdout
    assert scalar(published, "SELECT count(*) FROM articles") == 43
    assert scalar(warehouse, "SELECT status FROM etl_runs ORDER BY loaded_at DESC LIMIT 1") == "published"
    record("fault", f"snapshot {how} after its publish: the next run with nothing new copies it again")


def test_a_run_with_nothing_new_after_a_failed_publish_publishes(tmp_path):
    """The run before could not publish (loaded-not-published): a quiet run after it copies, however
    its own load changed nothing."""
    paths = loaded(tmp_path)
    published, warehouse = paths["published"], paths["warehouse"]
    published.unlink()
    published.mkdir()  # a folder holds the snapshot's name: the quiet run's rename fails
    done = run_cli(paths["source"], warehouse, published, paths["staging"])
    assert done.returncode != 0 and "not published" in done.stderr, done.stderr
    shutil.rmtree(published)
    # the writer's record says the last run is not published: the next quiet run copies
    assert scalar(warehouse, "SELECT status FROM etl_runs ORDER BY loaded_at DESC LIMIT 1") == "loaded-not-published"
    done = again(paths)
    assert "published" in done.stdout and "kept" not in done.stdout, done.stdout
    assert scalar(published, "SELECT count(*) FROM articles") == 43
    record("fault", "a quiet run after a failed publish publishes")


def test_a_load_that_changed_no_article_keeps_meaning_unless_its_seeds_or_rules_changed(tmp_path, caplog, monkeypatch):
    """Stories, names, securities and publishers are functions of the live posts and the reviewed
    seeds: a load that changed no article, under the stamp of the load before, derives nothing; a
    new seed or rule (another stamp) derives them again on the next run, even with no post new."""
    import logging

    from conftest import settings_in

    from news_etl import pipeline
    from news_etl.meaning import steps

    settings = settings_in(tmp_path, SAMPLE, workers=1)
    pipeline.run_all(settings)
    caplog.set_level(logging.INFO, logger="news_etl.warehouse.load")
    pipeline.run_all(settings)
    assert any("meaning kept" in r.getMessage() for r in caplog.records)
    stamps = [s for (s,) in rows(settings.warehouse, "SELECT meaning_stamp FROM etl_runs ORDER BY loaded_at")]
    assert stamps[0] and stamps == [stamps[0]] * 2

    # a derived table out of step with the seeds (as a new seed would leave it), and a new stamp
    with duckdb.connect(str(settings.warehouse)) as con:
        want = con.execute("SELECT * FROM publisher_names ORDER BY ALL").fetchall()
        con.execute("DELETE FROM publisher_names")
    monkeypatch.setattr(steps, "stamp", lambda: "another seed")
    caplog.clear()
    pipeline.run_all(settings)
    assert not any("meaning kept" in r.getMessage() for r in caplog.records)
    assert rows(settings.warehouse, "SELECT * FROM publisher_names ORDER BY ALL") == want
    assert scalar(settings.warehouse, "SELECT meaning_stamp FROM etl_runs ORDER BY loaded_at DESC LIMIT 1") == (
        f"another seed:{scalar(settings.warehouse, 'SELECT max(version) FROM schema_migrations')}"
    )


def test_the_meaning_stamp_follows_the_seeds_and_the_rules(tmp_path, monkeypatch):
    from news_etl import settings
    from news_etl.meaning import steps

    steps.stamp.cache_clear()
    before = steps.stamp()
    sql = tmp_path / "sql"
    shutil.copytree(settings.SQL_DIR, sql)
    with open(sql / "seeds" / "publishers.csv", "a", encoding="utf-8") as fh:
        fh.write("某某日报,某某日报,a reviewed addition\n")
    monkeypatch.setattr(steps, "SQL_DIR", sql)
    steps.stamp.cache_clear()
    try:
        assert steps.stamp() != before
    finally:
        monkeypatch.undo()
        steps.stamp.cache_clear()
    assert steps.stamp() == before
