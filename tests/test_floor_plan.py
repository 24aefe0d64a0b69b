"""The floor plan holds: no import cycle, no upstream import, every module mapped (devtools/floor_plan.py)."""

from __future__ import annotations

from devtools import floor_plan


def test_the_package_follows_its_floor_plan():
    assert floor_plan.problems() == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "load.py"
    module.write_text("def f():\n    from news_etl.pipeline import new_run\n    from ..meaning import steps\n")
    known = {"news_etl.pipeline": module, "news_etl.meaning.steps": module, "news_etl.warehouse.load": module}
    assert floor_plan.imports("news_etl.warehouse.load", module, known) == {
        "news_etl.pipeline",
        "news_etl.meaning.steps",
    }


def test_the_check_fails_on_a_cycle_and_an_upstream_import():
    edges = {"news_etl.warehouse.load": {"news_etl.pipeline"}, "news_etl.pipeline": {"news_etl.warehouse.load"}}
    assert floor_plan.cycles(edges) == [["news_etl.pipeline", "news_etl.warehouse.load"]]
    assert floor_plan.upstream(edges) == ["news_etl.warehouse.load → news_etl.pipeline"]
    assert floor_plan.upstream({"news_etl.ingest.sources.git": {"news_etl.ingest.parse"}}) == [
        "news_etl.ingest.sources.git → news_etl.ingest.parse"
    ]
    assert floor_plan.upstream({"news_etl.settings": {"news_etl.ingest.sources"}}) == [
        "news_etl.settings → news_etl.ingest.sources"
    ]


def test_imports_deferred_without_a_reason_are_found(tmp_path, monkeypatch):
    package = tmp_path / "news_etl"
    (package / "warehouse").mkdir(parents=True)
    (package / "warehouse" / "x.py").write_text("def f():\n    import json\n    import duckdb\n")
    (package / "deployment.py").write_text("def g():\n    import json\n")
    monkeypatch.setattr(floor_plan, "PACKAGE", package)
    assert floor_plan.deferred_imports() == ["news_etl.warehouse.x.f imports json"]
