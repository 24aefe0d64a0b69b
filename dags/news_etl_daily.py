"""The daily news warehouse DAG: wiring only, cheap to parse.

The work lives in ``plugins/news_etl`` (``pipeline.py``); every task below is
a call to one of its five steps.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

from news_etl.deployment import READ_AS_OF_NOW, alert_on_failure, daily_deadline
from news_etl.settings import DAG_ID, SITE_TIMEZONE, WRITER_POOL, WRITER_QUEUE

WAREHOUSE = Asset(name="news_warehouse", uri="duckdb://news_warehouse/warehouse.duckdb")
SNAPSHOT = Asset(name="news_warehouse_snapshot", uri="duckdb://news_warehouse/published/warehouse.duckdb")


@dag(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone=SITE_TIMEZONE),
    start_date=pendulum.datetime(2026, 11, 1, tz=SITE_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    # an alert when the day's run has not finished by 03:00 Asia/Shanghai (an Airflow 3 deadline)
    deadline=daily_deadline(),
    # a task stuck on a hung source read or a held file is killed and retried, never left hanging
    default_args={
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=1),
        # a NEWS ETL ALERT line, then the notifier in the Variable news_etl_alert_notifier
        "on_failure_callback": alert_on_failure,
    },
    # the trigger form's choice, kept in the run's conf; the moment is the run's own (a re-run reads the same commit)
    params={
        READ_AS_OF_NOW: Param(
            False,
            type="boolean",
            title="Read the site as of now",
            description="Off: the site as of the end of the run's interval (00:30 site time), as scheduled runs "
            "read it. On: as of the moment you trigger (today's commits of a git source); a re-run of this run "
            "reads the same commit.",
        )
    },
    tags=["news", "duckdb"],
)
def news_etl_daily():
    """
    ### News warehouse, daily

    Reads the new and changed posts of the finews Jekyll site, cleans them and
    loads them into the DuckDB warehouse that analysts query.

    **fetch** → **transform** (one task per batch) → **validate** → **load** → **publish** → **check_freshness**

    | step | what it does |
    |---|---|
    | fetch | asks the source what changed since the last load (the watermark lives in the warehouse) and stages those posts as Parquet batches |
    | transform | parses the front matter, cleans the HTML (BeautifulSoup, lxml), computes metrics; a broken post becomes a reject row |
    | validate | runs the Great Expectations suite on each batch; a hard failure stops the run before anything is written |
    | load | one DuckDB transaction: articles (with versions), metrics, daily metrics, rejects, quality results, the audit row, the watermark; runs in the one-slot `duckdb_writer` pool |
    | publish | writes the analysts' read-only snapshot (`data/published/warehouse.duckdb`) aside and renames it into place |
    | check_freshness | is the site still posting? **skipped** (with `STALE SOURCE: …` and an alert) when the newest post is older than `NEWS_ETL_MAX_SOURCE_SILENCE_HOURS` at the end of the interval; the run stays green: a quiet site is not a failed pipeline (0: off; the embedded sample posts are never measured) |

    **Alerts**: a failed task, a stale source, and a day's run not finished by 03:00
    Asia/Shanghai (a deadline alert) each log `NEWS ETL ALERT: …` and call the notifier
    named in the Variable `news_etl_alert_notifier` (JSON `{"class": …, "kwargs": …}`, e.g.
    the SMTP provider's `SmtpNotifier`). The warehouse page (menu **News warehouse**) shows
    the runs by site day (failed ones with their failing task and alert), the source and its
    revision, articles per day and outlet, the loads, rejects, failed expectations, freshness.

    **Schedule**: daily at 00:30 Asia/Shanghai, for the day that just ended
    (interval-keyed). Re-running a day (Clear, or a backfill of all runs) is green and
    changes nothing but the run's audit row; a backfill ends in the same warehouse as the
    days run one by one. **Trigger** with *Read the site as of now* to read today's commits
    (the moment is kept in the run: a re-run reads the same commit).

    **Configure**: the source is the Variable `news_etl_source` (env override
    `AIRFLOW_VAR_NEWS_ETL_SOURCE`): a folder of posts, `git+<url or path>[#branch]`
    (the site's repository; each run reads the last commit before its interval end,
    so a backfill replays the days) or `feed+<url>` (the Atom feed); unset: the
    embedded sample posts. Backfill site days: `make backfill FROM=2026-11-01 TO=2026-11-07`, or
    `airflow backfill create --dag-id news_etl_daily --from-date 2026-11-01T00:00:00+08:00
    --to-date 2026-11-07T23:59:59+08:00 --max-active-runs 1` (plain dates are UTC midnight:
    they miss the first site day), or the UI's **Trigger → Backfill**; the warehouse is the DuckDB connection
    `news_warehouse` (host = the file). Counts of each run are in the task logs
    and in the warehouse table `etl_runs`.
    """

    # the tasks that touch the writer's DuckDB file (or its snapshot) run on its machine: the queue
    # WRITER_QUEUE, served by that machine's worker only; the transforms run on any worker
    @task(queue=WRITER_QUEUE, retries=3, retry_delay=timedelta(seconds=30), retry_exponential_backoff=True)
    def fetch() -> list[str]:
        """Find new, changed and deleted posts since the last load; stage them as Parquet
        batches. Returns the batch names (the full manifest is staged beside them)."""
        from news_etl import deployment, pipeline

        with deployment.fail_at_once_unless_transient():
            return pipeline.fetch(deployment.settings(), deployment.run_identity())["batches"]

    @task(max_active_tis_per_dagrun=4, multiple_outputs=False)
    def transform(batch: str) -> dict:
        """Clean one staged batch: articles with metrics, and rejects with their reasons."""
        from news_etl import deployment, pipeline

        fetched = pipeline.staged_manifest(deployment.settings(), deployment.run_identity())
        if fetched is None:  # re-run on its own after the run's staging was removed
            return pipeline.nothing_transformed(batch)
        return pipeline.transform(fetched["staging"], batch)

    @task(queue=WRITER_QUEUE, trigger_rule="none_failed", multiple_outputs=False)
    def validate(transformed: list[dict]) -> dict:
        """Run the Great Expectations suite on every batch; a hard failure stops the run here."""
        from news_etl import deployment, pipeline

        settings, run = deployment.settings(), deployment.run_identity()
        fetched = pipeline.staged_manifest(settings, run)
        if fetched is None:  # re-run on its own after the run's staging was removed: the load fetches again
            return pipeline.nothing_validated()
        ours = pipeline.of_this_fetch(fetched, transformed)
        return pipeline.validate(fetched["staging"], ours, connect=deployment.connect, settings=settings, run=run)

    @task(queue=WRITER_QUEUE, pool=WRITER_POOL, outlets=[WAREHOUSE], trigger_rule="none_failed", multiple_outputs=False)
    def load(transformed: list[dict], validated: dict) -> dict:
        """Write the run into the warehouse in one transaction (the single writer)."""
        from news_etl import deployment, pipeline

        settings, run = deployment.settings(), deployment.run_identity()
        fetched = pipeline.staged_manifest(settings, run)  # None: re-run on its own; it fetches again
        return pipeline.load(deployment.connect, settings, run, fetched, list(transformed or []), validated)

    @task(queue=WRITER_QUEUE, pool=WRITER_POOL, outlets=[SNAPSHOT], multiple_outputs=False)
    def publish(loaded: dict) -> dict:
        """Publish the analysts' read-only snapshot; clean the run's staging folder."""
        from news_etl import deployment, pipeline

        settings, run = deployment.settings(), deployment.run_identity()
        return pipeline.publish(deployment.connect, settings, run, pipeline.staged_manifest(settings, run))

    @task(queue=WRITER_QUEUE, pool=WRITER_POOL, multiple_outputs=False)
    def check_freshness(published: dict) -> dict:
        """Is the site still posting? Skipped, with a STALE SOURCE alert, when it has produced no
        new post for longer than NEWS_ETL_MAX_SOURCE_SILENCE_HOURS (the data is loaded and
        published either way, and the run stays green)."""
        from news_etl import deployment
        from news_etl.warehouse import freshness

        settings, run = deployment.settings(), deployment.run_identity()
        return deployment.report_freshness(freshness.check(deployment.connect, settings, run))

    transformed = transform.expand(batch=fetch())
    check_freshness(publish(load(transformed, validate(transformed))))


news_etl_daily()
