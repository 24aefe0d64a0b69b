"""The meaning steps' worst cases, timed: ``python -m devtools.meaning_bench`` (for ``make bench``).

- the largest post accepted with 39 overlapping linked names (啊×2 … 啊×40, 1.95 MB): keywords in a
  child process, its time and peak RSS (the issue's bound: under 600 MB);
- 1,500 identical posts (本文已删除): the story step of their load, time and links (at most 1,500).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from news_etl.meaning import keywords as kw
names = ["啊" * n for n in range(2, 41)]
text = "啊" * 1_950_000
started = time.monotonic()
result = kw.analyse("啊啊", text, kw.Names(names), linked=names)
json.dump({"seconds": round(time.monotonic() - started, 2),
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
           "longest_keyword": max(len(k["keyword"]) for k in result.keywords),
           "spans": len(kw.Names(names).spans(text))}, sys.stdout)
"""


def big_post() -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def identical_posts(n: int = 1500) -> dict:
    import duckdb

    from news_etl import pipeline
    from news_etl.meaning import stories
    from news_etl.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "posts"
        source.mkdir()
        for i in range(n):
            minute, second = divmod(i, 60)
            (source / f"2022-05-30-2022053099{i:08d}.md").write_text(
                '---\nlayout: post\ntitle: "本文已删除"\n'
                f"date: 2022-05-30 {10 + minute // 60:02d}:{minute % 60:02d}:{second:02d} +0800\n"
                "categories: emnews\ntags: 东财滚动新闻\n---\n<p>本文已删除</p>\n",
                encoding="utf-8",
            )
        settings = Settings().with_(
            source=str(source),
            warehouse=base / "w.duckdb",
            published=base / "p" / "w.duckdb",
            staging=base / "s",
            workers=1,
        )
        pipeline.run_all(settings)
        con = duckdb.connect(str(settings.warehouse))
        try:  # the story step again, on its own: every post without a story
            con.execute("BEGIN")
            con.execute("DELETE FROM story_links")
            con.execute("UPDATE articles SET story_id = NULL")
            con.execute("CREATE TEMP TABLE changed (post_id VARCHAR, change VARCHAR, day DATE, old_day DATE)")
            con.execute("CREATE TEMP TABLE gone (post_id VARCHAR, version INTEGER, published_date DATE)")
            started = time.monotonic()
            stories.assign(con.execute, "bench")
            seconds = time.monotonic() - started
            links = con.execute("SELECT count(*) FROM story_links").fetchone()[0]
            con.execute("ROLLBACK")
        finally:
            con.close()
    return {
        "posts": n,
        "story_step_seconds": round(seconds, 2),
        "links": links,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> int:
    print("2 MB post, 39 overlapping linked names:", json.dumps(big_post()))
    print("1,500 identical posts, the story step:", json.dumps(identical_posts()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
