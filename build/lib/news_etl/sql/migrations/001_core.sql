-- 001: the warehouse contract, first cut (see ../shared/DESIGN.md).
-- Applied in order by news_etl.warehouse.migrate(); recorded in schema_migrations.

CREATE TABLE IF NOT EXISTS articles (
    post_id         VARCHAR PRIMARY KEY,
    source          VARCHAR NOT NULL,
    path            VARCHAR NOT NULL,
    title           VARCHAR NOT NULL,
    layout          VARCHAR,
    published_at    TIMESTAMPTZ NOT NULL,
    published_date  DATE NOT NULL,
    categories      VARCHAR[],
    tags            VARCHAR[],
    category        VARCHAR,
    outlet          VARCHAR,
    source_url      VARCHAR,
    digest          VARCHAR,
    byline          VARCHAR,
    credit          VARCHAR,
    body_text       VARCHAR NOT NULL,
    paragraphs      VARCHAR[],
    warnings        VARCHAR[],
    content_hash    VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    first_loaded_at TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    deleted_at      TIMESTAMPTZ,
    run_id          VARCHAR NOT NULL
);
COMMENT ON TABLE articles IS 'One row per post: its current version (deleted posts stay, with deleted_at set).';
COMMENT ON COLUMN articles.post_id IS 'The Jekyll slug: the file name without its date and .md (emnews: Eastmoney id; newspapers: NW + id).';
COMMENT ON COLUMN articles.source IS 'The source the post was read from (dir:, git:, feed: and its location).';
COMMENT ON COLUMN articles.path IS 'The post file''s path inside the source.';
COMMENT ON COLUMN articles.title IS 'The title from the front matter.';
COMMENT ON COLUMN articles.layout IS 'The Jekyll layout from the front matter.';
COMMENT ON COLUMN articles.published_at IS 'Publication time; naive dates in posts are Asia/Shanghai time.';
COMMENT ON COLUMN articles.published_date IS 'Publication day in the site''s timezone (Asia/Shanghai).';
COMMENT ON COLUMN articles.categories IS 'Jekyll categories: emnews, sitenews or the pinyin of a newspaper.';
COMMENT ON COLUMN articles.tags IS 'Jekyll tags, usually <outlet>新闻.';
COMMENT ON COLUMN articles.category IS 'The first category, used to group daily_metrics.';
COMMENT ON COLUMN articles.outlet IS 'The newspaper or feed the post comes from, in Chinese (news_etl/outlets.py).';
COMMENT ON COLUMN articles.source_url IS 'The original article''s URL (the bare <http…> line or the share link).';
COMMENT ON COLUMN articles.digest IS 'The > digest blockquote, when the post has one.';
COMMENT ON COLUMN articles.byline IS 'The reporter line the body opens with (本报记者 …), when there is one.';
COMMENT ON COLUMN articles.credit IS 'Who the text comes from: （文章来源：X） or a trailing （X）.';
COMMENT ON COLUMN articles.body_text IS 'The visible paragraphs as plain text, one per line.';
COMMENT ON COLUMN articles.paragraphs IS 'The visible paragraphs as plain text, in order.';
COMMENT ON COLUMN articles.warnings IS 'What the cleaner noticed but accepted (file name date disagrees, legacy encoding, …).';
COMMENT ON COLUMN articles.content_hash IS 'SHA-256 of the post file''s bytes.';
COMMENT ON COLUMN articles.version IS '1 for the first load, +1 for each change of the file.';
COMMENT ON COLUMN articles.first_loaded_at IS 'When the post was first loaded.';
COMMENT ON COLUMN articles.updated_at IS 'When this version was loaded (or the post deleted or revived).';
COMMENT ON COLUMN articles.deleted_at IS 'When the post disappeared from the source; NULL while it exists.';
COMMENT ON COLUMN articles.run_id IS 'The run that last changed this row (etl_runs.run_id).';

