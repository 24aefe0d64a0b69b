"""Per-article numbers, computed on the clean text.

Reading time assumes 400 Chinese characters or 200 other words a minute.
"""

from __future__ import annotations

import re

from news_etl.ingest.clean import Body

_NOT_CJK = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SENTENCE_END = re.compile(r"[。！？!?]+[”’」』）)\"']*\s*")
_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[”’」』）)\"']*|[^。！？!?]+$")
#: A number: ``12``, ``3.54``, ``6,768,389`` (a comma only between groups of three: ``2.0,2.0`` is two).
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
_NUMBER = re.compile(_NUM)
#: Every figure counts, also when figures share one unit in a list or a range: ``27.3及56.2港元`` and
#: ``100-200亿元`` are two amounts each (like ``1.66亿元-1.82亿元``), ``26%和50%`` two percentages.
_AND = r"\s*(?:及|和|与|、|或|/|至|到|-|~|～|—|－)\s*"
_SCALE = r"(?:万亿|千亿|百亿|亿|千万|百万|万|千)?"
#: Money: a number, a scale and a currency: ``2000元``, ``1191.7亿元``, ``5.42亿美元``, ``17.74港元``
#: (not ``1日元旦``: New Year's Day, nor ``15日元宵节``).
#: A percentage: ``93.1%``, ``-3％``, ``百分之三十``; not ``2.6个百分点`` (points are not a percentage).
#: Both are read one figure at a time (its scale or ``%``, then a ``_AND`` that joins it to the next
#: figure, or its currency), and the runs of joined figures are counted in Python: one pattern over a
#: whole run, tried again from each figure of a run that has no currency, is quadratic on a long list
#: (``1、1、1、…``). A figure starts only where a number starts; its digit runs are possessive.
_NUM_AT = r"(?<!\d)(?:\d{1,3}(?:,\d{3})+(?!\d)|\d++)(?:\.\d++)?"
_MONEY_FIGURE = re.compile(
    rf"{_NUM_AT}\s*{_SCALE}(?:(?P<unit>元|美元|港元|港币|欧元|日元|英镑)(?![旦宵])|(?P<joined>{_AND})(?=\d))?"
)
_PERCENT_FIGURE = re.compile(
    rf"(?P<words>百分之[零一二三四五六七八九十百点\d.]+)|{_NUM_AT}\s*(?P<unit>[%％])?(?:(?P<joined>{_AND})(?=\d))?"
)
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")

CJK_PER_MINUTE = 400
WORDS_PER_MINUTE = 200


def sentences(text: str) -> list[str]:
    """The sentences of a text: each ends after 。！？!? (with a closing quote
    that follows) or at the end of a paragraph."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(s.strip() for s in _SENTENCE.findall(paragraph) if s.strip())
    return out


#: Clause ends: no money or percentage runs across them (none is in ``_AND``). Only the clauses that
#: hold a unit are searched, which is most of the speed of the two counts below.
_CLAUSE = re.compile(r"[，。；！？;!?\n]")  # not the ASCII comma: it groups digits (6,768元)


def money_mentions(text: str) -> int:
    """Amounts of money in a text (元, 万元, 亿元, 美元, 港元 …); each figure of a list or range counts."""
    return sum(_figures(_MONEY_FIGURE, clause) for clause in _CLAUSE.split(text) if "元" in clause or "港币" in clause)


def percent_mentions(text: str) -> int:
    """Percentages in a text (``%``, ``％``, ``百分之…``); each figure of a list or range counts."""
    return sum(
        _figures(_PERCENT_FIGURE, clause)
        for clause in _CLAUSE.split(text)
        if "%" in clause or "％" in clause or "百分之" in clause
    )


def _figures(pattern: re.Pattern, clause: str) -> int:
    """The figures of a clause that count: in each run of figures joined by ``_AND``, those up to the
    last one with a unit (``1、2、3亿元`` → 3, ``26%和50`` → 1); a ``百分之…`` counts its figures, or one."""
    total = run = counted = 0
    end = -1
    for m in pattern.finditer(clause):
        if m.start() != end:  # not joined to the figure before: that run is over
            total, run, counted = total + counted, 0, 0
        end = m.end()
        if m.lastgroup == "words":
            total += max(1, len(_NUMBER.findall(m[0])))
            end = -1
            continue
        run += 1
        if m["unit"]:
            counted = run
        if not m["joined"]:
            total, run, counted = total + counted, 0, 0
    return total + counted


def _count_sentences(paragraphs: list[str]) -> int:
    """``len(sentences(text))``, without building the sentences."""
    n = 0
    for p in paragraphs:
        ends = _SENTENCE_END.findall(p)
        n += len(ends)
        if not ends or not p.endswith(ends[-1]):
            n += 1  # text after the last sentence end
    return n


def article_metrics(body: Body) -> dict[str, int]:
    """The numbers stored in ``article_metrics`` for one cleaned body."""
    text = body.text
    cjk = len(_NOT_CJK.sub("", text))
    latin_words = len(_LATIN_WORD.findall(text))
    minutes = cjk / CJK_PER_MINUTE + latin_words / WORDS_PER_MINUTE
    return {
        "cjk_chars": cjk,
        "chars": len(text) - text.count("\n"),
        "paragraph_count": len(body.paragraphs),
        "sentences": _count_sentences(body.paragraphs),
        "numbers": len(_NUMBER.findall(text)),
        "money_mentions": money_mentions(text) if ("元" in text or "港币" in text) else 0,
        "percent_mentions": percent_mentions(text) if ("%" in text or "％" in text or "百分之" in text) else 0,
        "links": body.links,
        "images": body.images,
        "kline_images": body.kline_images,
        "tables": body.tables,
        "reading_seconds": round(minutes * 60),
    }
