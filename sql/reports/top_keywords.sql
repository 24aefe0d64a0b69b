-- Top keywords: the 20 keywords found in the most stories between two days (copies of one story counted once), with articles and channels.
-- Parameters: $start, $end: first and last day (DATE, inclusive); leave one out for an open end.
-- Source: article_keywords joined to live_articles (live articles only).
SELECT k.keyword,
       count(DISTINCT a.story_id)::INTEGER   AS stories,
       count(*)::INTEGER                     AS articles,
       count(DISTINCT a.channel)::INTEGER    AS channels,
       count(DISTINCT a.published_day)::INTEGER AS days,
       round(sum(k.weight::DECIMAL(18, 6)), 4)::DOUBLE AS weight_sum,
       min(a.published_day)                  AS first_day,
       max(a.published_day)                  AS last_day
FROM article_keywords k
JOIN live_articles a USING (post_id)
WHERE ($start IS NULL OR a.published_day >= CAST($start AS DATE))
  AND ($end IS NULL OR a.published_day <= CAST($end AS DATE))
GROUP BY k.keyword
ORDER BY stories DESC, articles DESC, channels DESC, weight_sum DESC, k.keyword
LIMIT 20;
