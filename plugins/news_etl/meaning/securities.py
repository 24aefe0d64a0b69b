"""Which securities a post mentions: its quote links (keytips) and K-line widgets.

Eastmoney marks a security in a post two ways, and the cleaner keeps both
(``Body.codes``, collected in its one walk over the HTML):

- a quote link, ``<a class="keytip" data-code="1,600160">巨化股份</a>`` (or a
  ``<span class="em_stock_key_common" …>``): ``market,code`` and the name as the
  reader sees it;
- a K-line widget, ``<a class="EmImageRemark" data-code="NIO|106|7">`` around a
  chart image: ``code|market|type`` and no name (the name comes from a quote
  link of the same post, else from the warehouse's dictionary at load time).

Markets are Eastmoney's numbers: ``0`` Shenzhen and ``1`` Shanghai A shares,
``90`` Eastmoney's boards (``BK…``), ``116`` Hong Kong, ``105`` NASDAQ,
``106`` NYSE, ``107`` NYSE American. The ``markets`` table of the warehouse
says the same for analysts.

``security_names``: every name the quote links of the live posts show for a
security, derived again by every load (a function of the live posts); a widget or
a plain-text mention (``名称(000338.SZ)``) without a link takes its name from it,
else from the reviewed seed ``sql/seeds/securities.csv``.

The names keywords keep whole (``keyword_names``, news_etl/meaning/names.py)
reach the transform, which runs on workers that never open the warehouse, as a
file: publish writes them, sorted, one a line, beside the writer's file
(``warehouse.names.txt``); fetch copies it into the run's staging folder (listed
in the manifest with its SHA-256) and every batch of the run reads that copy.
The load then derives again the keywords of every post whose names differ from
the final ones, so a lost or stale file costs time, never a different row.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path

from news_etl import storage
from news_etl.meaning.keywords import Names
from news_etl.model import Execute
from news_etl.settings import SQL_DIR

#: The reviewed issuers and listings, beside the migrations.
SECURITIES_CSV = SQL_DIR / "seeds" / "securities.csv"
#: The dictionary file's name in a run's staging folder.
DICTIONARY_FILE = "names.txt"
#: …and beside the writer's file: ``warehouse.duckdb`` → ``warehouse.names.txt``.
DICTIONARY_SUFFIX = ".names.txt"

#: Eastmoney market number → kind of security.
KINDS: dict[str, str] = {
    "0": "a_share",
    "1": "a_share",
    "90": "board",
    "116": "hk_stock",
    "105": "us_stock",
    "106": "us_stock",
    "107": "us_stock",
}
#: The longest code or name kept (a data-code longer than this is not a security).
MAX_FIELD = 40


def parse_code(data_code: str) -> tuple[str, str] | None:
    """``"1,600160"`` (quote link) or ``"NIO|106|7"`` (widget) → (market, code); None if neither."""
    text = data_code.strip()
    if text.startswith("K "):  # the chart image inside a widget: "K NIO|106|7"
        text = text[2:].strip()
    if "," in text:
        market, _, code = text.partition(",")
    elif "|" in text:
        code, _, rest = text.partition("|")
        market = rest.split("|", 1)[0]
    else:
        return None
    market, code = market.strip(), code.strip().upper()
    if not market.isdigit() or not code or len(code) > MAX_FIELD or not code.replace(".", "").isalnum():
        return None
    return market, code


#: A security written out in the text: ``名称(000338.SZ)``, ``名称(00388.HK)``, ``名称（600519）``: a
#: letter or Chinese character, then a code in ASCII or full-width brackets (no nested repetition:
#: linear on any text).
PLAIN_FORM = re.compile(r"[\u4e00-\u9fffA-Za-z][(（](\d{4,6})(?:\.(SZ|SH|BJ|HK))?[)）]")
#: Exchange suffix → Eastmoney's market number.
SUFFIX_MARKETS = {"SZ": "0", "SH": "1", "BJ": "0", "HK": "116"}


def plain_mentions(text: str | None) -> list[tuple[str, str]]:
    """(market, code) of every security the text writes out (:data:`PLAIN_FORM`), in order: a
    suffix names the market (a Hong Kong code padded to five digits: 0388.HK → 00388); six digits
    alone are an A share (6… and 9… Shanghai, others Shenzhen); five digits alone a Hong Kong
    stock; four digits need ``.HK`` (（2021） is a year)."""
    found = []
    for m in PLAIN_FORM.finditer(text or ""):
        code, suffix = m[1], m[2]
        if suffix:
            market = SUFFIX_MARKETS[suffix]
            if market == "116":
                if len(code) > 5:
                    continue
                code = code.zfill(5)
            elif len(code) != 6:
                continue
        elif len(code) == 6:
            market = "1" if code[0] in "69" else "0"
        elif len(code) == 5:
            market = "116"
        else:
            continue
        found.append((market, code))
    return found


def securities(codes: list[tuple[str, str]], text: str | None = None) -> list[dict]:
    """One row per security of a post, in order of first mention:
    ``{market, code, name, kind, keytips, widgets, mentions, fragment}``.

    ``name`` is the text of the post's first quote link for the security (a
    widget carries none); ``keytips`` and ``widgets`` count its quote links
    and K-line widgets, ``mentions`` the times ``text`` writes it out
    (:func:`plain_mentions`). ``fragment`` is set later (:func:`mark_fragments`).
    """
    rows: dict[tuple[str, str], dict] = {}

    def row(market: str, code: str) -> dict:
        found = rows.get((market, code))
        if found is None:
            found = rows[(market, code)] = {
                "market": market,
                "code": code,
                "name": None,
                "kind": KINDS.get(market, "other"),
                "keytips": 0,
                "widgets": 0,
                "mentions": 0,
                "fragment": False,
            }
        return found

    for data_code, link_text in codes:
        parsed = parse_code(data_code)
        if parsed is None:
            continue
        r = row(*parsed)
        if "|" in data_code:
            r["widgets"] += 1
        else:
            r["keytips"] += 1
            name = link_text.strip()
            if name and r["name"] is None and len(name) <= MAX_FIELD:
                r["name"] = name
    for market, code in plain_mentions(text):
        row(market, code)["mentions"] += 1
    return list(rows.values())


def mark_fragments(rows: list[dict], names: list[str]) -> list[dict]:
    """Flag the rows whose quote link's text is no name of the post (``names``, from
    :func:`news_etl.meaning.keywords.aligned_names`): a piece of a longer word in its sentence, as
    the site's auto-links make (大智慧 in 培育壮大智慧产品, 线上线下 in 产品线上线下)."""
    known = set(names)
    for r in rows:
        r["fragment"] = bool(r["name"]) and r["keytips"] > 0 and r["name"] not in known
    return rows


