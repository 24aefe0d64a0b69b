"""Chinese keywords of an article: segment its clean text, drop stop words, count.

The segmenter is **rjieba** (Python binding of jieba-rs): on the corpus it cuts
Chinese text exactly like jieba 0.42.1 (the same dictionary), is about nine
times faster, keeps stock codes such as ``00388.HK`` in one token, and carries
its dictionary inside the wheel: nothing is downloaded or cached on disk. It is
loaded lazily, once per process (the transform runs in worker processes).
``python -m devtools.keywords_bench`` has the comparison.

The weights are term frequencies, not TF-IDF: an IDF would depend on which
articles share a batch or a warehouse, and an article's keywords must depend on
its text alone, so a re-run or a backfill gives the same rows. A word counts
:data:`TITLE_WEIGHT` times for each occurrence in the title. ``weight`` is the
word's share of all the counted words of the article (0..1); ties are broken
by first position in the text, then by the word itself: deterministic.

Kept: words of two or more characters whose part of speech is a noun (common,
person, place, organisation, other proper noun), a verbal noun, an abbreviation,
an idiom or a Latin-letter token (``A股``, ``ETF``, ``00388.HK``); dropped: the
stop words of ``stopwords_zh.txt`` (kept in the repo) and tokens without a
letter or a Chinese character.

Names are never split. rjieba cuts ``宁德时代`` into ``宁德`` + ``时代``, ``中国平安``
into ``中国`` + ``平安`` (an adjective, dropped) and tags ``蔚来`` a verb. A
:class:`Names` dictionary (an Aho-Corasick automaton, ahocorasick-rs) finds every
occurrence of a known name in the text; an occurrence that crosses a word
boundary becomes one token, tagged a proper noun (``nz``), and what is left of
the words it crossed is segmented again (``澄江|新材报`` → ``澄江新材`` + ``报``).
A name inside a longer word (``银行`` in ``中国银行``) leaves the word whole. The
price: a name the site links by mistake inside a compound cuts the compound
(the board ``电机`` in ``煤电机组`` gives ``煤``, ``电机``, ``组``). The names are those of the post's own
quote links and the site's dictionary of every name its quote links have shown
(``security_names`` in the warehouse, staged for each run: news_etl/meaning/securities.py).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any

#: Keywords kept per article.
TOP_N = 10
#: An occurrence in the title counts this many times.
TITLE_WEIGHT = 3
#: The stop-word list (one word a line, '#' comments).
STOPWORDS_FILE = Path(__file__).with_name("stopwords_zh.txt")
#: Parts of speech (jieba's tag set) that can be keywords.
KEEP_POS = frozenset({"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "nw", "vn", "an", "j", "l", "i", "eng"})

_HAS_LETTER = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words = set()
    for line in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.add(line)
    return frozenset(words)


@lru_cache(maxsize=1)
def _segmenter():
    """The tagger, imported on first use (once per process)."""
    import rjieba

    rjieba.tag("预热")  # builds the dictionary's index now, not inside the first article
    return rjieba.tag


def _keep(word: str, pos: str) -> bool:
    if pos not in KEEP_POS or len(word) < 2 or word in stopwords() or not _HAS_LETTER.search(word):
        return False
    return bool(_CJK.search(word)) or pos == "eng"


#: (token, part of speech) → the word kept, or None. Tokens repeat a lot across
#: articles: each is decided once per process.
_DECISIONS: dict[tuple[str, str], str | None] = {}
_UNDECIDED = ""  # not a word: a token never decides to the empty string


def _decide(token: tuple[str, str]) -> str | None:
    if token in _DECISIONS:
        return _DECISIONS[token]
    if len(_DECISIONS) > 500_000:
        _DECISIONS.clear()
    stripped = token[0].strip()
    word = _DECISIONS[token] = stripped if _keep(stripped, token[1]) else None
    return word


class Names:
    """Names to keep whole (two characters or more), found with one Aho-Corasick pass."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = tuple(sorted({n.strip() for n in names if n and len(n.strip()) >= 2}))
        self._automaton: Any = None  # ahocorasick_rs.AhoCorasick, built on first use

    def __len__(self) -> int:
        return len(self.names)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every occurrence in ``text``, overlapping ones included."""
        if not self.names:
            return []
        if self._automaton is None:
            import ahocorasick_rs

            self._automaton = ahocorasick_rs.AhoCorasick(self.names, matchkind=ahocorasick_rs.MatchKind.Standard)
        return [(s, e) for _, s, e in self._automaton.find_matches_as_indexes(text, overlapping=True)]


NO_NAMES = Names()


def _protected(text: str, tokens: list[tuple[str, str]], spans: list[tuple[int, int]], tag) -> list[tuple[str, str]]:
    """Cut ``text`` at the edges of every name occurrence that crosses a word boundary.

    The name becomes one proper noun (``nz``); what is left of the words it
    crossed is segmented again. A name equal to a word only changes the word's
    tag to ``nz`` (rjieba tags 蔚来 a verb); a name inside a longer word (银行 in
    中国银行) leaves the word whole.
    """
    merged: list[list[int]] = []  # overlapping occurrences (中信证券, 证券) become one
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    ends = list(accumulate(map(len, map(itemgetter(0), tokens))))  # end offset of each token
    groups: list[tuple[int, int, list[tuple[int, int]]]] = []  # (first token, last token, names in them)
    for start, end in merged:
        first, last = bisect_right(ends, start), bisect_left(ends, end)
        if first == last and (start, end) != (ends[first] - len(tokens[first][0]), ends[first]):
            continue  # inside one word
        if groups and first <= groups[-1][1]:
            groups[-1] = (groups[-1][0], max(groups[-1][1], last), [*groups[-1][2], (start, end)])
        else:
            groups.append((first, last, [(start, end)]))
    out: list[tuple[str, str]] = []
    done = 0
    for first, last, names in groups:
        out.extend(tokens[done:first])
        pos = ends[first] - len(tokens[first][0])
        for start, end in names:
            if pos < start:
                out.extend(tag(text[pos:start]))
            out.append((text[start:end], "nz"))
            pos = end
        if pos < ends[last]:
            out.extend(tag(text[pos : ends[last]]))
        done = last + 1
    out.extend(tokens[done:])
    return out


def keywords(
    title: str | None, text: str | None, top_n: int = TOP_N, names: Sequence[Names] = (NO_NAMES,)
) -> list[dict]:
    """The top ``top_n`` keywords of an article: ``[{"keyword", "count", "weight"}]``, best first.

    ``count`` is the word's occurrences in the title and text; ``weight`` its
    share of all counted words, titles counted :data:`TITLE_WEIGHT` times.
    Ties go to the word that appears first (title, then text), then by the word.
    No occurrence of a name of ``names`` is split (see :class:`Names`).
    """
    tag = _segmenter()
    decided = _DECISIONS
    score: dict[str, int] = {}
    count: dict[str, int] = {}
    first: dict[str, int] = {}  # word → rank of its first appearance (title, then text)
    for part, weight in ((title, TITLE_WEIGHT), (text, 1)):
        if not part:
            continue
        tokens = tag(part)
        spans = [span for dictionary in names for span in dictionary.spans(part)]
        if spans:
            tokens = _protected(part, tokens, spans, tag)
        # counted in C; a Counter keeps its keys in order of first appearance; each distinct
        # token is decided once per process (a dict lookup here, no call)
        for token, n in Counter(tokens).items():
            word = decided.get(token, _UNDECIDED)
            if word is _UNDECIDED:
                word = _decide(token)
            if word is None:
                continue
            if word in count:
                count[word] += n
                score[word] += n * weight
            else:
                count[word] = n
                score[word] = n * weight
                first[word] = len(first)
    total = sum(score.values())
    if not total:
        return []
    best = sorted(score, key=lambda w: (-score[w], first[w], w))[:top_n]
    return [{"keyword": w, "count": count[w], "weight": round(score[w] / total, 6)} for w in best]
