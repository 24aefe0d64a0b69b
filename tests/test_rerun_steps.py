"""The steps of a re-run as the DAG calls them, without Airflow (issue 24, item 1): a re-run's
fetch finds nothing new, but the transform results handed to validate and load still include one
of the first try (its ``transform`` instance is ``removed``, its XCom kept), naming a file the new
fetch never staged. validate and load take only this fetch's results: green, the warehouse
unchanged; a batch of this fetch without its result still fails. (The real scheduler:
tests/test_rerun.py.)"""

from __future__ import annotations

import logging

import pytest
from conftest import SAMPLE
from warehouse_checks import fingerprint

from news_etl import pipeline
from news_etl.ingest.staging import StagingError
from news_etl.settings import Settings
from news_etl.warehouse.connection import file_connect


def test_a_rerun_uses_only_its_own_fetch(tmp_path, caplog):
    settings = Settings().with_(
        source=str(SAMPLE),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "p.duckdb",
        staging=tmp_path / "staging",
        workers=1,
        keep_staging=True,
    )
    run = pipeline.new_run("day_run", interval_end="2026-11-25T00:30:00+08:00")
    first = pipeline.run_all(settings, run)
    assert first["fetch"]["batches"], "the day's first run had batches"
    before = fingerprint(settings.warehouse)

    again = pipeline.fetch(settings, run)  # the re-run's fetch, in the same run folder: nothing new
    assert again["batches"] == []
    stale = first["transform"]  # what Airflow still hands over
    with pytest.raises(StagingError):  # read as they are, they name files this fetch never staged
        pipeline.validate(again["staging"], stale)
    ours = pipeline.of_this_fetch(again, stale)
    assert ours == []
    validated = pipeline.validate(again["staging"], ours)
    connect = file_connect(settings.warehouse)
    with caplog.at_level(logging.WARNING, logger="news_etl"):
        loaded = pipeline.load(connect, settings, run, again, stale, validated)
    assert "fetching again" not in caplog.text  # nothing to mend: the stale results are only left out
    assert loaded["new"] == loaded["updated"] == loaded["deleted"] == 0
    assert fingerprint(settings.warehouse) == before

    # a batch of this fetch without its result is an error, not a silent partial load
    with pytest.raises(StagingError, match="no transform result of this fetch"):
        pipeline.of_this_fetch({**first["fetch"]}, [])
