"""Compare the two segmenters on a folder of posts: jieba (pure Python) and rjieba (jieba-rs).

    pip install jieba==0.42.1   # only for this comparison; the pipeline uses rjieba
    PYTHONPATH=plugins python -m news_etl.keywords_bench [POSTS_DIR] [--times 40]

Prints load time, segmentation time on the clean texts and on the texts
repeated ``--times`` times (a larger synthetic set), and how far the
segmentations agree (identical token lists, differing tokens, differing
tokens with Chinese characters).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import re
import time
from pathlib import Path

from .config import PROJECT_ROOT
from .model import RawPost
from .transform import transform_rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("posts", nargs="?", default=str(PROJECT_ROOT.parent / "shared" / "corpus" / "posts"))
    parser.add_argument("--times", type=int, default=40)
    args = parser.parse_args(argv)
    files = sorted(Path(args.posts).glob("*.md"))
    articles, _ = transform_rows(
        RawPost("bench", f.name, f.read_bytes(), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
    )
    texts = [a["title"] + "\n" + a["body_text"] for a in articles]
    print(
        f"{len(texts)} articles, {sum(map(len, texts))} characters; synthetic set: {len(texts) * args.times} articles"
    )

    t = time.perf_counter()
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    load_j = time.perf_counter() - t
    t = time.perf_counter()
    import rjieba

    rjieba.cut("预热")
    load_r = time.perf_counter() - t

    def timed(cut, data):
        t = time.perf_counter()
        out = [cut(s) for s in data]
        return time.perf_counter() - t, out

    cut_j = lambda s: list(jieba.cut(s, HMM=True))  # noqa: E731
    cut_r = lambda s: rjieba.cut(s, hmm=True)  # noqa: E731
    tj, oj = timed(cut_j, texts)
    tr, orr = timed(cut_r, texts)
    tjb, _ = timed(cut_j, texts * args.times)
    trb, _ = timed(cut_r, texts * args.times)
    print(f"load:      jieba {load_j:.2f}s   rjieba {load_r:.3f}s")
    print(f"corpus:    jieba {tj:.3f}s   rjieba {tr:.3f}s   ({tj / tr:.1f}x)")
    print(f"synthetic: jieba {tjb:.2f}s   rjieba {trb:.2f}s   ({tjb / trb:.1f}x)")
    diff: collections.Counter[str] = collections.Counter()
    for a, b in zip(oj, orr, strict=False):
        ca, cb = collections.Counter(a), collections.Counter(b)
        for w, n in (ca - cb).items():
            diff["jieba:" + w] += n
        for w, n in (cb - ca).items():
            diff["rjieba:" + w] += n
    cjk = {k: v for k, v in diff.items() if re.search(r"[\u4e00-\u9fff]", k)}
    print(
        f"identical token lists: {sum(a == b for a, b in zip(oj, orr, strict=False))}/{len(texts)}; "
        f"differing tokens: {sum(diff.values())}, with Chinese characters: {sum(cjk.values())}"
    )
    print("most common differences:", diff.most_common(12))


if __name__ == "__main__":
    main()
