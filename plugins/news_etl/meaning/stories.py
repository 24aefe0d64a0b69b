"""Stories: every copy of one story gets the same ``articles.story_id``.

Two posts are copies of one story (a *link* between them, kept in ``story_links``) when

- they are the site's dual copies: the Eastmoney post ``X`` and the newspaper
  post ``NWX`` of the same Eastmoney id (kind ``copy``); or
- their texts are near-identical and they were published at most
  :data:`WINDOW_DAYS` days apart, from any outlet (kind ``text``): the Jaccard
  similarity of their character :data:`SHINGLE`-grams (title and body,
  punctuation and spaces removed, NFKC, lower case) is at least
  :data:`THRESHOLD`, and neither title holds a number the other post does not
  (``北向资金净流入达30亿元`` and ``…超40亿元`` are two facts, not one story).

A story is a connected group of linked posts; its ``story_id`` is the post id
(without the newspaper's ``NW``) of its earliest post. Links depend only on
the two posts, so the stories depend only on the posts in the warehouse, not
on the order or the runs they came in: a re-run, a backfill and a rebuild give
the same ids.

Similarity is estimated with MinHash (datasketch): :data:`NUM_PERM`
permutations per post, computed in the transform (a pure function of the
text, :func:`signature`) and kept in ``story_signatures``; at load time the
LSH candidates among the posts within three days of the run's posts (the
banding of datasketch's ``MinHashLSH``, :func:`candidates`) are found in memory
from that table, so they always come from the warehouse and are never stored
anywhere else. A post without a
signature (a warehouse from before migration 010) gets one computed from its
stored text by the same function.

The threshold, measured on the real corpus (tests/test_stories.py): the site's
dual copies and the same flash posted on two Eastmoney channels score 1.0; the
closest different stories, two outlets' own reports of one press conference
and two northbound-flow flashes, score 0.27 and 0.30 (estimates ±0.06 at 64
permutations). 0.7 keeps copies with an added lead or credit line together
and different write-ups apart.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from news_etl.model import Execute

log = logging.getLogger(__name__)

#: Jaccard similarity of the shingle sets from which two posts are copies of one story.
THRESHOLD = 0.7
#: Characters per shingle.
SHINGLE = 5
#: MinHash permutations per post (64 × 4 bytes kept per post).
NUM_PERM = 64
#: The permutations' seed: part of the signature's definition (changing it needs a rebuild).
SEED = 20260101
#: Copies are published at most this many days apart.
WINDOW_DAYS = 3

_NOT_WORD = re.compile(r"[\W_]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_LOW32 = np.uint64((1 << 32) - 1)
#: datasketch's permutation scheme (2.0's default: a bijective affine map of 32-bit values).
SCHEME = "affine32"


def _as_is(value: int) -> int:
    """The shingles are hashed already (vectorised, in :func:`signature`): datasketch takes them as they are."""
    return value


def normalize(text: str) -> str:
    """What the shingles are cut from: NFKC, lower case, letters and digits only."""
    text = _NOT_WORD.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):  # most clean text is, once punctuation is gone
        text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text))
    return text.lower()


@lru_cache(maxsize=1)
def _empty():
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_as_is, scheme=SCHEME)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: datasketch's pre-mix of the affine32 scheme."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def shingle_hashes(title: str, body: str) -> np.ndarray:
    """32-bit hashes of the post's character :data:`SHINGLE`-grams, all at once with numpy
    (a polynomial hash of the code points, mixed) instead of one hash call per shingle."""
    return _rolling_hashes(_codes([normalize(f"{title}{body}")]))


def many_shingle_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The :func:`shingle_hashes` of each of ``texts`` (title and text as one string) in one pass
    of numpy over them all: (hashes, bounds), text ``k``'s are ``hashes[bounds[k]:bounds[k + 1]]``.
    A text shorter than a shingle is padded as :func:`shingle_hashes` pads it (code point 0,
    which :func:`normalize` never leaves), and the shingles across two texts are dropped."""
    normed = [normalize(t) for t in texts]
    lengths = np.array([max(len(t), SHINGLE) for t in normed], dtype=np.int64)
    codes = _codes(normed)
    counts = lengths - SHINGLE + 1
    starts = np.repeat(np.cumsum(lengths) - lengths, counts)  # each kept shingle's text's first position
    firsts = np.repeat(np.cumsum(counts) - counts, counts)
    kept = starts + np.arange(int(counts.sum())) - firsts
    return _rolling_hashes(codes)[kept], np.r_[0, np.cumsum(counts)]


