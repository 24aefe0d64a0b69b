"""The article contract (contract.py): one set of limits, used by the transform and the GX suite,
with the plausible dates ending a year after the run's as-of time, not after the machine's clock."""

from __future__ import annotations

from datetime import date

from reliability import write_posts
from warehouse_checks import rows

from news_etl import contract, pipeline
from news_etl.ingest.validate import Validator
from news_etl.settings import Settings


def test_the_suite_states_the_contract():
    suite = Validator(date(2024, 3, 1)).suite
    found = {(type(e).__name__, e.column): e for e in suite.expectations}
    assert found[("ExpectColumnValueLengthsToBeBetween", "title")].max_value == contract.MAX_TITLE_CHARS
    dates = found[("ExpectColumnValuesToBeBetween", "published_date")]
    assert (str(dates.min_value), str(dates.max_value)) == (contract.EARLIEST_DATE.isoformat(), "2025-12-31")


def test_the_as_of_day_is_the_site_day():
    assert contract.as_of_day("2024-12-31T16:30:00+00:00") == date(2025, 1, 1)  # 00:30 in Shanghai
    assert contract.as_of_day("2024-12-31T23:00:00") == date(2024, 12, 31)  # naive: site time


def test_a_backfilled_day_checks_dates_against_its_own_interval(tmp_path):
    """A run as of 2020 rejects a post dated 2022 (after the end of 2021); the same post loads in a
    run as of now. Transform and suite agree, so the run never stops on it."""
    source = tmp_path / "posts"
    write_posts(source, 2, day="2020-05-01")
    write_posts(source, 1, start=10, day="2022-01-03")
    settings = Settings().with_(
        source=str(source),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "p.duckdb",
        staging=tmp_path / "staging",
        workers=1,
    )
    run = pipeline.new_run(interval_end="2020-06-01T16:30:00+00:00")
    result = pipeline.run_all(settings, run)
    assert result["validate"]["failed_hard"] == 0
    assert rows(settings.warehouse, "SELECT path, reason FROM rejects") == [
        ("2022-01-03-post10.md", "date out of range")
    ]
    assert rows(settings.warehouse, "SELECT count(*) FROM articles") == [(2,)]

    later = pipeline.new_run()  # as of now: 2022 is in the past
    (source / "2022-01-03-post10.md").write_text(
        (source / "2022-01-03-post10.md").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    pipeline.run_all(settings, later)
    assert rows(settings.warehouse, "SELECT count(*) FROM articles") == [(3,)]
