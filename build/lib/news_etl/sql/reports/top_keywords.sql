-- Top keywords: the 20 keywords found in the most live articles between two days, and in how many outlets.
-- Parameters: $start, $end: first and last day (DATE, inclusive); leave one out for an open end.
-- Source: article_keywords joined to articles (live articles only).
SELECT k.keyword,
       count(*)::INTEGER                     AS articles,
       count(DISTINCT a.outlet)::INTEGER     AS outlets,
       count(DISTINCT a.published_date)::INTEGER AS days,
       round(sum(k.weight), 4)               AS weight_sum,
       min(a.published_date)                 AS first_day,
       max(a.published_date)                 AS last_day
FROM article_keywords k
JOIN articles a USING (post_id)
WHERE a.deleted_at IS NULL
  AND ($start IS NULL OR a.published_date >= CAST($start AS DATE))
  AND ($end IS NULL OR a.published_date <= CAST($end AS DATE))
GROUP BY k.keyword
ORDER BY articles DESC, outlets DESC, weight_sum DESC, k.keyword
LIMIT 20;
