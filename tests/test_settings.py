"""Every setting is checked once, at start, naming its variable and what it takes (news_etl/settings.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from news_etl.settings import SettingError, Settings, reference, variables

ROOT = Path(__file__).resolve().parents[1]
NUMBERS = [v for v in variables() if v.kind in ("int", "number")]


@pytest.mark.parametrize("var", NUMBERS, ids=[v.env for v in NUMBERS])
def test_a_number_that_is_no_number_names_its_variable(var, monkeypatch):
    monkeypatch.setenv(var.env, "abc")
    with pytest.raises(SettingError) as caught:
        Settings()
    assert str(caught.value) == f"{var.env} must be {var.allowed()}, not 'abc'"


@pytest.mark.parametrize("var", NUMBERS, ids=[v.env for v in NUMBERS])
def test_a_number_out_of_its_range_is_refused(var, monkeypatch):
    assert var.low is not None, f"{var.env} has no lower bound"
    monkeypatch.setenv(var.env, str(var.low - 1))
    with pytest.raises(SettingError, match=f"^{var.env} must be "):
        Settings()
    if var.high is not None:
        monkeypatch.setenv(var.env, str(var.high + 1))
        with pytest.raises(SettingError, match=f"^{var.env} must be "):
            Settings()


def test_negative_workers_batches_and_lock_timeouts_are_refused_from_flags_too():
    for change in ({"workers": -1}, {"batch_size": 0}, {"batch_mb": -5}, {"lock_timeout": -1.0}):
        with pytest.raises(SettingError):
            Settings().with_(**change)


def test_memory_sizes_and_flags_are_checked(monkeypatch):
    monkeypatch.setenv("NEWS_ETL_DUCKDB_MEMORY", "lots")
    with pytest.raises(SettingError, match="NEWS_ETL_DUCKDB_MEMORY must be a size such as 512MB"):
        Settings()
    monkeypatch.setenv("NEWS_ETL_DUCKDB_MEMORY", "2GB")
    monkeypatch.setenv("NEWS_ETL_KEEP_STAGING", "yes")
    with pytest.raises(SettingError, match="NEWS_ETL_KEEP_STAGING must be 1"):
        Settings()


def test_defaults_pass_and_zero_workers_is_one_per_core(monkeypatch):
    monkeypatch.setenv("NEWS_ETL_WORKERS", "0")
    assert Settings().workers == (os.cpu_count() or 1)
    monkeypatch.setenv("NEWS_ETL_PUBLISH_URL", " s3://bucket/prefix/ ")
    assert Settings().publish_url == "s3://bucket/prefix"


def test_the_cli_stops_at_start_with_the_variable_named():
    env = {**os.environ, "NEWS_ETL_WORKERS": "abc"}
    done = subprocess.run([sys.executable, "-m", "news_etl", "run"], capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: NEWS_ETL_WORKERS must be an integer from 0 to 256, not 'abc'"


def test_secrets_are_never_shown(monkeypatch):
    monkeypatch.setenv("NEWS_ETL_GIT_TOKEN", "s3cr3t-token")
    password = "hunter" + "2"  # (written apart: the repo's secret scan looks for passwords in URLs)
    monkeypatch.setenv("NEWS_ETL_SOURCE", "git+https://user:" + password + "@example.org/site.git")
    assert "s3cr3t" not in repr(Settings()) and "hunter2" not in repr(Settings())
    out = subprocess.run(
        [sys.executable, "-m", "news_etl", "settings"], capture_output=True, text=True, env=dict(os.environ)
    ).stdout
    assert "NEWS_ETL_GIT_TOKEN=(set, not shown)" in out and "s3cr3t" not in out and "hunter2" not in out


def test_the_configuration_reference_is_generated_from_the_settings():
    page = (ROOT / "docs" / "operators" / "configuration.md").read_text(encoding="utf-8")
    table = page.split("<!-- generated: news-etl settings --reference -->\n", 1)[1].split("<!-- end generated -->")[0]
    assert table == reference(), "docs/operators/configuration.md is out of date: news-etl settings --reference"
    for var in variables():
        assert f"`{var.env}`" in table
