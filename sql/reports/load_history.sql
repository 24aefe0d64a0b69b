-- Load history: every run, what it saw and changed, and how long each step took, newest first.
-- Parameters: $start, $end: first and last day the run loaded on (DATE, Asia/Shanghai like loaded_at as shown, inclusive); leave one out for an open end.
-- Source: etl_runs.
SELECT run_id, status, dag_run_id, loaded_at,
       posts_seen AS seen, posts_changed AS changed, posts_deleted AS files_deleted,
       articles_new AS new, articles_updated AS updated, articles_unchanged AS unchanged,
       articles_deleted AS deleted, articles_revived AS revived, rejects,
       expectations_failed AS soft_fails,
       round(seconds_fetch, 2) AS fetch_s, round(seconds_transform, 2) AS transform_s,
       round(seconds_validate, 2) AS validate_s, round(seconds_load, 2) AS load_s,
       message
FROM etl_runs
WHERE ($start IS NULL OR CAST(timezone('Asia/Shanghai', loaded_at) AS DATE) >= CAST($start AS DATE))
  AND ($end IS NULL OR CAST(timezone('Asia/Shanghai', loaded_at) AS DATE) <= CAST($end AS DATE))
ORDER BY loaded_at DESC, run_id;
