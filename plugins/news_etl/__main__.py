"""Command line: the same pipeline without Airflow.

    python -m news_etl run --source PATH --warehouse FILE [--as-of TIME]
    python -m news_etl restore --from SNAPSHOT [--warehouse FILE]
    python -m news_etl retire-source [SOURCE] [--warehouse FILE] [--published FILE]
    python -m news_etl summary [--warehouse FILE]
    python -m news_etl report [NAME] [--format table|csv|json|parquet] [--out FILE] [--param NAME=VALUE ...]
    python -m news_etl sql [--warehouse FILE]
    python -m news_etl corpus-report PATH

Exit code 0 on success; on failure, non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import Settings


def _settings(args) -> Settings:
    return Settings().with_(
        source=getattr(args, "source", None),
        warehouse=getattr(args, "warehouse", None),
        published=getattr(args, "published", None),
        staging=getattr(args, "staging", None),
        workers=getattr(args, "workers", None),
    )


def as_of_time(text: str) -> str:
    """``--as-of``: an ISO 8601 time (``2026-11-26T00:30+08:00``); without an offset it is site
    time (Asia/Shanghai); a date alone is midnight of that day, site time. Returned with its offset."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from .config import SITE_TIMEZONE

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601, e.g. 2026-11-26T00:30+08:00 or 2026-11-26)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(SITE_TIMEZONE))
    return moment.isoformat()


def cmd_run(args) -> int:
    from .pipeline import new_run, run_all

    settings = _settings(args)
    run = None
    if args.as_of:
        as_of = as_of_time(args.as_of)
        if not settings.source.strip().startswith("git+"):
            raise ValueError(
                "--as-of needs a git source (git+URL or git+PATH): a folder or a feed can only be read as it is now"
            )
        run = new_run(interval_end=as_of)
    result = run_all(settings, run)
    f, load = result["fetch"], result["load"]
    articles = sum(t["articles"] for t in result["transform"])
    print(f"run {result['run']['run_id']}: source {f['source']}, as of {f['as_of']}, revision {f['revision']}")
    print(f"  fetched   {f['seen']} posts, {f['changed']} new or changed, {f['deleted']} deleted")
    print(f"  cleaned   {articles} articles, {load['rejects']} rejects")
    print(
        f"  validated {result['validate']['expectations']} expectation results, "
        f"{result['validate']['failed_soft']} soft failures"
    )
    print(
        f"  loaded    {load['new']} new, {load['updated']} updated, {load['unchanged']} unchanged, "
        f"{load['deleted']} deleted, {load['revived']} revived into {settings.warehouse}"
    )
    print(f"  published {result['publish']['snapshot']}")
    print(f"  in {result['seconds']:.2f}s")
    return 0


def cmd_restore(args) -> int:
    from .warehouse import restore

    settings = _settings(args)
    result = restore(args.snapshot, settings.warehouse)
    print(
        f"restored {result['warehouse']} from {result['snapshot']}: "
        f"{result['live_articles']} live articles, {result['runs']} runs"
    )
    return 0


def cmd_retire_source(args) -> int:
    from .pipeline import _printable
    from .retire import retire_source, sources
    from .warehouse import file_connect

    settings = _settings(args)
    if not args.retired:
        con = file_connect(settings.warehouse, read_only=True)()
        try:
            known = sources(con)
        finally:
            con.close()
        print(f"Sources of {_printable(str(settings.warehouse))} (live articles, live files):")
        for name, articles, files in known:
            print(f"  {_printable(name)}  {articles} articles, {files} files")
        return 0
    result = retire_source(file_connect(settings.warehouse), settings, args.retired)
    print(
        f"retired {_printable(result['source'])}: {result['articles']} articles marked deleted "
        f"({result['files']} files; versions kept), run {result['run_id']}; published {result['snapshot']} "
        f"({result['live_articles']} live articles)"
    )
    return 0


def cmd_summary(args) -> int:
    from .reports import print_summary

    settings = _settings(args)
    path = args.warehouse or settings.published
    print_summary(path)
    return 0


