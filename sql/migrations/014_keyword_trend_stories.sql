-- 014: the keyword trend counts stories first: a story copied by two outlets is one story, not a trend.

CREATE OR REPLACE VIEW keyword_trend AS
WITH ranked AS (
    SELECT day, keyword, articles, stories, outlets, weight_sum,
           rank() OVER (PARTITION BY day ORDER BY stories DESC, articles DESC, outlets DESC, weight_sum DESC) AS rank
    FROM keyword_daily
),
windowed AS (
    SELECT r.*,
           (SELECT p.rank FROM ranked p WHERE p.keyword = r.keyword AND p.day = r.day - 1) AS rank_day_before,
           (SELECT coalesce(sum(k.articles), 0)::BIGINT FROM keyword_daily k
             WHERE k.keyword = r.keyword AND k.day BETWEEN r.day - 6 AND r.day) AS articles_7d,
           (SELECT coalesce(sum(k.articles), 0)::BIGINT FROM keyword_daily k
             WHERE k.keyword = r.keyword AND k.day BETWEEN r.day - 13 AND r.day - 7) AS articles_prev_7d,
           (SELECT coalesce(sum(k.stories), 0)::BIGINT FROM keyword_daily k
             WHERE k.keyword = r.keyword AND k.day BETWEEN r.day - 6 AND r.day) AS stories_7d,
           (SELECT count(DISTINCT a.outlet) FROM article_keywords ak JOIN articles a USING (post_id)
             WHERE ak.keyword = r.keyword AND a.deleted_at IS NULL
               AND a.published_date BETWEEN r.day - 6 AND r.day) AS outlets_7d
    FROM ranked r
)
SELECT day, keyword, rank, articles, outlets, weight_sum, rank_day_before,
       rank_day_before - rank AS rank_change,
       articles_7d, articles_prev_7d,
       CASE WHEN articles_prev_7d > 0 THEN round(articles_7d / articles_prev_7d - 1, 4) END AS growth_7d,
       outlets_7d, stories, stories_7d
FROM windowed;
COMMENT ON VIEW keyword_trend IS 'Keywords per day: rank that day (by stories, then articles), rank change against the day before, 7-day growth, outlets.';
COMMENT ON COLUMN keyword_trend.day IS 'Site-local publication day.';
COMMENT ON COLUMN keyword_trend.keyword IS 'The keyword.';
COMMENT ON COLUMN keyword_trend.rank IS 'Rank that day by stories, then articles, outlets, weight (1 = most stories; ties share a rank).';
COMMENT ON COLUMN keyword_trend.articles IS 'Live articles of the day with the keyword.';
COMMENT ON COLUMN keyword_trend.outlets IS 'Outlets that used the keyword that day.';
COMMENT ON COLUMN keyword_trend.weight_sum IS 'Sum of the keyword''s weights that day.';
COMMENT ON COLUMN keyword_trend.rank_day_before IS 'Its rank the calendar day before (NULL: absent that day).';
COMMENT ON COLUMN keyword_trend.rank_change IS 'rank_day_before - rank: positive = climbed, NULL = new that day.';
COMMENT ON COLUMN keyword_trend.articles_7d IS 'Articles with the keyword in the 7 days ending that day.';
COMMENT ON COLUMN keyword_trend.articles_prev_7d IS 'Articles with the keyword in the 7 days before those.';
COMMENT ON COLUMN keyword_trend.growth_7d IS 'articles_7d / articles_prev_7d - 1 (NULL when the week before had none).';
COMMENT ON COLUMN keyword_trend.outlets_7d IS 'Outlets that used the keyword in the 7 days ending that day.';
COMMENT ON COLUMN keyword_trend.stories IS 'Distinct stories of the day with the keyword (copies counted once).';
COMMENT ON COLUMN keyword_trend.stories_7d IS 'Stories with the keyword in the 7 days ending that day (summed per day).';
