"""A git server that speaks only the dumb HTTP protocol (a static mirror): cloned whole, with a warning."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path

import pytest
from reliability import loaded, record, run_cli
from site_repo import SiteRepo, git, post_text
from warehouse_checks import rows, scalar

pytestmark = [pytest.mark.reliability]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def dumb_http(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_dumb_http_git_server_is_cloned_whole(tmp_path):
    repo = SiteRepo(tmp_path / "site")
    git(repo.remote, "update-server-info")
    with dumb_http(tmp_path / "site") as base:
        spec = f"git+{base}/site.git"
        paths = loaded(tmp_path, source=spec, NEWS_ETL_CACHE=tmp_path / "cache")
        assert scalar(paths["warehouse"], "SELECT count(*) FROM articles") == 43
        (message,) = rows(paths["warehouse"], "SELECT message FROM etl_runs")[0]
        assert "dumb HTTP" in message and "full clone" in message, message
        # the next run fetches the new commit over the same protocol, from the clone in the cache
        repo.write(
            "_posts/2026-11-26-202611262419000001.md", post_text("202611262419000001", "新的一篇", day="2026-11-26")
        )
        repo.commit("one more post")
        git(repo.remote, "update-server-info")
        done = run_cli(
            spec, paths["warehouse"], paths["published"], paths["staging"], NEWS_ETL_CACHE=tmp_path / "cache"
        )
        assert done.returncode == 0, done.stderr
    assert scalar(paths["warehouse"], "SELECT count(*) FROM articles") == 44
    last = rows(
        paths["warehouse"], "SELECT posts_changed, coalesce(message, '') FROM etl_runs ORDER BY loaded_at DESC"
    )[0]
    assert last[0] == 1 and "dumb HTTP" not in last[1], last
    record("fault", "a dumb-HTTP-only git server: cloned whole with a warning, next run fetches")
