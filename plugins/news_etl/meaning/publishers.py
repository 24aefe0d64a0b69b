"""Who wrote a post: ``articles.publisher``, apart from the channel it came through.

``outlet`` is the channel: 东财滚动新闻 (Eastmoney's rolling feed) for most posts,
or the newspaper page the site files a post under. The publisher is the
newspaper or agency that wrote the text: the post's credit (``（文章来源：证券时报网）``,
a trailing ``（央视新闻客户端）``) when it has one, else the outlet when the outlet
is a publisher and not a channel. Names are normalised through
``sql/seeds/publishers.csv`` (``name,publisher,note``; an empty publisher marks a
channel): 证券时报网 → 证券时报, 央视新闻客户端 → 央视新闻. A name the file does
not know yet is kept as written, and the view ``publishers_unmapped`` lists it.

Every load copies the file into ``publisher_names`` and sets ``publisher`` on
every article whose value differs, so an edit of the file reaches old
articles at the next load.
"""

from __future__ import annotations

import csv

from news_etl.model import Execute
from news_etl.settings import SQL_DIR

#: The mapping, kept beside the migrations.
PUBLISHERS_CSV = SQL_DIR / "seeds" / "publishers.csv"


def mapping() -> dict[str, str | None]:
    """name → publisher (None: a channel)."""
    with PUBLISHERS_CSV.open(encoding="utf-8", newline="") as fh:
        return {row["name"].strip(): (row["publisher"].strip() or None) for row in csv.DictReader(fh)}


def publisher_for(credit: str | None, outlet: str | None, names: dict[str, str | None]) -> str | None:
    """The rule, in Python (the load applies the same rule in SQL; tests check both agree)."""
    if credit:
        return names[credit] if credit in names else credit
    if outlet:
        return names[outlet] if outlet in names else outlet
    return None


def load(x: Execute) -> None:
    """Refresh ``publisher_names`` from the file and ``articles.publisher`` where it differs."""
    rows = [{"name": k, "publisher": v} for k, v in mapping().items()]
    notes = {}
    with PUBLISHERS_CSV.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            notes[row["name"].strip()] = row.get("note") or None
    x("DELETE FROM publisher_names")
    x(
        "INSERT INTO publisher_names SELECT * FROM (SELECT unnest(?, recursive := true))",
        [[{"name": r["name"], "publisher": r["publisher"], "note": notes.get(r["name"])} for r in rows]],
    )
    x("""
        UPDATE articles SET publisher = p.publisher
        FROM (SELECT a.post_id,
                     CASE WHEN a.credit IS NOT NULL THEN (CASE WHEN c.name IS NOT NULL THEN c.publisher ELSE a.credit END)
                          WHEN a.outlet IS NOT NULL THEN (CASE WHEN o.name IS NOT NULL THEN o.publisher ELSE a.outlet END)
                     END AS publisher
              FROM articles a
              LEFT JOIN publisher_names c ON c.name = a.credit
              LEFT JOIN publisher_names o ON o.name = a.outlet) p
        WHERE articles.post_id = p.post_id AND articles.publisher IS DISTINCT FROM p.publisher""")
