-- Rising keywords: on a day, the keywords in at least two stories (copies counted once) that were absent the day before or climbed in rank, with their 7-day growth, by rank that day.
-- Parameters: $day: the day (DATE); left out, the last day with articles.
-- Source: the keyword_trend view (keyword_daily ranked per day by stories, then articles).
WITH the_day AS (
    SELECT coalesce(CAST($day AS DATE), (SELECT max(day) FROM keyword_daily)) AS day
)
SELECT t.day, t.keyword, t.rank, t.stories, t.articles, t.channels,
       t.rank_day_before, t.rank_change,
       t.articles_7d, t.articles_prev_7d, t.growth_7d, t.channels_7d
FROM keyword_trend t JOIN the_day d ON t.day = d.day
WHERE t.stories >= 2
  AND (t.rank_day_before IS NULL OR t.rank_change > 0)
ORDER BY t.rank, t.keyword;
