"""The Great Expectations suite over each staged batch of articles.

The suite is written in code (``build_suite``) and run on an ephemeral GX
context, one validation per staged batch. Each expectation carries a
severity in its ``meta``: a failed ``hard`` one stops the run before the load;
a failed ``soft`` one is recorded and shown to the operator. Every result
becomes a row of ``quality_results``.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date

from news_etl.contract import MAX_PARAGRAPHS, MAX_TITLE_CHARS, date_range

log = logging.getLogger(__name__)

SUITE_NAME = "articles_batch"

#: Columns the suite reads (the bodies themselves stay on disk).
COLUMNS = [
    "post_id",
    "path",
    "title",
    "published_at",
    "published_date",
    "outlet",
    "body_text",
    "content_hash",
    "chars",
    "paragraph_count",
    "cjk_chars",
]


def _import_gx_quietly() -> None:
    """Import Great Expectations without its noise: at import it logs some 200 INFO lines about
    the functions it registers, which would bury the task log's one line about the results."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations  # noqa: F401

    # this one module sets its own logger to INFO (a line per context about a temporary docs folder)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)


def build_suite(as_of: date):
    """The expectation suite for a batch of clean articles of a run as of the day ``as_of``
    (the article contract, ``contract.py``, as hard expectations)."""
    _import_gx_quietly()
    import great_expectations as gx
    from great_expectations import expectations as gxe

    hard = {"severity": "hard"}
    soft = {"severity": "soft"}
    earliest, latest = date_range(as_of)
    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for column in ("post_id", "path", "title", "published_at", "published_date", "body_text", "content_hash"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column, meta=hard))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="path", meta=hard))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="post_id", meta=soft))
    suite.add_expectation(
        gxe.ExpectColumnValueLengthsToBeBetween(column="title", min_value=1, max_value=MAX_TITLE_CHARS, meta=hard)
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(
            column="published_date",
            min_value=earliest.isoformat(),  # type: ignore[arg-type]  # GX compares ISO strings
            max_value=latest.isoformat(),  # type: ignore[arg-type]
            meta=hard,
        )
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="chars", min_value=1, meta=hard))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="paragraph_count", min_value=1, max_value=MAX_PARAGRAPHS, meta=soft)
    )
    suite.add_expectation(
        gxe.ExpectColumnValueLengthsToBeBetween(column="content_hash", min_value=64, max_value=64, meta=hard)
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeOfType(column="chars", type_="int32", meta=hard))
    suite.add_expectation(gxe.ExpectColumnValuesToBeOfType(column="title", type_="str", meta=hard))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="outlet", mostly=0.99, meta=soft))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="cjk_chars", min_value=1, mostly=0.95, meta=soft))
    return suite


class Validator:
    """One GX context and suite, reused for every batch of a run."""

    def __init__(self, as_of: date) -> None:
        _import_gx_quietly()
        import great_expectations as gx

        self.context = gx.get_context(mode="ephemeral")
        try:
            self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}  # type: ignore[assignment]
        except Exception:  # noqa: BLE001 - older/newer GX without the setting: only cosmetic
            pass
        source = self.context.data_sources.add_pandas("staged")
        asset = source.add_dataframe_asset("articles")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("batch")
        self.suite = self.context.suites.add(build_suite(as_of))

    def validate(self, table, batch_name: str) -> list[dict]:
        """GX results for one batch (an Arrow table of COLUMNS) as rows."""
        frame = table.select(COLUMNS).to_pandas()
        frame["body_text"] = frame["body_text"].str.slice(0, 1)  # only nullness is checked
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self.suite)
        rows = []
        for r in result.results:
            config = r.expectation_config
            assert config is not None  # GX fills it for every result of a suite
            kwargs = dict(config.kwargs)
            rows.append(
                {
                    "suite": SUITE_NAME,
                    "batch": batch_name,
                    "expectation": config.type,
                    "column_name": kwargs.get("column"),
                    "severity": (config.meta or {}).get("severity", "hard"),
                    "success": bool(r.success),
                    "observed": _observed(r.result, r.exception_info),
                }
            )
        return rows


def _observed(result: dict, exception_info) -> str:
    keep = {
        k: result[k]
        for k in (
            "observed_value",
            "element_count",
            "unexpected_count",
            "unexpected_percent",
            "partial_unexpected_list",
        )
        if k in result
    }
    if exception_info and exception_info.get("raised_exception"):
        keep["exception"] = str(exception_info.get("exception_message"))[:500]
    return json.dumps(keep, ensure_ascii=False, default=str)[:4000]
