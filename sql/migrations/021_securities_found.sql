-- 021: securities an analyst would count. Plain-text forms (名称(000338.SZ), 名称(00388.HK),
-- 名称（600519）) beside the site's links and widgets, each row saying how it was found; a link whose
-- text is a piece of a longer word in its sentence is kept with a flag and left out of
-- security_daily; a securities master with the issuers of the reviewed seed sql/seeds/securities.csv
-- (news_etl/meaning/securities.py).

ALTER TABLE article_securities ADD COLUMN IF NOT EXISTS mentions INTEGER DEFAULT 0;
ALTER TABLE article_securities ADD COLUMN IF NOT EXISTS fragment BOOLEAN DEFAULT false;
ALTER TABLE article_securities ADD COLUMN IF NOT EXISTS found VARCHAR;
ALTER TABLE article_securities ADD COLUMN IF NOT EXISTS name_from VARCHAR;
UPDATE article_securities SET found = concat_ws('+', CASE WHEN keytips > 0 THEN 'link' END,
                                                     CASE WHEN widgets > 0 THEN 'widget' END),
                              name_from = CASE WHEN keytips > 0 AND name IS NOT NULL THEN 'link'
                                               WHEN name IS NOT NULL THEN 'security_names' ELSE 'none' END
WHERE found IS NULL;
COMMENT ON COLUMN article_securities.name IS 'Its name as the post''s quote link shows it; else (a widget or a plain-text mention alone) the name from security_names; NULL when no live post names the code (name_from = none).';
COMMENT ON COLUMN article_securities.mentions IS 'Times the text writes it out: 名称(000338.SZ), 名称(00388.HK), 名称（600519）.';
COMMENT ON COLUMN article_securities.fragment IS 'The quote link''s text is a piece of a longer word in its sentence (the site''s auto-link mistakes: 大智慧 in 培育壮大智慧产品): kept, left out of security_daily.';
COMMENT ON COLUMN article_securities.found IS 'How it was found: link, widget, text, joined by + (link+text).';
COMMENT ON COLUMN article_securities.name_from IS 'Where name comes from: link (the post''s own quote link), security_names (other live posts), seed (sql/seeds/securities.csv), none (no live post names the code: flagged, not silently NULL).';

CREATE TABLE IF NOT EXISTS security_issuers (
    issuer  VARCHAR NOT NULL,
    market  VARCHAR NOT NULL,
    code    VARCHAR NOT NULL,
    name    VARCHAR,
    PRIMARY KEY (market, code)
);
COMMENT ON TABLE security_issuers IS 'The reviewed seed sql/seeds/securities.csv, copied by every load: which listings (A and H shares) belong to one issuer.';
COMMENT ON COLUMN security_issuers.issuer IS 'The issuer (one name for all its listings).';
COMMENT ON COLUMN security_issuers.market IS 'Eastmoney''s market number of a listing.';
COMMENT ON COLUMN security_issuers.code IS 'The listing''s code.';
COMMENT ON COLUMN security_issuers.name IS 'The listing''s name, where no live post names it.';

CREATE OR REPLACE VIEW security_master AS
WITH codes AS (
    SELECT s.market, s.code, any_value(s.kind) AS kind,
           count(DISTINCT s.post_id) FILTER (WHERE NOT s.fragment) AS articles,
           count(DISTINCT s.post_id) FILTER (WHERE s.fragment) AS fragment_articles
    FROM article_securities s JOIN articles a USING (post_id)
    WHERE a.deleted_at IS NULL
    GROUP BY ALL
    UNION ALL
    SELECT i.market, i.code, coalesce(m.kind, 'other'), 0, 0 FROM security_issuers i LEFT JOIN markets m USING (market)
    WHERE NOT EXISTS (SELECT 1 FROM article_securities s JOIN articles a USING (post_id)
                      WHERE a.deleted_at IS NULL AND s.market = i.market AND s.code = i.code)
)
SELECT c.market, c.code, c.kind,
       coalesce((SELECT min(n.name) FROM security_names n WHERE n.market = c.market AND n.code = c.code),
                i.name) AS name,
       (SELECT list(n.name ORDER BY n.name) FROM security_names n WHERE n.market = c.market AND n.code = c.code)
           AS aliases,
       coalesce(i.issuer, (SELECT min(n.name) FROM security_names n WHERE n.market = c.market AND n.code = c.code),
                i.name) AS issuer,
       c.articles, c.fragment_articles,
       (SELECT min(n.name) FROM security_names n WHERE n.market = c.market AND n.code = c.code) IS NULL
           AND i.name IS NULL AS unnamed
FROM codes c LEFT JOIN security_issuers i ON i.market = c.market AND i.code = c.code;
COMMENT ON VIEW security_master IS 'One row per security the live articles mention or the seed lists: its names, its issuer (one issuer, several listings: sql/seeds/securities.csv), and a flag for a code no live post or seed names.';
COMMENT ON COLUMN security_master.market IS 'Eastmoney''s market number.';
COMMENT ON COLUMN security_master.code IS 'The code.';
COMMENT ON COLUMN security_master.kind IS 'a_share, board, hk_stock, us_stock or other.';
COMMENT ON COLUMN security_master.name IS 'Its name (the first in sort order of security_names), else the seed''s.';
COMMENT ON COLUMN security_master.aliases IS 'Every name the live articles'' quote links show for it.';
COMMENT ON COLUMN security_master.issuer IS 'The issuer: from the seed, else its name.';
COMMENT ON COLUMN security_master.articles IS 'Live articles that mention it (fragments left out).';
COMMENT ON COLUMN security_master.fragment_articles IS 'Live articles whose only link to it is a piece of a longer word.';
COMMENT ON COLUMN security_master.unnamed IS 'No live post and no seed names the code.';