def _codes(normed: list[str]) -> np.ndarray:
    """The code points of the normalized texts one after the other, each padded to a shingle."""
    padded = "".join(t if len(t) >= SHINGLE else t + "\0" * (SHINGLE - len(t)) for t in normed)
    return np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _rolling_hashes(codes: np.ndarray) -> np.ndarray:
    """The mixed polynomial hash of every :data:`SHINGLE` code points in a row of ``codes``."""
    n = len(codes) - SHINGLE + 1
    h = np.zeros(n, dtype=np.uint64)
    for j in range(SHINGLE):  # wraps modulo 2^64, as meant
        h = h * np.uint64(1_000_003) + codes[j : j + n]
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return (h & _LOW32).astype(np.uint32)


def signature(title: str, body: str) -> bytes:
    """The MinHash signature of a post: :data:`NUM_PERM` 32-bit values, little-endian.

    The values of datasketch's ``MinHash`` (scheme ``affine32``, :data:`SEED`) updated with the
    post's :func:`shingle_hashes`: ``min over shingles of a·fmix32(h) + b (mod 2^32)`` with
    datasketch's permutations, computed as one numpy expression rather than through
    ``MinHash.update_batch``, which calls the hash function once per shingle in Python (a test
    checks both give the same values).
    """
    a, b = _empty().permutations
    mixed = _fmix32(shingle_hashes(title, body))
    values = np.multiply.outer(a, mixed)  # one row per permutation: each row's minimum is contiguous
    values += b[:, None]
    return values.min(axis=1).astype("<u4").tobytes()


def similarity(sig_a: bytes, sig_b: bytes) -> float:
    """The estimated Jaccard similarity of two posts (share of equal MinHash values)."""
    return float(np.mean(np.frombuffer(sig_a, dtype="<u4") == np.frombuffer(sig_b, dtype="<u4")))


def numbers_agree(title_a: str, text_a: str, title_b: str, text_b: str) -> bool:
    """No number of either title is missing from the other post."""
    norm_a, norm_b = normalize(f"{title_a} {text_a}"), normalize(f"{title_b} {text_b}")
    return all(n in norm_b for n in _NUMBER.findall(normalize(title_a))) and all(
        n in norm_a for n in _NUMBER.findall(normalize(title_b))
    )


def story_key(post_id: str) -> str:
    """The Eastmoney id a post shares with its dual copy: the post id without ``NW``."""
    return post_id[2:] if post_id.startswith("NW") and post_id[2:].isdigit() else post_id


#: (bands, values per band) of the LSH index: the banding datasketch's ``MinHashLSH`` chooses for
#: :data:`THRESHOLD` and :data:`NUM_PERM` (a test checks it), written out because datasketch finds it
#: by numerical integration, which costs most of a second in every run's load.
LSH_BANDS = (8, 8)


#: Representatives read from one LSH bucket around a post (the smallest post ids within its window).
BUCKET_CAP = 64


def candidates(
    sigs: np.ndarray, todo: np.ndarray, when: np.ndarray | None = None, limit: float = float("inf")
) -> set[tuple[int, int]]:
    """Row pairs ``(i, j)``, ``i`` a ``todo`` row and ``j`` another row, whose signatures agree on every
    value of at least one band: what ``MinHashLSH.query`` returns for ``i`` from an index of all rows
    (a test checks they agree), found for all rows at once: each band's values are sorted and grouped
    with numpy, and only groups of two or more rows are looked at in Python. In a group of more than
    :data:`BUCKET_CAP` rows, ``i`` is paired with the first :data:`BUCKET_CAP` rows (the smallest post
    ids: the rows are in post id order) published within ``limit`` seconds of it (``when``): the
    work per post is bounded whatever the texts."""
    bands, rows = LSH_BANDS
    found: set[tuple[int, int]] = set()
    for band in range(bands):
        keys = np.ascontiguousarray(sigs[:, band * rows : (band + 1) * rows]).view(np.dtype((np.void, 4 * rows)))
        _, group = np.unique(keys.ravel(), return_inverse=True)
        order = np.argsort(group, kind="stable")
        sorted_groups = group[order]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            members = order[start:end]  # in row order: stable sort of row indices
            for i in members[todo[members]].tolist():
                near = members
                if len(members) > BUCKET_CAP:
                    if when is not None:
                        near = members[np.abs(when[members] - when[i]) <= limit]
                    near = near[near != i][:BUCKET_CAP]
                found.update((i, j) for j in near.tolist() if j != i)
    return found


# --- the load: links and story ids, inside the load's transaction --------------------------------