CREATE TABLE IF NOT EXISTS article_versions (
    post_id        VARCHAR NOT NULL,
    version        INTEGER NOT NULL,
    change         VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    title          VARCHAR,
    published_at   TIMESTAMPTZ,
    published_date DATE,
    categories     VARCHAR[],
    tags           VARCHAR[],
    outlet         VARCHAR,
    source_url     VARCHAR,
    digest         VARCHAR,
    byline         VARCHAR,
    credit         VARCHAR,
    body_text      VARCHAR,
    content_hash   VARCHAR,
    loaded_at      TIMESTAMPTZ NOT NULL,
    run_id         VARCHAR NOT NULL,
    PRIMARY KEY (post_id, version, change)
);
COMMENT ON TABLE article_versions IS 'Every version of every post ever loaded, and every deletion and revival: nothing is lost on update.';
COMMENT ON COLUMN article_versions.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_versions.version IS 'The version this row records.';
COMMENT ON COLUMN article_versions.change IS 'new, updated, deleted or revived.';
COMMENT ON COLUMN article_versions.source IS 'The source of this version.';
COMMENT ON COLUMN article_versions.path IS 'The file of this version.';
COMMENT ON COLUMN article_versions.title IS 'Title of this version.';
COMMENT ON COLUMN article_versions.published_at IS 'Publication time of this version.';
COMMENT ON COLUMN article_versions.published_date IS 'Site-local publication day of this version.';
COMMENT ON COLUMN article_versions.categories IS 'Categories of this version.';
COMMENT ON COLUMN article_versions.tags IS 'Tags of this version.';
COMMENT ON COLUMN article_versions.outlet IS 'Outlet of this version.';
COMMENT ON COLUMN article_versions.source_url IS 'Source URL of this version.';
COMMENT ON COLUMN article_versions.digest IS 'Digest of this version.';
COMMENT ON COLUMN article_versions.byline IS 'Byline of this version.';
COMMENT ON COLUMN article_versions.credit IS 'Credit of this version.';
COMMENT ON COLUMN article_versions.body_text IS 'Clean text of this version.';
COMMENT ON COLUMN article_versions.content_hash IS 'SHA-256 of the file of this version.';
COMMENT ON COLUMN article_versions.loaded_at IS 'When this version was loaded.';
COMMENT ON COLUMN article_versions.run_id IS 'The run that loaded it.';

CREATE TABLE IF NOT EXISTS article_metrics (
    post_id          VARCHAR PRIMARY KEY,
    version          INTEGER NOT NULL,
    cjk_chars        INTEGER NOT NULL,
    chars            INTEGER NOT NULL,
    paragraph_count  INTEGER NOT NULL,
    sentences        INTEGER NOT NULL,
    numbers          INTEGER NOT NULL,
    money_mentions   INTEGER NOT NULL,
    percent_mentions INTEGER NOT NULL,
    links            INTEGER NOT NULL,
    images           INTEGER NOT NULL,
    kline_images     INTEGER NOT NULL,
    tables           INTEGER NOT NULL,
    reading_seconds  INTEGER NOT NULL,
    run_id           VARCHAR NOT NULL
);
COMMENT ON TABLE article_metrics IS 'Numbers about each article''s current version, computed on its clean text.';
COMMENT ON COLUMN article_metrics.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_metrics.version IS 'The version the numbers describe (articles.version).';
COMMENT ON COLUMN article_metrics.cjk_chars IS 'Chinese characters (CJK ideographs) in the body.';
COMMENT ON COLUMN article_metrics.chars IS 'All characters in the body (paragraph breaks not counted).';
COMMENT ON COLUMN article_metrics.paragraph_count IS 'Visible paragraphs.';
COMMENT ON COLUMN article_metrics.sentences IS 'Sentences (ended by 。！？!? or a paragraph end).';
COMMENT ON COLUMN article_metrics.numbers IS 'Numbers written in digits.';
COMMENT ON COLUMN article_metrics.money_mentions IS 'Money amounts (元, 万元, 亿元, 美元, 港元…).';
COMMENT ON COLUMN article_metrics.percent_mentions IS 'Percentages (%, ％, 百分之…).';
COMMENT ON COLUMN article_metrics.links IS 'Links in the body (stock-quote widgets included).';
COMMENT ON COLUMN article_metrics.images IS 'Images in the body (K-line charts included).';
COMMENT ON COLUMN article_metrics.kline_images IS 'K-line (stock chart) images.';
COMMENT ON COLUMN article_metrics.tables IS 'HTML tables in the body.';
COMMENT ON COLUMN article_metrics.reading_seconds IS 'Reading time at 400 Chinese characters or 200 other words a minute.';
COMMENT ON COLUMN article_metrics.run_id IS 'The run that computed them.';

