-- Longest and shortest articles: the five live articles with the most body characters and the five with the fewest.
-- Parameters: $start, $end: first and last publication day (DATE, inclusive); leave one out for an open end.
-- Source: articles joined to article_metrics.
WITH live AS (
    SELECT a.post_id, a.published_date, a.outlet, a.title, m.chars, m.cjk_chars, m.paragraph_count, m.reading_seconds
    FROM articles a JOIN article_metrics m USING (post_id)
    WHERE a.deleted_at IS NULL
      AND ($start IS NULL OR a.published_date >= CAST($start AS DATE))
      AND ($end IS NULL OR a.published_date <= CAST($end AS DATE))
),
ranked AS (
    SELECT *,
           row_number() OVER (ORDER BY chars DESC, post_id) AS longest,
           row_number() OVER (ORDER BY chars ASC, post_id)  AS shortest
    FROM live
)
SELECT CASE WHEN longest <= 5 THEN 'longest' ELSE 'shortest' END AS which,
       CASE WHEN longest <= 5 THEN longest ELSE shortest END AS place,
       post_id, published_date AS day, outlet, chars, cjk_chars, paragraph_count AS paragraphs, reading_seconds, title
FROM ranked
WHERE longest <= 5 OR shortest <= 5
ORDER BY which, place;
