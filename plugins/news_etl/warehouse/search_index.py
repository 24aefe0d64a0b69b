"""The search index of ``search(q)`` (sql/migrations/040_search.sql), kept by the load.

The index holds, for every live post, the distinct character bigrams of its title and text
(``search_grams``) and its lengths (``search_docs``, with the version indexed). Each load
re-indexes the posts whose version is not the one indexed and drops the posts no longer
live, whatever wrote them (a load, a deletion, a retired source): the index is a function of
the live posts. Bulk SQL over the posts that changed only; nothing when nothing changed.

Lookups read ``search_grams`` through DuckDB's zone maps (min/max of each segment): each load
appends its rows in gram order, a chunk of posts at a time, so a lookup reads a few segments of
each such chunk. The load never rewrites the whole table (on a 100,000-post warehouse that
rewrite ran the daily load out of its memory). Counting a chunk's bigrams takes about 150 bytes
of DuckDB's memory per character, so a chunk holds at most :data:`CHUNK_CHARS` characters and
one post (the largest accepted has 2 MB), read from the rows of ``articles`` it lies in; the
counts of :data:`SORTED_CHUNKS` chunks are sorted together. The index's cost and memory stay
with the posts that changed, whatever their number. An edited post's rows are replaced only
where its bigram counts changed (:func:`_edited_in_place`).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

import duckdb

from news_etl.model import Execute

log = logging.getLogger(__name__)

#: Characters of titles and texts whose bigrams one statement counts: about 1,000 posts of the
#: bench's site and 150 MB of DuckDB's memory (5,000 posts needed 400 MB).
CHUNK_CHARS = 1_000_000

#: Chunks whose rows are sorted by gram together before they are appended (a sort spills to disk):
#: a lookup reads a few segments of each such group, so fewer groups answer faster.
SORTED_CHUNKS = 10


def update(con: duckdb.DuckDBPyConnection) -> dict:
    """Re-index the posts whose live version is not the one indexed; drop the posts gone, on the
    load's connection ``con``, inside its transaction. Returns the counts.

    Each chunk is read through a view and its counts go to a Parquet file on local disk, sorted
    into ``search_grams`` :data:`SORTED_CHUNKS` files at a time: DuckDB keeps every version of a
    temp table replaced inside a transaction until it ends, so a temp table per chunk would hold
    every text and bigram count of a first load until the commit."""
    x: Execute = con.execute
    started = time.monotonic()
    x("""
        CREATE OR REPLACE TEMP TABLE search_todo AS
        SELECT post_id FROM articles a
        WHERE a.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.post_id = a.post_id AND d.version = a.version)
        UNION
        SELECT d.post_id FROM search_docs d
        WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.post_id = d.post_id AND a.deleted_at IS NULL
                          AND a.version = d.version)""")
    (todo,) = x("SELECT count(*) FROM search_todo").fetchone()
    chunks = []
    in_place = _edited_in_place(x) if todo else 0
    if todo > in_place:
        # a post not in search_docs (a new one) has no rows: the delete, a scan of the whole
        # table, runs only for posts indexed before
        (indexed_before,) = x(
            "SELECT EXISTS (SELECT 1 FROM search_docs WHERE post_id IN (SELECT post_id FROM search_todo))"
        ).fetchone()
        if indexed_before:
            x("DELETE FROM search_grams WHERE post_id IN (SELECT post_id FROM search_todo)")
            x("DELETE FROM search_docs WHERE post_id IN (SELECT post_id FROM search_todo)")
        chunks = _chunks(x, CHUNK_CHARS)
        x("""CREATE OR REPLACE TEMP VIEW search_chunk AS
             SELECT a.post_id, a.title, a.body_text FROM articles a
             WHERE a.rowid BETWEEN getvariable('search_first') AND getvariable('search_last')
               AND a.post_id IN (SELECT post_id FROM search_live WHERE chunk = getvariable('search_chunk'))""")
        with tempfile.TemporaryDirectory(prefix="news-etl-search-") as work:
            counted: list[str] = []
            for i, (chunk, first, last) in enumerate(chunks, 1):
                for name, value in (("search_first", first), ("search_last", last), ("search_chunk", chunk)):
                    x("SET VARIABLE " + name + " = ?", [value])  # (fixed names)
                counted.append(os.path.join(work, f"counted-{i:05d}.parquet"))
                con.sql(
                    "SELECT gram, post_id, in_title, in_body FROM search_index_grams('search_chunk')"
                ).write_parquet(counted[-1], compression="uncompressed")
                if i % SORTED_CHUNKS == 0 or i == len(chunks):
                    x("INSERT INTO search_grams SELECT * FROM read_parquet(?) ORDER BY gram", [counted])
                    for path in counted:
                        os.remove(path)
                    counted = []
        x("DROP VIEW search_chunk")
        for name in ("search_first", "search_last", "search_chunk"):
            x("RESET VARIABLE " + name)
        x("DROP TABLE search_live")
        x(
            """INSERT INTO search_docs SELECT post_id, version, title_chars, body_chars FROM search_index_docs('search_todo')"""
        )
    if todo:
        log.info(
            "search index: %d posts re-indexed in %d chunks (%d of them edited or gone, in place), %.2fs",
            todo,
            len(chunks),
            in_place,
            time.monotonic() - started,
        )
    x("DROP TABLE search_todo")
    return {"reindexed": todo, "chunks": len(chunks), "in_place": in_place}


#: A post's characters as a chunk counts them: its title's and its text's (``article_metrics``),
#: of ``articles a`` joined with ``article_metrics m`` (fixed text, joined into SQL).
_POST_CHARS = "length(a.title) + coalesce(m.chars, 0) + 1"

#: Each column of an index row: two rows are the same when all are (fixed text, joined into SQL).
_SAME_ROW = "n.gram = o.gram AND n.post_id = o.post_id AND n.in_title = o.in_title AND n.in_body = o.in_body"


def _edited_in_place(x: Execute) -> int:
    """Re-index the posts of ``search_todo`` indexed before (edited, or gone) by the rows that
    differ, when their texts before and after each fit one chunk (:data:`CHUNK_CHARS`), and take
    them out of ``search_todo``. Returns how many posts.

    A post's rows lie across the table (sorted by gram), and DuckDB holds a delete mark for every
    row of each 2,048-row vector a delete touches until the commit (16 KB a vector): deleting all
    the rows of 98 edited posts on 100,000 touched 31,679 vectors, 500 MB. An edit (a correction,
    a figure updated) changes a few of its post's bigram counts, and only those rows are deleted
    and added; the rows kept are the ones a fresh index has, so the index is the same."""
    (posts, before, after) = x(
        "SELECT count(*), coalesce(sum(d.title_chars + d.body_chars), 0), coalesce(sum(" + _POST_CHARS + "), 0) "
        """FROM search_docs d
           LEFT JOIN articles a ON a.post_id = d.post_id AND a.deleted_at IS NULL
           LEFT JOIN article_metrics m ON m.post_id = a.post_id
           WHERE d.post_id IN (SELECT post_id FROM search_todo)"""
    ).fetchone()
    if not posts or max(before, after) > CHUNK_CHARS:
        return 0
    x(
        "CREATE OR REPLACE TEMP TABLE search_edited AS SELECT post_id FROM search_docs WHERE post_id IN (SELECT post_id FROM search_todo)"
    )
    x("""CREATE OR REPLACE TEMP TABLE search_edited_texts AS
         SELECT a.post_id, a.title, a.body_text FROM articles a
         WHERE a.deleted_at IS NULL AND a.post_id IN (SELECT post_id FROM search_edited)""")
    x("""CREATE OR REPLACE TEMP TABLE search_old AS
         SELECT rowid AS rid, gram, post_id, in_title, in_body FROM search_grams
         WHERE post_id IN (SELECT post_id FROM search_edited)""")
    x("CREATE OR REPLACE TEMP TABLE search_new AS SELECT * FROM search_index_grams('search_edited_texts')")
    x(
        "DELETE FROM search_grams WHERE rowid IN (SELECT o.rid FROM search_old o WHERE NOT EXISTS "
        "(SELECT 1 FROM search_new n WHERE " + _SAME_ROW + "))"
    )
    x(
        "INSERT INTO search_grams SELECT n.gram, n.post_id, n.in_title, n.in_body FROM search_new n "
        "WHERE NOT EXISTS (SELECT 1 FROM search_old o WHERE " + _SAME_ROW + ") ORDER BY n.gram"
    )
    x("DELETE FROM search_docs WHERE post_id IN (SELECT post_id FROM search_edited)")
    x(
        "INSERT INTO search_docs SELECT post_id, version, title_chars, body_chars FROM search_index_docs('search_edited')"
    )
    x("DELETE FROM search_todo WHERE post_id IN (SELECT post_id FROM search_edited)")
    for table in ("search_old", "search_new", "search_edited_texts", "search_edited"):
        x("DROP TABLE " + table)  # (fixed names)
    return posts


def _chunks(x: Execute, chunk_chars: int) -> list[tuple[int, int, int]]:
    """The live posts of ``search_todo`` in the order of ``articles`` (temp table ``search_live``),
    cut into chunks of about ``chunk_chars`` characters (their text's, from ``article_metrics``, and
    their title's); (chunk, first row, last row of ``articles``) of each chunk."""
    x(
        """
        CREATE OR REPLACE TEMP TABLE search_live AS
        SELECT post_id, rid, (sum(chars) OVER (ORDER BY rid) - chars) // ? AS chunk FROM (
            SELECT a.post_id, a.rowid AS rid, """
        + _POST_CHARS
        + """ AS chars
            FROM articles a LEFT JOIN article_metrics m ON m.post_id = a.post_id
            WHERE a.deleted_at IS NULL AND a.post_id IN (SELECT post_id FROM search_todo))""",
        [chunk_chars],
    )
    return x("SELECT chunk, min(rid), max(rid) FROM search_live GROUP BY chunk ORDER BY chunk").fetchall()