CREATE TABLE IF NOT EXISTS daily_metrics (
    day               DATE NOT NULL,
    outlet            VARCHAR NOT NULL,
    category          VARCHAR NOT NULL,
    articles          INTEGER NOT NULL,
    new_articles      INTEGER NOT NULL,
    updated_articles  INTEGER NOT NULL,
    deleted_articles  INTEGER NOT NULL,
    chars_total       BIGINT NOT NULL,
    chars_mean        DOUBLE,
    chars_median      DOUBLE,
    share_with_images DOUBLE,
    run_id            VARCHAR NOT NULL,
    PRIMARY KEY (day, outlet, category)
);
COMMENT ON TABLE daily_metrics IS 'Per site-local publication day × outlet × category; rebuilt for the days a run touched.';
COMMENT ON COLUMN daily_metrics.day IS 'Site-local publication day (articles.published_date).';
COMMENT ON COLUMN daily_metrics.outlet IS 'Outlet (articles.outlet; ''?'' when unknown).';
COMMENT ON COLUMN daily_metrics.category IS 'First category (articles.category; ''?'' when none).';
COMMENT ON COLUMN daily_metrics.articles IS 'Live (not deleted) articles published that day.';
COMMENT ON COLUMN daily_metrics.new_articles IS 'Live articles of the day still at version 1.';
COMMENT ON COLUMN daily_metrics.updated_articles IS 'Live articles of the day changed since their first load (version > 1).';
COMMENT ON COLUMN daily_metrics.deleted_articles IS 'Articles of the day deleted from the source.';
COMMENT ON COLUMN daily_metrics.chars_total IS 'Characters of the live articles'' bodies.';
COMMENT ON COLUMN daily_metrics.chars_mean IS 'Mean body length in characters.';
COMMENT ON COLUMN daily_metrics.chars_median IS 'Median body length in characters.';
COMMENT ON COLUMN daily_metrics.share_with_images IS 'Share of live articles with at least one image (0..1).';
COMMENT ON COLUMN daily_metrics.run_id IS 'The run that last rebuilt the row.';

