-- Same story: the stories with more than one copy (the site's dual posts, near-identical texts within three days), with their copies, channels and why they are linked.
-- Parameters: $start, $end: first and last publication day of the story's earliest copy (DATE, inclusive); leave one out for an open end.
-- Source: live_articles (story_id) and story_links; copies of a story share articles.story_id.
WITH copies AS (
    SELECT story_id, count(*) AS copies, count(DISTINCT channel) AS channels,
           count(DISTINCT publisher) AS publishers,
           min(published_day) AS first_day, max(published_day) AS last_day,
           arg_min(title, published_at) AS title,
           string_agg(post_id || ' (' || coalesce(channel, '?') || ')', ', ' ORDER BY published_at, post_id) AS posts
    FROM live_articles
    GROUP BY story_id
    HAVING count(*) > 1
)
SELECT c.first_day AS day, c.story_id, c.copies, c.channels, c.publishers,
       c.last_day - c.first_day AS days_apart,
       (SELECT string_agg(DISTINCT l.kind, ', ') FROM story_links l JOIN articles a ON a.post_id = l.post_a
         WHERE a.story_id = c.story_id) AS linked_by,
       c.title, c.posts
FROM copies c
WHERE ($start IS NULL OR c.first_day >= CAST($start AS DATE))
  AND ($end IS NULL OR c.first_day <= CAST($end AS DATE))
ORDER BY c.copies DESC, c.channels DESC, day, c.story_id;
