-- Same story: pairs of live articles published within a day of each other whose titles are near-identical (punctuation ignored), across outlets first.
-- Parameters: $start, $end: first and last publication day of the first article (DATE, inclusive); leave one out for an open end.
-- Near-identical: Levenshtein distance of the titles without punctuation and spaces at most 10% of the longer one.
WITH t AS (
    SELECT post_id, outlet, published_date, published_at, title,
           regexp_replace(title, '[[:punct:][:space:]　。，、：；！？“”‘’（）《》【】…—·｜]', '', 'g') AS norm
    FROM articles
    WHERE deleted_at IS NULL
)
SELECT a.published_date   AS day,
       a.outlet            AS outlet_a,
       b.outlet            AS outlet_b,
       a.outlet <> b.outlet AS across_outlets,
       a.post_id           AS post_a,
       b.post_id           AS post_b,
       a.title             AS title_a,
       b.title             AS title_b,
       levenshtein(a.norm, b.norm) AS distance
FROM t a
JOIN t b ON a.post_id < b.post_id
        AND b.published_date BETWEEN a.published_date - 1 AND a.published_date + 1
WHERE ($start IS NULL OR a.published_date >= CAST($start AS DATE))
  AND ($end IS NULL OR a.published_date <= CAST($end AS DATE))
  AND length(a.norm) > 0 AND length(b.norm) > 0
  AND levenshtein(a.norm, b.norm) <= 0.1 * greatest(length(a.norm), length(b.norm))
ORDER BY across_outlets DESC, day, distance, post_a, post_b;
