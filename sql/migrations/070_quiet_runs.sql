-- 070: what lets a run with nothing new skip work that cannot change anything, recorded in the
-- writer's own file.
--
-- snapshot_stamp: which snapshot file holds the run's data (its device, inode, size and modification
-- time as the writer saw them right after the rename, with the writer's schema version). A run that
-- changed nothing finds the snapshot of the run before it still in place, unchanged, and does not
-- copy the whole file again: it records the same stamp. Set in the writer only (the snapshot's copy
-- is taken before its file exists).
--
-- meaning_stamp: the reviewed seeds, the meaning rules and the schema the run's load derived the
-- meaning tables with. A load that changed no article, under the same stamp as the load before it,
-- leaves them as they are (they are functions of the live posts and the seeds: nothing to derive).
ALTER TABLE etl_runs ADD COLUMN snapshot_stamp VARCHAR;
ALTER TABLE etl_runs ADD COLUMN meaning_stamp VARCHAR;
COMMENT ON COLUMN etl_runs.snapshot_stamp IS 'The snapshot file that holds this run''s data, as the writer saw it (device:inode:size:mtime_ns:schema); NULL: not published, or in the snapshot''s own copy.';
COMMENT ON COLUMN etl_runs.meaning_stamp IS 'A digest of the reviewed seeds, the meaning rules and the schema this run''s load derived stories, names, securities and publishers with.';
