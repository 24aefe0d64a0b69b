"""The search index of ``search(q)`` (sql/migrations/040_search.sql), kept by the load.

The index holds, for every live post, the distinct character bigrams of its title and text
(``search_grams``) and its lengths (``search_docs``, with the version indexed). Each load
re-indexes the posts whose version is not the one indexed and drops the posts no longer
live, whatever wrote them (a load, a deletion, a retired source): the index is a function of
the live posts. Bulk SQL over the posts that changed only; nothing when nothing changed.

Lookups read ``search_grams`` through DuckDB's zone maps (min/max of each segment), which skip
what they can only while the table is sorted by gram. Each load appends its rows sorted, but
the appended segments span every gram; when a lookup would read more than
:data:`MAX_OVERLAP` segments for one gram, the load writes the table again in gram order.
"""

from __future__ import annotations

from news_etl.model import Execute

#: Re-sort ``search_grams`` when the segments of its gram column overlap more than this many deep
#: on average (a sorted table: 1 to 3; at 11, a lookup costs a fifth more CPU than sorted).
MAX_OVERLAP = 32


def update(x: Execute) -> dict:
    """Re-index the posts whose live version is not the one indexed; drop the posts gone.
    ``x`` executes SQL on the load's connection, inside its transaction. Returns the counts."""
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
    resorted = False
    if todo:
        x("DELETE FROM search_grams WHERE post_id IN (SELECT post_id FROM search_todo)")
        x("DELETE FROM search_docs WHERE post_id IN (SELECT post_id FROM search_todo)")
        x(
            """INSERT INTO search_grams SELECT gram, post_id, in_title, in_body FROM search_index_grams('search_todo') ORDER BY gram"""
        )
        x(
            """INSERT INTO search_docs SELECT post_id, version, title_chars, body_chars FROM search_index_docs('search_todo')"""
        )
        if overlap(x) > MAX_OVERLAP:
            resort(x)
            resorted = True
    x("DROP TABLE search_todo")
    return {"reindexed": todo, "resorted": resorted}


def overlap(x: Execute) -> float:
    """How many segments of ``search_grams.gram`` a lookup of one gram reads, on average over the
    segments: for each segment, the segments whose min..max range meets its own (from the
    table's storage statistics, as last checkpointed)."""
    (depth,) = x(r"""
        WITH s AS (
            SELECT CAST(regexp_extract(CAST(stats AS VARCHAR), '(?i)min\W*(-?\d+)', 1) AS BIGINT) AS lo,
                   CAST(regexp_extract(CAST(stats AS VARCHAR), '(?i)max\W*(-?\d+)', 1) AS BIGINT) AS hi
            FROM pragma_storage_info('search_grams')
            WHERE column_name = 'gram' AND segment_type <> 'VALIDITY' AND CAST(stats AS VARCHAR) ILIKE '%min%'
        )
        SELECT coalesce(avg((SELECT count(*) FROM s b WHERE b.lo <= a.hi AND b.hi >= a.lo)), 0) FROM s a""").fetchone()
    return float(depth)


def resort(x: Execute) -> None:
    """Write ``search_grams`` again in gram order (same rows)."""
    x("CREATE OR REPLACE TEMP TABLE search_sorted AS SELECT * FROM search_grams ORDER BY gram")
    x("DELETE FROM search_grams")
    x("INSERT INTO search_grams SELECT * FROM search_sorted ORDER BY gram")
    x("DROP TABLE search_sorted")
