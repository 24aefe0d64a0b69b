"""The steps of a re-run as the DAG calls them, without Airflow: a re-run's
fetch finds nothing new, but the transform results handed to validate and load still include one
of the first try (its ``transform`` instance is ``removed``, its XCom kept), naming a file the new
fetch never staged. validate and load take only this fetch's results: green, the warehouse
unchanged; a batch of this fetch without its result still fails. (The real scheduler:
tests/test_rerun.py.)"""

from __future__ import annotations

import logging

import pytest
from conftest import SAMPLE, settings_in
from warehouse_checks import fingerprint

from news_etl import pipeline
from news_etl.ingest.staging import StagingError
from news_etl.warehouse.connection import file_connect


def test_a_rerun_uses_only_its_own_fetch(tmp_path, caplog):
    settings = settings_in(tmp_path, SAMPLE, keep_staging=True)
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


def test_a_step_cleared_on_its_own_after_the_run_went_through(tmp_path):
    """Clearing validate, load or publish alone (not fetch) after the run was published: publish
    removed the run's staging folder, so the steps have no manifest. validate has nothing to check,
    the load fetches again inside itself and changes nothing but the audit row, publish publishes."""
    settings = settings_in(tmp_path, SAMPLE)
    run = pipeline.new_run("day_run", interval_end="2026-11-25T00:30:00+08:00")
    first = pipeline.run_all(settings, run)
    before = fingerprint(settings.warehouse)
    with pytest.raises(StagingError):  # what the tasks read before: the run's staging is gone
        pipeline.read_manifest(settings, run)

    assert pipeline.staged_manifest(settings, run) is None
    stale = [pipeline.nothing_transformed(b) for b in first["fetch"]["batches"]]  # a transform cleared alone
    connect = file_connect(settings.warehouse)
    loaded = pipeline.load(connect, settings, run, None, stale, pipeline.nothing_validated())
    assert loaded["new"] == loaded["updated"] == loaded["deleted"] == 0
    published = pipeline.publish(connect, settings, run, pipeline.staged_manifest(settings, run))
    assert published["live_articles"] == first["publish"]["live_articles"]
    assert fingerprint(settings.warehouse) == before
    assert not list((tmp_path / "staging").glob("day_run*/manifest.json"))  # the load's fetch, cleaned by publish

    # a run never loaded still fails loudly on a missing manifest (staging not shared, fetch not run)
    with pytest.raises(StagingError, match="no fetch manifest"):
        pipeline.staged_manifest(settings, pipeline.new_run("never_loaded"))
