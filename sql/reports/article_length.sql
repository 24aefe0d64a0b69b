-- Longest and shortest articles: the five live articles with the most body characters and the five with the fewest (an article can be in both lists when few are in range).
-- Parameters: $start, $end: first and last publication day (DATE, inclusive); leave one out for an open end.
-- Source: live_articles (articles joined to article_metrics).
WITH live AS (
    SELECT post_id, published_day, channel, title, chars, cjk_chars, paragraph_count, reading_seconds
    FROM live_articles
    WHERE ($start IS NULL OR published_day >= CAST($start AS DATE))
      AND ($end IS NULL OR published_day <= CAST($end AS DATE))
),
ranked AS (
    SELECT 'longest' AS which, row_number() OVER (ORDER BY chars DESC, post_id) AS place, * FROM live
    UNION ALL
    SELECT 'shortest' AS which, row_number() OVER (ORDER BY chars ASC, post_id) AS place, * FROM live
)
SELECT which, place, post_id, published_day AS day, channel, chars, cjk_chars, paragraph_count AS paragraphs,
       reading_seconds, title
FROM ranked
WHERE place <= 5
ORDER BY which, place;
