"""Faults, with real processes, real signals and real files: nothing is lost, nothing is half-loaded.

Every test starts from the same warehouse (one complete run over a small source), hurts a run in
one way, checks that the warehouse still holds exactly that last complete run, removes the cause,
and checks that the next run ends exactly where an unhurt run ends (``EXPECTED``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from conftest import require, settings_in
from reliability import ROOT, cli_args, cli_env, record, run_cli, write_posts
from warehouse_checks import fingerprint as warehouse_fingerprint
from warehouse_checks import rows, scalar

from news_etl import pipeline
from news_etl.ingest import staging
from news_etl.settings import Settings
from news_etl.warehouse.connection import file_connect

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(240)]


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Every data table, without the columns that hold the moment a run happened (run ids, load
    times, the time of a deletion, file modification times)."""
    return warehouse_fingerprint(path, moments=False)


def mutate(source: Path) -> None:
    """What the hurt run has to load: 5 new posts, 1 changed, 1 deleted, 1 broken (a reject)."""
    write_posts(source, 5, start=100)
    changed = source / "2026-11-20-post0.md"
    changed.write_text(changed.read_text(encoding="utf-8").replace("第0篇正文", "第0篇改过的正文"), encoding="utf-8")
    (source / "2026-11-20-post1.md").unlink()
    (source / "2026-11-20-broken.md").write_bytes(b"no front matter at all\n")


def settings_for(source: Path, folder: Path, **kw) -> Settings:
    return settings_in(folder, source, **{"lock_timeout": 10, "source_backoff": 2.0, **kw})


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One complete run over 30 posts (and one reject); its source always at the same path,
    because the source's name (its path) is part of every row."""
    base = tmp_path_factory.mktemp("faults")
    pristine = base / "pristine"
    write_posts(pristine, 30)
    (pristine / "2026-11-20-empty.md").write_bytes(b"")
    source = base / "posts"
    shutil.copytree(pristine, source)
    settings = settings_for(source, base / "template")
    pipeline.run_all(settings)
    before = fingerprint(settings.warehouse)

    # where an unhurt run over the mutated source ends
    ref = settings_for(source, base / "reference")
    shutil.copytree(base / "template", base / "reference", ignore=shutil.ignore_patterns("staging"))
    mutate(source)
    pipeline.run_all(ref)
    after = fingerprint(ref.warehouse)
    assert after != before
    return SimpleNamespace(
        base=base, pristine=pristine, source=source, folder=base / "template", before=before, after=after
    )


@pytest.fixture
def world(template, tmp_path):
    """A fresh copy of the template's warehouse and snapshot; the source mutated (the work to do)."""
    shutil.rmtree(template.source, ignore_errors=True)
    shutil.copytree(template.pristine, template.source)
    mutate(template.source)
    for name in ("w.duckdb", "p.duckdb"):
        shutil.copy(template.folder / name, tmp_path / name)
    settings = settings_for(template.source, tmp_path)
    return SimpleNamespace(
        settings=settings, source=template.source, before=template.before, after=template.after, tmp=tmp_path
    )


def assert_untouched(w, killed_run: str | None = None) -> None:
    """The warehouse opens for writing (a WAL left by a crash is replayed) and holds the last complete run."""
    con = duckdb.connect(str(w.settings.warehouse))
    con.close()
    assert fingerprint(w.settings.warehouse) == w.before
    if killed_run:
        assert scalar(w.settings.warehouse, "SELECT count(*) FROM etl_runs WHERE run_id = ?", [killed_run]) == 0


def assert_next_run_completes(w) -> None:
    pipeline.run_all(w.settings)
    assert fingerprint(w.settings.warehouse) == w.after
    assert fingerprint(w.settings.published) == w.after


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


# --- the load process killed in its transaction ---------------------------------------------------

#: A real load in a child process, on a real DuckDB connection whose ``execute`` stops at one
#: statement (before or after it runs) until the test kills the process. Nothing in the library changes.
LOAD_CHILD = textwrap.dedent(r"""
    import json, sys, time
    from news_etl import pipeline
    from news_etl.settings import Settings
    from news_etl.warehouse.connection import file_connect

    a = json.load(open(sys.argv[1]))
    when, prefix = a["pause"]

    class Pausing:
        def __init__(self, con):
            self._con = con
        def __getattr__(self, name):
            return getattr(self._con, name)
        def execute(self, sql, *args):
            text = " ".join(sql.split())
            if when == "before" and text.startswith(prefix):
                self._stop()
            result = self._con.execute(sql, *args)
            if when == "after" and text.startswith(prefix):
                self._stop()
            return result
        def _stop(self):
            print("PAUSED", flush=True)
            time.sleep(600)

    real = file_connect(a["warehouse"])
    settings = Settings().with_(warehouse=a["warehouse"], published=a["published"], staging=a["staging"])
    pipeline.load(lambda: Pausing(real()), settings, a["run"], a["fetched"], a["transformed"], a["validated"])
    print("LOADED", flush=True)
""")


