-- 040: full-text search in plain SQL, readable by DuckDB 1.x clients (no extension).
--
-- The index: every character of a live post's title and text with the character after it
-- (a bigram; 0 when a space or the end follows), one row per distinct bigram and post.
-- A word of two or more characters can only be in a post that has all its bigrams; a word of
-- one character only in a post with a bigram it starts. search(q) finds those posts in the
-- index, checks each word as written in the title and text of those posts only, and ranks them
-- with BM25 (an occurrence in the title counts three times). The load keeps the index for the
-- posts whose live version is not the one indexed (news_etl/warehouse/search_index.py); this
-- migration builds it for the posts already loaded.

CREATE TABLE IF NOT EXISTS search_grams (
    gram     BIGINT NOT NULL,
    post_id  VARCHAR NOT NULL,
    in_title INTEGER NOT NULL,
    in_body  INTEGER NOT NULL
);
COMMENT ON TABLE search_grams IS 'Internal: the search index. One row per live post and character bigram of its title or text, with how often it occurs in each (kept by the load, sorted by gram); search(q) reads it.';
COMMENT ON COLUMN search_grams.gram IS 'A character''s code point × 2^21 + the next character''s (0 when a space, a line break or the end follows).';
COMMENT ON COLUMN search_grams.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN search_grams.in_title IS 'Occurrences in the title.';
COMMENT ON COLUMN search_grams.in_body IS 'Occurrences in the text (articles.body_text).';

CREATE TABLE IF NOT EXISTS search_docs (
    post_id     VARCHAR PRIMARY KEY,
    version     INTEGER NOT NULL,
    title_chars INTEGER NOT NULL,
    body_chars  INTEGER NOT NULL
);
COMMENT ON TABLE search_docs IS 'Internal: the posts in the search index, with the lengths BM25 weighs matches by.';
COMMENT ON COLUMN search_docs.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN search_docs.version IS 'The version indexed (articles.version): a load re-indexes a post whose live version differs.';
COMMENT ON COLUMN search_docs.title_chars IS 'Characters of its title, spaces not counted.';
COMMENT ON COLUMN search_docs.body_chars IS 'Characters of its text (articles.body_text), spaces and line breaks not counted.';

-- What the index holds for the live posts among ``posts`` (the name of a table with a post_id
-- column): the load passes the posts it re-indexes, this migration every article. The spaces
-- are the ones search(q) splits words at: tab, line feed, carriage return, space, no-break
-- space, ideographic space.
CREATE OR REPLACE MACRO search_index_grams(posts) AS TABLE
WITH texts AS MATERIALIZED (
    SELECT a.post_id, a.title, a.body_text FROM articles a
    WHERE a.deleted_at IS NULL AND a.post_id IN (SELECT p.post_id FROM query_table(posts) p)
),
chars AS (
    SELECT post_id, in_title, unicode(unnest(cs)) AS c, unicode(unnest(list_append(cs[2:], ' '))) AS nxt
    FROM (SELECT post_id, true AS in_title, string_split(title, '') AS cs FROM texts
          UNION ALL
          SELECT post_id, false, string_split(body_text, '') FROM texts)
)
SELECT CAST(c AS BIGINT) * 2097152 + CASE WHEN nxt IN (9, 10, 13, 32, 160, 12288) THEN 0 ELSE nxt END AS gram,
       post_id,
       CAST(count(*) FILTER (WHERE in_title) AS INTEGER) AS in_title,
       CAST(count(*) FILTER (WHERE NOT in_title) AS INTEGER) AS in_body
FROM chars
WHERE c NOT IN (9, 10, 13, 32, 160, 12288)
GROUP BY ALL;

CREATE OR REPLACE MACRO search_index_docs(posts) AS TABLE
SELECT a.post_id, a.version,
       CAST(length(regexp_replace(a.title, '[\t\n\r \x{00A0}\x{3000}]', '', 'g')) AS INTEGER) AS title_chars,
       CAST(length(regexp_replace(a.body_text, '[\t\n\r \x{00A0}\x{3000}]', '', 'g')) AS INTEGER) AS body_chars
FROM articles a
WHERE a.deleted_at IS NULL AND a.post_id IN (SELECT p.post_id FROM query_table(posts) p);

INSERT INTO search_grams SELECT gram, post_id, in_title, in_body FROM search_index_grams('articles') ORDER BY gram;
INSERT INTO search_docs SELECT post_id, version, title_chars, body_chars FROM search_index_docs('articles');

-- search(q): the live posts whose title or text contains every word of q (words are separated
-- by spaces), best first. Score: BM25 over title and text (k1 = 1.2, b = 0.75), an occurrence in
-- the title counting three times; a word's occurrences and rarity (idf) are read from the index
-- (for a word of three characters or more: those of its rarest bigram), and a word of three
-- characters or more is then checked as written in the title and text of the posts found.
CREATE OR REPLACE MACRO search(q) AS TABLE
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
texts AS MATERIALIZED (
    SELECT a.post_id, a.story_id, a.title, a.published_at, a.body_text, c.score
    FROM articles a JOIN candidates c ON c.post_id = a.post_id
    WHERE a.deleted_at IS NULL
),
checked AS (      -- each word of three characters or more, as written
    SELECT t.post_id, count(*) AS long_words FROM texts t, words w
    WHERE w.n >= 3 AND (contains(t.title, w.w) OR contains(t.body_text, w.w))
    GROUP BY t.post_id
),
found AS (
    SELECT t.*, (SELECT min(nullif(instr(t.body_text, w.w), 0)) FROM words w) AS first_match
    FROM texts t, counts c
    WHERE c.long_words = 0 OR t.post_id IN (SELECT k.post_id FROM checked k, counts n WHERE k.long_words = n.long_words)
)
SELECT post_id, story_id, title, published_at, round(score, 4) AS score,
       CASE WHEN first_match > 21 THEN '…' ELSE '' END
       || replace(substring(body_text, greatest(coalesce(first_match, 1) - 20, 1), 60), chr(10), ' ')
       || CASE WHEN length(body_text) >= greatest(coalesce(first_match, 1) - 20, 1) + 60 THEN '…' ELSE '' END
       AS snippet
FROM found
ORDER BY score DESC, published_at DESC, post_id;
