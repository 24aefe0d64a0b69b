"""A load that fails part-way leaves the warehouse exactly as it was."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
from conftest import SAMPLE, settings_in
from warehouse_checks import fingerprint

from news_etl import pipeline
from news_etl.warehouse.connection import file_connect


def settings_for(tmp_path, source):
    return settings_in(tmp_path, source, source_backoff=2.0)


def test_failure_mid_transaction_rolls_everything_back(tmp_path):
    source = tmp_path / "posts"
    shutil.copytree(SAMPLE, source)
    settings = settings_for(tmp_path, source)
    pipeline.run_all(settings)
    before = fingerprint(settings.warehouse)

    # one more post, then a staged batch that breaks a NOT NULL constraint in the middle of the load
    (source / "2026-11-26-1.md").write_text(
        '---\ntitle: "新"\ndate: 2026-11-26 10:00:00\n---\n新的一篇。', encoding="utf-8"
    )
    run = pipeline.new_run()
    fetched = pipeline.fetch(settings, run)
    transformed = pipeline.transform_all(fetched)
    validated = pipeline.validate(fetched["staging"], transformed)
    clean = tmp_path / "staging" / run["run_id"] / transformed[0]["clean"]
    table = pq.read_table(clean)
    table = table.set_column(
        table.schema.get_field_index("title"),
        "title",
        __import__("pyarrow").array([None] * table.num_rows, type=__import__("pyarrow").string()),
    )
    pq.write_table(table, clean)
    with pytest.raises(Exception, match="NOT NULL"):
        pipeline.load(file_connect(settings.warehouse), settings, run, fetched, transformed, validated)
    assert fingerprint(settings.warehouse) == before

    # the next run completes the work
    pipeline.run_all(settings)
    after = fingerprint(settings.warehouse)
    assert after["articles"][0] == before["articles"][0] + 1


def test_a_hard_expectation_failure_stops_before_the_load(tmp_path):
    from datetime import date

    import pyarrow as pa

    source = tmp_path / "posts"
    source.mkdir()
    (source / "2026-01-01-1.md").write_text(
        '---\ntitle: "旧闻"\ndate: 2026-01-01 10:00:00\n---\n旧闻一篇。', encoding="utf-8"
    )
    settings = settings_for(tmp_path, source)
    # the transform rejects a post dated out of range itself (one bad post must not stop a run), so a
    # batch that breaks the suite's date range is what a bug would stage: write one in its place
    run = pipeline.new_run()
    fetched = pipeline.fetch(settings, run)
    transformed = pipeline.transform_all(fetched)
    clean = tmp_path / "staging" / run["run_id"] / transformed[0]["clean"]
    table = pq.read_table(clean)
    table = table.set_column(
        table.schema.get_field_index("published_date"),
        "published_date",
        pa.array([date(1990, 1, 1)] * table.num_rows, type=pa.date32()),
    )
    pq.write_table(table, clean)
    with pytest.raises(pipeline.QualityError, match="expect_column_values_to_be_between"):
        pipeline.validate(
            fetched["staging"], transformed, connect=file_connect(settings.warehouse), settings=settings, run=run
        )
    # no data, no watermark; the results and the run's audit row are kept for the operator
    from warehouse_checks import rows

    assert rows(settings.warehouse, "SELECT count(*) FROM articles") == [(0,)]
    assert rows(settings.warehouse, "SELECT count(*) FROM source_files") == [(0,)]
    assert rows(settings.warehouse, "SELECT status FROM etl_runs") == [("failed validation",)]
    failed = rows(
        settings.warehouse,
        "SELECT expectation, column_name FROM quality_results WHERE NOT success AND severity = 'hard'",
    )
    assert failed == [("expect_column_values_to_be_between", "published_date")]


def test_a_load_out_of_memory_is_loaded_again_with_more_then_refused_whole(tmp_path, caplog):
    """DuckDB out of NEWS_ETL_DUCKDB_MEMORY (a first load of a big site): the load rolls back and
    runs once more with NEWS_ETL_DUCKDB_MEMORY_MAX; out of that too, the run fails with what to
    do and the warehouse is as it was. (20 MB is too little for the sample's load; 1 GB is enough.)"""
    source = tmp_path / "posts"
    shutil.copytree(SAMPLE, source)
    settings = settings_for(tmp_path, source).with_(duckdb_memory="20MB", duckdb_memory_max="20MB")
    pipeline.run_all(settings.with_(duckdb_memory="1GB"))  # the warehouse, migrated, with the sample
    before = fingerprint(settings.warehouse)
    (source / "2026-11-26-1.md").write_text(
        '---\ntitle: "新"\ndate: 2026-11-26 10:00:00\n---\n新的一篇。', encoding="utf-8"
    )
    for name in [p.name for p in source.iterdir()][:20]:  # and 20 edited posts: a load of some size
        with open(source / name, "a", encoding="utf-8") as fh:
            fh.write("\n\n更正。")

    with pytest.raises(
        pipeline.LoadOutOfMemory, match="NEWS_ETL_DUCKDB_MEMORY_MAX=20MB.*nothing was written.*backfill"
    ):
        pipeline.run_all(settings)
    assert fingerprint(settings.warehouse) == before

    caplog.set_level("WARNING", logger="news_etl.pipeline")
    result = pipeline.run_all(settings.with_(duckdb_memory_max="1GB"))
    assert "out of DuckDB's memory at NEWS_ETL_DUCKDB_MEMORY=20MB" in caplog.text
    assert result["load"]["new"] == 1 and result["load"]["updated"] >= 15
    assert fingerprint(settings.warehouse) != before
