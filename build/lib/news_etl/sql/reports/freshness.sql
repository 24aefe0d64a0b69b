-- Freshness: how long after publication articles reached the warehouse (published_at → first loaded), per day and outlet.
-- Parameters: $start, $end: first and last publication day (DATE, inclusive); leave one out for an open end.
-- Source: articles (live and deleted: the lag of the first load does not change).
SELECT published_date AS day,
       outlet,
       count(*)::INTEGER AS articles,
       round(min(epoch(first_loaded_at) - epoch(published_at)) / 60, 1)    AS min_lag_minutes,
       round(median(epoch(first_loaded_at) - epoch(published_at)) / 60, 1) AS median_lag_minutes,
       round(max(epoch(first_loaded_at) - epoch(published_at)) / 60, 1)    AS max_lag_minutes,
       count(*) FILTER (WHERE first_loaded_at - published_at <= INTERVAL 1 DAY)::INTEGER AS within_a_day
FROM articles
WHERE ($start IS NULL OR published_date >= CAST($start AS DATE))
  AND ($end IS NULL OR published_date <= CAST($end AS DATE))
GROUP BY ALL
ORDER BY day, outlet;
