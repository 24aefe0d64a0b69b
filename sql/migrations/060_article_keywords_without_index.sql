-- 060: article_keywords without a primary-key index. The table holds about ten rows an article
-- (ten million at a million posts), and DuckDB keeps the index of a PRIMARY KEY in memory while
-- a transaction adds to it and cannot spill it: the biggest part of what a first load of a big
-- site held until it committed, and a third of its insert time. The load writes the keywords of
-- an article only after deleting its old ones, and checks once, before it commits, that no
-- (post_id, rank) of the articles it wrote appears twice (news_etl/warehouse/load.py): the same
-- key, checked in bulk instead of row by row. The table is rebuilt once, its rows kept.

CREATE TABLE article_keywords_060 (
    post_id  VARCHAR NOT NULL,
    version  INTEGER NOT NULL,
    rank     INTEGER NOT NULL,
    keyword  VARCHAR NOT NULL,
    count    INTEGER NOT NULL,
    weight   DOUBLE NOT NULL,
    run_id   VARCHAR NOT NULL
);
INSERT INTO article_keywords_060 SELECT post_id, version, rank, keyword, count, weight, run_id FROM article_keywords;
DROP TABLE article_keywords;
ALTER TABLE article_keywords_060 RENAME TO article_keywords;

COMMENT ON TABLE article_keywords IS 'The top keywords of each article''s current version (at most 10), best first; one row per (post_id, rank), checked by the load.';
COMMENT ON COLUMN article_keywords.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_keywords.version IS 'The version the keywords were computed on (articles.version).';
COMMENT ON COLUMN article_keywords.rank IS '1 for the article''s strongest keyword, 2 for the next, …';
COMMENT ON COLUMN article_keywords.keyword IS 'A word of the title or body (rjieba segmentation; nouns, names, abbreviations, Latin tokens; stop words removed).';
COMMENT ON COLUMN article_keywords.count IS 'How often the word occurs in the title and the body.';
COMMENT ON COLUMN article_keywords.weight IS 'The word''s share of all counted words of the article (0..1); an occurrence in the title counts 3 times.';
COMMENT ON COLUMN article_keywords.run_id IS 'The run that loaded them.';