def cmd_bench(args) -> int:
    from pathlib import Path

    from .bench import run

    run(
        posts=args.posts,
        repeat=args.repeat,
        workers=args.workers or Settings().workers,
        dag=args.dag,
        big=args.big,
        out=Path(args.json) if args.json else None,
    )
    return 0


def cmd_report(args) -> int:
    from .reports import ReportError, list_reports, open_warehouse, run_report, write_report

    if not args.name:
        reports = list_reports()
        width = max(len(n) for n, _, _ in reports)
        print("Reports (python -m news_etl report NAME [--param start=YYYY-MM-DD ...]):")
        for name, description, takes_params in reports:
            takes = f"  [{', '.join(takes_params)}]" if takes_params else ""
            print(f"  {name:<{width}}  {description}{takes}")
        return 0
    params: dict[str, str] = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ReportError(f"--param takes NAME=VALUE, not {item!r}")
        params[key.lstrip("$")] = value
    path = args.warehouse or _settings(args).published
    con = open_warehouse(path)
    try:
        table = run_report(con, args.name, params)
    finally:
        con.close()
    write_report(table, args.format, args.out)
    return 0


def cmd_sql(args) -> int:
    from .reports import sql_shell

    return sql_shell(args.warehouse or _settings(args).published)


def cmd_selftest(args) -> int:
    from .selftest import run_reliability

    return run_reliability()


def cmd_corpus_report(args) -> int:
    from .corpus_report import build_report, format_report, read_folder

    print(format_report(build_report(read_folder(args.path)), args.path), end="")
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
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="replay the site as it was at TIME (git sources): the last commit before it, as the DAG reads "
        "a day at its interval end; e.g. 2026-11-26T00:30+08:00 for site day 2026-11-25 (no offset: site time)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("restore", help="rebuild a missing writer's file from a published snapshot")
    p.add_argument("--from", dest="snapshot", required=True, metavar="SNAPSHOT", help="the published snapshot file")
    p.add_argument("--warehouse", help="the writer's DuckDB file to rebuild (default: data/warehouse.duckdb)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "retire-source",
        help="mark every live article of a source deleted (versions kept), e.g. after a source switch; "
        "no SOURCE: list the sources",
    )
    p.add_argument(
        "retired",
        nargs="?",
        metavar="SOURCE",
        help="as the warehouse names it (dir:/path, git:<url>, feed:<url>) or as a source spec",
    )
    p.add_argument("--warehouse", help="the writer's DuckDB file (default: data/warehouse.duckdb)")
    p.add_argument("--published", help="the analysts' snapshot (default: data/published/warehouse.duckdb)")
    p.set_defaults(func=cmd_retire_source)

    p = sub.add_parser("summary", help="articles per outlet and day, rejects, the last run")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("report", help="run a report of sql/reports (no name: list them)")
    p.add_argument("name", nargs="?", help="the report (sql/reports/NAME.sql)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "parquet"], help="default: table")
    p.add_argument("--out", help="write to this file instead of the terminal (required for parquet)")
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a report parameter, e.g. start=2026-11-23 (repeatable; bound, never pasted)",
    )
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("sql", help="an interactive SQL shell on the published snapshot (read-only)")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("corpus-report", help="templates, outlets, rejects and missing fields of a folder of posts")
    p.add_argument("path", help="a folder of posts (searched recursively, like the dir source)")
    p.set_defaults(func=cmd_corpus_report)

    p = sub.add_parser("bench", help="generate a synthetic site and print speed and memory figures")
    p.add_argument("--posts", type=int, default=10000, help="posts in the synthetic site (default 10000)")
    p.add_argument("--big", type=int, help="also run end to end on a second site of this many posts")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is printed (default 3)")
    p.add_argument("--workers", type=int, help="transform processes (default: one per core)")
    p.add_argument("--dag", action="store_true", help="also time the DAG with airflow dags test on 1,000 posts")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("selftest", help="run the reliability suites (faults, hostile input) and print what was tried")
    p.add_argument(
        "--reliability",
        action="store_true",
        required=True,
        help="the fault and hostile-input suites (pytest marker 'reliability')",
    )
    p.set_defaults(func=cmd_selftest)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
