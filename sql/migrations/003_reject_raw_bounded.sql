-- 003: a reject keeps at most the first 2 MiB of the file's bytes (contract.MAX_REJECT_RAW_BYTES),
-- with the file's full size and SHA-256: a 200 MB file is no longer stored whole and copied at
-- every publish. Rejects stored before keep what they hold, cut to the same 2 MiB.

ALTER TABLE rejects ADD COLUMN raw_size BIGINT;
ALTER TABLE rejects ADD COLUMN raw_sha256 VARCHAR;
UPDATE rejects SET raw_size = octet_length(raw), raw_sha256 = sha256(raw) WHERE raw IS NOT NULL;
UPDATE rejects SET raw = raw[1:2097152] WHERE octet_length(raw) > 2097152;

COMMENT ON COLUMN rejects.raw IS 'The file''s bytes as they were read: all of them, or the first 2 MiB of a larger file (raw_size tells).';
COMMENT ON COLUMN rejects.raw_size IS 'The file''s full size in bytes (raw holds at most its first 2 MiB).';
COMMENT ON COLUMN rejects.raw_sha256 IS 'SHA-256 of the file''s full bytes.';
