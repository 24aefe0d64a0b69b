"""Reports read back from a warehouse file (the published snapshot by default)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def _table(con, sql: str, params: list | None = None) -> str:
    rel = con.execute(sql, params or [])
    names = [d[0] for d in rel.description]
    rows = [["" if v is None else str(v) for v in row] for row in rel.fetchall()]
    widths = [max(_width(x) for x in [n, *(r[i] for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(_pad(n, w) for n, w in zip(names, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def print_summary(path: Path | str) -> None:
    """Articles per outlet and day, rejects by reason, and the last run's audit row."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        print(f"Warehouse {path}\n")
        print("Articles per outlet and day (live articles):")
        print(_table(con, """
            SELECT day, outlet, sum(articles) AS articles, sum(chars_total) AS characters
            FROM daily_metrics GROUP BY ALL HAVING sum(articles) > 0 ORDER BY day, articles DESC, outlet"""))
        print("\nRejects by reason:")
        print(_table(con, "SELECT reason, count(*) AS posts, min(path) AS example FROM rejects GROUP BY reason ORDER BY posts DESC, reason"))
        print("\nThe last run:")
        print(_table(con, """
            SELECT run_id, status, posts_seen AS seen, posts_changed AS changed, articles_new AS new,
                   articles_updated AS updated, articles_deleted AS deleted, rejects,
                   expectations_failed AS soft_fails,
                   round(seconds_fetch + seconds_transform + seconds_validate + seconds_load, 2) AS seconds
            FROM etl_runs ORDER BY loaded_at DESC LIMIT 1"""))
    finally:
        con.close()