def load_batch(x: Execute) -> None:
    """Keep the signatures of the batch's written articles (the view ``classified``), replaced."""
    x("""
        DELETE FROM story_signatures
        WHERE post_id IN (SELECT post_id FROM classified WHERE change IN ('updated', 'revived'))""")
    x("""
        INSERT INTO story_signatures
        SELECT post_id, new_version, minhash FROM classified
        WHERE change IN ('new', 'updated', 'revived') AND minhash IS NOT NULL""")


def assign(x: Execute, run_id: str) -> int:
    """Relink the posts this run wrote and give every affected story its id.

    Reads the temp table ``changed`` (post_id, change, day, old_day); adds a row
    ``story`` for each other post whose story id changed, so its day's
    counts are rebuilt too. Returns the number of posts whose story id changed.
    """
    started = time.monotonic()
    _backfill_signatures(x)
    x("""
        CREATE OR REPLACE TEMP TABLE story_todo AS
        SELECT a.post_id, a.published_at FROM articles a
        WHERE (a.story_id IS NULL AND a.deleted_at IS NULL)
           OR a.post_id IN (SELECT post_id FROM changed WHERE change IN ('new', 'updated', 'revived'))
           -- a deleted post leaves its story: its links go and the others are labelled again
           OR a.post_id IN (SELECT post_id FROM gone)""")
    if not x("SELECT count(*) FROM story_todo").fetchone()[0]:
        x("DROP TABLE story_todo")
        return 0
    text_links, also = _text_links(x)
    if also:  # the other copies of a todo post's text: their star links change with it
        x(
            "INSERT INTO story_todo SELECT post_id, published_at FROM articles WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
            [also],
        )
    links = list({(a, b): (a, b, k, v) for a, b, k, v in text_links + _copy_links(x)}.values())  # copy wins
    x(
        "DELETE FROM story_links WHERE post_a IN (SELECT post_id FROM story_todo) OR post_b IN (SELECT post_id FROM story_todo)"
    )
    if links:
        x("CREATE OR REPLACE TEMP TABLE new_links (post_a VARCHAR, post_b VARCHAR, kind VARCHAR, similarity DOUBLE)")
        _append(x, "new_links", _link_columns(links))
        x(
            """INSERT INTO story_links SELECT post_a, post_b, kind, similarity, ? FROM new_links""",
            [run_id],
        )
        x("DROP TABLE new_links")
    changed = _relabel(x)
    todo = x("SELECT count(*) FROM story_todo").fetchone()[0]
    x("DROP TABLE story_todo")
    log.info(
        "stories: %d new or changed posts compared with the posts of the %g days around them, %.2fs",
        todo,
        WINDOW_DAYS,
        time.monotonic() - started,
    )
    log.info(
        "stories: %d pairs found to tell one story (copies, near-identical texts, a flash inside a report)", len(links)
    )
    log.info("stories: %d posts now belong to another story than before", changed)
    return changed


