-- 041: one row per story, and one word for one thing in the analysts' views.
--
-- The words (docs/analysts): a post comes through a *channel* (articles.outlet: the feed or
-- newspaper page) and is written by a *publisher*; its site-local day is *published_day*
-- (articles.published_date). Tables keep their columns; the views say channel and
-- published_day (keyword_trend keeps outlets and outlets_7d beside channels and channels_7d).

CREATE OR REPLACE VIEW stories AS
WITH copies AS (
    SELECT a.story_id, a.post_id, a.title, a.published_at, a.published_date, a.outlet, a.publisher,
           row_number() OVER (PARTITION BY a.story_id ORDER BY a.published_at, a.post_id) AS place
    FROM articles a
    WHERE a.deleted_at IS NULL AND a.story_id IS NOT NULL
),
securities AS (
    SELECT c.story_id,
           list({'market': s.market, 'code': s.code, 'name': s.name} ORDER BY s.market, s.code) AS securities
    FROM (SELECT c.story_id, x.market, x.code, min(x.name) AS name
          FROM copies c JOIN article_securities x ON x.post_id = c.post_id
          GROUP BY c.story_id, x.market, x.code) s
    JOIN (SELECT DISTINCT story_id FROM copies) c ON c.story_id = s.story_id
    GROUP BY c.story_id
),
keywords AS (
    SELECT story_id, list(keyword ORDER BY copies DESC, weight DESC, keyword) AS keywords
    FROM (SELECT c.story_id, k.keyword, count(*) AS copies, sum(k.weight::DECIMAL(18, 6)) AS weight
          FROM copies c JOIN article_keywords k ON k.post_id = c.post_id
          GROUP BY c.story_id, k.keyword)
    GROUP BY story_id
)
SELECT c.story_id,
       CAST(count(*) AS INTEGER) AS copies,
       any_value(c.title) FILTER (WHERE c.place = 1) AS title,
       min(c.published_at) AS first_published_at,
       max(c.published_at) AS last_published_at,
       any_value(c.published_date) FILTER (WHERE c.place = 1) AS published_day,
       coalesce(list(DISTINCT c.outlet ORDER BY c.outlet) FILTER (WHERE c.outlet IS NOT NULL), []) AS channels,
       coalesce(list(DISTINCT c.publisher ORDER BY c.publisher) FILTER (WHERE c.publisher IS NOT NULL), []) AS publishers,
       list(c.post_id ORDER BY c.place) AS post_ids,
       coalesce(any_value(s.securities), []) AS securities,
       coalesce(any_value(k.keywords), []) AS keywords
FROM copies c
LEFT JOIN securities s ON s.story_id = c.story_id
LEFT JOIN keywords k ON k.story_id = c.story_id
GROUP BY c.story_id;
COMMENT ON VIEW stories IS 'One row per story among the live posts: its copies, channels and publishers, first and last publication, the title of its earliest copy, and the securities and keywords of all its copies, each once.';
COMMENT ON COLUMN stories.story_id IS 'The story (articles.story_id): the post id (without NW) of its earliest post.';
COMMENT ON COLUMN stories.copies IS 'Live posts of the story.';
COMMENT ON COLUMN stories.title IS 'The title of its earliest live copy (earliest published_at, then the smallest post_id; live_articles.first_copy).';
COMMENT ON COLUMN stories.first_published_at IS 'When its first live copy was published.';
COMMENT ON COLUMN stories.last_published_at IS 'When its last live copy was published.';
COMMENT ON COLUMN stories.published_day IS 'Site-local (Asia/Shanghai) day of its earliest copy.';
COMMENT ON COLUMN stories.channels IS 'The channels its copies came through (articles.outlet), each once, sorted.';
COMMENT ON COLUMN stories.publishers IS 'Who wrote its copies (articles.publisher), each once, sorted; empty when none is named.';
COMMENT ON COLUMN stories.post_ids IS 'Its live copies, earliest first.';
COMMENT ON COLUMN stories.securities IS 'Securities any copy mentions (article_securities), each once: {market, code, name}, by market and code.';
COMMENT ON COLUMN stories.keywords IS 'Keywords of any copy (article_keywords), each once: in the most copies first, then by weight.';

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
       outlets_7d, stories, stories_7d,
       outlets AS channels, outlets_7d AS channels_7d
FROM windowed;
COMMENT ON VIEW keyword_trend IS 'Keywords per day: rank that day (by stories, then articles), rank change against the day before, 7-day growth, channels.';
COMMENT ON COLUMN keyword_trend.day IS 'Site-local publication day.';
COMMENT ON COLUMN keyword_trend.keyword IS 'The keyword.';
COMMENT ON COLUMN keyword_trend.rank IS 'Rank that day by stories, then articles, channels, weight (1 = most stories; ties share a rank).';
COMMENT ON COLUMN keyword_trend.articles IS 'Live articles of the day with the keyword.';
COMMENT ON COLUMN keyword_trend.outlets IS 'Same as channels (the older name, kept for existing queries).';
COMMENT ON COLUMN keyword_trend.weight_sum IS 'Sum of the keyword''s weights that day.';
COMMENT ON COLUMN keyword_trend.rank_day_before IS 'Its rank the calendar day before (NULL: absent that day).';
COMMENT ON COLUMN keyword_trend.rank_change IS 'rank_day_before - rank: positive = climbed, NULL = new that day.';
COMMENT ON COLUMN keyword_trend.articles_7d IS 'Articles with the keyword in the 7 days ending that day.';
COMMENT ON COLUMN keyword_trend.articles_prev_7d IS 'Articles with the keyword in the 7 days before those.';
COMMENT ON COLUMN keyword_trend.growth_7d IS 'articles_7d / articles_prev_7d - 1 (NULL when the week before had none).';
COMMENT ON COLUMN keyword_trend.outlets_7d IS 'Same as channels_7d (the older name, kept for existing queries).';
COMMENT ON COLUMN keyword_trend.stories IS 'Distinct stories of the day with the keyword (copies counted once).';
COMMENT ON COLUMN keyword_trend.stories_7d IS 'Stories with the keyword in the 7 days ending that day (summed per day).';
COMMENT ON COLUMN keyword_trend.channels IS 'Channels (articles.outlet) that carried the keyword that day.';
COMMENT ON COLUMN keyword_trend.channels_7d IS 'Channels that carried the keyword in the 7 days ending that day.';
