-- 070: each publish records, in the writer's own file, which snapshot file holds the run's data (its
-- device, inode, size and modification time as the writer saw them right after the rename, with the
-- writer's schema version). A run that changed nothing analysts read finds the snapshot of the run
-- before it still in place, unchanged, and does not copy the whole file again: it records the same
-- stamp. Set in the writer only (the snapshot's copy is taken before its file exists).
ALTER TABLE etl_runs ADD COLUMN snapshot_stamp VARCHAR;
COMMENT ON COLUMN etl_runs.snapshot_stamp IS 'The snapshot file that holds this run''s data, as the writer saw it (device:inode:size:mtime_ns:schema); NULL: not published, or in the snapshot''s own copy.';