def _append(x: Execute, table: str, columns: dict[str, list]) -> None:
    """Append ``columns`` (in the order of the temp table ``table``) through a Parquet file in
    ``TMPDIR``: a million rows handed to DuckDB as one list parameter became a million values in
    its memory, which the transaction kept until its end."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="news-etl-stories-") as work:
        path = os.path.join(work, table + ".parquet")
        pq.write_table(pa.table(columns), path, compression="none")
        x("INSERT INTO " + table + " SELECT * FROM read_parquet(?)", [path])  # (fixed names)


def _link_columns(links: list[tuple[str, str, str, float]]) -> dict[str, list]:
    return {name: [link[k] for link in links] for k, name in enumerate(("post_a", "post_b", "kind", "similarity"))}


def _backfill_signatures(x: Execute) -> None:
    """Signatures for articles without one of their current version (computed from the stored text)."""
    missing = """
        SELECT a.post_id, a.version FROM articles a
        WHERE NOT EXISTS (SELECT 1 FROM story_signatures s WHERE s.post_id = a.post_id AND s.version = a.version)"""
    # the keys first: reading every article's text to find none missing took 0.1-0.7 s a load at 100,000
    if not x("SELECT count(*) FROM (" + missing + ")").fetchone()[0]:
        return
    rows = x(
        "SELECT a.post_id, a.version, a.title, a.body_text FROM articles a JOIN ("
        + missing
        + ") m USING (post_id, version)"
    ).fetchall()
    log.info("stories: computing %d signatures from stored texts", len(rows))
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        x("DELETE FROM story_signatures WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [[p for p, *_ in chunk]])
        x(
            "INSERT INTO story_signatures SELECT * FROM (SELECT unnest(?, recursive := true))",
            [[{"post_id": p, "version": v, "minhash": signature(t, b)} for p, v, t, b in chunk]],
        )


#: Posts of ``story_todo`` compared in one slab: a first load reads its window a slab of posts at a
#: time (in publication order, with :data:`WINDOW_DAYS` around it), so what it holds at once does
#: not grow with the site: a million posts' signatures were 300 MB in DuckDB before Python got them.
SLAB_POSTS = 50_000


def _text_links(x: Execute) -> tuple[list[tuple[str, str, str, float]], list[str]]:
    """Near-identical pairs with a post of ``story_todo``, found through the LSH index; and the
    posts not in ``story_todo`` whose links change with it (the other copies of its text).

    Posts with one signature (the same text: 1,500 posts saying 本文已删除) collapse, per run of
    publication times no more than :data:`WINDOW_DAYS` apart, to one representative (the earliest,
    then the smallest post id): each other copy links to it (a star, one link a copy), and only
    representatives are compared with each other. A bucket of the LSH index is read for at most
    :data:`BUCKET_CAP` representatives around each post of ``story_todo`` (the smallest post ids
    among those within the window of it).

    The representatives are found from a digest of each signature in the whole window; the
    comparisons run a slab of :data:`SLAB_POSTS` todo posts at a time, each slab reading the
    representatives published within :data:`WINDOW_DAYS` of its posts: every pair with a todo post
    is within the slab of that post."""
    limit = WINDOW_DAYS * 86400
    ids, when, todo, digests = _window(x, limit)
    if len(ids) < 2:
        return [], []
    rep, also = _representatives(digests, when, todo, limit)
    todo[also] = True
    similar: dict[tuple[str, str], float] = {}
    contained: dict[tuple[str, str], float] = {}
    slabs = _slabs(when[todo])
    log.info("stories: %d posts in the window of the todo posts, compared in %d slabs", len(ids), len(slabs))
    for first, last in slabs:
        in_slab = todo & (when >= first) & (when <= last)
        copies = np.flatnonzero(in_slab & (rep != np.arange(len(rep))))
        stars = {}
        for i, r in zip(copies.tolist(), rep[copies].tolist(), strict=True):  # each copied text's star
            stars[(ids[i], ids[r]) if ids[i] < ids[r] else (ids[r], ids[i])] = 1.0
        span = (first - limit, last + limit)
        rows = np.flatnonzero((rep == np.arange(len(rep))) & (when >= span[0]) & (when <= span[1]))
        slab_ids = [ids[i] for i in rows.tolist()]
        found = _similar_pairs(slab_ids, _signatures(x, slab_ids, span), when[rows], in_slab[rows], limit)
        near = _contained(x, slab_ids, when[rows], in_slab[rows], limit, span)
        pairs = stars | found
        oldest = float(when[rep[copies]].min()) if len(copies) else span[0]  # a star's centre may be older
        agree = _numbers_agree(x, pairs.keys() | near.keys(), (min(oldest, span[0]), span[1]))
        similar.update((p, s) for p, s in pairs.items() if p in agree)
        contained.update((p, s) for p, s in near.items() if p in agree)
    links = [
        (a, b, "contained" if (a, b) in contained else "text", round(similar.get((a, b), contained.get((a, b), 0)), 4))
        for a, b in sorted(similar.keys() | contained.keys())
    ]
    return links, [ids[i] for i in also]


def _window(x: Execute, limit: float) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Every live post published within ``limit`` seconds of a post of ``story_todo``, by post id:
    (post ids, publication epochs, in ``story_todo``, a digest of its signature: two 64-bit halves). The
    todo posts' times ± ``limit`` are merged into a few ranges first (a backfill: one). A 128-bit
    digest of each signature stands for it (what a million signatures would take: 16 MB, not 256)."""
    ranges: list[list[float]] = []
    for (t,) in x("SELECT epoch(published_at) FROM story_todo ORDER BY 1").fetchall():
        if ranges and t - limit <= ranges[-1][1]:
            ranges[-1][1] = t + limit
        else:
            ranges.append([t - limit, t + limit])
    cols = x(
        """
        SELECT a.post_id, epoch(a.published_at) AS epoch,
               a.post_id IN (SELECT post_id FROM story_todo) AS todo,
               md5_number_upper(s.minhash) AS upper, md5_number_lower(s.minhash) AS lower
        FROM articles a JOIN story_signatures s ON s.post_id = a.post_id AND s.version = a.version
        JOIN (SELECT unnest(?) AS r) w ON epoch(a.published_at) BETWEEN w.r[1] AND w.r[2]
        WHERE a.deleted_at IS NULL
        ORDER BY a.post_id""",
        [ranges],
    ).fetchnumpy()
    when = np.asarray(cols["epoch"], dtype=np.float64)
    digests = np.column_stack([np.asarray(cols["upper"], dtype=np.uint64), np.asarray(cols["lower"], dtype=np.uint64)])
    return cols["post_id"].tolist(), when, np.asarray(cols["todo"], dtype=bool), digests


