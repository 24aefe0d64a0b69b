"""The same pipeline without Airflow: python -m news_etl run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE
from warehouse_checks import fingerprint, scalar


def cli(*args, cwd=ROOT):
    env = dict(os.environ)
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


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--source", "/nonexistent/posts"], "does not exist"),
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
