"""Registers the daily run's deadline reference with Airflow (an Airflow 3 plugin).

The DAG's Deadline Alert counts from ``news_etl.deployment.DailyDeadline`` (the end of a
scheduled run's interval, 00:30 site time); Airflow 3.3 evaluates a custom reference in the
scheduler only when a plugin lists it in ``deadline_references``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from news_etl.deployment import DailyDeadline


class DailyDeadlinePlugin(AirflowPlugin):
    name = "news_etl_daily_deadline"
    deadline_references = [DailyDeadline]