def _slabs(times: np.ndarray) -> list[tuple[float, float]]:
    """The todo posts' publication times cut into (first, last) ranges of about :data:`SLAB_POSTS`
    posts each; posts published at one time stay in one range."""
    times = np.sort(times)
    slabs = []
    start = 0
    while start < len(times):
        end = min(start + SLAB_POSTS, len(times))
        end = int(np.searchsorted(times, times[end - 1], "right"))  # the whole of its last time
        slabs.append((float(times[start]), float(times[end - 1])))
        start = end
    return slabs


def _signatures(x: Execute, wanted: list[str], span: tuple[float, float]) -> np.ndarray:
    """The signatures of the posts ``wanted`` (published within the epochs ``span``), one row each."""
    found = dict(
        _of_posts(
            x,
            """SELECT a.post_id, s.minhash
               FROM articles a JOIN story_signatures s ON s.post_id = a.post_id AND s.version = a.version""",
            wanted,
            span,
        ).fetchall()
    )
    return np.frombuffer(b"".join(bytes(found[p]) for p in wanted), dtype="<u4").reshape(len(wanted), NUM_PERM)


def _similar_pairs(
    ids: list[str], sigs: np.ndarray, when: np.ndarray, todo: np.ndarray, limit: float
) -> dict[tuple[str, str], float]:
    """(post, post) → similarity of the representatives ``ids`` whose signatures agree on
    :data:`THRESHOLD` of their values (LSH candidates), within ``limit`` seconds, one of them todo."""
    pairs: dict[tuple[str, str], float] = {}
    for a, b in candidates(sigs, todo, when, limit):
        if abs(when[a] - when[b]) > limit:
            continue
        score = float(np.mean(sigs[a] == sigs[b]))
        if score >= THRESHOLD:
            pairs[(ids[a], ids[b]) if ids[a] < ids[b] else (ids[b], ids[a])] = score
    return pairs


def _numbers_agree(x: Execute, pairs: set[tuple[str, str]], span: tuple[float, float]) -> set[tuple[str, str]]:
    """The ``pairs`` (of posts published within the epochs ``span``) whose posts give the same
    numbers (40亿 is not 50亿): each number of one post's title is in the other's text, both ways.
    Each post normalised once."""
    if not pairs:
        return set()
    texts = {p: (t, b) for p, t, b in _texts(x, sorted({p for pair in pairs for p in pair}), span).fetchall()}
    norm = {p: normalize(f"{t} {b}") for p, (t, b) in texts.items()}
    numbers = {p: _NUMBER.findall(normalize(t)) for p, (t, _) in texts.items()}
    return {(a, b) for a, b in pairs if all(n in norm[b] for n in numbers[a]) and all(n in norm[a] for n in numbers[b])}


#: A post of at most this many characters (letters and digits) can be contained in a longer one.
SHORT_CHARS = 400
#: …when at least this share of its shingles are in the longer post.
CONTAINED = 0.9
#: The smallest shingle hashes of a short post that are looked up in the longer ones.
ANCHORS = 8
#: Short posts a longer post is checked against, at most (the smallest post ids among those whose
#: anchors it holds).
CONTAINED_CAP = 64
#: Longer posts' texts held at once.
_CHUNK = 2000
#: Characters of longer posts hashed together.
_HASHED_CHARS = 250_000


