"""Compare the two segmenters on a folder of posts: jieba (pure Python) and rjieba (jieba-rs);
or, with ``--names``, measure what keeping names whole costs.

    pip install jieba==0.42.1   # only for this comparison; the pipeline uses rjieba
    .venv/bin/python -m devtools.keywords_bench [POSTS_DIR] [--times 40]
    .venv/bin/python -m devtools.keywords_bench --names [POSTS_DIR] [--synthetic 3000]

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
from collections.abc import Callable
from pathlib import Path

from news_etl.ingest.transform import transform_rows
from news_etl.model import RawPost
from news_etl.settings import PROJECT_ROOT


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("posts", nargs="?", default=str(PROJECT_ROOT.parent / "shared" / "corpus" / "posts"))
    parser.add_argument("--times", type=int, default=40)
    parser.add_argument("--names", action="store_true", help="measure the cost of keeping names whole")
    parser.add_argument("--synthetic", type=int, default=3000, help="--names: posts of the synthetic batch")
    args = parser.parse_args(argv)
    if args.names:
        names_cost(Path(args.posts), args.synthetic)
        return
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


def names_cost(posts: Path, synthetic: int, rounds: int = 3) -> None:
    """Keywords per CPU second without names, with each post's own names, and with a site dictionary
    (the corpus's quote-link names, then 5,000 more made-up names); best of ``rounds``."""
    import random
    import tempfile

    from devtools.synthetic import generate_site
    from news_etl.meaning import keywords as kw

    def load(folder: Path) -> list[dict]:
        files = sorted(folder.glob("*.md"))
        return transform_rows(
            RawPost("bench", f.name, f.read_bytes(), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
        )[0]

    corpus = load(posts)
    with tempfile.TemporaryDirectory() as tmp:
        batch = load(generate_site(Path(tmp), synthetic))
    site = sorted({s["name"] for a in corpus for s in a["securities"] if s["name"]})
    rng = random.Random(1)
    made_up = ["".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4))) for _ in range(5000)]

    def own(a: dict) -> kw.Names:
        return kw.Names(s["name"] for s in a["securities"] if s["name"])

    small, large = kw.Names(site), kw.Names(site + made_up)
    setups: list[tuple[str, Callable[[dict], kw.Names]]] = [
        ("rjieba alone (before)", lambda a: kw.NO_NAMES),
        ("the post's own names", own),
        (f"own + dictionary of {len(site)}", lambda a: small | own(a).names),
        (f"own + dictionary of {len(site) + len(made_up)}", lambda a: large | own(a).names),
    ]
    for label, articles in (
        (f"corpus ({len(corpus)} articles x 20)", corpus * 20),
        (f"synthetic ({len(batch)} articles)", batch),
    ):
        chars = sum(len(a["title"]) + len(a["body_text"]) for a in articles)
        best: dict[str, float] = {}
        for _ in range(rounds):
            for name, names in setups:
                t = time.process_time()  # CPU seconds: fair on a machine shared with other work
                for a in articles:
                    kw.keywords(a["title"], a["body_text"], names=names(a))
                best[name] = max(best.get(name, 0.0), len(articles) / (time.process_time() - t))
        print(label)
        for name, _ in setups:
            print(
                f"  {name:32s} {best[name]:8.0f} articles per CPU second  {best[name] * chars / len(articles) / 1e6:.2f} M chars"
            )


if __name__ == "__main__":
    main()
