"""news-etl: the news warehouse pipeline without Airflow, and its tools.

Every command is listed by ``news-etl --help`` and documented in docs/cli.md (written from the
help texts). Exit code 0 on success; on failure, non-zero with a one-line reason (``-v`` logs
each step and the traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys

from news_etl.settings import SettingError, Settings


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

    from news_etl.settings import SITE_TIMEZONE

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601, e.g. 2026-11-26T00:30+08:00 or 2026-11-26)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(SITE_TIMEZONE))
    return moment.isoformat()


def cmd_run(args) -> int:
    from news_etl.pipeline import new_run, run_all

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
    kept = " (kept: nothing new, the file in place holds this run)" if result["publish"].get("kept") else ""
    print(f"  published {result['publish']['snapshot']}{kept}")
    print(f"  in {result['seconds']:.2f}s")
    return 0


def cmd_restore(args) -> int:
    from news_etl.warehouse.restore import restore

    settings = _settings(args)
    result = restore(args.snapshot, settings.warehouse)
    print(
        f"restored {result['warehouse']} from {result['snapshot']}: "
        f"{result['live_articles']} live articles, {result['runs']} runs"
    )
    return 0


def cmd_retire_source(args) -> int:
    from news_etl.pipeline import retire_source
    from news_etl.text import printable
    from news_etl.warehouse.connection import file_connect
    from news_etl.warehouse.retire import sources

    settings = _settings(args)
    if not args.retired:
        con = file_connect(settings.warehouse, read_only=True)()
        try:
            known = sources(con)
        finally:
            con.close()
        print(f"Sources of {printable(str(settings.warehouse))} (live articles, live files):")
        for name, articles, files in known:
            print(f"  {printable(name)}  {articles} articles, {files} files")
        return 0
    result = retire_source(file_connect(settings.warehouse), settings, args.retired)
    print(
        f"retired {printable(result['source'])}: {result['articles']} articles marked deleted "
        f"({result['files']} files; versions kept), run {result['run_id']}; published {result['snapshot']} "
        f"({result['live_articles']} live articles)"
    )
    return 0


def cmd_rebuild_meaning(args) -> int:
    from news_etl.pipeline import rebuild_meaning
    from news_etl.warehouse.connection import file_connect

    settings = _settings(args)
    result = rebuild_meaning(file_connect(settings.warehouse), settings)
    print(
        f"rebuilt the meaning of {result['checked']} live articles: {result['added']} names from the live posts "
        f"and the seed, keywords derived again; published {result['snapshot']}"
    )
    return 0


def cmd_summary(args) -> int:
    from news_etl.analysts.reports import print_summary

    settings = _settings(args)
    path = args.warehouse or settings.published
    print_summary(path)
    return 0


def cmd_report(args) -> int:
    from news_etl.analysts.reports import (
        ReportError,
        list_reports,
        open_warehouse,
        run_report,
        why_empty,
        write_report,
    )

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
        empty = None if table.num_rows else why_empty(con, args.name, params)
    finally:
        con.close()
    write_report(table, args.format, args.out, bom=args.bom)
    if empty:  # said beside the rows: on the terminal after the table, else on stderr
        print(empty, file=sys.stdout if args.format == "table" and not args.out else sys.stderr)
    return 0


def cmd_search(args) -> int:
    from news_etl.analysts.reports import format_table, open_warehouse
    from news_etl.analysts.search import search
    from news_etl.text import printable

    con = open_warehouse(args.warehouse or _settings(args).published)
    try:
        table, more = search(con, args.query, None if args.all else args.limit)
    finally:
        con.close()
    if not table.num_rows:
        print(printable(f"no live post contains every word of {args.query!r}"))
        return 0
    print(format_table(table))
    if more:
        print(f"more posts match: the best {table.num_rows} shown (--limit N, --all)")
    return 0


def cmd_sql(args) -> int:
    import os

    from news_etl.analysts.reports import client_command

    command = client_command(args.warehouse or _settings(args).published)
    sys.stdout.flush()
    os.execv(command[0], command)  # the DuckDB CLI takes over the terminal (or the pipe on stdin)
    return 0  # not reached


def cmd_dictionary(args) -> int:
    import json

    from news_etl.analysts.catalog import dictionary, format_dictionary
    from news_etl.analysts.reports import open_warehouse
    from news_etl.text import printable

    con = open_warehouse(args.warehouse or _settings(args).published)
    try:
        objects = dictionary(con)
    finally:
        con.close()
    text = json.dumps(objects, ensure_ascii=False, indent=1) if args.format == "json" else format_dictionary(objects)
    print("\n".join(printable(line) for line in text.split("\n")) if sys.stdout.isatty() else text)
    return 0


def cmd_export(args) -> int:
    from news_etl.analysts.catalog import export_parquet
    from news_etl.analysts.reports import open_warehouse

    path = args.warehouse or _settings(args).published
    con = open_warehouse(path, writes_to=args.parquet)  # DuckDB writes into that folder and nowhere else
    try:
        manifest = export_parquet(con, args.parquet, source=str(path))
    finally:
        con.close()
    rows = sum(f["rows"] for f in manifest["files"])
    print(
        f"exported {len(manifest['files'])} tables and views ({rows} rows) to {args.parquet}; manifest.json lists them"
    )
    return 0


def cmd_corpus_report(args) -> int:
    from news_etl.ingest.corpus_report import build_report, format_report, read_folder
    from news_etl.text import printable

    text = format_report(build_report(read_folder(args.path)), args.path)
    print("\n".join(printable(line) for line in text.split("\n")), end="")  # tags and dates come from posts
    return 0


def cmd_settings(args) -> int:
    from dataclasses import fields

    from news_etl.settings import reference
    from news_etl.text import printable

    if args.reference:
        print(reference(), end="")
        return 0
    settings = Settings()
    for f in fields(settings):
        var = f.metadata["var"]
        value = "(set, not shown)" if not f.repr and getattr(settings, f.name) else getattr(settings, f.name)
        if f.name == "source":
            value = repr(settings).split("source='", 1)[1].split("'", 1)[0]
        print(f"{var.env}={printable(str(value))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="news-etl", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="fetch, transform, validate, load and publish once")
    p.add_argument("--source", help="folder of posts (default: the embedded sample posts)")
    p.add_argument("--warehouse", help="the writer's DuckDB file (default: data/warehouse.duckdb)")
    p.add_argument("--published", help="the analysts' snapshot (default: data/published/warehouse.duckdb)")
    p.add_argument("--staging", help="staging folder, or s3://bucket/prefix on object storage (default: data/staging)")
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

    p = sub.add_parser(
        "rebuild-meaning",
        help="derive names, keywords and the securities' names again from the live articles (a warehouse "
        "loaded by an older version), then publish",
    )
    p.add_argument("--warehouse", help="the writer's DuckDB file (default: data/warehouse.duckdb)")
    p.add_argument("--published", help="the analysts' snapshot (default: data/published/warehouse.duckdb)")
    p.set_defaults(func=cmd_rebuild_meaning)

    p = sub.add_parser("summary", help="articles per outlet and day, rejects, the last run")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("report", help="run a report of sql/reports (no name: list them)")
    p.add_argument("name", nargs="?", help="the report (sql/reports/NAME.sql)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "parquet"], help="default: table")
    p.add_argument("--out", help="write to this file instead of the terminal (required for parquet)")
    p.add_argument("--bom", action="store_true", help="CSV only: start with a UTF-8 byte order mark (for Excel)")
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a report parameter, e.g. start=2026-11-23 (repeatable; bound, never pasted)",
    )
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("search", help="the live posts whose title or text contains every word, best first")
    p.add_argument("query", help="words separated by spaces, e.g. '宁德时代 锂电池'")
    p.add_argument("--limit", type=int, default=20, help="rows shown, the best first (default 20)")
    p.add_argument("--all", action="store_true", help="every match")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("sql", help="the DuckDB CLI on the published snapshot (read-only; SQL piped on stdin runs too)")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("dictionary", help="every table and view: grain, columns and comments, joins, reports using it")
    p.add_argument("--format", default="markdown", choices=["markdown", "json"], help="default: markdown")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_dictionary)

    p = sub.add_parser("export", help="the analysts' tables and views as Parquet files with a manifest, for BI tools")
    p.add_argument("--parquet", required=True, metavar="DIR", help="the folder to write (created if missing)")
    p.add_argument("--warehouse", help="a warehouse file (default: the published snapshot)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("settings", help="every NEWS_ETL_* setting as this process reads it, checked (no secret shown)")
    p.add_argument(
        "--reference", action="store_true", help="the configuration reference table (docs/operators/configuration.md)"
    )
    p.set_defaults(func=cmd_settings)

    p = sub.add_parser("corpus-report", help="templates, outlets, rejects and missing fields of a folder of posts")
    p.add_argument("path", help="a folder of posts (searched recursively, like the dir source)")
    p.set_defaults(func=cmd_corpus_report)

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
    except SettingError as exc:  # a setting out of its range: named, with what it takes
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for the user; -v shows the traceback
        if args.verbose:
            logging.exception("failed")
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
