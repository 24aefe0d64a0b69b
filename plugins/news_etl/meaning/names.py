"""The names keywords keep whole: a function of the live posts and a reviewed seed, not of history.

Where names come from (``keyword_names``, with provenance in ``article_names``):

- the live posts: the text of a post's quote links, when it looks like a name
  (:func:`news_etl.keywords.aligned_names`: 2 to 16 characters, not a ticker, and
  starting and ending where rjieba, without learned names, starts and ends a word
  of the post's text: 国平 linked inside 中国平安 cuts the word 中国 and is no name);
- the reviewed seed ``sql/seeds/names.csv`` (``name,note``).

A name no live post supports and no seed lists is gone: deleting the post that
linked it removes it and its effects in the same load.

Why this gives the same keywords whatever the history: an article's keywords
depend on its title, its text and the names matched in them (leftmost-longest,
:class:`news_etl.keywords.Names`), and only on the names that occur in them.
The transform runs on workers that do not open the warehouse: it uses the names
the warehouse had at fetch (``names.txt``, staged) plus the post's own. Each load
then computes the final names from the live posts and, in its transaction,
derives again the keywords of every article whose matched names differ from
what they would be with the final names; it looks only at

- the articles this run wrote (their matched names are checked against the
  final names: one Aho-Corasick pass over each);
- the live articles that matched a name now gone (``article_names_used``);
- the live articles whose title or text contains a name now added (one scan of
  the live texts with an RE2 alternation per :data:`SCAN_NAMES` added names,
  only in a load that adds names and has older articles).

So the cost follows the changed posts and the posts whose names changed. Of
the articles looked at, only those whose matched names differ are segmented
again (``analyse``): a name added that never wins a match changes nothing.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterable

from news_etl.meaning.keywords import Names, aligned_names, analyse
from news_etl.model import Execute
from news_etl.settings import SQL_DIR

log = logging.getLogger(__name__)

#: The reviewed names, beside the migrations.
NAMES_CSV = SQL_DIR / "seeds" / "names.csv"
#: Added names per scan of the live texts (one RE2 alternation each).
SCAN_NAMES = 500
#: Articles read at once when their names are checked.
CHUNK = 2000


def seeds() -> list[str]:
    """The reviewed names of ``sql/seeds/names.csv``."""
    with NAMES_CSV.open(encoding="utf-8", newline="") as fh:
        return sorted({row["name"].strip() for row in csv.DictReader(fh) if row["name"].strip()})


def load_batch(x: Execute) -> None:
    """``article_names`` and ``article_names_used`` of the batch's written articles (the view
    ``classified``), replaced."""
    for table, column in (("article_names", "names"), ("article_names_used", "names_used")):
        x(f"""DELETE FROM {table}
              WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('updated', 'revived'))""")
        x(f"""INSERT INTO {table}
              SELECT DISTINCT post_id, unnest({column}) FROM classified
              WHERE change IN ('new', 'updated', 'revived') AND len({column}) > 0""")


def load_run(x: Execute, run_id: str, everything: bool = False) -> dict[str, int]:
    """The final names from the live posts and the seed; the keywords of every article whose
    matched names they change, derived again. Reads and extends the temp table ``changed``.
    ``everything``: derive again the keywords of every live article (:func:`rebuild`)."""
    started = time.monotonic()
    x(
        """
        CREATE OR REPLACE TEMP TABLE names_final AS
        SELECT name, (count(post_id))::INTEGER AS posts, bool_or(seed) AS seed, min(post_id) AS first_post
        FROM (SELECT n.name, n.post_id, false AS seed FROM article_names n
              JOIN articles a USING (post_id) WHERE a.deleted_at IS NULL
              UNION ALL SELECT unnest(?::VARCHAR[]), NULL, true)
        GROUP BY name""",
        [seeds()],
    )
    added = [
        n for (n,) in x("SELECT name FROM names_final EXCEPT SELECT name FROM keyword_names ORDER BY 1").fetchall()
    ]
    removed = [n for (n,) in x("SELECT name FROM keyword_names EXCEPT SELECT name FROM names_final").fetchall()]
    x(
        """CREATE OR REPLACE TEMP TABLE names_todo AS
           SELECT DISTINCT a.post_id FROM articles a WHERE a.deleted_at IS NULL
             AND (? OR a.post_id IN (SELECT post_id FROM changed WHERE change IN ('new', 'updated', 'revived')))""",
        [everything],
    )
    if removed:
        x(
            """INSERT INTO names_todo SELECT DISTINCT u.post_id FROM article_names_used u
               JOIN articles a USING (post_id)
               WHERE a.deleted_at IS NULL AND u.name IN (SELECT unnest(?::VARCHAR[]))
                 AND u.post_id NOT IN (SELECT post_id FROM names_todo)""",
            [removed],
        )
    for start in range(0, len(added), SCAN_NAMES):
        x(
            """INSERT INTO names_todo SELECT a.post_id FROM articles a
               WHERE a.deleted_at IS NULL AND a.post_id NOT IN (SELECT post_id FROM names_todo)
                 AND regexp_matches(concat_ws(chr(10), a.title, a.body_text), ?)""",
            [alternation(added[start : start + SCAN_NAMES])],
        )
    # in the order of articles: each chunk reads only the rows of articles it lies in (a lookup by
    # post id read every text once a chunk, which grew with the square of a first load)
    todo = x(
        "SELECT a.post_id, a.rowid FROM articles a WHERE a.post_id IN (SELECT post_id FROM names_todo) ORDER BY a.rowid"
    ).fetchall()
    names = Names(n for (n,) in x("SELECT name FROM names_final").fetchall())
    derived = 0
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        derived += _derive_again(x, [p for p, _ in chunk], (chunk[0][1], chunk[-1][1]), names, run_id, everything)
    x("DELETE FROM keyword_names WHERE name NOT IN (SELECT name FROM names_final)")
    x("""INSERT OR REPLACE INTO keyword_names SELECT f.name, f.posts, f.seed, f.first_post FROM names_final f
         WHERE NOT EXISTS (SELECT 1 FROM keyword_names k WHERE k.name = f.name AND k.posts = f.posts
                           AND k.seed = f.seed AND k.first_post IS NOT DISTINCT FROM f.first_post)""")
    x("DROP TABLE names_final")
    x("DROP TABLE names_todo")
    counts = {"added": len(added), "removed": len(removed), "checked": len(todo), "derived": derived}
    log.info("names: %s, %.2fs", counts, time.monotonic() - started)
    return counts


def _derive_again(
    x: Execute, post_ids: list[str], rows_of: tuple[int, int], names: Names, run_id: str, everything: bool = False
) -> int:
    """Check the matched names of ``post_ids`` (in the rows ``rows_of`` of ``articles``, first and
    last) against ``names``; derive again the keywords of those that differ. Returns how many were
    derived again."""
    rows = x(
        """SELECT a.post_id, a.version, a.published_date, a.title, a.body_text,
                  coalesce((SELECT list(u.name ORDER BY u.name) FROM article_names_used u
                            WHERE u.post_id = a.post_id), []) AS used
           FROM articles a WHERE a.rowid BETWEEN ? AND ? AND a.post_id IN (SELECT unnest(?::VARCHAR[]))""",
        [*rows_of, post_ids],
    ).fetchall()
    keywords: list[dict] = []
    used_rows: list[dict] = []
    again: list[str] = []
    days: list[dict] = []
    for post_id, version, day, title, body, used in rows:
        if not everything and matched(title, body, names) == list(used):
            continue
        result = analyse(title, body, names)
        again.append(post_id)
        days.append({"post_id": post_id, "day": day})
        keywords.extend(
            {"post_id": post_id, "version": version, "rank": rank, **k} for rank, k in enumerate(result.keywords, 1)
        )
        used_rows.extend({"post_id": post_id, "name": n} for n in result.used)
    if not again:
        return 0
    x("DELETE FROM article_keywords WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [again])
    x("DELETE FROM article_names_used WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [again])
    if keywords:
        x(
            """INSERT INTO article_keywords (post_id, version, rank, keyword, count, weight, run_id)
               SELECT post_id, version, rank, keyword, count, weight, ? FROM (SELECT unnest(?, recursive := true))""",
            [run_id, keywords],
        )
    if used_rows:
        x("INSERT INTO article_names_used SELECT * FROM (SELECT unnest(?, recursive := true))", [used_rows])
    x(
        """INSERT INTO changed SELECT post_id, 'names', day, NULL FROM (SELECT unnest(?, recursive := true))
           WHERE post_id NOT IN (SELECT post_id FROM changed)""",
        [days],
    )
    return len(again)


def rebuild(x: Execute, run_id: str) -> dict[str, int]:
    """Names and keywords from scratch, for a warehouse loaded before migration 020 (whose keywords
    came from a dictionary that grew with each load) or after a change of the name rules:
    ``article_names`` of every live article from its quote links (``article_securities``), then
    the keywords of every live article derived with the final names. Reads and extends ``changed``."""
    x("DELETE FROM article_names")
    x("DELETE FROM article_names_used")
    x("DELETE FROM keyword_names")
    todo = [p for (p,) in x("SELECT post_id FROM articles WHERE deleted_at IS NULL ORDER BY 1").fetchall()]
    for start in range(0, len(todo), CHUNK):
        rows = x(
            """SELECT a.post_id, a.body_text,
                      coalesce((SELECT list(s.name) FROM article_securities s
                                WHERE s.post_id = a.post_id AND s.keytips > 0 AND s.name IS NOT NULL), [])
               FROM articles a WHERE a.post_id IN (SELECT unnest(?::VARCHAR[]))""",
            [todo[start : start + CHUNK]],
        ).fetchall()
        found = [{"post_id": p, "name": n} for p, body, linked in rows for n in aligned_names(body, linked)]
        if found:
            x("INSERT INTO article_names SELECT DISTINCT * FROM (SELECT unnest(?, recursive := true))", [found])
    return load_run(x, run_id, everything=True)


def matched(title: str | None, text: str | None, names: Names) -> list[str]:
    """The names of ``names`` matched in a title and text, sorted (what ``analyse`` reports as used)."""
    return sorted({part[s:e] for part in (title, text) if part for s, e in names.spans(part)})


def alternation(names: Iterable[str]) -> str:
    """An RE2 pattern matching any of ``names`` literally (every character that is not a letter or a
    digit written as ``\\x{…}``)."""
    return "|".join("".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in n) for n in names)
