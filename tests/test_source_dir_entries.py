"""A folder source with entries it cannot read: another user's 0600 file or 0700 folder (read by a user who is not root), a path longer than PATH_MAX."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import SAMPLE
from reliability import NEWS_ETL, cli_env, loaded, record
from site_repo import post_text
from warehouse_checks import rows, scalar

pytestmark = [pytest.mark.reliability]


def _as_nobody(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**cli_env(), "HOME": str(cwd)},
        timeout=300,
    )


def test_unreadable_entries_are_skipped_and_counted(tmp_path):
    """Run as another user (root reads every file): a 0600 file and a 0700 folder of root's in the
    source. First new (skipped and named), then after they were loaded (kept, not deleted)."""
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv, to run the fetch as another user (root reads every file)")
    base = Path(tempfile.mkdtemp(prefix="news-etl-nobody-"))  # /tmp: every user may enter it
    try:
        os.chmod(base, 0o755)
        posts = base / "posts"
        shutil.copytree(SAMPLE, posts)
        secret = posts / "2026-11-25-202611252419000091.md"
        secret.write_text(post_text("202611252419000091", "私有"))
        closed = posts / "closed"
        closed.mkdir()
        (closed / "2026-11-25-202611252419000092.md").write_text(post_text("202611252419000092", "里面"))
        for path in [*posts.rglob("*"), posts]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        work = base / "work"
        work.mkdir()
        os.chown(work, 65534, 65534)

        def run() -> subprocess.CompletedProcess:
            return _as_nobody(
                NEWS_ETL, "run", "--source", str(posts), "--warehouse", str(work / "w.duckdb"),
                "--published", str(work / "p.duckdb"), "--staging", str(work / "staging"), "--workers", "1",
                cwd=work,
            )  # fmt: skip

        last = "SELECT message FROM etl_runs ORDER BY loaded_at DESC LIMIT 1"
        # loaded while readable, then closed: kept as loaded (unreadable is not gone)
        done = run()
        assert done.returncode == 0, done.stderr
        assert scalar(work / "w.duckdb", "SELECT count(*) FROM articles") == 45
        secret.chmod(0o600)
        closed.chmod(0o700)
        done = run()
        assert done.returncode == 0, done.stderr  # was: PermissionError
        message = scalar(work / "w.duckdb", last)
        # (the 0600 file, loaded and unchanged in size and time, is not read again: only the folder is met)
        assert "1 entry that cannot be read" in message and "closed (Permission denied)" in message, message
        assert scalar(work / "w.duckdb", "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 45
        # new and unreadable from the start: skipped and counted, the rest loads
        shutil.rmtree(work)
        work.mkdir()
        os.chown(work, 65534, 65534)
        done = run()
        assert done.returncode == 0, done.stderr
        assert scalar(work / "w.duckdb", "SELECT count(*) FROM articles") == 43
        assert "2 entries that cannot be read" in scalar(work / "w.duckdb", last)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    record("fault", "another user's 0600 file and 0700 folder in a folder source: skipped, named, loaded ones kept")


def test_a_path_longer_than_path_max_is_skipped_and_counted(tmp_path):
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLE, posts)
    fd = os.open(posts, os.O_RDONLY)
    try:
        for _ in range(20):  # 20 × 250 characters: past PATH_MAX (4096)
            name = "d" * 250
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        post = os.open("2026-11-25-deep.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(post, b"---\ntitle: deep\ndate: 2026-11-25\n---\ndeep\n")
        os.close(post)
    finally:
        os.close(fd)
    paths = loaded(tmp_path, source=posts)  # was: OSError [Errno 36] File name too long
    (message,) = rows(paths["warehouse"], "SELECT message FROM etl_runs")[0]
    assert "1 entry that cannot be read" in message, message
    assert scalar(paths["warehouse"], "SELECT count(*) FROM articles") == 43
    with contextlib.suppress(OSError):
        shutil.rmtree(posts)
    record("fault", "a path longer than PATH_MAX in a folder source: skipped and counted")
