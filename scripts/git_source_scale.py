"""What the git source costs on a long history: a full mirror (the source before 2026-12) against the
blob-less, shallow clone it makes now. Prints a Markdown table for docs/operators/backfill.md.

    .venv/bin/python scripts/git_source_scale.py --posts 20000 --commits 20000 --work /tmp/scale

Generates the site with ``tests/generate_site.py`` (kept in ``--work`` for the next call), serves it
with ``git http-backend`` on 127.0.0.1 (``tests/site_repo.py``), then for each way of cloning: a first
load of the head (CLI run, one process per core), and after a commit that edits 100 posts, the daily
increment. The full mirror is made with ``git clone --mirror`` into the source's cache folder, which
the source then fetches as it always did.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from generate_site import add_change, generate  # noqa: E402
from site_repo import GitHttpServer, serve_partial_clones  # noqa: E402

from news_etl import pipeline  # noqa: E402
from news_etl.ingest.sources import open_source  # noqa: E402
from news_etl.settings import Settings  # noqa: E402


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--days", type=float, default=40)
    parser.add_argument("--data-kb", type=float, default=32)
    parser.add_argument("--work", type=Path, default=Path("/tmp/git-source-scale"))
    args = parser.parse_args()
    work = args.work.resolve()
    site = work / "srv" / f"site-{args.posts}-{args.commits}-{args.data_kb:g}.git"
    if not (site / "HEAD").exists():
        t0 = time.monotonic()
        generate(site, args.posts, args.commits, args.days, args.data_kb)
        print(f"generated {site.name} in {time.monotonic() - t0:.0f}s", file=sys.stderr)
    subprocess.run(["git", "-C", str(site), "repack", "-adq"], check=True)  # packed as a git host packs
    serve_partial_clones(site)
    rows = []
    with GitHttpServer(site.parent) as server:
        url = server.url(site.name)
        for variant in ("full mirror", "blob-less, shallow"):
            key = variant.split()[0].strip(",")
            settings = Settings().with_(
                source=f"git+{url}",
                warehouse=work / key / "warehouse.duckdb",
                published=work / key / "published.duckdb",
                staging=work / key / "staging",
                cache=work / key / "cache",
            )
            shutil.rmtree(work / key, ignore_errors=True)
            t0 = time.monotonic()
            if key == "full":
                clone = open_source(settings.source, settings).clone
                clone.parent.mkdir(parents=True)
                subprocess.run(["git", "clone", "--quiet", "--mirror", url, str(clone)], check=True)
            first = pipeline.run_all(settings)
            total = time.monotonic() - t0
            rows.append((variant, settings, first, total, t0))
        print("| clone | run | clone and fetch | whole run | cache | posts read |")
        print("|---|---|---|---|---|---|")
        for variant, settings, first, total, _ in rows:
            clone_seconds = total - first["seconds"] + first["fetch"]["seconds"]
            print(
                f"| {variant} | first load | {clone_seconds:.1f} s | {total:.0f} s | "
                f"{size(settings.cache) / 1e6:.1f} MB | {first['fetch']['changed']} |"
            )
        add_change(site, 100)
        for variant, settings, *_ in rows:
            daily = pipeline.run_all(settings)
            print(
                f"| {variant} | 100 posts edited | {daily['fetch']['seconds']:.1f} s | {daily['seconds']:.0f} s | "
                f"{size(settings.cache) / 1e6:.1f} MB | {daily['fetch']['changed']} |"
            )
    print(f"(the site's repository: {size(site) / 1e6:.1f} MB, {args.posts} posts, {args.commits} commits)")


if __name__ == "__main__":
    main()
