-- Start-up script of the analysts' SQL client (make sql, news-etl sql): DuckDB CLI -init.
-- The site's clock: TIMESTAMPTZ columns (published_at, loaded_at, …) show in Asia/Shanghai and
-- day boundaries in SQL fall at Shanghai midnight, like published_date and the reports.
SET TimeZone = 'Asia/Shanghai';
-- Show up to 1,000 rows before eliding (the CLI's default is 40).
.maxrows 1000
