"""Nothing restored is trusted beyond the known schema, and readers on a server never read a host's file: hostile snapshots restored and read."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, SAMPLE
from reliability import cli, record, run_cli
from warehouse_checks import scalar

pytestmark = [pytest.mark.reliability]


@pytest.fixture(scope="module")
def real_snapshot(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("real")
    done = run_cli(SAMPLE, base / "w.duckdb", base / "p.duckdb", base / "staging")
    assert done.returncode == 0, done.stderr
    return base / "p.duckdb"


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "host-secret.txt"
    path.write_text("HOST-SECRET-7f3a\n")
    return path


def hostile(real: Path, folder: Path, secret: Path, *statements: str) -> Path:
    path = folder / "hostile.duckdb"
    shutil.copyfile(real, path)
    con = duckdb.connect(str(path))
    try:
        for sql in statements:
            con.execute(sql.replace("SECRET", str(secret)))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


ATTACKS = {
    "extra view": "CREATE VIEW leak AS SELECT content FROM read_text('SECRET')",
    "replaced view": "CREATE OR REPLACE VIEW current_rejects AS SELECT content AS reason FROM read_text('SECRET')",
    "macro": "CREATE MACRO leak_macro(x) AS x + 1",
    "path-like name": 'CREATE VIEW "../../../tmp/x" AS SELECT 1 AS a',
    "extra table": "CREATE TABLE scratch AS SELECT 1 AS a",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_restore_refuses_objects_the_migrations_do_not_define(tmp_path, real_snapshot, secret, attack):
    snapshot = hostile(real_snapshot, tmp_path, secret, ATTACKS[attack])
    done = cli("restore", "--from", str(snapshot), "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode != 0, done.stdout
    name = {
        "extra view": "leak",
        "replaced view": "current_rejects",
        "macro": "leak_macro",
        "path-like name": "../../../tmp/x",
        "extra table": "scratch",
    }[attack]
    assert name in done.stderr, done.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_restore_accepts_a_real_snapshot(tmp_path, real_snapshot):
    done = cli("restore", "--from", str(real_snapshot), "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode == 0, done.stderr
    assert scalar(tmp_path / "w.duckdb", "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 43


def test_readers_never_read_a_hosts_file(tmp_path, real_snapshot, secret):
    """A warehouse file with views that read the host's files (not restored: handed to the readers
    straight) shows nothing of them in summary, report, export or the warehouse page, and export
    writes nothing outside its folder."""
    snapshot = hostile(
        real_snapshot,
        tmp_path,
        secret,
        # replaced views that keep their columns, one of them carrying the host's file
        "ALTER VIEW current_rejects RENAME TO current_rejects_0",
        "CREATE VIEW current_rejects AS SELECT * REPLACE ((SELECT content FROM read_text('SECRET')) AS reason) "
        "FROM current_rejects_0",
        "ALTER VIEW live_articles RENAME TO live_articles_0",
        "CREATE VIEW live_articles AS SELECT * REPLACE ((SELECT content FROM read_text('SECRET')) AS title) "
        "FROM live_articles_0",
        "CREATE VIEW \"../escaped\" AS SELECT content FROM read_text('SECRET')",
    )
    out = tmp_path / "export"
    for args in (
        ("summary", "--warehouse", str(snapshot)),
        ("report", "daily_volume", "--warehouse", str(snapshot), "--format", "csv"),
        ("report", "data_quality", "--warehouse", str(snapshot), "--format", "csv"),
        ("export", "--parquet", str(out), "--warehouse", str(snapshot)),
        ("dictionary", "--warehouse", str(snapshot)),
    ):
        done = cli(*args)
        assert "HOST-SECRET" not in done.stdout + done.stderr, args
    assert not (tmp_path / "escaped.parquet").exists()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".parquet"]
    assert all(p.parent == out for p in written), written
    for p in written:
        assert b"HOST-SECRET" not in p.read_bytes(), p

    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        import warehouse_page

        page = warehouse_page.read_summary(snapshot)  # says the snapshot cannot be read, and why
        assert page["available"] and page["error"], page
        assert "HOST-SECRET" not in json.dumps(page, default=str)
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    record(
        "fault",
        "hostile warehouse file read by summary, report, export, dictionary, the page: no host file shown or written",
    )
