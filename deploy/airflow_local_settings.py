"""Airflow's local settings for ``make airflow`` (SQLite metadata), imported by every Airflow
process the launcher starts (``scripts/airflow_local.py`` puts this folder on ``PYTHONPATH``).

SQLite lets one process write at a time. Airflow already opens it in WAL mode (readers never wait
for the writer); on a loaded machine a commit's fsync can still hold the write lock for seconds,
and SQLite's default 5 s wait then fails the waiting request ("database is locked": the unpause
that answered 500). So:

- ``SQLITE_CONNECT_ARGS`` (``[database] sql_alchemy_connect_args``): wait up to 30 s for the lock;
- ``create_metadata_engine``: ``PRAGMA synchronous=NORMAL``, the setting SQLite recommends with
  WAL: a commit no longer waits for an fsync (the WAL is synced at checkpoints), so the lock is
  held for much less time. A power cut may lose the last commits of the metadata database, never
  corrupt it: right for a one-machine Airflow; the team deployment runs PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import create_engine, event

SQLITE_CONNECT_ARGS = {"timeout": 30}


def create_metadata_engine(sql_alchemy_conn, *, engine_args, connect_args):
    """Airflow's engine, plus the pragma above on every new SQLite connection."""
    engine = create_engine(sql_alchemy_conn, connect_args=connect_args, **engine_args, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _synchronous_normal(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine
