-- 010: stories. Every copy of one story (the site's dual X / NWX posts, near-identical
-- texts from any outlet within three days) gets the same articles.story_id
-- (news_etl/stories.py); story-level counts beside the post-level ones.

ALTER TABLE articles ADD COLUMN story_id VARCHAR;
COMMENT ON COLUMN articles.story_id IS 'The story this post is a copy of: the post id (without NW) of the story''s earliest post. Copies: the site''s dual X/NWX posts and near-identical texts within three days (story_links).';

CREATE TABLE IF NOT EXISTS story_signatures (
    post_id VARCHAR PRIMARY KEY,
    version INTEGER NOT NULL,
    minhash BLOB NOT NULL
);
COMMENT ON TABLE story_signatures IS 'Internal: the MinHash signature of each article''s current text (64 × 32-bit, little-endian), from which each load rebuilds its LSH index of the posts within three days.';
COMMENT ON COLUMN story_signatures.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN story_signatures.version IS 'The version the signature was computed on (articles.version).';
COMMENT ON COLUMN story_signatures.minhash IS 'MinHash of the character 5-grams of title and body (news_etl/stories.py signature()).';

CREATE TABLE IF NOT EXISTS story_links (
    post_a     VARCHAR NOT NULL,
    post_b     VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    similarity DOUBLE NOT NULL,
    run_id     VARCHAR NOT NULL,
    PRIMARY KEY (post_a, post_b)
);
COMMENT ON TABLE story_links IS 'Why posts share a story: one row per pair of copies (post_a < post_b). A story is a connected group of linked posts.';
COMMENT ON COLUMN story_links.post_a IS 'One post (articles.post_id), the smaller id.';
COMMENT ON COLUMN story_links.post_b IS 'The other post (articles.post_id).';
COMMENT ON COLUMN story_links.kind IS 'copy: the site''s dual posts X and NWX (whatever their texts); text: near-identical texts published at most three days apart.';
COMMENT ON COLUMN story_links.similarity IS 'Estimated Jaccard similarity of the two texts'' character 5-grams (0..1; 1 for copy links).';
COMMENT ON COLUMN story_links.run_id IS 'The run that found the link.';

ALTER TABLE daily_metrics ADD COLUMN stories INTEGER;
COMMENT ON COLUMN daily_metrics.stories IS 'Distinct stories among the live articles of the row (copies counted once); do not sum across outlets: use live_articles or daily_totals for a day''s stories.';

ALTER TABLE keyword_daily ADD COLUMN stories INTEGER;
COMMENT ON COLUMN keyword_daily.stories IS 'Distinct stories among those articles (copies of one story counted once).';
