"""``make selftest`` (``python -m devtools.selftest``): run the fault and hostile-input suites, print what was tried.

The suites are ordinary pytest tests marked ``reliability`` (``tests/test_faults.py``,
``tests/test_hostile_input.py``, ``tests/test_linear_cost.py``, and the layouts, files and snapshots
operators meet: ``tests/test_publish_safety.py``, ``tests/test_restore_and_readers.py`` …): real processes killed with real
signals, real files, a real DuckDB warehouse, adversarial bodies timed at 1x and 4x their size.
Each test that survives a fault, and each set of inputs tried, appends a line to a JSON-lines file
named by ``NEWS_ETL_RELIABILITY_REPORT``; this module runs pytest with that set, reads the lines
and pytest's JUnit XML, and prints one table. Exit 0 only if every test passed and
no row was lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from news_etl.settings import PROJECT_ROOT

#: The suites of faults (real processes, signals, files) and of inputs (hostile files and names).
FAULT_SUITES = (
    "tests/test_faults.py",
    "tests/test_writer_truth.py",
    "tests/test_concurrent_runs.py",
    "tests/test_killed_runs.py",
    "tests/test_publish_safety.py",
    "tests/test_restore_and_readers.py",
    "tests/test_source_dir_entries.py",
    "tests/test_source_git_dumb_http.py",
    "tests/test_retire_source_s3.py",
    "tests/test_staging_cleanup.py",
    "tests/test_front_matter.py",
    "tests/test_source_names.py",
    "tests/test_notifier_allow_list.py",
)
INPUT_SUITES = (
    "tests/test_hostile_input.py",
    "tests/test_one_input_one_reject.py",
    "tests/test_plain_text.py",
    "tests/test_linear_cost.py",
)
SUITES = FAULT_SUITES + INPUT_SUITES
REPORT_ENV = "NEWS_ETL_RELIABILITY_REPORT"


def _outcomes(junit: Path) -> dict[str, dict[str, int]]:
    """Per suite file: tests run, passed, failed, skipped."""
    out: dict[str, dict[str, int]] = {}
    if not junit.exists():
        return out
    for case in ET.parse(junit).getroot().iter("testcase"):
        suite = case.get("classname", "").split(".")[-1]
        tally = out.setdefault(suite, {"run": 0, "passed": 0, "failed": 0, "skipped": 0})
        tally["run"] += 1
        kinds = {child.tag for child in case}
        if "skipped" in kinds:
            tally["skipped"] += 1
        elif kinds & {"failure", "error"}:
            tally["failed"] += 1
        else:
            tally["passed"] += 1
    return out


def table(records: list[dict], outcomes: dict[str, dict[str, int]]) -> str:
    def tally(suites: tuple[str, ...]) -> dict[str, int]:
        names = {Path(s).stem for s in suites}
        return {
            k: sum(o[k] for suite, o in outcomes.items() if suite in names)
            for k in ("run", "passed", "failed", "skipped")
        }

    faults, inputs = tally(FAULT_SUITES), tally(INPUT_SUITES)
    sets = [r for r in records if r["kind"] == "input"]
    total = {k: sum(r.get(k, 0) for r in sets) for k in ("inputs", "articles", "rejects", "lost")}
    rss = max((r["peak_rss_mb"] for r in sets if "peak_rss_mb" in r), default=None)
    lines = [
        "| reliability | result |",
        "|---|---|",
        f"| faults tried | {faults['run'] - faults['skipped']} |",
        f"| faults survived | {faults['passed']} |",
    ]
    if faults["skipped"]:
        lines.append(f"| faults skipped (a part missing here) | {faults['skipped']} |")
    lines += [
        f"| hostile and broken inputs tried | {total['inputs']} |",
        f"| → clean articles | {total['articles']} |",
        f"| → rejects (reason + raw bytes) | {total['rejects']} |",
        f"| rows lost | {total['lost']} |",
        f"| input and security checks passed | {inputs['passed']} of {inputs['run'] - inputs['skipped']} |",
    ]
    if "test_linear_cost" in outcomes:
        linear = outcomes["test_linear_cost"]
        lines.append(
            f"| adversarial bodies whose cost stays linear (4x input ≤ 5x time) | {linear['passed']} of {linear['run']} |"
        )
    if rss is not None:
        lines.append(f"| peak RSS of a run (a 200 MB file; a post at the accepted limit) | {rss} MB |")
    lines += ["", "| fault survived |", "|---|"]
    lines += [f"| {r['name']} |" for r in records if r["kind"] == "fault"]
    lines += ["", "| input set | inputs | articles | rejects | lost |", "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['inputs']} | {r['articles']} | {r['rejects']} | {r['lost']} |" for r in sets]
    return "\n".join(lines)


def run_reliability(root: Path = PROJECT_ROOT, extra: list[str] | None = None, timeout: float = 1800) -> int:
    missing = [s for s in SUITES if not (root / s).exists()]
    if missing:
        print(
            f"error: the reliability suites are not here ({', '.join(missing)}): run from a checkout of the project",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="news-etl-selftest-") as tmp:
        report, junit = Path(tmp) / "report.jsonl", Path(tmp) / "junit.xml"
        env = dict(os.environ, **{REPORT_ENV: str(report)})
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "reliability",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={junit}",
                *SUITES,
                *(extra or []),
            ],
            cwd=root,
            env=env,
            timeout=timeout,
        )
        records = (
            [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()] if report.exists() else []
        )
        outcomes = _outcomes(junit)
    print()
    print(table(records, outcomes))
    lost = sum(r.get("lost", 0) for r in records if r["kind"] == "input")
    failed = sum(o["failed"] for o in outcomes.values())
    return 0 if proc.returncode == 0 and not failed and not lost else 1


if __name__ == "__main__":
    sys.exit(run_reliability())
