-- 004: each publish records, in the writer's own file, how many live articles the snapshot it wrote
-- holds: the next publish compares with that (the writer's file is the truth; publish never reads
-- the snapshot back).
ALTER TABLE etl_runs ADD COLUMN published_live_articles INTEGER;
COMMENT ON COLUMN etl_runs.published_live_articles IS 'Live articles in the snapshot this run published (NULL: not published).';
