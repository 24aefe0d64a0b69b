"""The docs stay true: every CLI command and option is in docs/cli.md (written from --help), every
Makefile target is documented, and every link between the guides points at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

from devtools import cli_docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in DOCS)


def test_the_cli_reference_is_written_from_the_cli_itself():
    assert cli_docs.commands(), "news-etl --help lists no commands"
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_docs.render(), (
        "docs/cli.md is out of date: run .venv/bin/python -m devtools.cli_docs"
    )


def test_every_cli_command_is_explained_in_a_guide():
    guides = "\n".join(p.read_text(encoding="utf-8") for p in DOCS if p.name != "cli.md")
    missing = [c for c in cli_docs.commands() if f"news-etl {c}" not in guides]
    assert not missing, f"commands with no guide that shows them: {missing}"


def test_every_makefile_target_is_documented():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M)
    assert phony
    targets = phony[1].split()
    text = _all_docs()
    missing = [t for t in targets if not re.search(rf"make {re.escape(t)}\b", text)]
    assert not missing, f"Makefile targets no doc mentions as `make <target>`: {missing}"
    # and every target that has a recipe is in .PHONY (so this test sees it)
    defined = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    assert defined <= set(targets), f"targets missing from .PHONY: {sorted(defined - set(targets))}"


def test_links_between_the_docs_resolve():
    broken = []
    for page in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken, broken


def test_the_benchmark_guide_shows_the_last_benchs_figures():
    """docs/benchmark.md carries the tables make bench printed for the figures in docs/bench.json."""
    import contextlib
    import io
    import json

    from devtools import bench

    figures = json.loads((ROOT / "docs" / "bench.json").read_text(encoding="utf-8"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        bench.print_table(figures)
        print()
        bench.print_breakdown(figures)
    guide = (ROOT / "docs" / "benchmark.md").read_text(encoding="utf-8")
    assert printed.getvalue().strip() in guide, "paste make bench's tables (docs/bench.json) into docs/benchmark.md"


#: A guide page an operator or analyst reads whole: past this, split it by its structure.
MAX_PAGE_BYTES = 15 * 1024


def test_no_guide_page_is_over_15_kb():
    pages = sorted((ROOT / "docs").rglob("*.md"))
    big = {p.name: p.stat().st_size for p in pages if p.stat().st_size > MAX_PAGE_BYTES}
    assert not big, f"guide pages over 15 KB (split them by their sections): {big}"


def test_the_operators_guide_opens_with_a_quick_start_and_a_troubleshooting_table():
    text = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:2] == ["Quick start", "Troubleshooting"], headings
    table = text[text.index("## Troubleshooting") : text.index("## The rest of the guide")]
    for symptom in ("green but nothing loaded", "staging file missing", "stale source"):
        assert f"**{symptom}**" in table, symptom
    # every page of the guide is listed, and every listed page exists
    listed = set(re.findall(r"\]\(operators/([\w-]+\.md)\)", text))
    assert listed == {p.name for p in (ROOT / "docs" / "operators").glob("*.md")}


def test_every_test_file_is_in_the_contributors_table():
    page = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    missing = [f.name for f in sorted((ROOT / "tests").glob("test_*.py")) if f"`{f.name}`" not in page]
    assert not missing, f"test files missing from docs/contributing.md's table: {missing}"