def _contained(
    x: Execute, ids: list[str], when: np.ndarray, todo: np.ndarray, limit: float, span: tuple[float, float]
) -> dict:
    """(short, long) pairs of the posts ``ids`` (published within the epochs ``span``), one of them
    ``todo``, published within ``limit`` seconds, where the
    short post's text (at most :data:`SHORT_CHARS` with its title) is contained in the long one's
    title and text: a flash inside a longer report. Candidates: the long post holds at least ``ANCHORS - 2`` of the short post's
    :data:`ANCHORS` smallest shingle hashes; then :data:`CONTAINED` of all its shingles. A function
    of the two posts; one pass over the texts of the window, in chunks, their shingles hashed a
    few hundred posts at a time. A long post that is not todo is checked against the todo short
    posts only (in a daily run, a few hundred anchors rather than the whole window's)."""
    if not ids:
        return {}
    index = {p: i for i, p in enumerate(ids)}
    lengths, shorts = _short_posts(x, index, span)
    if not shorts:
        return {}
    owners = np.array(sorted(shorts), dtype=np.int64)
    # a todo long post is checked against every short one; any other only against the todo ones
    everyone, of_todo = _anchors(shorts, owners), _anchors(shorts, owners[todo[owners]])
    found: dict[tuple[str, str], float] = {}
    rows_to_read = _longs_to_read(
        np.array(sorted(index[p] for p in lengths), dtype=np.int64), owners, when, todo, limit
    )
    # one pass over the texts, streamed :data:`_CHUNK` rows at a time: a query per chunk of ids
    # decompressed the row groups of the articles again for each chunk (17 times slower at 40,000)
    texts = _texts(x, [ids[i] for i in rows_to_read.tolist()], span)
    while chunk := texts.fetchmany(_CHUNK):
        for part in _by_characters(chunk):
            hashes, bounds = many_shingle_hashes([f"{t or ''}{b or ''}" for _, t, b in part])
            rows = np.array([index[p] for p, _, _ in part], dtype=np.int64)
            text_of = np.repeat(np.arange(len(part)), np.diff(bounds))
            mine = todo[rows][text_of]  # the shingles of the todo long posts
            todo_longs = _near_shorts(hashes[mine], text_of[mine], everyone, rows, when, limit)
            others = _near_shorts(hashes[~mine], text_of[~mine], of_todo, rows, when, limit)
            pairs = zip(*(np.concatenate(side).tolist() for side in zip(todo_longs, others, strict=True)), strict=True)
            distinct: dict[int, np.ndarray] = {}  # a text's shingles, sorted, once
            for k, si in pairs:  # (text of the part, short post's row)
                if k not in distinct:
                    distinct[k] = np.unique(hashes[bounds[k] : bounds[k + 1]])
                h, short = distinct[k], shorts[si]
                if len(short) >= len(h):
                    continue
                at_ = np.minimum(np.searchsorted(h, short), len(h) - 1)  # both sorted and unique
                share = float(np.mean(h[at_] == short))
                if share >= CONTAINED:
                    a, b_ = ids[si], ids[rows[k]]
                    found[(a, b_) if a < b_ else (b_, a)] = round(share, 4)
    return found


class _Anchors(NamedTuple):
    """The :data:`ANCHORS` smallest shingle hashes of short posts, sorted (``values``), each
    with its short post as a slot (``slot``) in ``owners`` (their rows, ascending)."""

    values: np.ndarray
    slot: np.ndarray
    owners: np.ndarray
    #: whether some anchor has the top :data:`_SOME_BITS` bits of a hash: most shingles of a long
    #: post are ruled out by one look-up, before the binary search of the few left
    some: np.ndarray


#: Top bits of a hash by which :attr:`_Anchors.some` rules shingles out (a table of 4 MB).
_SOME_BITS = 22
_SOME_SHIFT = np.uint32(32 - _SOME_BITS)


def _anchors(shorts: dict[int, np.ndarray], owners: np.ndarray) -> _Anchors:
    """The anchors of the short posts ``owners`` (rows of ``shorts``, ascending)."""
    values = np.concatenate([shorts[o][:ANCHORS] for o in owners.tolist()] or [np.empty(0, dtype=np.uint32)])
    slot = np.repeat(np.arange(len(owners)), ANCHORS)
    order = np.argsort(values, kind="stable")
    some = np.zeros(1 << _SOME_BITS, dtype=bool)
    some[values >> _SOME_SHIFT] = True
    return _Anchors(values[order], slot[order], owners, some)


def _by_characters(rows: list[tuple]) -> Iterator[list[tuple]]:
    """``rows`` of (post id, title, text) in runs of about :data:`_HASHED_CHARS` characters:
    what :func:`many_shingle_hashes` and :func:`_near_shorts` hold at once (8 bytes a character,
    a few times over, and up to :data:`CONTAINED_CAP` short posts a shingle that is an anchor)."""
    part: list[tuple] = []
    size = 0
    for row in rows:
        part.append(row)
        size += len(row[1] or "") + len(row[2] or "")
        if size >= _HASHED_CHARS:
            yield part
            part, size = [], 0
    if part:
        yield part


def _texts(x: Execute, wanted: list[str], span: tuple[float, float]) -> Any:
    """(post id, title, text) of the posts ``wanted``, published within the epochs ``span``."""
    return _of_posts(x, "SELECT a.post_id, a.title, a.body_text FROM articles a", wanted, span)


def _of_posts(x: Execute, select: str, wanted: list[str], span: tuple[float, float]) -> Any:
    """``select`` (from ``articles a``) of the posts ``wanted``, published within the epochs
    ``span``: the time range lets DuckDB skip the row groups whose posts were all published outside
    it; a second wider each side, as an epoch read as a double and back lands within a microsecond."""
    return x(
        select
        + """ WHERE a.published_at BETWEEN to_timestamp(?) AND to_timestamp(?)
                AND a.post_id IN (SELECT unnest(?::VARCHAR[]))""",
        [span[0] - 1, span[1] + 1, wanted],
    )


