"""The package installs on its own: a wheel carries ``sql/`` and the ``news-etl`` console script.

The wheel is built with pip from this checkout, unpacked into an empty folder (the way pip lays
out site-packages), and run from another empty folder with only that folder on ``sys.path``: the
migrations and reports it finds must be the ones inside the wheel, not the checkout's.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy of what the package is made of, so the checkout gets no build/ folder
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("plugins/news_etl", "sql"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("news_etl-*.whl")
    return built


def test_wheel_carries_sql_and_the_console_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sql_files = sorted(p.name for p in (ROOT / "sql").rglob("*.sql"))
    packaged = sorted(Path(n).name for n in names if n.startswith("news_etl/sql/") and n.endswith(".sql"))
    assert packaged == sql_files
    assert "news_etl/meaning/stopwords_zh.txt" in names
    assert "news_etl/sql/seeds/publishers.csv" in names  # the publishers' mapping the load reads
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(zipfile.ZipFile(wheel).read(entry_points).decode())
    assert parser["console_scripts"]["news-etl"] == "news_etl.__main__:main"


def test_installed_package_runs_without_the_checkout(wheel, tmp_path, sample_dir):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    probe = (
        "import news_etl.settings as c, news_etl.warehouse.migrations as w, news_etl.analysts.reports as r;"
        "print(c.SQL_DIR); print(len(w.migrations())); print(len(r.report_names()))"
    )
    # -I: isolated mode, so neither the checkout nor the editable install is on the path; the
    # dependencies come from the virtualenv's site-packages, added after the unpacked wheel
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    code = f"import sys; sys.path[:0] = [{str(site)!r}, {deps!r}]; " + probe
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    sql_dir, migrations, reports = done.stdout.split()
    assert Path(sql_dir) == site / "news_etl" / "sql"
    assert int(migrations) == len(list((ROOT / "sql" / "migrations").glob("*.sql")))
    assert int(reports) == len(list((ROOT / "sql" / "reports").glob("*.sql")))

    run = (
        f"import sys; sys.path[:0] = [{str(site)!r}, {deps!r}]; from news_etl.__main__ import main; "
        f"sys.exit(main(['run', '--source', {str(sample_dir)!r}, '--workers', '1']))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", run], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    # an installed package keeps its data under the working folder
    assert (work / "data" / "warehouse.duckdb").is_file()
    assert (work / "data" / "published" / "warehouse.duckdb").is_file()
