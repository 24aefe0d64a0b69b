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
:class:`Names` dictionary (an Aho-Corasick automaton, ahocorasick-rs) matches the
known names leftmost-longest (``比亚迪`` never inside ``比亚迪电子`` when both are
names); a match that crosses a word boundary becomes one token, tagged a proper
noun (``nz``), and what is left of the words it crossed is segmented again
(``澄江|新材报`` → ``澄江新材`` + ``报``). A name inside a longer word (``银行`` in
``中国银行``) leaves the word whole. So the keywords depend on the text and on the
names that occur in it, nothing else (news_etl/meaning/names.py relies on it).
Bounded per post: no keyword or name over :data:`MAX_NAME_CHARS` characters, no
ticker (``00388.HK``) a keyword, at most :data:`MAX_SPANS` matches per title or
text, read in windows. The names are those of the post's own quote links that
look like names (:func:`aligned_names`) and the run's dictionary
(``keyword_names``, from the live posts and a reviewed seed, staged for each run).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

#: Keywords kept per article.
TOP_N = 10
#: An occurrence in the title counts this many times.
TITLE_WEIGHT = 3
#: The stop-word list (one word a line, '#' comments).
STOPWORDS_FILE = Path(__file__).with_name("stopwords_zh.txt")
#: Parts of speech (jieba's tag set) that can be keywords.
KEEP_POS = frozenset({"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "nw", "vn", "an", "j", "l", "i", "eng"})

#: No keyword and no name is longer than this.
MAX_NAME_CHARS = 16
#: …or shorter than this.
MIN_NAME_CHARS = 2
#: Name occurrences matched per title or text: what is after them is segmented without names
#: (bounded work and memory for the largest post accepted, whatever names it links).
MAX_SPANS = 2000
#: The automaton reads a text in windows of this many characters.
_WINDOW = 65536

_HAS_LETTER = re.compile(r"[\u4e00-\u9fffA-Za-z]")
#: A ticker (00388.HK, 0388.HK, 000338.SZ, AAPL.O): no keyword and no name.
_TICKER = re.compile(r"[0-9A-Za-z]+\.[A-Za-z]{1,2}")
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
    if pos not in KEEP_POS or not MIN_NAME_CHARS <= len(word) <= MAX_NAME_CHARS or word in stopwords():
        return False
    if not _HAS_LETTER.search(word) or _TICKER.fullmatch(word):
        return False
    return bool(_CJK.search(word)) or pos in ("eng", "nz")  # a Latin name kept whole is tagged nz


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
    """Names kept whole: :data:`MIN_NAME_CHARS` to :data:`MAX_NAME_CHARS` characters, matched
    leftmost-longest (an Aho-Corasick automaton, ahocorasick-rs)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = tuple(sorted({n.strip() for n in names if n and is_name_shaped(n.strip())}))
        self.known = frozenset(self.names)
        self._automaton: Any = None  # ahocorasick_rs.AhoCorasick, built on first use

    def __len__(self) -> int:
        return len(self.names)

    def __or__(self, other: Iterable[str]) -> Names:
        extra = set(other) - set(self.names)
        return Names((*self.names, *extra)) if extra else self

    def spans(self, text: str, limit: int = MAX_SPANS) -> list[tuple[int, int]]:
        """(start, end) of the leftmost-longest, non-overlapping occurrences of the names in
        ``text``, the first ``limit`` of them; read in windows of :data:`_WINDOW` characters, so the
        memory is bounded whatever the text (a name never matches inside a longer one that starts
        at the same place: 比亚迪 is not found in 比亚迪电子 when both are names)."""
        if not self.names or not text:
            return []
        self._build()
        found: list[tuple[int, int]] = []
        pos = 0
        while pos < len(text) and len(found) < limit:
            window = text[pos : pos + _WINDOW]
            # a match is final when every name that could start where it starts fits in the window
            cutoff = pos + len(window) if pos + len(window) >= len(text) else pos + len(window) - MAX_NAME_CHARS
            last = pos
            for _, s, e in self._automaton.find_matches_as_indexes(window):
                if pos + s >= cutoff or len(found) >= limit:
                    break
                found.append((pos + s, pos + e))
                last = pos + e
            pos = max(cutoff, last)
        return found

    def first(self, text: str, pos: int) -> tuple[int, int] | None:
        """The leftmost-longest occurrence starting at or after ``pos``, or None (read in windows
        that double from 64 characters: the work follows the distance to it)."""
        if not self.names or pos >= len(text):
            return None
        self._build()
        width = 64
        while True:
            window = text[pos : pos + width]
            end = pos + len(window)
            for _, s, e in self._automaton.find_matches_as_indexes(window):
                if end >= len(text) or s + MAX_NAME_CHARS <= len(window):
                    return pos + s, pos + e
                break
            if end >= len(text):
                return None
            # nothing final in this window: what starts before its last MAX_NAME_CHARS characters is done
            pos, width = max(pos, end - MAX_NAME_CHARS), width * 2

    def _build(self) -> None:
        if self._automaton is None:
            import ahocorasick_rs

            self._automaton = ahocorasick_rs.AhoCorasick(self.names, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)


def union_spans(text: str, a: Names, b: Names, limit: int = MAX_SPANS) -> list[tuple[int, int]]:
    """What ``Names(a.names + b.names).spans(text)`` gives, without building an automaton of both:
    ``b`` is small (a post's own names), ``a`` the run's dictionary, built once. At each step the
    leftmost start of either, the longer name on a tie; the other's next occurrence is looked up
    again only when the step passed its start."""
    if not b.names:
        return a.spans(text, limit)
    if not a.names:
        return b.spans(text, limit)
    nb = b.first(text, 0)
    if nb is None:
        return a.spans(text, limit)
    found: list[tuple[int, int]] = []
    na = a.first(text, 0)
    while len(found) < limit and (na or nb):
        if nb is None or (na is not None and (na[0] < nb[0] or (na[0] == nb[0] and na[1] >= nb[1]))):
            pick = na
        else:
            pick = nb
        assert pick is not None
        found.append(pick)
        pos = pick[1]
        if na is not None and na[0] < pos:
            na = a.first(text, pos)
        if nb is not None and nb[0] < pos:
            nb = b.first(text, pos)
    return found


NO_NAMES = Names()


def is_name_shaped(name: str) -> bool:
    """A name: :data:`MIN_NAME_CHARS` to :data:`MAX_NAME_CHARS` characters with a Chinese character
    or a Latin letter, no line break, and not a ticker (``00388.HK``)."""
    return (
        MIN_NAME_CHARS <= len(name) <= MAX_NAME_CHARS
        and "\n" not in name
        and bool(_HAS_LETTER.search(name))
        and not _TICKER.fullmatch(name)
    )


def aligned_names(
    text: str | None, candidates: Iterable[str], tokens: list[tuple[str, str]] | None = None
) -> list[str]:
    """The ``candidates`` (the text of a post's quote links) that look like names in ``text``:
    name-shaped (:func:`is_name_shaped`) and, at their first occurrence in the text, starting and
    ending where the base segmenter (rjieba, no learned names) starts and ends a word. A link whose
    text is a piece of a longer word is no name: 国平 in 中国平安 (中国|平安), 币汇 in 人民币汇率,
    大智慧 in 壮大智慧 (壮大|智慧), 线上线下 in 产品线上线下 (产品线|上线|下). ``tokens``: the
    base segmentation of ``text`` if the caller has it."""
    names = sorted({c.strip() for c in candidates if c and is_name_shaped(c.strip())})
    if not names or not text:
        return []
    if tokens is None:
        tokens = _segmenter()(text)
    starts = set(accumulate(map(len, map(itemgetter(0), tokens)), initial=0))
    out = []
    for name in names:
        at = text.find(name)
        if at >= 0 and at in starts and at + len(name) in starts:
            out.append(name)
    return out


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


class Analysis(NamedTuple):
    """What :func:`analyse` finds in a post."""

    keywords: list[dict]  # [{keyword, count, weight}], best first
    names: list[str]  # the names of the post's own links that look like names (aligned_names), sorted
    used: list[str]  # the names matched in its title and text (leftmost-longest, within MAX_SPANS), sorted


def keywords(title: str | None, text: str | None, top_n: int = TOP_N, names: Names = NO_NAMES) -> list[dict]:
    """The top ``top_n`` keywords of an article: ``[{"keyword", "count", "weight"}]``, best first.

    ``count`` is the word's occurrences in the title and text; ``weight`` its
    share of all counted words, titles counted :data:`TITLE_WEIGHT` times.
    Ties go to the word that appears first (title, then text), then by the word.
    No matched occurrence of a name of ``names`` is split (see :class:`Names`).
    """
    return analyse(title, text, names, top_n=top_n).keywords


def analyse(
    title: str | None, text: str | None, names: Names = NO_NAMES, linked: Iterable[str] = (), top_n: int = TOP_N
) -> Analysis:
    """Keywords of a post with ``names`` and the names of its own ``linked`` quote links that look
    like names kept whole. The result depends on the title, the text and the names that occur in
    them, nothing else: a name that does not occur changes nothing, and neither does a name that
    occurs but is never matched (inside a longer matched name)."""
    tag = _segmenter()
    decided = _DECISIONS
    score: dict[str, int] = {}
    count: dict[str, int] = {}
    first: dict[str, int] = {}  # word → rank of its first appearance (title, then text)
    body_tokens = tag(text) if text else []
    own = aligned_names(text, linked, body_tokens)
    own_names = Names(n for n in own if n not in names.known)
    used: set[str] = set()
    for part, weight in ((title, TITLE_WEIGHT), (text, 1)):
        if not part:
            continue
        tokens = body_tokens if part is text else tag(part)
        spans = union_spans(part, names, own_names)
        if spans:
            used.update(part[s:e] for s, e in spans)
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
        return Analysis([], own, sorted(used))
    best = sorted(score, key=lambda w: (-score[w], first[w], w))[:top_n]
    return Analysis(
        [{"keyword": w, "count": count[w], "weight": round(score[w] / total, 6)} for w in best], own, sorted(used)
    )
