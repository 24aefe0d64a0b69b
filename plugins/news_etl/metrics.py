"""Per-article numbers, computed on the clean text.

Reading time assumes 400 Chinese characters or 200 other words a minute.
"""

from __future__ import annotations

import re

from .clean import Body

_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[”’」』）)\"']*|[^。！？!?]+$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MONEY = re.compile(r"\d+(?:[.,]\d+)*\s*(?:万亿|千亿|百亿|亿|千万|百万|万|千)?(?:元|美元|港元|港币|欧元|日元|英镑)")
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*[%％]|百分之[零一二三四五六七八九十百点\d.]+")
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


def article_metrics(body: Body) -> dict[str, int]:
    """The numbers stored in ``article_metrics`` for one cleaned body."""
    text = body.text
    cjk = len(_CJK_CHAR.findall(text))
    latin_words = len(_LATIN_WORD.findall(text))
    minutes = cjk / CJK_PER_MINUTE + latin_words / WORDS_PER_MINUTE
    return {
        "cjk_chars": cjk,
        "chars": len(text) - text.count("\n"),
        "paragraph_count": len(body.paragraphs),
        "sentences": len(sentences(text)),
        "numbers": len(_NUMBER.findall(text)),
        "money_mentions": len(_MONEY.findall(text)),
        "percent_mentions": len(_PERCENT.findall(text)),
        "links": body.links,
        "images": body.images,
        "kline_images": body.kline_images,
        "tables": body.tables,
        "reading_seconds": round(minutes * 60),
    }
