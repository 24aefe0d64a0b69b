"""The keys no index keeps: checked in bulk, once a load, before it commits.

DuckDB holds a PRIMARY KEY's index in memory, whole, while a transaction adds to its table, and
cannot spill it (about 70 MB per table and million keys, measured). So the tables
that grow with the posts have no key index (migrations 060 and 080). The load keeps each of
their keys unique, deleting a key's old row before it writes the new one, and :func:`check_keys`
proves it: one grouped scan of each table's key columns, inside the load's transaction. A key
there twice is a bug of the load, not of a post: :class:`DuplicateKey`, and the load rolls back.
"""

from __future__ import annotations

import duckdb

from news_etl.model import UNINDEXED_KEYS


class DuplicateKey(Exception):
    """A table kept without a primary-key index got one key twice: a bug of the load, not of a post
    (the load rolls back: nothing is written)."""


def duplicate(con: duckdb.DuckDBPyConnection, table: str) -> tuple | None:
    """One key of ``table`` (of :data:`UNINDEXED_KEYS`) that is there more than once, with its
    count; None when every key is there once."""
    columns = ", ".join(UNINDEXED_KEYS[table])
    return con.execute(
        "SELECT " + columns + ", count(*) FROM " + table + " GROUP BY " + columns + " HAVING count(*) > 1 LIMIT 1"
    ).fetchone()


def check_keys(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Raise :class:`DuplicateKey` if a key of :data:`UNINDEXED_KEYS` appears twice (one scan of
    each table's key columns, inside the load's transaction)."""
    for table in UNINDEXED_KEYS:
        found = duplicate(con, table)
        if found:
            raise DuplicateKey(
                f"{table}: the key {UNINDEXED_KEYS[table]} = {tuple(found[:-1])} is there {found[-1]} times after "
                f"run {run_id}'s writes: a bug of the load; nothing was written"
            )
