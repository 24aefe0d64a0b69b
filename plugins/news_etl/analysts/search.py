"""Full-text search for analysts: ``search(q)`` of the snapshot (sql/migrations/040_search.sql,
042_search_top.sql).

The macro lives in the warehouse, so every client runs the same search in plain SQL; this
module is the command line's and the warehouse page's way to it, and the benchmark's.
"""

from __future__ import annotations

import time
from pathlib import Path

from news_etl.analysts.readers import open_reader

#: Rows ``news-etl search`` and the warehouse page show (the best first).
SHOWN = 20
#: What ``make bench`` searches for on its synthetic site (text drawn from the sample posts): a word
#: in many posts, two words together, a rarer name, and words no post holds.
BENCH_QUERIES = ("银行", "银行 利率", "衡远", "宁德时代 锂电池")


class SearchError(Exception):
    """No words to search for."""


def words(q: str) -> list[str]:
    """The words of ``q`` as ``search(q)`` splits them (tabs, line breaks, spaces, no-break and ideographic spaces)."""
    for space in "\t\n\r\u00a0\u3000":
        q = q.replace(space, " ")
    return [w for w in q.split(" ") if w]


def search(con, q: str, limit: int | None = SHOWN):
    """The best ``limit`` matches of ``q`` (all with ``limit=None``) as an Arrow table, and whether
    more match. ``search(q, top := N)`` cuts snippets for the posts it returns only, so asking for
    one row more than shown says "more" without ranking and reading every match twice."""
    if not words(q):
        raise SearchError("nothing to search for: give one or more words, separated by spaces")
    sql = "SELECT post_id, story_id, title, published_at, score, snippet FROM search(?, top := ?)"
    table = con.sql(sql, params=[q, None if limit is None else int(limit) + 1]).to_arrow_table()
    if limit is not None and table.num_rows > limit:
        return table.slice(0, limit), True
    return table, False


def bench(path: Path | str, queries: list[str], repeat: int = 5) -> dict[str, dict]:
    """Milliseconds of ``SELECT * FROM search(q, top := SHOWN)`` (what the command line and the page
    ask) on the snapshot at ``path``, the best of ``repeat`` and the median, with the matches
    (counted apart): the figure ``make bench`` prints beside its 100 ms target."""
    con = open_reader(path)
    try:
        out = {}
        for q in queries:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                con.execute("SELECT * FROM search(?, top := ?)", [q, SHOWN]).fetchall()
                times.append(time.perf_counter() - t0)
            times.sort()
            matches = con.execute("SELECT count(*) FROM search(?)", [q]).fetchall()[0][0]
            out[q] = {
                "matches": matches,
                "best_ms": round(times[0] * 1000, 1),
                "median_ms": round(times[len(times) // 2] * 1000, 1),
            }
        return out
    finally:
        con.close()
