-- Source names never hold a credential (issue 23): a feed or git URL's query parameters that
-- carry one (token, access_token, api_key, key, sig, signature, password, ...) are left out of the
-- name a source is stored under (news_etl/ingest/sources/base.py: without_credential_parameters, the same list).
-- Names stored before are rewritten here, in every table that holds them, so that an existing
-- feed keeps its name (and its loaded posts) instead of being read again as a new source; and the
-- run messages that quoted such a URL lose the parameter's value.
CREATE TEMP TABLE renamed_sources AS
WITH parts AS (
    SELECT DISTINCT source,
        split_part(source, '#', 1) AS head,
        CASE WHEN contains(source, '#') THEN '#' || substr(source, strpos(source, '#') + 1) ELSE '' END AS fragment
    FROM (SELECT source FROM articles UNION SELECT source FROM article_versions UNION SELECT source FROM rejects
          UNION SELECT source FROM source_files UNION SELECT source FROM source_state UNION SELECT source FROM etl_runs)
    WHERE (source LIKE 'feed:%' OR source LIKE 'git:%') AND contains(split_part(source, '#', 1), '?')
), kept AS (
    SELECT source, fragment, split_part(head, '?', 1) AS base,
        list_filter(
            string_split(substr(head, strpos(head, '?') + 1), '&'),
            lambda p: lower(trim(url_decode(split_part(p, '=', 1)))) NOT IN (
                'token', 'access_token', 'auth_token', 'api_token', 'private_token', 'id_token', 'refresh_token',
                'api_key', 'apikey', 'key', 'secret', 'client_secret', 'sig', 'signature', 'password', 'passwd',
                'pwd', 'auth', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature')
        ) AS params
    FROM parts
)
SELECT source AS old_name,
    base || CASE WHEN len(params) > 0 THEN '?' || array_to_string(params, '&') ELSE '' END || fragment AS new_name
FROM kept;
DELETE FROM renamed_sources WHERE old_name = new_name;

UPDATE articles SET source = r.new_name FROM renamed_sources r WHERE articles.source = r.old_name;
UPDATE article_versions SET source = r.new_name FROM renamed_sources r WHERE article_versions.source = r.old_name;
UPDATE rejects SET source = r.new_name FROM renamed_sources r WHERE rejects.source = r.old_name;
UPDATE etl_runs SET source = r.new_name FROM renamed_sources r WHERE etl_runs.source = r.old_name;
-- the keyed tables: each row moved to its new name (an update of a key is a delete and an insert)
INSERT INTO source_files BY NAME
    SELECT f.* REPLACE (r.new_name AS source) FROM source_files f JOIN renamed_sources r ON f.source = r.old_name;
DELETE FROM source_files WHERE source IN (SELECT old_name FROM renamed_sources);
INSERT INTO source_state BY NAME
    SELECT s.* REPLACE (r.new_name AS source) FROM source_state s JOIN renamed_sources r ON s.source = r.old_name;
DELETE FROM source_state WHERE source IN (SELECT old_name FROM renamed_sources);

UPDATE etl_runs SET message = regexp_replace(
    message,
    '(?i)([?&](token|access_token|auth_token|api_token|private_token|id_token|refresh_token|api_key|apikey|key|secret|client_secret|sig|signature|password|passwd|pwd|auth|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature)=)[^&#\s;,)]*',
    '\1…', 'g')
WHERE message IS NOT NULL;
DROP TABLE renamed_sources;
