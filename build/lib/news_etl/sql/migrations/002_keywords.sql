-- 002: Chinese keywords per article, per day, and their trend.
-- Keywords are computed in the transform (news_etl/keywords.py: rjieba + the
-- stop-word list in the repo) and loaded with the article, in the load's one
-- transaction; keyword_daily is rebuilt for the days a run touched.

CREATE TABLE IF NOT EXISTS article_keywords (
    post_id  VARCHAR NOT NULL,
    version  INTEGER NOT NULL,
    rank     INTEGER NOT NULL,
    keyword  VARCHAR NOT NULL,
    count    INTEGER NOT NULL,
    weight   DOUBLE NOT NULL,
    run_id   VARCHAR NOT NULL,
    PRIMARY KEY (post_id, rank)
);
COMMENT ON TABLE article_keywords IS 'The top keywords of each article''s current version (at most 10), best first.';
COMMENT ON COLUMN article_keywords.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_keywords.version IS 'The version the keywords were computed on (articles.version).';
COMMENT ON COLUMN article_keywords.rank IS '1 for the article''s strongest keyword, 2 for the next, …';
COMMENT ON COLUMN article_keywords.keyword IS 'A word of the title or body (rjieba segmentation; nouns, names, abbreviations, Latin tokens; stop words removed).';
COMMENT ON COLUMN article_keywords.count IS 'How often the word occurs in the title and the body.';
COMMENT ON COLUMN article_keywords.weight IS 'The word''s share of all counted words of the article (0..1); an occurrence in the title counts 3 times.';
COMMENT ON COLUMN article_keywords.run_id IS 'The run that loaded them.';

CREATE TABLE IF NOT EXISTS keyword_daily (
    day         DATE NOT NULL,
    keyword     VARCHAR NOT NULL,
    articles    INTEGER NOT NULL,
    outlets     INTEGER NOT NULL,
    weight_sum  DOUBLE NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (day, keyword)
);
COMMENT ON TABLE keyword_daily IS 'Per site-local publication day × keyword: how many live articles have it among their top keywords; rebuilt for the days a run touched.';
COMMENT ON COLUMN keyword_daily.day IS 'Site-local publication day (articles.published_date).';
COMMENT ON COLUMN keyword_daily.keyword IS 'The keyword (article_keywords.keyword).';
COMMENT ON COLUMN keyword_daily.articles IS 'Live (not deleted) articles of the day with this keyword.';
COMMENT ON COLUMN keyword_daily.outlets IS 'Distinct outlets among those articles.';
COMMENT ON COLUMN keyword_daily.weight_sum IS 'Sum of the keyword''s weight in those articles (breaks ties between equal counts).';
COMMENT ON COLUMN keyword_daily.run_id IS 'The run that last rebuilt the row.';

-- The trend: each day's keywords ranked, against the day before and the week before.
CREATE OR REPLACE VIEW keyword_trend AS
WITH ranked AS (
    SELECT day, keyword, articles, outlets, weight_sum,
           rank() OVER (PARTITION BY day ORDER BY articles DESC, outlets DESC, weight_sum DESC) AS rank
    FROM keyword_daily
),
windowed AS (
    SELECT r.*,
           (SELECT p.rank FROM ranked p WHERE p.keyword = r.keyword AND p.day = r.day - 1) AS rank_day_before,
           (SELECT coalesce(sum(k.articles), 0)::BIGINT FROM keyword_daily k
             WHERE k.keyword = r.keyword AND k.day BETWEEN r.day - 6 AND r.day) AS articles_7d,
           (SELECT coalesce(sum(k.articles), 0)::BIGINT FROM keyword_daily k
             WHERE k.keyword = r.keyword AND k.day BETWEEN r.day - 13 AND r.day - 7) AS articles_prev_7d,
           (SELECT count(DISTINCT a.outlet) FROM article_keywords ak JOIN articles a USING (post_id)
             WHERE ak.keyword = r.keyword AND a.deleted_at IS NULL
               AND a.published_date BETWEEN r.day - 6 AND r.day) AS outlets_7d
    FROM ranked r
)
SELECT day, keyword, rank, articles, outlets, weight_sum, rank_day_before,
       rank_day_before - rank AS rank_change,
       articles_7d, articles_prev_7d,
       CASE WHEN articles_prev_7d > 0 THEN round(articles_7d / articles_prev_7d - 1, 4) END AS growth_7d,
       outlets_7d
FROM windowed;
COMMENT ON VIEW keyword_trend IS 'Keywords per day: rank that day, rank change against the day before, 7-day growth, outlets.';
COMMENT ON COLUMN keyword_trend.day IS 'Site-local publication day.';
COMMENT ON COLUMN keyword_trend.keyword IS 'The keyword.';
COMMENT ON COLUMN keyword_trend.rank IS 'Rank that day by articles, then outlets, then weight (1 = most articles; ties share a rank).';
COMMENT ON COLUMN keyword_trend.articles IS 'Live articles of the day with the keyword.';
COMMENT ON COLUMN keyword_trend.outlets IS 'Outlets that used the keyword that day.';
COMMENT ON COLUMN keyword_trend.weight_sum IS 'Sum of the keyword''s weights that day.';
COMMENT ON COLUMN keyword_trend.rank_day_before IS 'Its rank the calendar day before (NULL: absent that day).';
COMMENT ON COLUMN keyword_trend.rank_change IS 'rank_day_before - rank: positive = climbed, NULL = new that day.';
COMMENT ON COLUMN keyword_trend.articles_7d IS 'Articles with the keyword in the 7 days ending that day.';
COMMENT ON COLUMN keyword_trend.articles_prev_7d IS 'Articles with the keyword in the 7 days before those.';
COMMENT ON COLUMN keyword_trend.growth_7d IS 'articles_7d / articles_prev_7d - 1 (NULL when the week before had none).';
COMMENT ON COLUMN keyword_trend.outlets_7d IS 'Outlets that used the keyword in the 7 days ending that day.';
