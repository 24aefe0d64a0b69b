"""Publish and the audit row under real failures: a snapshot on another file system, a copy or rename that fails, a load out of DuckDB's memory, a snapshot path that names the writer's file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE
from reliability import loaded, record, run_cli
from site_repo import post_text
from warehouse_checks import rows, scalar

from news_etl.warehouse.connection import file_connect, writer
from news_etl.warehouse.publish import publish

pytestmark = [pytest.mark.reliability]


@pytest.fixture
def shm():
    """A folder on /dev/shm: a tmpfs, another file system than the test's tmp_path."""
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("no /dev/shm on another file system than the temp folder here")
    folder = Path(tempfile.mkdtemp(prefix="news-etl-test-", dir="/dev/shm"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_publish_to_another_file_system(tmp_path, shm):
    published = shm / "analysts" / "warehouse.duckdb"
    done = run_cli(SAMPLE, tmp_path / "w.duckdb", published, tmp_path / "staging")
    assert done.returncode == 0, done.stderr  # was: OSError [Errno 18] Invalid cross-device link
    assert scalar(published, "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 43
    assert rows(tmp_path / "w.duckdb", "SELECT status FROM etl_runs") == [("published",)]
    assert rows(published, "SELECT status FROM etl_runs") == [("published",)]
    assert scalar(published, "SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal").startswith(
        "v1.4.0"
    )
    record("fault", "snapshot on another file system (/dev/shm): plain copy, published")


def test_a_run_is_published_only_once_its_snapshot_is_in_place(tmp_path):
    """The snapshot cannot be renamed into place (a folder holds its name): the load committed, so
    the writer says loaded-not-published, the run exits non-zero saying so, and the next run publishes."""
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLE, posts)
    paths = loaded(tmp_path, source=posts)
    warehouse, published = paths["warehouse"], paths["published"]
    published.unlink()
    published.mkdir()
    (published / "in-the-way").write_text("x")
    (posts / "2026-11-26-202611262419000001.md").write_text(
        post_text("202611262419000001", "新的一篇", day="2026-11-26")
    )
    done = run_cli(posts, warehouse, published, paths["staging"])
    assert done.returncode != 0
    assert "loaded" in done.stderr and "not published" in done.stderr, done.stderr
    last = "SELECT status FROM etl_runs ORDER BY loaded_at DESC LIMIT 1"
    assert scalar(warehouse, last) == "loaded-not-published"  # was: published
    assert scalar(warehouse, "SELECT count(*) FROM articles") == 44  # the load stays
    shutil.rmtree(published)
    done = run_cli(posts, warehouse, published, paths["staging"])
    assert done.returncode == 0, done.stderr
    assert scalar(published, "SELECT count(*) FROM articles") == 44
    assert scalar(warehouse, last) == "published"
    assert scalar(published, last) == "published"
    record("fault", "snapshot cannot be renamed: loaded-not-published, non-zero exit, next run publishes")


def test_a_load_that_commits_reports_success(tmp_path):
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLE, posts)
    paths = loaded(tmp_path, source=posts)
    for path in sorted(posts.glob("*.md"))[:20]:
        path.write_text(path.read_text(encoding="utf-8") + "\n\n<p>更正：本文已修改。</p>\n", encoding="utf-8")
    done = run_cli(posts, paths["warehouse"], paths["published"], paths["staging"], NEWS_ETL_DUCKDB_MEMORY="2MB")
    assert done.returncode == 0, done.stderr
    writer = rows(paths["warehouse"], "SELECT post_id, version FROM articles ORDER BY 1")
    assert writer == rows(paths["published"], "SELECT post_id, version FROM articles ORDER BY 1")
    assert scalar(paths["warehouse"], "SELECT count(*) FROM articles WHERE version = 2") >= 19  # (one sample
    # post's body ends at its source link: what follows is not its text)
    assert scalar(paths["warehouse"], "SELECT status FROM etl_runs ORDER BY loaded_at DESC LIMIT 1") == "published"
    record("fault", "load out of DuckDB's memory at 2MB: the retry commits, the run succeeds and publishes")


def test_published_equal_to_warehouse_is_refused(tmp_path):
    same = tmp_path / "w.duckdb"
    done = run_cli(SAMPLE, same, same, tmp_path / "staging")
    assert done.returncode != 0
    assert "same file" in done.stderr, done.stderr
    assert not same.exists()
    other = tmp_path / "again" / ".." / "w.duckdb"  # the same file by another spelling
    done = run_cli(SAMPLE, same, other, tmp_path / "staging")
    assert done.returncode != 0 and "same file" in done.stderr, done.stderr
    record("fault", "--published equal to --warehouse: refused")


def test_publish_keeps_the_writers_lock_until_its_connection_closes(tmp_path):
    """POSIX drops a process's lock on a file when it closes any descriptor of that file: a publish
    that opened and closed the writer's file to copy it let a second run open the file for writing
    while the first still wrote (its 'published' mark was then lost). After a publish inside the
    writer's session, another process still cannot open the file."""
    paths = loaded(tmp_path)
    probe = [sys.executable, "-c", f"import duckdb; duckdb.connect({str(paths['warehouse'])!r}).close()"]
    with writer(file_connect(paths["warehouse"]), timeout=1) as con:
        result = publish(con, tmp_path / "again.duckdb", None)
        assert result["how"] == "file copy"
        other = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        assert other.returncode != 0, "another process opened the writer's file while it was held"
        assert "lock" in other.stderr.lower(), other.stderr
        con.execute("SELECT count(*) FROM articles").fetchone()  # the writer's connection still works
    assert subprocess.run(probe, capture_output=True, text=True, timeout=60).returncode == 0  # free once closed
    assert duckdb.connect(str(tmp_path / "again.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM articles"
    ).fetchone() == (43,)
    record("fault", "a publish keeps the writer's lock on its file")