def names(rows: list[dict]) -> set[str]:
    """The security names a post shows (for the keyword segmenter)."""
    return {r["name"] for r in rows if r["name"]}


# --- the dictionary file: the warehouse's names, for the next run's transform ----------------------


def dictionary_path(warehouse) -> Path:
    """Where publish writes the dictionary: beside the writer's file (``warehouse.names.txt``)."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.stem + DICTIONARY_SUFFIX)


def write_dictionary(con, warehouse) -> int:
    """Write every name of ``keyword_names``, sorted, one a line (atomically); return how many."""
    names = [n for (n,) in con.execute("SELECT name FROM keyword_names ORDER BY name").fetchall()]
    path = dictionary_path(warehouse)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(f"{n}\n" for n in names if "\n" not in n), encoding="utf-8")
    os.replace(tmp, path)
    return len(names)


def stage_dictionary(warehouse, folder) -> dict:
    """Copy the dictionary into a run's staging folder, so every batch of the run uses the same one."""
    source = dictionary_path(warehouse)
    target = storage.folder(folder) / DICTIONARY_FILE  # a local folder, or one object on object storage
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        data = b""  # a new warehouse: only the names of each post itself are kept whole
    target.write_bytes(data)
    return {"names": data.count(b"\n"), "sha256": hashlib.sha256(data).hexdigest()}


