-- 013: the analyst layer: live articles with their meaning and metrics, a calendar
-- for zero-filled daily series, and the rejects that still stand.

CREATE OR REPLACE VIEW live_articles AS
SELECT a.post_id,
       a.story_id,
       row_number() OVER (PARTITION BY a.story_id ORDER BY a.published_at, a.post_id) = 1 AS first_copy,
       a.title,
       a.published_at,
       a.published_date AS published_day,
       CAST(hour(timezone('Asia/Shanghai', a.published_at)) AS INTEGER) AS published_hour,
       a.publisher,
       a.outlet AS channel,
       a.category,
       a.credit,
       a.byline,
       a.source_url,
       m.chars, m.cjk_chars, m.paragraph_count, m.sentences, m.numbers, m.money_mentions,
       m.percent_mentions, m.links, m.images, m.kline_images, m.tables, m.reading_seconds,
       a.version,
       a.first_loaded_at,
       a.updated_at
FROM articles a JOIN article_metrics m USING (post_id)
WHERE a.deleted_at IS NULL;
COMMENT ON VIEW live_articles IS 'One row per live post (deleted posts left out), with its story, publisher, channel, site-local day and hour, and its metrics: the table to start from.';
COMMENT ON COLUMN live_articles.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN live_articles.story_id IS 'Its story: copies share it (articles.story_id); count DISTINCT story_id for stories.';
COMMENT ON COLUMN live_articles.first_copy IS 'Whether it is the story''s earliest live post (one row per story: WHERE first_copy).';
COMMENT ON COLUMN live_articles.title IS 'The title.';
COMMENT ON COLUMN live_articles.published_at IS 'Publication time (TIMESTAMPTZ: shown in the session''s time zone).';
COMMENT ON COLUMN live_articles.published_day IS 'Publication day in Asia/Shanghai, whatever the session''s time zone.';
COMMENT ON COLUMN live_articles.published_hour IS 'Publication hour 0-23 in Asia/Shanghai, whatever the session''s time zone.';
COMMENT ON COLUMN live_articles.publisher IS 'Who wrote it, normalised (articles.publisher).';
COMMENT ON COLUMN live_articles.channel IS 'The feed or newspaper page it came through (articles.outlet).';
COMMENT ON COLUMN live_articles.category IS 'The first Jekyll category.';
COMMENT ON COLUMN live_articles.credit IS 'The credit as written (articles.credit).';
COMMENT ON COLUMN live_articles.byline IS 'The reporter line.';
COMMENT ON COLUMN live_articles.source_url IS 'The original article''s URL.';
COMMENT ON COLUMN live_articles.chars IS 'Characters of the body (article_metrics).';
COMMENT ON COLUMN live_articles.cjk_chars IS 'Chinese characters of the body.';
COMMENT ON COLUMN live_articles.paragraph_count IS 'Visible paragraphs.';
COMMENT ON COLUMN live_articles.sentences IS 'Sentences.';
COMMENT ON COLUMN live_articles.numbers IS 'Numbers written in digits.';
COMMENT ON COLUMN live_articles.money_mentions IS 'Money amounts.';
COMMENT ON COLUMN live_articles.percent_mentions IS 'Percentages.';
COMMENT ON COLUMN live_articles.links IS 'Links in the body.';
COMMENT ON COLUMN live_articles.images IS 'Images in the body.';
COMMENT ON COLUMN live_articles.kline_images IS 'K-line chart images.';
COMMENT ON COLUMN live_articles.tables IS 'HTML tables.';
COMMENT ON COLUMN live_articles.reading_seconds IS 'Reading time in seconds.';
COMMENT ON COLUMN live_articles.version IS 'Version of the post (articles.version).';
COMMENT ON COLUMN live_articles.first_loaded_at IS 'When the post was first loaded.';
COMMENT ON COLUMN live_articles.updated_at IS 'When this version was loaded.';

CREATE OR REPLACE VIEW calendar AS
SELECT CAST(r.d AS DATE) AS day,
       CAST(year(r.d) AS INTEGER) AS year,
       CAST(month(r.d) AS INTEGER) AS month,
       CAST(weekofyear(r.d) AS INTEGER) AS iso_week,
       CAST(isodow(r.d) AS INTEGER) AS iso_weekday,
       isodow(r.d) >= 6 AS weekend