def _longs_to_read(
    rows: np.ndarray, owners: np.ndarray, when: np.ndarray, todo: np.ndarray, limit: float
) -> np.ndarray:
    """The rows whose texts are read as the longer post of a pair: a pair needs a ``todo`` post
    and its two posts published within ``limit`` of each other, so a ``todo`` post, or a post
    within ``limit`` of a ``todo`` short post (``owners``). Edits spread over years (a daily run
    of 100 edited posts on 100,000) read the texts around them, not the whole window's."""
    times = np.sort(when[owners[todo[owners]]])
    keep = todo[rows].copy()
    if len(times):
        at = np.searchsorted(times, when[rows])
        after = times[np.minimum(at, len(times) - 1)] - when[rows]
        before = when[rows] - times[np.maximum(at - 1, 0)]
        keep |= ((at < len(times)) & (after <= limit)) | ((at > 0) & (before <= limit))
    return rows[keep]


def _short_posts(
    x: Execute, index: dict[str, int], span: tuple[float, float]
) -> tuple[dict[str, int], dict[int, np.ndarray]]:
    """(post → length of title and text, row → sorted shingle hashes of each short post's text: at
    most :data:`SHORT_CHARS` and at least :data:`ANCHORS` shingles), of the posts of ``index``."""
    lengths = dict(
        _of_posts(
            x,
            "SELECT a.post_id, length(coalesce(a.title, '')) + length(coalesce(a.body_text, '')) FROM articles a",
            list(index),
            span,
        ).fetchall()
    )
    short_ids = sorted(p for p, n in lengths.items() if n <= SHORT_CHARS * 2)
    shorts: dict[int, np.ndarray] = {}
    if not short_ids:
        return lengths, shorts
    for p, t, b in _texts(x, short_ids, span).fetchall():
        if len(normalize(f"{t}{b}")) <= SHORT_CHARS:
            h = np.unique(shingle_hashes("", b or ""))  # its text: a longer report gives it another title
            if len(h) >= ANCHORS:
                shorts[index[p]] = h
    return lengths, shorts


