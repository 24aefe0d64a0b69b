-- Data quality per run: rejects by reason and failed expectations (hard and soft) of every run, newest first.
-- Parameters: none.
-- Source: etl_runs, rejects, quality_results.
WITH r AS (
    SELECT run_id, count(*) AS rejects,
           string_agg(reason || ' ×' || n, '; ' ORDER BY n DESC, reason) AS reject_reasons
    FROM (SELECT run_id, reason, count(*) AS n FROM rejects GROUP BY ALL) GROUP BY run_id
),
q AS (
    SELECT run_id, count(*) AS checked,
           count(*) FILTER (WHERE NOT success AND severity = 'hard') AS failed_hard,
           count(*) FILTER (WHERE NOT success AND severity <> 'hard') AS failed_soft,
           string_agg(DISTINCT CASE WHEN NOT success THEN expectation || '(' || coalesce(column_name, '') || ')' END, '; ') AS failed
    FROM quality_results GROUP BY run_id
)
SELECT e.run_id, e.status, e.loaded_at, e.posts_changed,
       coalesce(r.rejects, 0)::INTEGER      AS rejects,
       r.reject_reasons,
       coalesce(q.checked, 0)::INTEGER      AS expectations,
       coalesce(q.failed_hard, 0)::INTEGER  AS failed_hard,
       coalesce(q.failed_soft, 0)::INTEGER  AS failed_soft,
       q.failed
FROM etl_runs e
LEFT JOIN r USING (run_id)
LEFT JOIN q USING (run_id)
ORDER BY e.loaded_at DESC, e.run_id;
