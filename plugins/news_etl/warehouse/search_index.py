"""The search index of ``search(q)`` (sql/migrations/040_search.sql), kept by the load.

The index holds, for every live post, the distinct character bigrams of its title and text
(``search_grams``) and its lengths (``search_docs``, with the version indexed). Each load
re-indexes the posts whose version is not the one indexed and drops the posts no longer
live, whatever wrote them (a load, a deletion, a retired source): the index is a function of
the live posts. Bulk SQL over the posts that changed only; nothing when nothing changed.

Lookups read ``search_grams`` through DuckDB's zone maps (min/max of each segment): each load
appends its rows in gram order, :data:`CHUNK_POSTS` posts at a time, so a lookup reads a few
segments of each such chunk. The load never rewrites the whole table: on a 100,000-post
warehouse that rewrite ran the daily load out of its memory (a 63-million-row sort inside the
load's transaction), and one statement for a first load's 100,000 posts (87 million rows
grouped and sorted at once) ran it out of its 512 MB; so the index's cost stays with the posts
that changed, a chunk of them at a time.
"""

from __future__ import annotations

from news_etl.model import Execute

#: Posts whose bigrams one statement groups and sorts (about 4 million rows on the bench's site).
CHUNK_POSTS = 5000


def update(x: Execute) -> dict:
    """Re-index the posts whose live version is not the one indexed; drop the posts gone.
    ``x`` executes SQL on the load's connection, inside its transaction. Returns the counts."""
    x("""
        CREATE OR REPLACE TEMP TABLE search_todo AS
        SELECT post_id, row_number() OVER (ORDER BY post_id) AS n FROM (
        SELECT post_id FROM articles a
        WHERE a.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.post_id = a.post_id AND d.version = a.version)
        UNION
        SELECT d.post_id FROM search_docs d
        WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.post_id = d.post_id AND a.deleted_at IS NULL
                          AND a.version = d.version))""")
    (todo,) = x("SELECT count(*) FROM search_todo").fetchone()
    if todo:
        x("DELETE FROM search_grams WHERE post_id IN (SELECT post_id FROM search_todo)")
        x("DELETE FROM search_docs WHERE post_id IN (SELECT post_id FROM search_todo)")
        for start in range(0, todo, CHUNK_POSTS):
            x(
                "CREATE OR REPLACE TEMP TABLE search_chunk AS SELECT post_id FROM search_todo WHERE n > ? AND n <= ?",
                [start, start + CHUNK_POSTS],
            )
            x(
                """INSERT INTO search_grams SELECT gram, post_id, in_title, in_body FROM search_index_grams('search_chunk') ORDER BY gram"""
            )
        x("DROP TABLE search_chunk")
        x(
            """INSERT INTO search_docs SELECT post_id, version, title_chars, body_chars FROM search_index_docs('search_todo')"""
        )
    x("DROP TABLE search_todo")
    return {"reindexed": todo}
