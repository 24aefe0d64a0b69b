-- 020: names are data with provenance. The names keywords keep whole come from the live posts
-- (the quote links the site made that look like names) and the reviewed seed sql/seeds/names.csv,
-- never from history: a name no live post supports is gone (news_etl/meaning/names.py).
-- security_names becomes a function of the live posts too. An article records a version only
-- for a change an analyst can see (articles.visible_hash).

CREATE TABLE IF NOT EXISTS article_names (
    post_id VARCHAR NOT NULL,
    name    VARCHAR NOT NULL,
    PRIMARY KEY (post_id, name)
);
COMMENT ON TABLE article_names IS 'Provenance of keyword_names: the names each article''s quote links support (a link text that looks like a name: 2 to 16 characters, not a ticker, starting and ending on a word boundary of its text as rjieba cuts it without learned names). Rows of deleted articles stay; only live articles count.';
COMMENT ON COLUMN article_names.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_names.name IS 'A name its quote links show.';

CREATE TABLE IF NOT EXISTS article_names_used (
    post_id VARCHAR NOT NULL,
    name    VARCHAR NOT NULL,
    PRIMARY KEY (post_id, name)
);
COMMENT ON TABLE article_names_used IS 'The names kept whole in each article''s keywords (matched leftmost-longest in its title and text): a load derives again the keywords of the articles whose names changed.';
COMMENT ON COLUMN article_names_used.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_names_used.name IS 'A name of keyword_names matched in its title or text.';

CREATE TABLE IF NOT EXISTS keyword_names (
    name       VARCHAR PRIMARY KEY,
    posts      INTEGER NOT NULL,
    seed       BOOLEAN NOT NULL,
    first_post VARCHAR
);
COMMENT ON TABLE keyword_names IS 'The names keywords keep whole: every name a live article''s quote links support (article_names) or the reviewed seed sql/seeds/names.csv lists; derived again by every load, so it is a function of the live posts.';
COMMENT ON COLUMN keyword_names.name IS 'The name.';
COMMENT ON COLUMN keyword_names.posts IS 'Live articles whose links support it (0 for a seed name no post links).';
COMMENT ON COLUMN keyword_names.seed IS 'Listed in sql/seeds/names.csv.';
COMMENT ON COLUMN keyword_names.first_post IS 'The smallest post id of those articles (to look one up).';

COMMENT ON TABLE security_names IS 'Every name the quote links of the live articles show for a security, derived again by every load (a name no live article shows is gone).';
COMMENT ON COLUMN security_names.first_day IS 'Publication day of the earliest live article that shows the name.';
COMMENT ON COLUMN security_names.run_id IS 'The run that last derived it.';

ALTER TABLE articles ADD COLUMN IF NOT EXISTS visible_hash VARCHAR;
COMMENT ON COLUMN articles.visible_hash IS 'A digest of every field an analyst sees of the article (its columns, metrics, securities): a new file whose digest is equal records no version (content_hash still moves).';
