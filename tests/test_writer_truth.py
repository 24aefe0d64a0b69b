"""The writer's file is the truth; the published snapshot is derived and never read back.

A missing writer's file under an existing snapshot is refused (and `news-etl restore` rebuilds it);
a stale, missing, truncated or corrupt snapshot changes nothing a run does; a publish that leaves
fewer live articles than the snapshot it replaces says so.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import settings_in
from reliability import ROOT, cli_env, record, run_cli, write_posts
from warehouse_checks import fingerprint, rows, scalar

from news_etl import pipeline
from news_etl.settings import Settings
from news_etl.warehouse.connection import file_connect
from news_etl.warehouse.freshness import check as check_freshness
from news_etl.warehouse.restore import RestoreError, WriterMissing, restore

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]


def settings_for(tmp_path: Path) -> Settings:
    return settings_in(tmp_path, tmp_path / "posts", published=tmp_path / "published" / "p.duckdb", source_backoff=2.0)


@pytest.fixture
def loaded(tmp_path) -> Settings:
    """Two runs: 20 posts and a reject, then an edit, a deletion and two new posts."""
    s = settings_for(tmp_path)
    write_posts(Path(s.source), 20)
    (Path(s.source) / "2026-11-20-empty.md").write_bytes(b"")
    pipeline.run_all(s)
    source = Path(s.source)
    (source / "2026-11-20-post3.md").unlink()
    post = source / "2026-11-20-post4.md"
    post.write_text(post.read_text(encoding="utf-8") + "\n<p>更正。</p>\n", encoding="utf-8")
    write_posts(source, 2, start=40)
    pipeline.run_all(s)
    return s


def every_table(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        # but the writer's stamp of the snapshot file (inode, size, time), which the copy cannot hold
        columns = {t: "* EXCLUDE (snapshot_stamp)" if t == "etl_runs" else "*" for t in tables}
        return {t: con.execute(f"SELECT {columns[t]} FROM {t} ORDER BY ALL").fetchall() for t in tables}
    finally:
        con.close()


def test_a_missing_writer_under_a_snapshot_is_refused(loaded):
    s = loaded
    before = fingerprint(s.published)
    s.warehouse.unlink()
    out = run_cli(s.source, s.warehouse, s.published, s.staging)
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("error: WriterMissing: the writer's warehouse file")
    assert str(s.warehouse) in line and str(s.published) in line
    assert f"news-etl restore --from {s.published} --warehouse {s.warehouse}" in line
    assert not s.warehouse.exists(), "a refused run must not create an empty writer's file"
    assert fingerprint(s.published) == before
    # every step refuses, not only fetch (a task run on its own, a retried load)
    with pytest.raises(WriterMissing):
        pipeline.publish(file_connect(s.warehouse), s, {"run_id": "x"})
    record("fault", "writer's file missing, snapshot present (refused, names both files and restore)")


def test_restore_rebuilds_the_writer_table_for_table(loaded):
    s = loaded
    lost = every_table(s.warehouse)
    assert lost == every_table(s.published)  # what publish copied
    s.warehouse.unlink()

    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("news-etl")),
            "restore",
            "--from",
            str(s.published),
            "--warehouse",
            str(s.warehouse),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "21 live articles" in out.stdout
    assert every_table(s.warehouse) == lost
    # the next run carries on from the restored watermark: nothing to load again
    result = pipeline.run_all(s)
    assert (result["fetch"]["changed"], result["fetch"]["deleted"], result["load"]["rejects"]) == (0, 0, 0)

    with pytest.raises(RestoreError, match="exists: restore only rebuilds a missing one"):
        restore(s.published, s.warehouse)
    broken = s.published.with_name("broken.duckdb")
    broken.write_bytes(s.published.read_bytes()[:5000])
    with pytest.raises(RestoreError, match="not a readable warehouse"):
        restore(broken, s.warehouse.with_name("other.duckdb"))
    assert not s.warehouse.with_name("other.duckdb").exists()
    record("fault", "writer's file rebuilt from the snapshot (news-etl restore), every table equal")


@pytest.mark.parametrize("snapshot", ["missing", "stale", "truncated", "corrupt"])
def test_a_run_never_reads_the_snapshot_back(loaded, snapshot, caplog):
    """Fetch's watermark and the freshness check come from the writer's file: whatever happened to
    the snapshot, the next run has nothing to load, succeeds, and publishes a good snapshot again."""
    s = loaded
    stale = s.published.with_name("stale.duckdb")
    if snapshot == "missing":
        s.published.unlink()
    elif snapshot == "stale":  # an older snapshot (the first run's) put back
        shutil.copy(s.published, stale)
        con = duckdb.connect(str(stale))
        con.execute("DELETE FROM source_files")
        con.close()
        os.replace(stale, s.published)
    elif snapshot == "truncated":
        data = s.published.read_bytes()
        s.published.write_bytes(data[: len(data) // 3])
    else:
        data = bytearray(s.published.read_bytes())
        for i in range(0, len(data), 4096):
            data[i : i + 64] = os.urandom(64)
        s.published.write_bytes(bytes(data))
    want = fingerprint(s.warehouse)
    with caplog.at_level(logging.WARNING, logger="news_etl"):
        result = pipeline.run_all(s)
    assert result["fetch"]["changed"] == 0 and result["fetch"]["deleted"] == 0
    assert fingerprint(s.warehouse) == want == fingerprint(s.published)
    freshness = check_freshness(file_connect(s.warehouse, read_only=True), s, result["run"])
    assert freshness["newest_post_at"] is not None
    message = scalar(s.warehouse, "SELECT message FROM etl_runs WHERE run_id = ?", [result["run"]["run_id"]])
    # the old snapshot is not read, not even to compare: the writer's record of its last publish is
    assert message is None or "fewer" not in message, message
    assert (
        scalar(s.warehouse, "SELECT published_live_articles FROM etl_runs WHERE run_id = ?", [result["run"]["run_id"]])
        == 21
    )
    record("fault", f"published snapshot {snapshot} before a run (never read back)")


def test_fewer_live_articles_than_the_snapshot_is_said(loaded, caplog):
    s = loaded
    for path in sorted(Path(s.source).glob("2026-11-20-post1*.md"))[:4]:
        path.unlink()
    with caplog.at_level(logging.WARNING, logger="news_etl"):
        result = pipeline.run_all(s)
    note = "the new snapshot has 17 live articles, 4 fewer than the one it replaced (21)"
    assert result["publish"]["note"].startswith(note)
    assert any(r.getMessage().startswith("publish: " + note) for r in caplog.records)
    message = scalar(s.warehouse, "SELECT message FROM etl_runs WHERE run_id = ?", [result["run"]["run_id"]])
    assert message.startswith(note)
    assert rows(s.published, "SELECT message FROM etl_runs WHERE run_id = ?", [result["run"]["run_id"]]) == [(message,)]
    record("fault", "a publish with fewer live articles than the snapshot it replaces (said in log and etl_runs)")
