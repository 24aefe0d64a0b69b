-- 042: search(q, top := N): the best N matches, whose texts alone are read for their snippets
-- (search(q) still returns every match). The posts found are ranked from the index first; a
-- snippet is cut only for the posts returned, so a common word answers as fast as a rare one.
-- Same words, same checks, same score and order as 040's search(q).

CREATE OR REPLACE MACRO search(q, top := NULL) AS TABLE
WITH words AS MATERIALIZED (
    SELECT w, CAST(length(w) AS INTEGER) AS n
    FROM (SELECT DISTINCT unnest(regexp_split_to_array(CAST(q AS VARCHAR), '[\t\n\r \x{00A0}\x{3000}]+')) AS w)
    WHERE w <> ''
),
counts AS MATERIALIZED (
    SELECT count(*) AS words, count(*) FILTER (WHERE n >= 3) AS long_words FROM words
),
word_grams AS MATERIALIZED (   -- n ≥ 2: the word's bigrams; n = 1: the first of the grams its character starts
    SELECT DISTINCT w, n, unicode(substring(w, i, 1))::BIGINT * 2097152
                          + CASE WHEN n = 1 THEN 0 ELSE unicode(substring(w, i + 1, 1)) END AS lo
    FROM words, range(1, greatest(n - 1, 1) + 1) AS r(i)
),
grams_per_word AS MATERIALIZED (SELECT w, count(*) AS grams FROM word_grams GROUP BY w),
hits AS (         -- per word, gram and post: its occurrences in title and text
    SELECT g.w, g.lo, p.post_id, p.in_title, p.in_body
    FROM word_grams g JOIN search_grams p ON p.gram = g.lo WHERE g.n > 1
    UNION ALL
    SELECT g.w, g.lo, p.post_id, sum(p.in_title), sum(p.in_body)
    FROM word_grams g JOIN search_grams p ON p.gram BETWEEN g.lo AND g.lo + 2097151 WHERE g.n = 1
    GROUP BY g.w, g.lo, p.post_id
),
word_posts AS MATERIALIZED (   -- posts with every gram of a word; the word's occurrences: its rarest gram's
    SELECT h.w, h.post_id, min(h.in_title) AS in_title, min(h.in_body) AS in_body, count(*) AS grams
    FROM hits h GROUP BY h.w, h.post_id
),
matched AS MATERIALIZED (
    SELECT p.* FROM word_posts p JOIN grams_per_word g ON g.w = p.w AND g.grams = p.grams
),
df AS (SELECT w, count(*) AS df FROM matched GROUP BY w),
stats AS (
    SELECT count(*) AS docs, greatest(avg(title_chars), 1) AS avg_title, greatest(avg(body_chars), 1) AS avg_body
    FROM search_docs
),
scored AS MATERIALIZED (       -- the posts with every word, scored
    SELECT p.post_id,
           sum(ln(1 + (s.docs - f.df + 0.5) / (f.df + 0.5))
               * (3 * p.in_title / (0.25 + 0.75 * d.title_chars / s.avg_title)
                  + p.in_body / (0.25 + 0.75 * d.body_chars / s.avg_body))
               / (1.2 + 3 * p.in_title / (0.25 + 0.75 * d.title_chars / s.avg_title)
                  + p.in_body / (0.25 + 0.75 * d.body_chars / s.avg_body))) AS score,
           count(*) AS words
    FROM matched p JOIN df f ON f.w = p.w JOIN search_docs d ON d.post_id = p.post_id, stats s
    GROUP BY p.post_id
),
candidates AS MATERIALIZED (
    SELECT s.post_id, s.score FROM scored s, counts c WHERE s.words = c.words
),
checked AS (      -- each word of three characters or more, as written (read only when q has one)
    SELECT a.post_id, count(*) AS long_words
    FROM articles a JOIN candidates c ON c.post_id = a.post_id, words w
    WHERE w.n >= 3 AND (contains(a.title, w.w) OR contains(a.body_text, w.w))
    GROUP BY a.post_id
),
passed AS MATERIALIZED (
    SELECT c.post_id, c.score, a.published_at
    FROM candidates c JOIN articles a ON a.post_id = c.post_id, counts n
    WHERE a.deleted_at IS NULL
      AND (n.long_words = 0 OR c.post_id IN (SELECT k.post_id FROM checked k, counts m WHERE k.long_words = m.long_words))
),
best AS MATERIALIZED (    -- the best `top` (all when top is NULL): only their texts are read for the snippet
    SELECT post_id, score, published_at FROM passed
    ORDER BY score DESC, published_at DESC, post_id
    LIMIT coalesce(CAST(top AS BIGINT), 9223372036854775807)
),
found AS (
    SELECT b.post_id, b.score, b.published_at, a.story_id, a.title, a.body_text,
           (SELECT min(nullif(instr(a.body_text, w.w), 0)) FROM words w) AS first_match
    FROM best b JOIN articles a ON a.post_id = b.post_id
)
SELECT post_id, story_id, title, published_at, round(score, 4) AS score,
       CASE WHEN first_match > 21 THEN '…' ELSE '' END
       || replace(substring(body_text, greatest(coalesce(first_match, 1) - 20, 1), 60), chr(10), ' ')
       || CASE WHEN length(body_text) >= greatest(coalesce(first_match, 1) - 20, 1) + 60 THEN '…' ELSE '' END
       AS snippet
FROM found
ORDER BY score DESC, published_at DESC, post_id;