FROM (SELECT min(published_date) AS lo, max(published_date) AS hi FROM articles) b,
     range(CAST(b.lo AS TIMESTAMP), CAST(b.hi AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY) AS r(d);
COMMENT ON VIEW calendar IS 'Every day from the first to the last publication day, with or without articles: LEFT JOIN a daily table to it for zero-filled series.';
COMMENT ON COLUMN calendar.day IS 'The day (site-local).';
COMMENT ON COLUMN calendar.year IS 'Its year.';
COMMENT ON COLUMN calendar.month IS 'Its month 1-12.';
COMMENT ON COLUMN calendar.iso_week IS 'Its ISO week number.';
COMMENT ON COLUMN calendar.iso_weekday IS 'Its ISO weekday, 1 = Monday … 7 = Sunday.';
COMMENT ON COLUMN calendar.weekend IS 'Saturday or Sunday.';

CREATE OR REPLACE VIEW daily_totals AS
SELECT c.day,
       CAST(coalesce(sum(d.articles), 0) AS INTEGER) AS articles,
       CAST(coalesce((SELECT count(DISTINCT l.story_id) FROM live_articles l WHERE l.published_day = c.day), 0) AS INTEGER) AS stories,
       CAST(coalesce(sum(d.new_articles), 0) AS INTEGER) AS new_articles,
       CAST(coalesce(sum(d.updated_articles), 0) AS INTEGER) AS updated_articles,
       CAST(coalesce(sum(d.deleted_articles), 0) AS INTEGER) AS deleted_articles,
       CAST(coalesce(sum(d.chars_total), 0) AS BIGINT) AS chars_total
FROM calendar c LEFT JOIN daily_metrics d ON d.day = c.day
GROUP BY c.day;
COMMENT ON VIEW daily_totals IS 'One row per calendar day (zero-filled): articles and stories of the whole site that day.';
COMMENT ON COLUMN daily_totals.day IS 'Site-local publication day.';
COMMENT ON COLUMN daily_totals.articles IS 'Live articles published that day.';
COMMENT ON COLUMN daily_totals.stories IS 'Distinct stories among them (copies counted once).';
COMMENT ON COLUMN daily_totals.new_articles IS 'Live articles never changed since their first load.';
COMMENT ON COLUMN daily_totals.updated_articles IS 'Live articles whose text changed since their first load.';
COMMENT ON COLUMN daily_totals.deleted_articles IS 'Articles of the day deleted from the source.';
COMMENT ON COLUMN daily_totals.chars_total IS 'Characters of the live articles'' bodies.';

CREATE OR REPLACE VIEW current_rejects AS
SELECT r.run_id, r.source, r.path, r.reason, r.detail, r.content_hash, r.rejected_at
FROM rejects r
JOIN source_files f ON f.source = r.source AND f.path = r.path
WHERE f.outcome = 'reject' AND NOT f.deleted AND f.content_hash IS NOT DISTINCT FROM r.content_hash
QUALIFY row_number() OVER (PARTITION BY r.source, r.path ORDER BY r.rejected_at DESC, r.reason) = 1;
COMMENT ON VIEW current_rejects IS 'The rejects that still stand: one row per post file whose current bytes are rejected. A file fixed, removed or replaced since no longer counts (rejects keeps the history).';
COMMENT ON COLUMN current_rejects.run_id IS 'The run that rejected the file''s current bytes.';
COMMENT ON COLUMN current_rejects.source IS 'The source.';
COMMENT ON COLUMN current_rejects.path IS 'The file''s path inside the source.';
COMMENT ON COLUMN current_rejects.reason IS 'Why it is rejected.';
COMMENT ON COLUMN current_rejects.detail IS 'More about the reason.';
COMMENT ON COLUMN current_rejects.content_hash IS 'SHA-256 of the rejected bytes (the file''s current bytes).';
COMMENT ON COLUMN current_rejects.rejected_at IS 'When the reject was loaded.';
