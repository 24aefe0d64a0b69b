"""Generate a big Jekyll site in a git repository, fast (``git fast-import``), to measure the git source.

    .venv/bin/python tests/generate_site.py /tmp/site.git --posts 20000 --commits 200
    .venv/bin/python tests/generate_site.py /tmp/site.git --change 100      # one more commit: 100 posts edited

Posts are the embedded sample posts (``data/sample_posts``, the ones that load
as articles) used as templates: each generated post gets its own post id,
file name, date and title. ``--commits`` spreads them over that many commits
(as the scrapers do), so the history is as long as you like; the posts older
than three days are in ``old_post/``, the others in ``_posts/``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

LAST_DAY = date(2026, 11, 25)


def templates() -> list[tuple[str, str]]:
    """(front matter without title and date, body) of each sample post that loads as an article."""
    from news_etl.model import RawPost, Reject
    from news_etl.transform import transform_post

    out = []
    for path in sorted((ROOT / "data" / "sample_posts").glob("*.md")):
        raw = path.read_bytes()
        try:
            transform_post(RawPost("t", path.name, raw, "x"))
        except Reject:
            continue
        text = raw.decode("utf-8")
        _, front, body = text.split("---", 2)
        lines = [ln for ln in front.strip("\n").split("\n") if not ln.startswith(("title:", "date:"))]
        out.append(("\n".join(lines), body))
    return out


def post(i: int, tpls, edited: bool = False) -> tuple[str, bytes]:
    front, body = tpls[i % len(tpls)]
    day = LAST_DAY - timedelta(days=i % 60)
    post_id = f"{day:%Y%m%d}24{i:08d}"
    folder = "_posts" if (LAST_DAY - day).days < 3 else "old_post"
    text = (
        f'---\ntitle: "生成的第{i}篇新闻"\ndate: {day} {8 + i % 12:02d}:{i % 60:02d}:00 +0800\n{front}\n---'
        f"{body}\n<p>编号{i}。</p>\n"
    )
    if edited:
        text += "\n<p>更正：本文数据已更新。</p>\n"
    return f"{folder}/{day}-{post_id}.md", text.encode("utf-8")


def data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def generate(repo: Path, posts: int, commits: int, change: int) -> None:
    tpls = templates()
    if not (repo / "HEAD").exists():
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repo)], check=True)
        first = True
    else:
        first = False
    proc = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    out = proc.stdin
    when = int(time.time()) - 86400 * 30

    def commit(message: str, files: list[tuple[str, bytes]], parent: str | None) -> None:
        nonlocal when
        when += 60
        out.write(b"commit refs/heads/main\n")
        out.write(b"committer scraper <scraper@example.invalid> %d +0800\n" % when)
        out.write(data(message.encode()))
        if parent:
            out.write(f"from {parent}\n".encode())
        for path, payload in files:
            out.write(f"M 100644 inline {path}\n".encode())
            out.write(data(payload))

    if first:
        per = max(1, posts // max(1, commits))
        commit("site", [("_config.yml", b"title: finews\nplugins: [jekyll-feed]\n")], None)
        for start in range(0, posts, per):
            commit(
                f"posts {start}..{start + per - 1}",
                [post(i, tpls) for i in range(start, min(posts, start + per))],
                None,
            )
    if change:
        step = max(1, posts // change)
        commit(
            f"{change} posts edited",
            [post(i, tpls, edited=True) for i in range(0, step * change, step)][:change],
            None if first else "refs/heads/main^0",
        )
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", type=Path, help="the bare repository to create (or add a commit to)")
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--change", type=int, default=0, help="one more commit that edits this many posts")
    args = parser.parse_args()
    t0 = time.monotonic()
    generate(args.repo.resolve(), args.posts, args.commits, args.change)
    print(f"{args.repo}: done in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    main()
