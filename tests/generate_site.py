"""Generate a Jekyll site in a git repository with a long history, fast (``git fast-import``).

    .venv/bin/python tests/generate_site.py /tmp/site.git --posts 20000 --commits 2000 --days 40
    .venv/bin/python tests/generate_site.py /tmp/site.git --change 100      # one more commit: 100 posts edited

The history is shaped like the finews repository's: the scrapers commit every
few minutes (here ``--commits`` spread evenly over ``--days`` days, ending on
``LAST_DAY``); each commit adds that moment's new posts to ``_posts/``, moves
the posts older than three days to ``old_post/`` (a rename: same content, new
path), sometimes edits a recent post (a re-scrape with a correction), and
rewrites the scrapers' state file ``_data/rolling.json`` (``--data-kb`` KB of
new quote numbers each time). That last part is what makes the real
repository about 7 GB for some 17,000 posts: ~400,000 commits of a few
minutes each carry ~17 KB each that no run reads. A run needs the posts at
the head, and the history only as far back as it loads.

Posts are the embedded sample posts (``data/sample_posts``, the ones that load
as articles) used as templates: each generated post gets its own post id,
file name, date (its commit's, site time) and title.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

#: The day of the last commit (site time); the history runs ``--days`` days up to its end.
LAST_DAY = date(2026, 11, 25)
SITE = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving time
#: Posts move from ``_posts/`` to ``old_post/`` when they are this many days old.
MOVE_AFTER_DAYS = 3


def templates() -> list[tuple[str, str]]:
    """(front matter without title and date, body) of each sample post that loads as an article."""
    from news_etl.ingest.transform import transform_post
    from news_etl.model import RawPost, Reject

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


def post(i: int, tpls, when: datetime, edits: int = 0) -> tuple[str, bytes]:
    """The path and bytes of generated post ``i``, first written at ``when`` (site time)."""
    front, body = tpls[i % len(tpls)]
    post_id = f"{when:%Y%m%d}24{i:08d}"
    text = (
        f'---\ntitle: "生成的第{i}篇新闻"\ndate: {when:%Y-%m-%d %H:%M:%S} +0800\n{front}\n---{body}\n<p>编号{i}。</p>\n'
    )
    for n in range(edits):
        text += f"\n<p>更正{n + 1}：本文数据已更新。</p>\n"
    return f"_posts/{when:%Y-%m-%d}-{post_id}.md", text.encode("utf-8")


def rolling(rng: random.Random, size: int) -> bytes:
    """The scrapers' state file: ``size`` bytes of new quote data (hex digits: they pack to about half)."""
    digits = rng.randbytes(size // 2).hex()
    return "".join(f'"{digits[i : i + 64]}",\n' for i in range(0, len(digits), 64)).encode()


def data(payload: bytes) -> bytes:
    """A fast-import ``data`` command."""
    return b"data %d\n" % len(payload) + payload + b"\n"


class FastImport:
    """A ``git fast-import`` process writing commits to the branch ``main``."""

    def __init__(self, repo: Path) -> None:
        if not (repo / "HEAD").exists():
            subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repo)], check=True)
        self.proc = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE)
        assert self.proc.stdin is not None
        self.out = self.proc.stdin

    @staticmethod
    def modify(path: str, payload: bytes) -> bytes:
        return f"M 100644 inline {path}\n".encode() + data(payload)

    def commit(self, message: str, when: datetime, changes: list[bytes], parent: str | None = None) -> None:
        self.out.write(b"commit refs/heads/main\n")
        self.out.write(b"committer scraper <scraper@example.invalid> %d +0800\n" % int(when.timestamp()))
        self.out.write(data(message.encode()))
        if parent:
            self.out.write(f"from {parent}\n".encode())
        self.out.write(b"".join(changes))

    def close(self) -> None:
        self.out.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")


def generate(repo: Path, posts: int, commits: int, days: float = 40, data_kb: float = 32, edit_every: int = 10) -> None:
    """A new repository: ``posts`` posts in ``commits`` commits over ``days`` days ending on LAST_DAY."""
    tpls = templates()
    rng = random.Random(7)
    end = datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 23, 0, tzinfo=SITE)
    step = timedelta(days=days) / max(1, commits)
    start = end - step * commits
    fi = FastImport(repo)
    fi.commit("site", start, [fi.modify("_config.yml", b"title: finews\nplugins: [jekyll-feed]\n")])
    fresh: list[tuple[int, datetime, str]] = []  # posts still in _posts/: (number, first written, path)
    edited: dict[int, int] = {}
    for k in range(1, commits + 1):
        when = start + step * k
        changes = []
        for i in range(posts * (k - 1) // commits, posts * k // commits):
            path, payload = post(i, tpls, when)
            changes.append(fi.modify(path, payload))
            fresh.append((i, when, path))
        while fresh and (when.date() - fresh[0][1].date()).days >= MOVE_AFTER_DAYS:
            _, _, path = fresh.pop(0)
            changes.append(f"R {path} {path.replace('_posts/', 'old_post/', 1)}\n".encode())
        if edit_every and k % edit_every == 0 and fresh:
            i, written_at, path = fresh[rng.randrange(len(fresh))]
            edited[i] = edited.get(i, 0) + 1
            changes.append(fi.modify(path, post(i, tpls, written_at, edits=edited[i])[1]))
        if data_kb:
            changes.append(fi.modify("_data/rolling.json", rolling(rng, int(data_kb * 1024))))
        fi.commit(f"scrape {k}", when, changes)
    fi.close()


def add_change(repo: Path, change: int) -> None:
    """One more commit, now, that edits ``change`` posts spread over the site."""
    git = ["git", "-C", str(repo)]
    listing = subprocess.run([*git, "ls-tree", "-r", "--name-only", "main"], capture_output=True, text=True, check=True)
    names = [p for p in listing.stdout.split() if p.startswith(("_posts/", "old_post/"))]
    changes = []
    for path in names[:: max(1, len(names) // change)][:change]:
        blob = subprocess.run([*git, "show", f"main:{path}"], capture_output=True, check=True).stdout
        changes.append(FastImport.modify(path, blob + "\n<p>更正：本文数据已更新。</p>\n".encode()))
    fi = FastImport(repo)
    fi.commit(f"{change} posts edited", datetime.now(UTC), changes, "refs/heads/main^0")
    fi.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("repo", type=Path, help="the bare repository to create (or add a commit to)")
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--days", type=float, default=40, help="the days the commits span (ending on LAST_DAY)")
    parser.add_argument("--data-kb", type=float, default=32, help="KB of scraper state rewritten by each commit")
    parser.add_argument("--change", type=int, default=0, help="one more commit that edits this many posts")
    args = parser.parse_args()
    t0 = time.monotonic()
    repo = args.repo.resolve()
    if not (repo / "HEAD").exists():
        generate(repo, args.posts, args.commits, args.days, args.data_kb)
    if args.change:
        add_change(repo, args.change)
    print(f"{args.repo}: done in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    main()
