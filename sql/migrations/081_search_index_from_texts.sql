-- 081: search_index_grams(texts) reads the titles and texts it is given (a table with post_id,
-- title and body_text) instead of looking them up in articles by post id. The load hands it the
-- posts to index a chunk at a time, each chunk read from the rows of articles it lies in; looking
-- each chunk up by post id read every text of articles once per chunk, which grew with the square
-- of a first load's size. The grams are the same (040): a character and the one after it, 0 when
-- a space or the end follows.

CREATE OR REPLACE MACRO search_index_grams(texts) AS TABLE
WITH parts AS (   -- each text read once: its title and its body, one row each
    SELECT t.post_id, unnest([true, false]) AS in_title, unnest([t.title, t.body_text]) AS part
    FROM query_table(texts) t
),
chars AS (
    SELECT post_id, in_title, unicode(unnest(cs)) AS c, unicode(unnest(list_append(cs[2:], ' '))) AS nxt
    FROM (SELECT post_id, in_title, string_split(part, '') AS cs FROM parts)
)
SELECT CAST(c AS BIGINT) * 2097152 + CASE WHEN nxt IN (9, 10, 13, 32, 160, 12288) THEN 0 ELSE nxt END AS gram,
       post_id,
       CAST(count(*) FILTER (WHERE in_title) AS INTEGER) AS in_title,
       CAST(count(*) FILTER (WHERE NOT in_title) AS INTEGER) AS in_body
FROM chars
WHERE c NOT IN (9, 10, 13, 32, 160, 12288)
GROUP BY ALL;
