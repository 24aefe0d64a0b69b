-- 080: the tables that grow with the posts, without primary-key indexes (as article_keywords
-- since 060). DuckDB holds a PRIMARY KEY's index (an ART) in memory and cannot spill it: a load
-- holds the index of every row it adds until it commits, and a load on a big warehouse holds the
-- whole index of each table it adds to. A first load of a million posts held gigabytes of them
-- in memory, beyond the 512 MB the load lets DuckDB use. The table data itself spills, and rows
-- past a row group are written to the file before the commit.
--
-- Each key stays one row per key: the load deletes a key's old row before it writes the new one,
-- and checks in bulk, once before it commits, that no key of the tables below appears twice
-- (news_etl/warehouse/keys.py: a duplicate is a bug of the load, which rolls back). The tables
-- are rebuilt once, their rows and comments kept.
--
-- Two kinds keep their keys. ``articles`` keeps its index on post_id, one short key a post (about
-- 70 MB at a million posts): search(q) reads the texts of the posts it found through it, not every
-- text. And the small tables: runs, sources, seeds, names and daily_metrics (a row per day, outlet
-- and category).

-- article_versions: one row per (post_id, version, change)
CREATE TABLE article_versions_080 (
    post_id        VARCHAR NOT NULL,
    version        INTEGER NOT NULL,
    change         VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    title          VARCHAR,
    published_at   TIMESTAMP WITH TIME ZONE,
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
    loaded_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    run_id         VARCHAR NOT NULL
);
INSERT INTO article_versions_080 SELECT post_id, version, change, source, path, title, published_at, published_date, categories, tags, outlet, source_url, digest, byline, credit, body_text, content_hash, loaded_at, run_id FROM article_versions;
DROP TABLE article_versions;
ALTER TABLE article_versions_080 RENAME TO article_versions;
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