def _near_shorts(
    hashes: np.ndarray, texts: np.ndarray, of: _Anchors, rows: np.ndarray, when: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """(text, short post row) of each short post (of those ``of``) whose anchors a long post holds,
    all but two of them, published within ``limit`` of it: at most :data:`CONTAINED_CAP` a long
    post, the first in row order. The long posts' shingle ``hashes``, each of its text (``texts``:
    its number, whose row is in ``rows``); all the texts at once, sorted by text."""
    anchors, anchor_slot, owners, _ = of
    none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    if not len(anchors) or not len(hashes):
        return none
    maybe = np.flatnonzero(of.some[hashes >> _SOME_SHIFT])  # a gather, not a search, for every shingle
    held = maybe[anchors[np.minimum(np.searchsorted(anchors, hashes[maybe]), len(anchors) - 1)] == hashes[maybe]]
    # each text's anchors once (a text can repeat a shingle), as (text, hash) in one integer
    pairs = np.unique((texts[held].astype(np.uint64) << np.uint64(32)) | hashes[held].astype(np.uint64))
    if not len(pairs):
        return none
    text, h = (pairs >> np.uint64(32)).astype(np.int64), (pairs & _LOW32).astype(np.uint32)
    lo = np.searchsorted(anchors, h, "left")
    runs = np.minimum(np.searchsorted(anchors, h, "right"), lo + CONTAINED_CAP) - lo
    at = np.repeat(lo - np.cumsum(np.r_[0, runs[:-1]]), runs) + np.arange(runs.sum())
    # a count per (text, short post): sorted by text, then by the short post's row
    keys, counts = np.unique(np.repeat(text, runs) * len(owners) + anchor_slot[at], return_counts=True)
    keys = keys[counts >= ANCHORS - 2]
    text, short = keys // len(owners), owners[keys % len(owners)]
    long_ = rows[text]
    ok = (short != long_) & (np.abs(when[short] - when[long_]) <= limit)
    text, short = text[ok], short[ok]
    rank = np.arange(len(text)) - np.searchsorted(text, text, "left")
    return text[rank < CONTAINED_CAP], short[rank < CONTAINED_CAP]


def _representatives(
    keys: np.ndarray, when: np.ndarray, todo: np.ndarray, limit: float
) -> tuple[np.ndarray, list[int]]:
    """For each row, the row of its text's representative (itself for a representative): rows with
    one key (a row of ``keys``: a signature or its digest), cut where their sorted times are more than ``limit`` apart, keep the earliest
    (then the first row: the rows are in post id order). Also the rows not ``todo`` that share a
    cluster with a ``todo`` row. Linear after one sort."""
    n = len(keys)
    flat = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel()
    _, group = np.unique(flat, return_inverse=True)
    order = np.lexsort((np.arange(n), when, group))
    rep = np.arange(n)
    clusters: list[list[int]] = []
    for k, i in enumerate(order.tolist()):
        if k and group[i] == group[order[k - 1]] and when[i] - when[order[k - 1]] <= limit:
            clusters[-1].append(i)
        else:
            clusters.append([i])
    also: list[int] = []
    for members in clusters:
        if len(members) > 1:
            rep[members] = members[0]
            if todo[members].any():
                also.extend(m for m in members if not todo[m])
    return rep, also


def _copy_links(x: Execute) -> list[tuple[str, str, str, float]]:
    """The site's dual copies (``X`` and ``NWX``) of the posts of ``story_todo``."""
    rows = x("""
        WITH k AS (SELECT post_id, CASE WHEN post_id ^@ 'NW' AND regexp_full_match(post_id[3:], '[0-9]+')
                                        THEN post_id[3:] ELSE post_id END AS key
                   FROM articles WHERE deleted_at IS NULL)
        SELECT DISTINCT least(t.post_id, o.post_id), greatest(t.post_id, o.post_id)
        FROM story_todo t JOIN k kt ON kt.post_id = t.post_id
        JOIN k o ON o.key = kt.key AND o.post_id <> t.post_id
        ORDER BY 1, 2""").fetchall()
    return [(a, b, "copy", 1.0) for a, b in rows]


def _relabel(x: Execute) -> int:
    """Connected groups of the affected posts → story ids; returns how many posts changed story."""
    x("""
        CREATE OR REPLACE TEMP TABLE story_affected AS
        WITH seeds AS (
            SELECT post_id FROM story_todo
            UNION SELECT post_a FROM story_links WHERE post_b IN (SELECT post_id FROM story_todo)
            UNION SELECT post_b FROM story_links WHERE post_a IN (SELECT post_id FROM story_todo)
        ),
        stories AS (SELECT DISTINCT story_id FROM articles WHERE post_id IN (SELECT post_id FROM seeds)
                    AND story_id IS NOT NULL)
        SELECT post_id FROM seeds
        UNION SELECT post_id FROM articles WHERE story_id IN (SELECT story_id FROM stories)""")
    members = (
        x("""
        SELECT a.post_id FROM articles a SEMI JOIN story_affected USING (post_id)
        WHERE a.deleted_at IS NULL
        ORDER BY a.published_at, a.post_id""")
        .fetchnumpy()["post_id"]
        .tolist()
    )
    edges = x("""
        SELECT post_a, post_b FROM story_links
        WHERE post_a IN (SELECT post_id FROM story_affected) OR post_b IN (SELECT post_id FROM story_affected)
        ORDER BY 1, 2""").fetchall()
    linked = {p for edge in edges for p in edge}
    rank = {p: i for i, p in enumerate(members) if p in linked}  # earliest post first, then post id
    parent = {p: p for p in rank}  # a post without a link is its own story

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for a, b in edges:
        if a not in parent or b not in parent:
            continue  # a link to a post outside the group cannot exist; stay safe
        ra, rb = find(a), find(b)
        if ra != rb:
            if rank[rb] < rank[ra]:
                ra, rb = rb, ra
            parent[rb] = ra  # the root is always the group's earliest post
    x("CREATE OR REPLACE TEMP TABLE story_labels (post_id VARCHAR, story_id VARCHAR)")
    if members:
        stories = [story_key(find(p) if p in parent else p) for p in members]
        _append(x, "story_labels", {"post_id": members, "story_id": stories})
    x("""
        CREATE OR REPLACE TEMP TABLE story_moved AS
        SELECT a.post_id, a.published_date FROM articles a JOIN story_labels l USING (post_id)
        WHERE a.story_id IS DISTINCT FROM l.story_id""")
    x(
        "UPDATE articles SET story_id = l.story_id FROM story_labels l WHERE articles.post_id = l.post_id AND articles.story_id IS DISTINCT FROM l.story_id"
    )
    x("""INSERT INTO changed SELECT post_id, 'story', published_date, NULL FROM story_moved
         WHERE post_id NOT IN (SELECT post_id FROM changed)""")
    n = x("SELECT count(*) FROM story_moved").fetchone()[0]
    for t in ("story_affected", "story_labels", "story_moved"):
        x(f"DROP TABLE {t}")
    return n
