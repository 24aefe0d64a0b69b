-- Top securities: the 20 stocks and boards mentioned by the most stories between two days (copies counted once), with articles, channels and days.
-- Parameters: $start, $end: first and last day (DATE, inclusive); leave one out for an open end; $kind: a_share, board, hk_stock or us_stock (left out: all).
-- Source: article_securities joined to live_articles (quote links and K-line widgets of live articles).
SELECT s.market, s.code,
       coalesce(min(s.name), (SELECT min(n.name) FROM security_names n WHERE n.market = s.market AND n.code = s.code)) AS name,
       any_value(s.kind)                      AS kind,
       count(DISTINCT l.story_id)::INTEGER     AS stories,
       count(*)::INTEGER                       AS articles,
       count(DISTINCT l.channel)::INTEGER      AS channels,
       count(DISTINCT l.published_day)::INTEGER AS days,
       sum(s.keytips)::INTEGER                 AS keytips,
       min(l.published_day)                    AS first_day,
       max(l.published_day)                    AS last_day
FROM article_securities s
JOIN live_articles l USING (post_id)
WHERE ($start IS NULL OR l.published_day >= CAST($start AS DATE))
  AND ($end IS NULL OR l.published_day <= CAST($end AS DATE))
  AND ($kind IS NULL OR s.kind = $kind)
GROUP BY s.market, s.code
ORDER BY stories DESC, articles DESC, keytips DESC, s.market, s.code
LIMIT 20;
