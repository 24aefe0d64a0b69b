-- 011: publishers. articles.publisher is who wrote the post (the newspaper or agency),
-- apart from the channel it came through (articles.outlet). Names are normalised
-- through publisher_names, refreshed from sql/seeds/publishers.csv by every load.

ALTER TABLE articles ADD COLUMN publisher VARCHAR;
COMMENT ON COLUMN articles.publisher IS 'Who wrote the post, normalised (publisher_names): the credit when there is one, else the outlet when it is a publisher; NULL when unknown (a channel''s post without credit). A name not in publisher_names yet is kept as written (publishers_unmapped lists them).';

CREATE TABLE IF NOT EXISTS publisher_names (
    name      VARCHAR PRIMARY KEY,
    publisher VARCHAR,
    note      VARCHAR
);
COMMENT ON TABLE publisher_names IS 'Names of publishers as posts write them (credits, outlets) → one normalised publisher; a copy of sql/seeds/publishers.csv, refreshed by every load.';
COMMENT ON COLUMN publisher_names.name IS 'A name as written in a credit (（文章来源：X）) or an outlet.';
COMMENT ON COLUMN publisher_names.publisher IS 'The publisher it stands for; NULL: a channel that reposts others (东财滚动新闻), not a publisher.';
COMMENT ON COLUMN publisher_names.note IS 'Why, where it is not obvious.';

CREATE OR REPLACE VIEW publishers_unmapped AS
SELECT coalesce(a.credit, a.outlet) AS name,
       CASE WHEN a.credit IS NOT NULL THEN 'credit' ELSE 'outlet' END AS found_in,
       count(*) AS articles, min(a.published_date) AS first_day, max(a.published_date) AS last_day
FROM articles a
WHERE a.deleted_at IS NULL AND coalesce(a.credit, a.outlet) IS NOT NULL
  AND coalesce(a.credit, a.outlet) NOT IN (SELECT name FROM publisher_names)
GROUP BY ALL;
COMMENT ON VIEW publishers_unmapped IS 'Credits and outlets of live articles that sql/seeds/publishers.csv does not know yet: add them there to normalise them.';
COMMENT ON COLUMN publishers_unmapped.name IS 'The name as written.';
COMMENT ON COLUMN publishers_unmapped.found_in IS 'credit or outlet.';
COMMENT ON COLUMN publishers_unmapped.articles IS 'Live articles with that name.';
COMMENT ON COLUMN publishers_unmapped.first_day IS 'First publication day with it.';
COMMENT ON COLUMN publishers_unmapped.last_day IS 'Last publication day with it.';