@pytest.mark.parametrize(
    "pause",
    [
        ("after", "BEGIN TRANSACTION"),
        ("after", "MERGE INTO articles"),
        ("after", "INSERT INTO rejects"),
        ("before", "COMMIT"),
    ],
    ids=["after-begin", "after-merge", "after-rejects", "before-commit"],
)
def test_load_killed_mid_transaction(world, pause):
    s = world.settings
    run = pipeline.new_run()
    fetched = pipeline.fetch(s, run)
    transformed = pipeline.transform_all(fetched)
    validated = pipeline.validate(fetched["staging"], transformed)
    args = world.tmp / "load.json"
    args.write_text(
        json.dumps(
            {
                "pause": pause,
                "warehouse": str(s.warehouse),
                "published": str(s.published),
                "staging": str(s.staging),
                "run": run,
                "fetched": fetched,
                "transformed": transformed,
                "validated": validated,
            }
        )
    )
    child = subprocess.Popen(
        [sys.executable, "-c", LOAD_CHILD, str(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "PAUSED", f"the load never reached {pause}: {line!r} {child.stderr.read()[-2000:]}"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        kill(child)
    assert child.returncode == -signal.SIGKILL
    assert_untouched(world, run["run_id"])
    assert_next_run_completes(world)
    record("fault", f"load SIGKILLed {pause[0]} {pause[1]}")


@pytest.mark.parametrize("delay", [0.0, 0.25])
def test_cli_killed_at_any_moment_of_its_load(world, delay):
    """The unmodified CLI, SIGKILLed a moment after its validate step: whatever the moment,
    the warehouse holds either the last complete run or the new one, never a mix."""
    s = world.settings
    proc = subprocess.Popen(
        cli_args(world.source, s.warehouse, s.published, s.staging, "-v"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    try:
        for line in proc.stderr:
            if "news_etl.pipeline: validate:" in line:
                break
        time.sleep(delay)
    finally:
        kill(proc)
    con = duckdb.connect(str(s.warehouse))
    con.close()
    state = fingerprint(s.warehouse)
    assert state in (world.before, world.after), "a killed load left half a run"
    assert_next_run_completes(world)
    record("fault", f"CLI SIGKILLed {delay}s into its load ({'before' if state == world.before else 'after'} commit)")


# --- the source ---------------------------------------------------------------------------------


def staged_batches(staging_root: Path) -> list[Path]:
    return sorted(staging_root.glob("*/raw/batch-*.parquet"))


def test_source_disappears_mid_fetch(world):
    s = world.settings
    write_posts(world.source, 300, start=1000)
    saved = world.tmp / "saved-posts"
    shutil.copytree(world.source, saved)
    proc = subprocess.Popen(
        cli_args(world.source, s.warehouse, s.published, s.staging),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(NEWS_ETL_BATCH_SIZE=1),
        cwd=ROOT,
    )
    try:
        wait_for(lambda: staged_batches(s.staging), 60, "the first staged batch")
        os.kill(proc.pid, signal.SIGSTOP)
        shutil.rmtree(world.source)  # the folder goes away in the middle of the fetch
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
    finally:
        kill(proc)
    assert proc.returncode == 1, out
    message = err.strip().splitlines()
    assert len(message) == 1 and "No such file or directory" in message[0] and str(world.source) in message[0], err
    assert_untouched(world)

    shutil.copytree(saved, world.source)  # the cause is gone: the retry loads everything
    pipeline.run_all(s)
    assert scalar(s.warehouse, "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 30 - 1 + 5 + 300
    record("fault", "source folder removed mid-fetch")


def test_source_read_hangs_mid_fetch(world):
    """A fetch stuck on a read (a dead network mount; here the process is stopped mid-fetch) makes no
    progress until its timeout kills it (Airflow's execution_timeout; here SIGKILL); the warehouse is
    untouched and the retry completes the work."""
    s = world.settings
    write_posts(world.source, 300, start=1000)
    proc = subprocess.Popen(
        cli_args(world.source, s.warehouse, s.published, s.staging),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(NEWS_ETL_BATCH_SIZE=1),
        cwd=ROOT,
    )
    try:
        wait_for(lambda: staged_batches(s.staging), 60, "the first staged batch")
        os.kill(proc.pid, signal.SIGSTOP)
        staged = len(staged_batches(s.staging))
        time.sleep(1.0)
        assert len(staged_batches(s.staging)) == staged and proc.poll() is None  # hung: no progress
        os.kill(proc.pid, signal.SIGKILL)  # the timeout
        proc.wait(timeout=30)
    finally:
        kill(proc)
    assert_untouched(world)
    pipeline.run_all(s)
    assert scalar(s.warehouse, "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 30 - 1 + 5 + 300
    record("fault", "source read hangs mid-fetch (killed by the timeout)")


def test_every_dag_task_has_a_timeout():
    """What kills a hung task in Airflow: an execution timeout on every task (read from the DAG file's
    default_args, so this test needs no Airflow import)."""
    text = (ROOT / "dags" / "news_etl_daily.py").read_text(encoding="utf-8")
    assert '"execution_timeout": timedelta(' in text and "dagrun_timeout=" in text
    record("fault", "DAG tasks carry an execution timeout")


def test_a_fifo_posing_as_a_post_does_not_hang_the_fetch(world):
    """A FIFO mounted over a post's file name: reading it would block forever; the source skips it."""
    s = world.settings
    fifo, post = world.tmp / "fifo", world.source / "2026-11-20-fifo.md"
    os.mkfifo(fifo)
    post.write_bytes(b"")
    mounted = subprocess.run(["mount", "--bind", str(fifo), str(post)], capture_output=True, text=True)
    require(
        "bind mounts (to put a FIFO where a post was)",
        mounted.returncode == 0,
        f"run the tests as root in a container that allows mount: {mounted.stderr.strip()}",
    )
    try:
        out = run_cli(world.source, s.warehouse, s.published, s.staging, timeout=120)
    finally:
        subprocess.run(["umount", str(post)], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert scalar(s.warehouse, "SELECT count(*) FROM source_files WHERE path = '2026-11-20-fifo.md'") == 0
    record("fault", "FIFO mounted over a post (a read that would block)")


# --- staging files --------------------------------------------------------------------------------


def damage(path: Path, how: str) -> None:
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "corrupt":
        data = bytearray(path.read_bytes())
        for i in range(len(data) - 60, len(data) - 8):  # the footer (the file's metadata)
            data[i] ^= 0x5A
        path.write_bytes(bytes(data))
    elif how == "missing":
        path.unlink()


@pytest.mark.parametrize(
    "file, how, step",
    [
        ("clean", "truncated", "load"),
        ("rejects", "corrupt", "load"),
        ("clean", "missing", "load"),
        ("raw", "corrupt", "transform"),
        ("quality", "truncated", "load"),
    ],
)
def test_damaged_staging_file(world, file, how, step):
    s = world.settings
    run = pipeline.new_run()
    fetched = pipeline.fetch(s, run)
    folder = Path(fetched["staging"])
    if step == "transform":
        target = folder / fetched["batches"][0]
        damage(target, how)
        with pytest.raises(staging.StagingError) as caught:
            pipeline.transform_all(fetched)
    else:
        transformed = pipeline.transform_all(fetched)
        validated = pipeline.validate(fetched["staging"], transformed)
        target = (
            folder
            / {
                "clean": transformed[0]["clean"],
                "rejects": transformed[0]["rejects_file"],
                "quality": validated["quality_file"],
            }[file]
        )
        damage(target, how)
        with pytest.raises(Exception) as caught:
            pipeline.load(file_connect(s.warehouse), s, run, fetched, transformed, validated)
    message = str(caught.value)
    assert str(target) in message and how in message, message
    assert_untouched(world, run["run_id"])
    # the retry of the run (fetch starts its staging folder afresh) completes the work
    pipeline.run_all(s, run)
    assert fingerprint(s.warehouse) == world.after
    record("fault", f"{file} staging file {how} before the {step}")


def test_staging_disk_full(world):
    s = world.settings
    small = world.tmp / "small-staging"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], capture_output=True, text=True
    )
    require(
        "a size-limited tmpfs for the staging folder",
        mounted.returncode == 0,
        f"run the tests as root in a container that allows mount: {mounted.stderr.strip()}",
    )
    try:
        # 2 MB of posts that do not compress: the staging folder fills up during the fetch
        for i in range(40):
            body = "<p>" + os.urandom(36_000).hex() + "</p>"
            write_posts(world.source, 1, start=500 + i, body=body)
        out = run_cli(world.source, s.warehouse, s.published, small)
        assert out.returncode == 1
        assert "No space left on device" in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert_untouched(world)
        # the cause goes away (the folder grows): the retry succeeds
        grown = subprocess.run(["mount", "-o", "remount,size=64m", str(small)], capture_output=True, text=True)
        assert grown.returncode == 0, grown.stderr
        out = run_cli(world.source, s.warehouse, s.published, small)
        assert out.returncode == 0, out.stderr
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)
    assert scalar(s.warehouse, "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 30 - 1 + 5 + 40
    record("fault", "staging folder full (1 MB tmpfs)")


# --- a busy writer's file -----------------------------------------------------------------------

HOLDER = textwrap.dedent(r"""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
    print(con.execute("SELECT count(*) FROM articles").fetchone()[0], flush=True)
    sys.stdin.read()  # hold the file until the test closes our stdin
    print(con.execute("SELECT count(*) FROM articles").fetchone()[0], flush=True)
""")


def hold(path: Path, mode: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline()
    assert first.strip().isdigit(), proc.stderr.read()
    return proc, int(first)


def release(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate("", timeout=30)
    return out.strip()


def test_held_writer_file_fails_clearly_after_the_wait(world):
    s = world.settings
    holder, _ = hold(s.warehouse, "rw")
    try:
        out = run_cli(world.source, s.warehouse, s.published, s.staging, "-v", NEWS_ETL_LOCK_TIMEOUT=2)
    finally:
        release(holder)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: WarehouseBusy: the warehouse file is held by another process for more than 2s"), last
    assert out.stderr.count("warehouse is locked by another process; retrying") >= 2  # it waited with backoff
    assert_untouched(world)
    assert fingerprint(s.published) == world.before
    assert_next_run_completes(world)  # the file is free again
    record("fault", "writer's file held past the lock timeout")


def test_held_writer_file_released_within_the_wait(world):
    s = world.settings
    holder, _ = hold(s.warehouse, "rw")
    proc = subprocess.Popen(
        cli_args(world.source, s.warehouse, s.published, s.staging, "-v"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(NEWS_ETL_LOCK_TIMEOUT=60),
        cwd=ROOT,
    )
    try:
        for line in proc.stderr:
            if "warehouse is locked by another process; retrying" in line:
                break
        release(holder)  # released while the load waits
        out, err = proc.communicate(timeout=120)
    finally:
        kill(proc)
        kill(holder)
    assert proc.returncode == 0, err
    assert fingerprint(s.warehouse) == world.after
    record("fault", "writer's file held, then released within the wait")


@pytest.mark.parametrize("mode", ["ro", "rw"], ids=["read-only", "careless-read-write"])
def test_snapshot_readers_never_block_a_load(world, mode):
    """Analysts hold the published snapshot open (two read-only sessions, or one careless read-write
    session): the run neither waits for them nor changes what their open session sees."""
    s = world.settings
    readers = [hold(s.published, mode) for _ in range(2 if mode == "ro" else 1)]
    try:
        out = run_cli(world.source, s.warehouse, s.published, s.staging, NEWS_ETL_LOCK_TIMEOUT=1)
        assert out.returncode == 0, out.stderr
    finally:
        seen = [release(p) for p, _ in readers]
    assert all(v == str(n) for v, (_, n) in zip(seen, readers, strict=False)), (
        "an open snapshot session changed under its reader"
    )
    # the run never reads the snapshot (its watermark is the writer's file): the same end either way
    assert fingerprint(s.warehouse) == fingerprint(s.published) == world.after
    record("fault", f"analysts hold the published snapshot ({mode}) during a run")


# --- two runs at once -----------------------------------------------------------------------------


def test_two_runs_at_once_equal_two_runs_in_turn(world):
    """Two `python -m news_etl run` on one warehouse at the same time (the library-level picture of a
    backfill and the daily run; in Airflow the one-slot pool and max_active_runs keep loads apart):
    both succeed, and the warehouse equals running them in turn."""
    s = world.settings
    procs = [
        subprocess.Popen(
            cli_args(world.source, s.warehouse, s.published, s.staging.with_name(f"staging{i}")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(NEWS_ETL_LOCK_TIMEOUT=120),
            cwd=ROOT,
        )
        for i in range(2)
    ]
    try:
        results = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            kill(p)
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in results]
    assert fingerprint(s.warehouse) == world.after
    assert len(rows(s.warehouse, "SELECT run_id FROM etl_runs WHERE status = 'published'")) == 3
    record("fault", "two runs at once on one warehouse")
