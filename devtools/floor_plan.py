"""The floor plan of ``news_etl``, checked: packages follow the data flow and no import goes upstream.

``python -m devtools.floor_plan`` (run by ``make lint``) reads every module of the package with
``ast`` and counts every import, at the top of a module or inside a function alike. It fails when

- the imports form a cycle;
- a module imports a package it may not (:data:`MAY_IMPORT`): the warehouse knows neither the
  pipeline, ingest nor meaning (the pipeline passes the meaning steps to the load), sources
  never import parsing, settings import nothing of the package;
- a module is missing from ``docs/design.md``'s map of the code;
- a function imports what could be imported at the top of its module: only the modules of
  :data:`LAZY` (each with its reason) defer their imports, and elsewhere only the heavy libraries
  of :data:`HEAVY` may wait for the function that needs them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "plugins" / "news_etl"
DESIGN = ROOT / "docs" / "design.md"

#: The foundations every step may use.
BASE = ("news_etl.settings", "news_etl.text", "news_etl.model", "news_etl.contract", "news_etl.storage")

#: Who may import whom, by module prefix: the first rule whose prefix matches a module applies.
MAY_IMPORT: list[tuple[str, tuple[str, ...]]] = [
    ("news_etl.settings", ()),
    ("news_etl.text", ()),
    ("news_etl.model", ("news_etl.settings",)),
    ("news_etl.contract", ("news_etl.settings",)),
    ("news_etl.storage", ("news_etl.settings",)),
    ("news_etl.meaning", (*BASE, "news_etl.meaning")),
    ("news_etl.ingest.sources", (*BASE, "news_etl.ingest.sources")),
    ("news_etl.ingest", (*BASE, "news_etl.meaning", "news_etl.ingest")),
    ("news_etl.warehouse", (*BASE, "news_etl.warehouse")),
    ("news_etl.analysts", (*BASE, "news_etl.analysts")),
    ("news_etl.pipeline", (*BASE, "news_etl.meaning", "news_etl.ingest", "news_etl.warehouse", "news_etl.analysts")),
    ("news_etl.deployment", ("news_etl",)),
    ("news_etl.__main__", ("news_etl",)),
]


#: The modules whose imports wait in functions, and why.
LAZY = {
    "news_etl.deployment": "the DAG file imports it at parse time: Airflow's and the pipeline's imports wait for the task",
    "news_etl.__main__": "each command imports what it uses, so `news-etl --help` and the light commands start at once",
    "news_etl.pipeline": "each step imports only its own packages: a no-change run loads neither pandas nor GX",
    "news_etl.ingest.sources": "opening a source imports only that source's module (the feed's HTTP client, git's)",
    "news_etl.meaning.steps": "stories (and numpy) wait for a load that derives meaning: a quiet day's run skips it",
}

#: Libraries heavy enough to import only in the function that needs them, in any module.
HEAVY = (
    "airflow",
    "ahocorasick_rs",
    "datasketch",
    "duckdb",
    "fsspec",
    "great_expectations",
    "httpx",
    "jinja2",
    "numpy",
    "pandas",
    "pyarrow",
    "rjieba",
    "s3fs",
    "sqlalchemy",
    "upath",
)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by the name of its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["news_etl", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the package that ``name`` imports, anywhere in it (functions included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [f"{base}.{a.name}" for a in node.names]  # a submodule, or a name in base
        for target in targets:
            if target.startswith("news_etl"):
                resolved = _resolve(target, known)
                if resolved and resolved != name and resolved != "news_etl":
                    found.add(resolved)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _allowed(module: str) -> tuple[str, ...] | None:
    for prefix, allowed in MAY_IMPORT:
        if module == prefix or module.startswith(prefix + "."):
            return allowed
    return None


def upstream(edges: dict[str, set[str]]) -> list[str]:
    """Each import a module may not make, as ``a → b``."""
    wrong = []
    for module, targets in sorted(edges.items()):
        if module == "news_etl":
            continue
        allowed = _allowed(module)
        if allowed is None:
            wrong.append(f"{module}: in no package of the floor plan (devtools/floor_plan.py MAY_IMPORT)")
            continue
        for target in sorted(targets):
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                wrong.append(f"{module} → {target}")
    return wrong


def unmapped() -> list[str]:
    """The modules ``docs/design.md`` does not name (by their path inside the package)."""
    text = DESIGN.read_text(encoding="utf-8")
    missing = []
    for path in modules().values():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.endswith("__init__.py") and path.stat().st_size == 0:
            continue
        if f"`{rel}`" not in text:
            missing.append(rel)
    return missing


def deferred_imports() -> list[str]:
    """Imports inside functions that neither :data:`LAZY` nor :data:`HEAVY` explains."""
    found = []
    for name, path in modules().items():
        if name in LAZY:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    targets = [node.module or ""]
                else:
                    continue
                for target in targets:
                    if target.split(".")[0] not in HEAVY:
                        found.append(f"{name}.{fn.name} imports {target}")
    return sorted(set(found))


def problems() -> list[str]:
    edges = graph()
    found = [f"import cycle: {' ↔ '.join(c)}" for c in cycles(edges)]
    found += [f"upstream import: {w}" for w in upstream(edges)]
    found += [f"not in docs/design.md's map: `{m}`" for m in unmapped()]
    found += [f"import inside a function (move it to the top, or say why in LAZY): {d}" for d in deferred_imports()]
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if not found:
        print(f"floor plan: {len(graph())} modules, no cycle, no upstream import, all in docs/design.md")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
