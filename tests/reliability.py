"""Helpers shared by the reliability suites (tests/test_faults.py, tests/test_hostile_input.py).

``record`` appends one JSON line per fault survived or input set tried to the file named by
``NEWS_ETL_RELIABILITY_REPORT``; ``make selftest`` (``python -m devtools.selftest``) sets it and
prints the table. Outside the selftest it does nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devtools.selftest import REPORT_ENV

ROOT = Path(__file__).resolve().parents[1]


def record(kind: str, name: str, **counts) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, "name": name, **counts}) + "\n")


def cli_env(**extra) -> dict:
    env = dict(os.environ, GX_ANALYTICS_ENABLED="False")
    env.pop(REPORT_ENV, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli_args(source, warehouse, published, staging, *more) -> list[str]:
    return [
        str(Path(sys.executable).with_name("news-etl")),
        *more,
        "run",
        "--source",
        str(source),
        "--warehouse",
        str(warehouse),
        "--published",
        str(published),
        "--staging",
        str(staging),
        "--workers",
        "1",
    ]


def run_cli(source, warehouse, published, staging, *more, timeout=180, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_args(source, warehouse, published, staging, *more),
        capture_output=True,
        text=True,
        env=cli_env(**env),
        cwd=ROOT,
        timeout=timeout,
    )


def write_posts(folder: Path, n: int, start: int = 0, day: str = "2026-11-20", body: str | None = None) -> list[Path]:
    """``n`` plain valid posts, ``<day>-post<i>.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        p = folder / f"{day}-post{i}.md"
        text = body if body is not None else f"第{i}篇正文，上涨百分之{i % 10}。<p>另一段落{i}。</p>"
        p.write_text(
            f'---\nlayout: post\ntitle: "第{i}篇"\ndate: {day} 10:{i % 60:02d}:00\n'
            f"categories: [emnews]\ntags: [东方财富]\n---\n{text}\n",
            encoding="utf-8",
        )
        out.append(p)
    return out


NEWS_ETL = str(Path(sys.executable).with_name("news-etl"))


def cli(*args: str, **env) -> subprocess.CompletedProcess:
    """``news-etl ARGS`` in its own process, in the checkout, with the tests' environment."""
    return subprocess.run([NEWS_ETL, *args], capture_output=True, text=True, env=cli_env(**env), cwd=ROOT, timeout=300)


def loaded(tmp_path, source=None, **env) -> dict:
    """The paths of a warehouse and snapshot made by one ``news-etl run`` of ``source`` (the
    embedded sample posts by default) inside ``tmp_path``."""
    paths = {
        "source": source or ROOT / "data" / "sample_posts",
        "warehouse": tmp_path / "w" / "warehouse.duckdb",
        "published": tmp_path / "p" / "warehouse.duckdb",
        "staging": tmp_path / "staging",
    }
    done = run_cli(paths["source"], paths["warehouse"], paths["published"], paths["staging"], **env)
    assert done.returncode == 0, done.stderr
    return paths
