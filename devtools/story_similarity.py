"""The similarity of real pairs and real near-misses that sets each story threshold, as a Markdown table.

``python -m devtools.story_similarity [POSTS]`` reads the real posts (default ../shared/corpus/posts),
cleans each pair as the transform does, and prints, per pair, the exact Jaccard similarity of their
shingle sets, its MinHash estimate (what the load compares with ``THRESHOLD``), the containment of
the shorter text in the other post (what ``CONTAINED`` compares), and whether the numbers of the titles
agree. docs/analysts/meaning.md carries the output between its markers; a test checks it is current.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from news_etl.ingest.transform import transform_post
from news_etl.meaning import stories
from news_etl.model import RawPost

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: (kind, post a, post b, what the pair is), read by hand (tests/test_meaning.py).
PAIRS = [
    ("copy", "202201072239307540", "NW202201072239307540", "the site's dual copies (券商中国)"),
    ("copy", "202205302396506117", "NW202205302396506117", "the site's dual copies (央行网站)"),
    ("copy", "202205312398034850", "NW202205312398034850", "the site's dual copies (财联社)"),
    ("copy", "202112082206748961", "202112082206749391", "one flash on two Eastmoney channels"),
    ("near miss", "202112082206742097", "202112082206757673", "北向资金 flashes: 达30亿 vs 超40亿"),
    ("near miss", "202112082206735975", "202112082206883363", "the patent office: 央视新闻 vs 财联社"),
    ("near miss", "202112082206736819", "202112082206808923", "港交所's target price: flash vs brief"),
    ("near miss", "202112082206859047", "202112082206865340", "广期所's products: flash vs brief"),
]


def _article(posts: Path, post_id: str):
    path = next(posts.glob(f"*-{post_id}.md"))
    raw = path.read_bytes()
    return transform_post(RawPost(source="dir", path=path.name, raw=raw, content_hash="", size=len(raw)))


def table(posts: Path) -> str:
    lines = [
        "| pair | what | Jaccard | MinHash estimate | containment | title numbers agree |",
        "|---|---|---|---|---|---|",
    ]
    for kind, a, b, what in PAIRS:
        x, y = _article(posts, a), _article(posts, b)
        hx = set(np.unique(stories.shingle_hashes(x.title, x.body_text)).tolist())
        hy = set(np.unique(stories.shingle_hashes(y.title, y.body_text)).tolist())
        bx = set(np.unique(stories.shingle_hashes("", x.body_text)).tolist())
        by = set(np.unique(stories.shingle_hashes("", y.body_text)).tolist())
        short, other = (bx, hy) if len(bx) <= len(by) else (by, hx)
        lines.append(
            f"| {kind} | {what} | {len(hx & hy) / len(hx | hy):.2f} | {stories.similarity(x.minhash, y.minhash):.2f} "
            f"| {len(short & other) / len(short):.2f} "
            f"| {'yes' if stories.numbers_agree(x.title, x.body_text, y.title, y.body_text) else 'no'} |"
        )
    lines.append("")
    lines.append(
        f"Thresholds: Jaccard (estimated) ≥ {stories.THRESHOLD}, or containment of a text of at most "
        f"{stories.SHORT_CHARS} characters ≥ {stories.CONTAINED}; the title numbers must agree."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("posts", nargs="?", default=str(PROJECT_ROOT.parent / "shared" / "corpus" / "posts"))
    args = parser.parse_args(argv)
    sys.stdout.write(table(Path(args.posts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
