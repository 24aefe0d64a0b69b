"""The same pipeline without Airflow: python -m news_etl run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE
from warehouse_checks import fingerprint, rows, scalar


def cli(*args, cwd=ROOT, env=None):
    env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_run_prints_a_summary_and_loads(tmp_path):
    wh = tmp_path / "w.duckdb"
    out = cli(
        "run",
        "--source",
        str(SAMPLE),
        "--warehouse",
        str(wh),
        "--published",
        str(tmp_path / "p.duckdb"),
        "--staging",
        str(tmp_path / "staging"),
    )
    assert out.returncode == 0, out.stderr
    assert "43 new" in out.stdout and "5 rejects" in out.stdout
    assert scalar(wh, "SELECT count(*) FROM articles") == 43


def test_cli_and_dag_share_the_steps_and_a_rerun_changes_nothing(tmp_path):
    args = [
        "run",
        "--source",
        str(SAMPLE),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--published",
        str(tmp_path / "p.duckdb"),
        "--staging",
        str(tmp_path / "s"),
        "--workers",
        "2",
    ]
    assert cli(*args).returncode == 0
    before = fingerprint(tmp_path / "w.duckdb")
    assert cli(*args).returncode == 0
    assert fingerprint(tmp_path / "w.duckdb") == before
    assert {"articles", "article_keywords", "keyword_daily", "rejects", "source_files"} <= set(before)


def test_a_no_change_run_stages_nothing_and_imports_no_dataframe_library(tmp_path):
    """A run that finds nothing new is a listing, a watermark check and a publish: it writes no
    quality file and never imports pandas or Great Expectations (0.2-0.4 s of a 2 s budget), nor
    pyarrow (numpy with it) or fsspec, which only staging needs (0.2 s of a 1.5 s budget)."""
    args = ["--source", str(SAMPLE), "--warehouse", str(tmp_path / "w.duckdb")]
    args += ["--published", str(tmp_path / "p.duckdb"), "--staging", str(tmp_path / "s")]
    assert cli("run", *args).returncode == 0
    env = {**os.environ, "NEWS_ETL_KEEP_STAGING": "1"}
    again = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "news_etl", "-v", "run", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 new or changed" in again.stdout and "validate: nothing staged" in again.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in again.stderr.splitlines() if line.startswith("import time:")}
    assert "news_etl.warehouse" in imported  # (the check can see what a run imports)
    heavy = {"pandas", "great_expectations", "pyarrow", "numpy", "fsspec", "upath"}
    assert not imported & heavy, sorted(imported & heavy)
    last = max((tmp_path / "s").iterdir(), key=lambda f: f.stat().st_mtime)
    assert not (last / "quality.parquet").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--source", "/nonexistent/posts"], "does not exist"),
        (["run", "--source", str(SAMPLE), "--as-of", "2026-11-26"], "--as-of needs a git source"),
        (["run", "--source", str(SAMPLE), "--as-of", "last tuesday"], "not a time: 'last tuesday'"),
    ],
)
def test_failures_are_one_line_and_non_zero(tmp_path, args, message):
    out = cli(
        *args,
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--published",
        str(tmp_path / "p.duckdb"),
        "--staging",
        str(tmp_path / "s"),
    )
    assert out.returncode != 0
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.duckdb").exists()


def test_run_as_of_replays_the_site_at_a_time(tmp_path):
    """`run --as-of TIME` loads the last commit before TIME, as the DAG loads a day at its interval
    end; a time without an offset is site time (Asia/Shanghai)."""
    from site_repo import SiteRepo, post_text

    repo = SiteRepo(tmp_path / "remote", when="2026-11-25T10:00:00+08:00")
    day1 = repo.head()
    repo.write("_posts/2026-11-26-202611262419000001.md", post_text("202611262419000001", "次日", day="2026-11-26"))
    repo.commit("next day", when="2026-11-26T10:00:00+08:00")
    args = ["--warehouse", str(tmp_path / "w.duckdb"), "--published", str(tmp_path / "p.duckdb")]
    args += ["--staging", str(tmp_path / "s"), "--source", f"git+{repo.url}", "--workers", "1"]
    env_cache = {"NEWS_ETL_CACHE": str(tmp_path / "cache")}

    out = cli("run", *args, "--as-of", "2026-11-26 00:30", env=env_cache)  # site time: 2026-11-25T16:30Z
    assert out.returncode == 0, out.stderr
    assert "as of 2026-11-26T00:30:00+08:00" in out.stdout and day1[:12] in out.stdout
    assert rows(tmp_path / "w.duckdb", "SELECT source_revision, interval_end FROM etl_runs") == [
        (day1, datetime(2026, 11, 25, 16, 30, tzinfo=UTC))
    ]
    assert scalar(tmp_path / "w.duckdb", "SELECT count(*) FROM articles WHERE published_date = '2026-11-26'") == 0

    out = cli("run", *args, env=env_cache)  # no --as-of: the head
    assert out.returncode == 0, out.stderr
    assert scalar(tmp_path / "w.duckdb", "SELECT count(*) FROM articles WHERE published_date = '2026-11-26'") == 1