def read_dictionary(folder) -> Names:
    """The run's dictionary (staged by fetch); empty if the run staged none."""
    try:
        text = (storage.folder(folder) / DICTIONARY_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Names()
    return Names(text.splitlines())


# --- the load: rows of the batch, the dictionary, the daily table ---------------------------------


def load_batch(x: Execute, run_id: str) -> None:
    """``article_securities`` of the batch's written articles (the view ``classified``), replaced."""
    x("""
        DELETE FROM article_securities
        WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('updated', 'revived'))""")
    x(
        """
        INSERT INTO article_securities (post_id, market, code, name, kind, keytips, widgets, run_id, mentions,
            fragment, found, name_from)
        SELECT c.post_id, s.market, s.code, s.name, s.kind, s.keytips, s.widgets, ?, coalesce(s.mentions, 0),
               coalesce(s.fragment, false),
               concat_ws('+', CASE WHEN s.keytips > 0 THEN 'link' END, CASE WHEN s.widgets > 0 THEN 'widget' END,
                         CASE WHEN s.mentions > 0 THEN 'text' END),
               CASE WHEN s.name IS NOT NULL THEN 'link' ELSE 'none' END
        FROM (SELECT post_id, unnest(securities) AS s FROM classified
              WHERE change IN ('new', 'updated', 'revived') AND len(securities) > 0) c""",
        [run_id],
    )


def rebuild(x: Execute, run_id: str, chunk: int = 2000) -> None:
    """For a warehouse loaded before migration 021: every live article's securities written out in
    its text (``mentions``, rows found in the text alone added) and its links inside longer words
    (``fragment``), from its stored title and text and ``article_names`` (call after the names)."""
    todo = [p for (p,) in x("SELECT post_id FROM articles WHERE deleted_at IS NULL ORDER BY 1").fetchall()]
    for start in range(0, len(todo), chunk):
        ids = todo[start : start + chunk]
        found = [
            {"post_id": p, "market": m, "code": c, "n": 1}
            for p, title, body in x(
                "SELECT post_id, title, body_text FROM articles WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
            ).fetchall()
            for m, c in plain_mentions(f"{title}\n{body}")
        ]
        x("UPDATE article_securities SET mentions = 0 WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        if found:
            x(
                """CREATE OR REPLACE TEMP TABLE text_found AS
                   SELECT post_id, market, code, sum(n)::INTEGER AS mentions
                   FROM (SELECT unnest(?, recursive := true)) GROUP BY ALL""",
                [found],
            )
            x("""UPDATE article_securities SET mentions = t.mentions FROM text_found t
                 WHERE article_securities.post_id = t.post_id AND article_securities.market = t.market
                   AND article_securities.code = t.code""")
            x(
                """INSERT INTO article_securities (post_id, market, code, name, kind, keytips, widgets, run_id,
                       mentions, fragment, found, name_from)
                   SELECT t.post_id, t.market, t.code, NULL, coalesce(m.kind, 'other'), 0, 0, ?, t.mentions, false,
                          'text', 'none'
                   FROM text_found t LEFT JOIN markets m USING (market)
                   WHERE NOT EXISTS (SELECT 1 FROM article_securities s WHERE s.post_id = t.post_id
                                     AND s.market = t.market AND s.code = t.code)""",
                [run_id],
            )
            x("DROP TABLE text_found")
    x("""UPDATE article_securities s SET
             fragment = s.keytips > 0 AND s.name IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM article_names n WHERE n.post_id = s.post_id AND n.name = s.name),
             found = concat_ws('+', CASE WHEN s.keytips > 0 THEN 'link' END, CASE WHEN s.widgets > 0 THEN 'widget' END,
                               CASE WHEN s.mentions > 0 THEN 'text' END),
             name_from = CASE WHEN s.keytips = 0 THEN s.name_from WHEN s.name IS NOT NULL THEN 'link' ELSE 'none' END
         WHERE s.post_id IN (SELECT post_id FROM articles WHERE deleted_at IS NULL)""")


def issuers() -> list[dict]:
    """The reviewed seed ``sql/seeds/securities.csv``: listings (market, code) of one issuer."""
    with SECURITIES_CSV.open(encoding="utf-8", newline="") as fh:
        return [
            {
                "issuer": r["issuer"].strip(),
                "market": r["market"].strip(),
                "code": r["code"].strip(),
                "name": r["name"].strip() or None,
            }
            for r in csv.DictReader(fh)
        ]


def load_run(x: Execute, run_id: str) -> None:
    """``security_names`` derived again from the live articles' quote links; a row without a name
    of its own (a widget alone) takes the security's name from it, so both are functions of the
    live posts, whatever the order they came in."""
    x(
        """
        CREATE OR REPLACE TEMP TABLE security_names_final AS
        SELECT s.market, s.code, s.name, min(s.kind) AS kind, min(a.published_date) AS first_day
        FROM article_securities s JOIN articles a USING (post_id)
        WHERE a.deleted_at IS NULL AND s.name IS NOT NULL AND s.keytips > 0 AND NOT s.fragment
        GROUP BY ALL"""
    )
    x("""DELETE FROM security_names n WHERE NOT EXISTS (
             SELECT 1 FROM security_names_final f WHERE f.market = n.market AND f.code = n.code AND f.name = n.name
               AND f.kind = n.kind AND f.first_day = n.first_day)""")
    x(
        """INSERT OR IGNORE INTO security_names SELECT market, code, name, kind, first_day, ? FROM security_names_final""",
        [run_id],
    )
    x("DROP TABLE security_names_final")
    x("DELETE FROM security_issuers")
    x("INSERT INTO security_issuers SELECT * FROM (SELECT unnest(?, recursive := true))", [issuers()])
    x("""
        CREATE OR REPLACE TEMP TABLE security_renamed AS
        SELECT s.post_id, s.market, s.code, coalesce(n.name, i.name) AS name,
               CASE WHEN n.name IS NOT NULL THEN 'security_names' WHEN i.name IS NOT NULL THEN 'seed'
                    ELSE 'none' END AS name_from
        FROM article_securities s
        LEFT JOIN (SELECT market, code, min(name) AS name FROM security_names GROUP BY ALL) n
               ON n.market = s.market AND n.code = s.code
        LEFT JOIN security_issuers i ON i.market = s.market AND i.code = s.code
        WHERE s.keytips = 0 AND (s.name IS DISTINCT FROM coalesce(n.name, i.name)
                                 OR s.name_from IS DISTINCT FROM CASE WHEN n.name IS NOT NULL THEN 'security_names'
                                                                      WHEN i.name IS NOT NULL THEN 'seed' ELSE 'none' END)""")
    x("""
        UPDATE article_securities SET name = r.name, name_from = r.name_from
        FROM security_renamed r
        WHERE article_securities.post_id = r.post_id AND article_securities.market = r.market
          AND article_securities.code = r.code""")
    x("""
        INSERT INTO changed SELECT DISTINCT r.post_id, 'names', a.published_date, NULL
        FROM security_renamed r JOIN articles a USING (post_id)
        WHERE r.post_id NOT IN (SELECT post_id FROM changed)""")
    x("DROP TABLE security_renamed")


def rebuild_daily(x: Execute, run_id: str, first: object, last: object) -> None:
    """``security_daily`` of ``touched_days`` from ``first`` to ``last`` (the days daily_metrics was
    rebuilt for; their rows deleted by the caller)."""
    x(
        """
        INSERT INTO security_daily
        SELECT a.published_date, s.market, s.code, min(s.name), any_value(s.kind),
               count(*), count(DISTINCT a.story_id), count(DISTINCT coalesce(a.outlet, '?')), sum(s.keytips), ?
        FROM article_securities s JOIN articles a USING (post_id)
        WHERE a.deleted_at IS NULL AND a.published_date BETWEEN ? AND ?
          AND a.published_date IN (SELECT day FROM touched_days) AND NOT s.fragment
        GROUP BY a.published_date, s.market, s.code""",
        [run_id, first, last],
    )