CREATE TABLE IF NOT EXISTS rejects (
    run_id       VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    detail       VARCHAR,
    raw          BLOB,
    content_hash VARCHAR,
    rejected_at  TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE rejects IS 'Posts that could not become articles: the reason, and the raw bytes to look at.';
COMMENT ON COLUMN rejects.run_id IS 'The run that met the post.';
COMMENT ON COLUMN rejects.source IS 'The source of the post.';
COMMENT ON COLUMN rejects.path IS 'The post file''s path inside the source.';
COMMENT ON COLUMN rejects.reason IS 'A short reason: empty file, no front matter, bad YAML at line N, no title, unparseable date ''…'', not UTF-8, duplicate post id, …';
COMMENT ON COLUMN rejects.detail IS 'More about the reason.';
COMMENT ON COLUMN rejects.raw IS 'The file''s bytes as they were read.';
COMMENT ON COLUMN rejects.content_hash IS 'SHA-256 of the bytes.';
COMMENT ON COLUMN rejects.rejected_at IS 'When the reject was loaded.';

CREATE TABLE IF NOT EXISTS quality_results (
    run_id      VARCHAR NOT NULL,
    suite       VARCHAR NOT NULL,
    batch       VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    severity    VARCHAR NOT NULL,
    success     BOOLEAN NOT NULL,
    observed    VARCHAR,
    checked_at  TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE quality_results IS 'Every Great Expectations result of every batch a run validated.';
COMMENT ON COLUMN quality_results.run_id IS 'The run.';
COMMENT ON COLUMN quality_results.suite IS 'The expectation suite (news_etl/validate.py).';
COMMENT ON COLUMN quality_results.batch IS 'The staged batch that was checked.';
COMMENT ON COLUMN quality_results.expectation IS 'The expectation type, e.g. expect_column_values_to_not_be_null.';
COMMENT ON COLUMN quality_results.column_name IS 'The column it checks.';
COMMENT ON COLUMN quality_results.severity IS 'hard (a failure stops the run before the load) or soft (recorded only).';
COMMENT ON COLUMN quality_results.success IS 'Whether the expectation held.';
COMMENT ON COLUMN quality_results.observed IS 'What GX observed (unexpected count and examples, or the observed value), as JSON.';
COMMENT ON COLUMN quality_results.checked_at IS 'When it was checked.';

CREATE TABLE IF NOT EXISTS etl_runs (
    run_id             VARCHAR PRIMARY KEY,
    dag_run_id         VARCHAR,
    logical_date       TIMESTAMPTZ,
    interval_start     TIMESTAMPTZ,
    interval_end       TIMESTAMPTZ,
    source             VARCHAR NOT NULL,
    source_revision    VARCHAR,
    started_at         TIMESTAMPTZ NOT NULL,
    loaded_at          TIMESTAMPTZ NOT NULL,
    status             VARCHAR NOT NULL,
    posts_seen         INTEGER NOT NULL,
    posts_changed      INTEGER NOT NULL,
    posts_deleted      INTEGER NOT NULL,
    articles_new       INTEGER NOT NULL,
    articles_updated   INTEGER NOT NULL,
    articles_unchanged INTEGER NOT NULL,
    articles_deleted   INTEGER NOT NULL,
    articles_revived   INTEGER NOT NULL,
    rejects            INTEGER NOT NULL,
    expectations_failed INTEGER NOT NULL,
    seconds_fetch      DOUBLE,
    seconds_transform  DOUBLE,
    seconds_validate   DOUBLE,
    seconds_load       DOUBLE,
    message            VARCHAR
);
COMMENT ON TABLE etl_runs IS 'The audit row of each run that loaded: what it saw, what it changed, how long each step took.';
COMMENT ON COLUMN etl_runs.run_id IS 'The run (the Airflow run id, or cli__<time> for the CLI).';
COMMENT ON COLUMN etl_runs.dag_run_id IS 'The Airflow DAG run id (NULL for CLI runs).';
COMMENT ON COLUMN etl_runs.logical_date IS 'The Airflow logical date.';
COMMENT ON COLUMN etl_runs.interval_start IS 'Start of the run''s data interval.';
COMMENT ON COLUMN etl_runs.interval_end IS 'End of the run''s data interval.';
COMMENT ON COLUMN etl_runs.source IS 'The source read.';
COMMENT ON COLUMN etl_runs.source_revision IS 'The source''s revision after the run (git commit, feed ETag, or digest of the folder).';
COMMENT ON COLUMN etl_runs.started_at IS 'When fetch started.';
COMMENT ON COLUMN etl_runs.loaded_at IS 'When the load committed.';
COMMENT ON COLUMN etl_runs.status IS 'loaded, then published once the snapshot is out.';
COMMENT ON COLUMN etl_runs.posts_seen IS 'Post files the source holds.';
COMMENT ON COLUMN etl_runs.posts_changed IS 'New or changed post files staged.';
COMMENT ON COLUMN etl_runs.posts_deleted IS 'Post files gone from the source.';
COMMENT ON COLUMN etl_runs.articles_new IS 'Articles loaded for the first time.';
COMMENT ON COLUMN etl_runs.articles_updated IS 'Articles whose file changed (new version).';
COMMENT ON COLUMN etl_runs.articles_unchanged IS 'Staged articles identical to what was loaded.';
COMMENT ON COLUMN etl_runs.articles_deleted IS 'Articles marked deleted.';
COMMENT ON COLUMN etl_runs.articles_revived IS 'Deleted articles that came back.';
COMMENT ON COLUMN etl_runs.rejects IS 'Reject rows written.';
COMMENT ON COLUMN etl_runs.expectations_failed IS 'Soft expectations that failed (hard ones stop the run).';
COMMENT ON COLUMN etl_runs.seconds_fetch IS 'Seconds in fetch.';
COMMENT ON COLUMN etl_runs.seconds_transform IS 'Seconds in transform (summed over batches).';
COMMENT ON COLUMN etl_runs.seconds_validate IS 'Seconds in validate.';
COMMENT ON COLUMN etl_runs.seconds_load IS 'Seconds in load.';
COMMENT ON COLUMN etl_runs.message IS 'Warnings for the operator (e.g. posts possibly missed by a feed).';

CREATE TABLE IF NOT EXISTS source_state (
    source     VARCHAR PRIMARY KEY,
    revision   VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL,
    run_id     VARCHAR NOT NULL
);
COMMENT ON TABLE source_state IS 'The watermark per source: the revision the last successful load covers. Moves only with the data.';
COMMENT ON COLUMN source_state.source IS 'The source.';
COMMENT ON COLUMN source_state.revision IS 'The revision loaded (git commit, feed ETag/Last-Modified, folder digest).';
COMMENT ON COLUMN source_state.updated_at IS 'When it moved.';
COMMENT ON COLUMN source_state.run_id IS 'The run that moved it.';

CREATE TABLE IF NOT EXISTS source_files (
    source       VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    post_id      VARCHAR,
    content_hash VARCHAR NOT NULL,
    size         BIGINT,
    mtime_ns     BIGINT,
    outcome      VARCHAR NOT NULL,
    deleted      BOOLEAN NOT NULL,
    run_id       VARCHAR NOT NULL,
    PRIMARY KEY (source, path)
);
COMMENT ON TABLE source_files IS 'Every post file seen per source with its content hash: what fetch compares against to find new, changed and deleted files.';
COMMENT ON COLUMN source_files.source IS 'The source.';
COMMENT ON COLUMN source_files.path IS 'The file''s path inside the source.';
COMMENT ON COLUMN source_files.post_id IS 'The post the file became (NULL for a reject).';
COMMENT ON COLUMN source_files.content_hash IS 'SHA-256 of the bytes last loaded.';
COMMENT ON COLUMN source_files.size IS 'File size when last loaded.';
COMMENT ON COLUMN source_files.mtime_ns IS 'Modification time when last loaded (a quick check before hashing).';
COMMENT ON COLUMN source_files.outcome IS 'article or reject.';
COMMENT ON COLUMN source_files.deleted IS 'Whether the file is gone from the source.';
COMMENT ON COLUMN source_files.run_id IS 'The run that last saw it change.';
