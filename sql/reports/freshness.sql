-- Freshness: how long after publication articles reached the warehouse (published_at → first loaded), per day and channel; posts loaded by a backfill are counted apart, their lag means nothing.
-- Parameters: $start, $end: first and last publication day (DATE, inclusive); leave one out for an open end.
-- Source: articles (live and deleted), the run of their first version (article_versions, etl_runs).
-- Backfilled: first loaded by an Airflow backfill run, or published before the data interval of the run
-- that first loaded it (a first load of the archive, a catch-up, a post that reached the source late);
-- for runs without an interval (the CLI), published more than a day before the run started.
WITH first_load AS (
    SELECT a.post_id, a.published_date, a.outlet, a.published_at, a.first_loaded_at,
           coalesce(e.dag_run_id LIKE 'backfill\_\_%' ESCAPE '\'
                    OR a.published_at < coalesce(e.interval_start, e.started_at - INTERVAL 1 DAY), false) AS backfilled
    FROM articles a
    LEFT JOIN article_versions v ON v.post_id = a.post_id AND v.version = 1 AND v.change = 'new'
    LEFT JOIN etl_runs e ON e.run_id = v.run_id
)
SELECT published_date AS day,
       outlet AS channel,
       count(*)::INTEGER AS articles,
       count(*) FILTER (WHERE backfilled)::INTEGER AS backfilled,
       round(min(epoch(first_loaded_at) - epoch(published_at)) FILTER (WHERE NOT backfilled) / 60, 1)    AS min_lag_minutes,
       round(median(epoch(first_loaded_at) - epoch(published_at)) FILTER (WHERE NOT backfilled) / 60, 1) AS median_lag_minutes,
       round(max(epoch(first_loaded_at) - epoch(published_at)) FILTER (WHERE NOT backfilled) / 60, 1)    AS max_lag_minutes,
       count(*) FILTER (WHERE NOT backfilled AND first_loaded_at - published_at <= INTERVAL 1 DAY)::INTEGER AS within_a_day
FROM first_load
WHERE ($start IS NULL OR published_date >= CAST($start AS DATE))
  AND ($end IS NULL OR published_date <= CAST($end AS DATE))
GROUP BY ALL
ORDER BY day, channel;
