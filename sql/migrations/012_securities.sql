-- 012: securities. Which stocks and boards each post mentions, from Eastmoney's quote
-- links (keytips) and K-line widgets (news_etl/securities.py); per day; and the
-- dictionary of names the site has shown, which keywords keep whole.

CREATE TABLE IF NOT EXISTS markets (
    market      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,
    exchange    VARCHAR NOT NULL
);
COMMENT ON TABLE markets IS 'Eastmoney''s market numbers, as in quote links (1,600160) and widgets (NIO|106|7).';
COMMENT ON COLUMN markets.market IS 'The market number.';
COMMENT ON COLUMN markets.kind IS 'a_share, board, hk_stock or us_stock (article_securities.kind).';
COMMENT ON COLUMN markets.exchange IS 'The exchange, or Eastmoney''s boards.';
INSERT OR IGNORE INTO markets VALUES
    ('0', 'a_share', 'Shenzhen Stock Exchange'),
    ('1', 'a_share', 'Shanghai Stock Exchange'),
    ('90', 'board', 'Eastmoney board (industry or concept, BK…)'),
    ('116', 'hk_stock', 'Hong Kong Stock Exchange'),
    ('105', 'us_stock', 'NASDAQ'),
    ('106', 'us_stock', 'New York Stock Exchange'),
    ('107', 'us_stock', 'NYSE American');

CREATE TABLE IF NOT EXISTS article_securities (
    post_id VARCHAR NOT NULL,
    market  VARCHAR NOT NULL,
    code    VARCHAR NOT NULL,
    name    VARCHAR,
    kind    VARCHAR NOT NULL,
    keytips INTEGER NOT NULL,
    widgets INTEGER NOT NULL,
    run_id  VARCHAR NOT NULL,
    PRIMARY KEY (post_id, market, code)
);
COMMENT ON TABLE article_securities IS 'The securities each article''s current version mentions: one row per article × security (quote links and K-line widgets).';
COMMENT ON COLUMN article_securities.post_id IS 'The post (articles.post_id).';
COMMENT ON COLUMN article_securities.market IS 'Eastmoney''s market number (markets.market): 0/1 A shares, 90 boards, 116 Hong Kong, 105/106/107 US.';
COMMENT ON COLUMN article_securities.code IS 'The security''s code in that market (600160, BK0493, 01315, NIO).';
COMMENT ON COLUMN article_securities.name IS 'Its name as the post''s quote link shows it; for a widget alone, the name from security_names; NULL if never seen.';
COMMENT ON COLUMN article_securities.kind IS 'a_share, board, hk_stock, us_stock or other.';
COMMENT ON COLUMN article_securities.keytips IS 'Quote links to it in the post.';
COMMENT ON COLUMN article_securities.widgets IS 'K-line widgets of it in the post.';
COMMENT ON COLUMN article_securities.run_id IS 'The run that loaded the row.';

CREATE TABLE IF NOT EXISTS security_names (
    market     VARCHAR NOT NULL,
    code       VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    first_day  DATE NOT NULL,
    run_id     VARCHAR NOT NULL,
    PRIMARY KEY (market, code, name)
);
COMMENT ON TABLE security_names IS 'The dictionary: every name the site''s quote links have shown for a security; grows with each load, never shrinks. Keywords keep these names whole (published beside the writer''s file as <warehouse>.names.txt for the next run''s transform).';
COMMENT ON COLUMN security_names.market IS 'Eastmoney''s market number.';
COMMENT ON COLUMN security_names.code IS 'The code.';
COMMENT ON COLUMN security_names.name IS 'A name shown for it.';
COMMENT ON COLUMN security_names.kind IS 'a_share, board, hk_stock, us_stock or other.';
COMMENT ON COLUMN security_names.first_day IS 'Publication day of the first loaded post that showed the name.';
COMMENT ON COLUMN security_names.run_id IS 'The run that added it.';

CREATE TABLE IF NOT EXISTS security_daily (
    day       DATE NOT NULL,
    market    VARCHAR NOT NULL,
    code      VARCHAR NOT NULL,
    name      VARCHAR,
    kind      VARCHAR NOT NULL,
    articles  INTEGER NOT NULL,
    stories   INTEGER NOT NULL,
    outlets   INTEGER NOT NULL,
    keytips   INTEGER NOT NULL,
    run_id    VARCHAR NOT NULL,
    PRIMARY KEY (day, market, code)
);
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
