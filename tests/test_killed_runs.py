"""A CLI run killed with SIGKILL leaves nothing that lives or lingers: its pool workers die with it,
and the next run removes its staging folder (raw posts included) and its temporary snapshot copies,
and only those: a live run's folder and copies are kept."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from reliability import ROOT, cli_args, cli_env, record, run_cli, write_posts

from news_etl.ingest import staging
from news_etl.warehouse.tempfiles import remove_dead_temp_files

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_killed_run_leaves_no_worker_and_the_next_run_cleans_up_after_it(tmp_path):
    source, wh, pub, stage = tmp_path / "posts", tmp_path / "w.duckdb", tmp_path / "p.duckdb", tmp_path / "staging"
    write_posts(source, 400)
    args = cli_args(source, wh, pub, stage)
    args[args.index("--workers") + 1] = "2"
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env(NEWS_ETL_BATCH_SIZE=5), cwd=ROOT
    )
    try:
        workers = wait_for(lambda: [c for c in children(proc.pid) if alive(c)][:2] or None, 60, "pool workers")
        wait_for(lambda: list(stage.glob("*/raw/batch-*.parquet")), 60, "staged raw posts")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # the workers do not outlive their run (they used to block forever on the pool's queue)
        wait_for(lambda: not any(alive(w) for w in workers), 15, "the pool workers to die with their run")
    finally:
        if proc.poll() is None:
            proc.kill()
        for c in children(proc.pid):
            os.kill(c, signal.SIGKILL)
    left = [p for p in stage.iterdir() if p.is_dir()]
    assert len(left) == 1 and list(left[0].glob("raw/*.parquet")), "the killed run left its raw posts"

    # a live run's folder, and temporary snapshot copies of a dead and a live process
    live_run = stage / "cli__live"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_CLAIM, str(live_run)], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=cli_env()
    )
    try:
        assert holder.stdout.readline().strip() == "CLAIMED"
        staging.new_run_folder(stage, "cli__live")  # made and marked as a run makes its folder
        (live_run / "raw").mkdir()
        host = socket.gethostname()
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        dead_tmp = tmp_path / f".p.duckdb.{host}.{int(gone.stdout)}.tmp"
        live_tmp = tmp_path / f".p.duckdb.{host}.{holder.pid}.tmp"
        foreign_tmp = tmp_path / ".p.duckdb.another-host.example.42.tmp"
        for f in (dead_tmp, live_tmp, foreign_tmp):
            f.write_bytes(b"half a snapshot")

        out = run_cli(source, wh, pub, stage)
        assert out.returncode == 0, out.stderr
        assert not left[0].exists() and not dead_tmp.exists()
        assert live_run.is_dir() and live_tmp.exists() and foreign_tmp.exists()
        assert f"staging: removed 1 folder(s) left by killed runs: {left[0].name}" in out.stderr
        assert f"removed 1 temporary copie(s) left by killed runs beside {pub}: {dead_tmp.name}" in out.stderr
    finally:
        holder.kill()
        holder.wait()
    assert staging.remove_unclaimed_runs(stage) == ["cli__live"]  # its run gone, the folder goes too
    old = time.time() - 2 * 86400
    os.utime(foreign_tmp, (old, old))
    assert sorted(remove_dead_temp_files(pub)) == sorted([foreign_tmp.name, live_tmp.name])  # both writers gone
    record("fault", "CLI run SIGKILLed with pool workers: workers die with it, the next run removes what it left")


HOLD_CLAIM = textwrap.dedent(r"""
    import sys, time
    from pathlib import Path
    from news_etl.ingest import staging
    with staging.claim(Path(sys.argv[1])):
        print("CLAIMED", flush=True)
        time.sleep(600)
""")
