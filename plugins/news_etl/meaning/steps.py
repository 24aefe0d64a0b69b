"""What the news says, loaded in the load's one transaction: stories, publishers, securities.

Two call sites in ``warehouse``: :func:`load_batch` for each staged batch (after
its articles are merged; reads the view ``classified``) and
:func:`load_run` once all batches and deletions are in (reads ``changed`` and
adds the days whose story counts moved). :func:`rebuild_daily` rebuilds the
analysts' daily tables for ``touched_days``, after ``daily_metrics``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from news_etl.meaning import names, publishers, securities
from news_etl.model import Execute
from news_etl.settings import SQL_DIR


@lru_cache(maxsize=1)
def stamp() -> str:
    """The reviewed seeds (``sql/seeds``) and the rules (this package's code) the meaning tables are
    derived with, as one digest: a load that changed no article under the stamp of the load before
    it has nothing to derive (the load records it: ``etl_runs.meaning_stamp``)."""
    digest = hashlib.sha256()
    for path in sorted([*(SQL_DIR / "seeds").glob("*.csv"), *Path(__file__).parent.glob("*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load_batch(x: Execute, run_id: str) -> None:
    from news_etl.meaning import stories  # (numpy: only a load that writes articles needs it)

    stories.load_batch(x)
    securities.load_batch(x, run_id)
    names.load_batch(x)


def load_run(x: Execute, run_id: str) -> None:
    from news_etl.meaning import stories

    publishers.load(x)
    securities.load_run(x, run_id)
    names.load_run(x, run_id)  # may add days to `changed`
    stories.assign(x, run_id)


def rebuild(x: Execute, run_id: str) -> dict[str, int]:
    """``news-etl rebuild-meaning``: the names, the keywords of every live article, the securities'
    names and the daily keyword and security tables, derived again from the live articles (for a
    warehouse loaded by an older version; inside the caller's transaction)."""
    x("CREATE OR REPLACE TEMP TABLE changed (post_id VARCHAR, change VARCHAR, day DATE, old_day DATE)")
    counts = names.rebuild(x, run_id)
    securities.rebuild(x, run_id)  # written-out mentions and fragments: needs article_names
    securities.load_run(x, run_id)
    x("CREATE OR REPLACE TEMP TABLE touched_days AS SELECT DISTINCT published_date AS day FROM articles")
    rebuild_daily(x, run_id)
    x("DROP TABLE changed")
    x("DROP TABLE touched_days")
    return counts


#: Live posts whose days' keyword and security counts one statement rebuilds: a first load of a
#: million posts counted its 20 million keywords by day in one statement, whose distinct counts ran
#: out of DuckDB's 512 MB (they do not spill).
DAILY_CHUNK_POSTS = 50_000


def rebuild_daily(x: Execute, run_id: str) -> None:
    """``keyword_daily`` and ``security_daily`` of ``touched_days``, counting live articles only, a
    run of days of at most about :data:`DAILY_CHUNK_POSTS` posts a statement."""
    x("DELETE FROM keyword_daily WHERE day IN (SELECT day FROM touched_days)")
    x("DELETE FROM security_daily WHERE day IN (SELECT day FROM touched_days)")
    for first, last in _day_runs(x):
        x(
            """
            INSERT INTO keyword_daily (day, keyword, articles, outlets, weight_sum, run_id, stories)
            SELECT a.published_date, k.keyword, count(*), count(DISTINCT coalesce(a.outlet, '?')),
                   -- weights have 6 decimals: a DECIMAL sum is exact, the same whatever order the batches came in
                   sum(k.weight::DECIMAL(18, 6))::DOUBLE, ?,
                   count(DISTINCT a.story_id)
            FROM article_keywords k JOIN articles a USING (post_id)
            WHERE a.deleted_at IS NULL AND a.published_date BETWEEN ? AND ?
              AND a.published_date IN (SELECT day FROM touched_days)
            GROUP BY a.published_date, k.keyword""",
            [run_id, first, last],
        )
        securities.rebuild_daily(x, run_id, first, last)


def _day_runs(x: Execute) -> list[tuple[object, object]]:
    """``touched_days`` that hold live posts, in order, cut into runs of at most about
    :data:`DAILY_CHUNK_POSTS` posts (a day is never cut): (first day, last day) of each."""
    days = x("""
        SELECT published_date, count(*) FROM articles
        WHERE deleted_at IS NULL AND published_date IN (SELECT day FROM touched_days)
        GROUP BY ALL ORDER BY 1""").fetchall()
    runs: list[tuple[object, object]] = []
    posts = 0
    for day, n in days:
        if runs and posts + n <= DAILY_CHUNK_POSTS:
            runs[-1], posts = (runs[-1][0], day), posts + n
        else:
            runs.append((day, day))
            posts = n
    return runs
