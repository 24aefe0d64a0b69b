"""The command-line reference, docs/cli.md, written from the CLI's own ``--help``.

    .venv/bin/python -m devtools.cli_docs          # rewrite docs/cli.md
    .venv/bin/python -m devtools.cli_docs --check  # exit 1 if docs/cli.md is out of date

tests/test_docs.py runs the check, so a command or option added without its reference fails the
tests (the way sqlite-utils keeps its CLI reference true).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "cli.md"
HEADER = """# Command-line reference

`news-etl` is the pipeline without Airflow, and the analysts' and operators' tools. It is
installed into `.venv` by `make run` / `make test` (`.venv/bin/news-etl`), or with
`pip install .` anywhere. This page is written from `news-etl … --help` by
`python -m devtools.cli_docs`; a test fails when it is out of date.
"""


def _help(*args: str) -> str:
    cli = Path(sys.executable).with_name("news-etl")
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    done = subprocess.run([str(cli), *args, "--help"], capture_output=True, text=True, env=env, check=True)
    return done.stdout.rstrip()


def commands() -> list[str]:
    """The sub-commands, in the order ``news-etl --help`` lists them."""
    usage = _help()
    match = re.search(r"\{([a-z0-9,-]+)\}", usage)
    return match[1].split(",") if match else []


def render() -> str:
    parts = [HEADER, "```text\n$ news-etl --help\n" + _help() + "\n```\n"]
    for name in commands():
        parts.append(f"## news-etl {name}\n\n```text\n$ news-etl {name} --help\n{_help(name)}\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        if not REFERENCE.exists() or REFERENCE.read_text(encoding="utf-8") != text:
            print(f"{REFERENCE} is out of date: run python -m devtools.cli_docs", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
