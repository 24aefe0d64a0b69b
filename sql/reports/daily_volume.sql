-- Daily volume by channel: how many live articles and stories each channel published each site-local day (new, updated, deleted, characters).
-- Parameters: $start, $end: first and last day (DATE, inclusive); leave one out for an open end.
-- Source: daily_metrics, summed over categories (stories: distinct within the channel; a story two channels carry counts in both); channel = daily_metrics.outlet.
SELECT day,
       outlet AS channel,
       sum(articles)::INTEGER          AS articles,
       sum(stories)::INTEGER           AS stories,
       sum(new_articles)::INTEGER      AS new,
       sum(updated_articles)::INTEGER  AS updated,
       sum(deleted_articles)::INTEGER  AS deleted,
       sum(chars_total)::BIGINT        AS characters
FROM daily_metrics
WHERE ($start IS NULL OR day >= CAST($start AS DATE))
  AND ($end IS NULL OR day <= CAST($end AS DATE))
GROUP BY day, outlet
HAVING sum(articles) + sum(deleted_articles) > 0
ORDER BY day, articles DESC, channel;
