"""Command line: the same pipeline without Airflow.

    python -m news_etl run --source PATH --warehouse FILE
    python -m news_etl summary [--warehouse FILE]

Exit code 0 on success; on failure, non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import Settings


def _settings(args) -> Settings:
    return Settings().with_(source=getattr(args, "source", None), warehouse=getattr(args, "warehouse", None),
                            published=getattr(args, "published", None), staging=getattr(args, "staging", None),
                            workers=getattr(args, "workers", None))


def cmd_run(args) -> int:
    from .pipeline import run_all

    settings = _settings(args)
    result = run_all(settings)
    f, load = result["fetch"], result["load"]
    articles = sum(t["articles"] for t in result["transform"])
    print(f"run {result['run']['run_id']}: source {f['source']}")
    print(f"  fetched   {f['seen']} posts, {f['changed']} new or changed, {f['deleted']} deleted")
    print(f"  cleaned   {articles} articles, {load['rejects']} rejects")
    print(f"  validated {result['validate']['expectations']} expectation results, "
          f"{result['validate']['failed_soft']} soft failures")
    print(f"  loaded    {load['new']} new, {load['updated']} updated, {load['unchanged']} unchanged, "
          f"{load['deleted']} deleted, {load['revived']} revived into {settings.warehouse}")
    print(f"  published {result['publish']['snapshot']}")
    print(f"  in {result['seconds']:.2f}s")
    return 0


def cmd_summary(args) -> int:
    from .reports import print_summary

    settings = _settings(args)
    path = args.warehouse or settings.published
    print_summary(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m news_etl", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="fetch, transform, validate, load and publish once")
    p.add_argument("--source", help="folder of posts (default: the embedded sample posts)")
    p.add_argument("--warehouse", help="the writer's DuckDB file (default: data/warehouse.duckdb)")
    p.add_argument("--published", help="the analysts' snapshot (default: data/published/warehouse.duckdb)")
    p.add_argument("--staging", help="staging folder (default: data/staging)")
    p.add_argument("--workers", type=int, help="transform processes (default: one per core)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("summary", help="articles per outlet and day, rejects, the last run")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_summary)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; -v shows the traceback
        if args.verbose:
            logging.exception("failed")
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