-- article_metrics: one row per (post_id)
CREATE TABLE article_metrics_080 (
    post_id          VARCHAR NOT NULL,
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
INSERT INTO article_metrics_080 SELECT post_id, version, cjk_chars, chars, paragraph_count, sentences, numbers, money_mentions, percent_mentions, links, images, kline_images, tables, reading_seconds, run_id FROM article_metrics;
DROP TABLE article_metrics;
ALTER TABLE article_metrics_080 RENAME TO article_metrics;
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

-- source_files: one row per (source, path)
CREATE TABLE source_files_080 (
    source       VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    post_id      VARCHAR,
    content_hash VARCHAR NOT NULL,
    size         BIGINT,
    mtime_ns     BIGINT,
    outcome      VARCHAR NOT NULL,
    deleted      BOOLEAN NOT NULL,
    run_id       VARCHAR NOT NULL
);
INSERT INTO source_files_080 SELECT source, path, post_id, content_hash, size, mtime_ns, outcome, deleted, run_id FROM source_files;
DROP TABLE source_files;
ALTER TABLE source_files_080 RENAME TO source_files;
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

-- article_names: one row per (post_id, name)
CREATE TABLE article_names_080 (
    post_id VARCHAR NOT NULL,
    name    VARCHAR NOT NULL
);
INSERT INTO article_names_080 SELECT post_id, name FROM article_names;
DROP TABLE article_names;
ALTER TABLE article_names_080 RENAME TO article_names;
COMMENT ON TABLE article_names IS 'Provenance of keyword_names: the names each article''s quote links support (a link text that looks like a name: 2 to 16 characters, not a ticker, starting and ending on a word boundary of its text as rjieba cuts it without learned names). Rows of deleted articles stay; only live articles count.';
COMMENT ON COLUMN article_names.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_names.name IS 'A name its quote links show.';

-- article_names_used: one row per (post_id, name)
CREATE TABLE article_names_used_080 (
    post_id VARCHAR NOT NULL,
    name    VARCHAR NOT NULL
);
INSERT INTO article_names_used_080 SELECT post_id, name FROM article_names_used;
DROP TABLE article_names_used;
ALTER TABLE article_names_used_080 RENAME TO article_names_used;
COMMENT ON TABLE article_names_used IS 'The names kept whole in each article''s keywords (matched leftmost-longest in its title and text): a load derives again the keywords of the articles whose names changed.';
COMMENT ON COLUMN article_names_used.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_names_used.name IS 'A name of keyword_names matched in its title or text.';

-- article_securities: one row per (post_id, market, code)
CREATE TABLE article_securities_080 (
    post_id   VARCHAR NOT NULL,
    market    VARCHAR NOT NULL,
    code      VARCHAR NOT NULL,
    name      VARCHAR,
    kind      VARCHAR NOT NULL,
    keytips   INTEGER NOT NULL,
    widgets   INTEGER NOT NULL,
    run_id    VARCHAR NOT NULL,
    mentions  INTEGER DEFAULT 0,
    fragment  BOOLEAN DEFAULT false,
    found     VARCHAR,
    name_from VARCHAR
);
INSERT INTO article_securities_080 SELECT post_id, market, code, name, kind, keytips, widgets, run_id, mentions, fragment, found, name_from FROM article_securities;
DROP TABLE article_securities;
ALTER TABLE article_securities_080 RENAME TO article_securities;
COMMENT ON TABLE article_securities IS 'The securities each article''s current version mentions: one row per article × security (quote links and K-line widgets).';
COMMENT ON COLUMN article_securities.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_securities.market IS 'Eastmoney''s market number (markets.market): 0/1 A shares, 90 boards, 116 Hong Kong, 105/106/107 US.';
COMMENT ON COLUMN article_securities.code IS 'The security''s code in that market (600160, BK0493, 01315, NIO).';
COMMENT ON COLUMN article_securities.name IS 'Its name as the post''s quote link shows it; else (a widget or a plain-text mention alone) the name from security_names; NULL when no live post names the code (name_from = none).';
COMMENT ON COLUMN article_securities.kind IS 'a_share, board, hk_stock, us_stock or other.';
COMMENT ON COLUMN article_securities.keytips IS 'Quote links to it in the post.';
COMMENT ON COLUMN article_securities.widgets IS 'K-line widgets of it in the post.';
COMMENT ON COLUMN article_securities.run_id IS 'The run that loaded the row.';
COMMENT ON COLUMN article_securities.mentions IS 'Times the text writes it out: 名称(000338.SZ), 名称(00388.HK), 名称（600519）.';
COMMENT ON COLUMN article_securities.fragment IS 'The quote link''s text is a piece of a longer word in its sentence (the site''s auto-link mistakes: 大智慧 in 培育壮大智慧产品): kept, left out of security_daily.';
COMMENT ON COLUMN article_securities.found IS 'How it was found: link, widget, text, joined by + (link+text).';
COMMENT ON COLUMN article_securities.name_from IS 'Where name comes from: link (the post''s own quote link), security_names (other live posts), seed (sql/seeds/securities.csv), none (no live post names the code: flagged, not silently NULL).';

-- story_signatures: one row per (post_id)
CREATE TABLE story_signatures_080 (
    post_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    minhash BLOB NOT NULL
);
INSERT INTO story_signatures_080 SELECT post_id, version, minhash FROM story_signatures;
DROP TABLE story_signatures;
ALTER TABLE story_signatures_080 RENAME TO story_signatures;
COMMENT ON TABLE story_signatures IS 'Internal: the MinHash signature of each article''s current text (64 × 32-bit, little-endian), from which each load rebuilds its LSH index of the posts within three days.';
COMMENT ON COLUMN story_signatures.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN story_signatures.version IS 'The version the signature was computed on (articles.version).';
COMMENT ON COLUMN story_signatures.minhash IS 'MinHash of the character 5-grams of title and body (news_etl/stories.py signature()).';

-- story_links: one row per (post_a, post_b)
CREATE TABLE story_links_080 (
    post_a     VARCHAR NOT NULL,
    post_b     VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    similarity DOUBLE NOT NULL,
    run_id     VARCHAR NOT NULL
);
INSERT INTO story_links_080 SELECT post_a, post_b, kind, similarity, run_id FROM story_links;
DROP TABLE story_links;
ALTER TABLE story_links_080 RENAME TO story_links;
COMMENT ON TABLE story_links IS 'Why posts share a story: one row per pair of copies (post_a < post_b). A story is a connected group of linked posts.';
COMMENT ON COLUMN story_links.post_a IS 'One post (articles.post_id), the smaller id.';
COMMENT ON COLUMN story_links.post_b IS 'The other post (articles.post_id).';
COMMENT ON COLUMN story_links.kind IS 'copy: the site''s dual posts X and NWX (whatever their texts); text: near-identical texts published at most three days apart.';
COMMENT ON COLUMN story_links.similarity IS 'Estimated Jaccard similarity of the two texts'' character 5-grams (0..1; 1 for copy links).';
COMMENT ON COLUMN story_links.run_id IS 'The run that found the link.';

-- search_docs: one row per (post_id)
CREATE TABLE search_docs_080 (
    post_id     VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    title_chars INTEGER NOT NULL,
    body_chars  INTEGER NOT NULL
);
INSERT INTO search_docs_080 SELECT post_id, version, title_chars, body_chars FROM search_docs;
DROP TABLE search_docs;
ALTER TABLE search_docs_080 RENAME TO search_docs;
COMMENT ON TABLE search_docs IS 'Internal: the posts in the search index, with the lengths BM25 weighs matches by.';
COMMENT ON COLUMN search_docs.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN search_docs.version IS 'The version indexed (articles.version): a load re-indexes a post whose live version differs.';
COMMENT ON COLUMN search_docs.title_chars IS 'Characters of its title, spaces not counted.';
COMMENT ON COLUMN search_docs.body_chars IS 'Characters of its text (articles.body_text), spaces and line breaks not counted.';

-- keyword_daily: one row per (day, keyword)
CREATE TABLE keyword_daily_080 (
    day        DATE NOT NULL,
    keyword    VARCHAR NOT NULL,
    articles   INTEGER NOT NULL,
    outlets    INTEGER NOT NULL,
    weight_sum DOUBLE NOT NULL,
    run_id     VARCHAR NOT NULL,
    stories    INTEGER
);
INSERT INTO keyword_daily_080 SELECT day, keyword, articles, outlets, weight_sum, run_id, stories FROM keyword_daily;
DROP TABLE keyword_daily;
ALTER TABLE keyword_daily_080 RENAME TO keyword_daily;
COMMENT ON TABLE keyword_daily IS 'Per site-local publication day × keyword: how many live articles have it among their top keywords; rebuilt for the days a run touched.';
COMMENT ON COLUMN keyword_daily.day IS 'Site-local publication day (articles.published_date).';
COMMENT ON COLUMN keyword_daily.keyword IS 'The keyword (article_keywords.keyword).';
COMMENT ON COLUMN keyword_daily.articles IS 'Live (not deleted) articles of the day with this keyword.';
COMMENT ON COLUMN keyword_daily.outlets IS 'Distinct outlets among those articles.';
COMMENT ON COLUMN keyword_daily.weight_sum IS 'Sum of the keyword''s weight in those articles (breaks ties between equal counts).';
COMMENT ON COLUMN keyword_daily.run_id IS 'The run that last rebuilt the row.';
COMMENT ON COLUMN keyword_daily.stories IS 'Distinct stories among those articles (copies of one story counted once).';

-- security_daily: one row per (day, market, code)
CREATE TABLE security_daily_080 (
    day      DATE NOT NULL,
    market   VARCHAR NOT NULL,
    code     VARCHAR NOT NULL,
    name     VARCHAR,
    kind     VARCHAR NOT NULL,
    articles INTEGER NOT NULL,
    stories  INTEGER NOT NULL,
    outlets  INTEGER NOT NULL,
    keytips  INTEGER NOT NULL,
    run_id   VARCHAR NOT NULL
);
INSERT INTO security_daily_080 SELECT day, market, code, name, kind, articles, stories, outlets, keytips, run_id FROM security_daily;
DROP TABLE security_daily;
ALTER TABLE security_daily_080 RENAME TO security_daily;
COMMENT ON TABLE security_daily IS 'Per site-local publication day × security: live articles and stories that mention it; rebuilt for the days a run touched.';
COMMENT ON COLUMN security_daily.day IS 'Site-local publication day (articles.published_date).';
COMMENT ON COLUMN security_daily.market IS 'Eastmoney''s market number (markets.market).';
COMMENT ON COLUMN security_daily.code IS 'The code.';
COMMENT ON COLUMN security_daily.name IS 'The name the day''s articles showed (the first in sort order if they showed several).';
COMMENT ON COLUMN security_daily.kind IS 'a_share, board, hk_stock, us_stock or other.';
COMMENT ON COLUMN security_daily.articles IS 'Live articles of the day that mention it.';
COMMENT ON COLUMN security_daily.stories IS 'Distinct stories among them (copies counted once).';
COMMENT ON COLUMN security_daily.outlets IS 'Distinct outlets among them.';
COMMENT ON COLUMN security_daily.keytips IS 'Quote links to it in those articles.';
COMMENT ON COLUMN security_daily.run_id IS 'The run that last rebuilt the row.';

