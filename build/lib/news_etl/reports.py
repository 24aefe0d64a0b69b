"""Reports read back from a warehouse file (the published snapshot by default)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import duckdb

from .config import SQL_DIR


def _table(con, sql: str, params: list | None = None) -> str:
    rel = con.execute(sql, params or [])
    names = [d[0] for d in rel.description]
    rows = [["" if v is None else str(v) for v in row] for row in rel.fetchall()]
    widths = [max(_width(x) for x in [n, *(r[i] for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(_pad(n, w) for n, w in zip(names, widths, strict=False)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(lines)


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def print_summary(path: Path | str) -> None:
    """Articles per outlet and day, rejects by reason, and the last run's audit row."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        print(f"Warehouse {path}\n")
        print("Articles per outlet and day (live articles):")
        print(
            _table(
                con,
                """
            SELECT day, outlet, sum(articles) AS articles, sum(chars_total) AS characters
            FROM daily_metrics GROUP BY ALL HAVING sum(articles) > 0 ORDER BY day, articles DESC, outlet""",
            )
        )
        print("\nRejects by reason:")
        print(
            _table(
                con,
                "SELECT reason, count(*) AS posts, min(path) AS example FROM rejects GROUP BY reason ORDER BY posts DESC, reason",
            )
        )
        print("\nThe last run:")
        print(
            _table(
                con,
                """
            SELECT run_id, status, posts_seen AS seen, posts_changed AS changed, articles_new AS new,
                   articles_updated AS updated, articles_deleted AS deleted, rejects,
                   expectations_failed AS soft_fails,
                   round(seconds_fetch + seconds_transform + seconds_validate + seconds_load, 2) AS seconds
            FROM etl_runs ORDER BY loaded_at DESC LIMIT 1""",
            )
        )
    finally:
        con.close()


# --- the analysts' reports: sql/reports/*.sql ---------------------------------------------------

#: The reports' folder: one plain SQL file per report; its first comment line says what it answers.
REPORTS_DIR = SQL_DIR / "reports"
#: Output formats of :func:`write_report`.
FORMATS = ("table", "csv", "json", "parquet")
#: Time zone of the reports' sessions: the site's, so timestamps read as the newsroom's clock.
REPORT_TIMEZONE = "Asia/Shanghai"

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class ReportError(Exception):
    """An unknown report, parameter or format."""


def report_names() -> list[str]:
    return sorted(p.stem for p in REPORTS_DIR.glob("*.sql"))


def report_sql(name: str) -> str:
    """The SQL text of a report; ``name`` must be one of :func:`report_names` (no paths)."""
    if name not in report_names():
        raise ReportError(f"no report named {name!r}; the reports are: {', '.join(report_names())}")
    return (REPORTS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def describe(sql: str) -> str:
    """The report's one-line description: its first comment line."""
    for line in sql.splitlines():
        line = line.strip()
        if line.startswith("--"):
            return line[2:].strip()
        if line:
            break
    return ""


def report_params(sql: str) -> list[str]:
    """The named parameters ($name) a report takes, in order of first use."""
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return list(dict.fromkeys(_PARAM.findall(text)))


def list_reports() -> list[tuple[str, str, list[str]]]:
    """(name, description, parameters) of every report."""
    out = []
    for name in report_names():
        sql = report_sql(name)
        out.append((name, describe(sql), report_params(sql)))
    return out


def run_report(con, name: str, params: dict[str, str] | None = None):
    """Run a report on an open connection; return an Arrow table.

    Values are bound as parameters, never pasted into the SQL; a parameter the
    report takes and the caller leaves out is bound as NULL (the report reads
    that as "no bound").
    """
    sql = report_sql(name)
    wanted = report_params(sql)
    params = dict(params or {})
    unknown = sorted(set(params) - set(wanted))
    if unknown:
        raise ReportError(
            f"report {name} takes {', '.join('$' + w for w in wanted) or 'no parameters'}; not {', '.join(unknown)}"
        )
    bound = {w: params.get(w) for w in wanted}
    return con.sql(sql, params=bound or None).to_arrow_table()


def open_warehouse(path: Path | str):
    """A read-only connection on a warehouse file (the published snapshot by default), site time zone."""
    if not Path(path).exists():
        raise ReportError(f"no warehouse at {path}: run the pipeline first (make run)")
    con = duckdb.connect(str(path), read_only=True)
    con.execute(f"SET TimeZone = '{REPORT_TIMEZONE}'")  # a constant of this module
    return con


def format_table(table) -> str:
    """An Arrow table as aligned text (Chinese characters take two columns)."""
    names = table.column_names
    rows = [["" if v is None else str(v) for v in row.values()] for row in table.to_pylist()]
    widths = [max(_width(x) for x in [n, *(r[i] for r in rows)]) for i, n in enumerate(names)]
    lines = [
        "  ".join(_pad(n, w) for n, w in zip(names, widths, strict=False)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def write_report(table, fmt: str = "table", out: Path | str | None = None, stream=None) -> None:
    """Write a report's rows as a table, CSV, JSON (a list of objects) or Parquet (needs ``out``)."""
    import sys

    stream = stream or sys.stdout
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        if not out:
            raise ReportError("--format parquet needs --out FILE")
        import pyarrow.parquet as pq

        pq.write_table(table, str(out))
        return
    if fmt == "table":
        text = format_table(table) + "\n"
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        text = buf.getvalue().decode("utf-8")
    else:
        text = json.dumps(table.to_pylist(), ensure_ascii=False, indent=1, default=str) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        stream.write(text)


# --- an interactive SQL shell on the snapshot, with the DuckDB that wrote it ---------------------


def sql_shell(path: Path | str, stdin=None, stdout=None) -> int:
    """A small SQL shell on a warehouse file, read-only, with this environment's DuckDB.

    DuckDB 2.0 files cannot be opened by older DuckDB versions (the
    ``duckdb-cli`` package on PyPI stops at 1.5), so the shell runs on the
    ``duckdb`` Python package pinned in requirements.lock: the same version
    as the writer. Statements end with ``;``; ``.tables``, ``.schema TABLE``,
    ``.help`` and ``.quit`` work as in the DuckDB CLI. Reading a pipe, it runs
    the statements and prints their results.
    """
    import sys

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    con = open_warehouse(path)
    interactive = stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history)
        except ImportError:
            pass
        stdout.write(f"DuckDB {duckdb.__version__} on {path} (read-only). End statements with ';'. .help for help.\n")
    errors = 0
    buffer: list[str] = []
    try:
        while True:
            if interactive:
                try:
                    line = input("D " if not buffer else "· ")
                except EOFError:
                    stdout.write("\n")
                    break
            else:
                line = stdin.readline()
                if not line:
                    break
            if not buffer and line.strip().startswith("."):
                if _dot_command(con, line.strip(), stdout) == "quit":
                    break
                continue
            buffer.append(line)
            text = "\n".join(buffer)
            if not text.strip().rstrip().endswith(";"):
                continue
            buffer.clear()
            errors += _run_statements(con, text, stdout)
        if buffer and "".join(buffer).strip():
            errors += _run_statements(con, "\n".join(buffer), stdout)
    finally:
        con.close()
    return 1 if errors and not interactive else 0


def _run_statements(con, text: str, stdout) -> int:
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        stdout.write(f"Error: {exc}\n")
        return 1
    for statement in statements:
        try:
            rel = con.sql(statement.query)
            if rel is not None:
                stdout.write(str(rel) + "\n")
        except duckdb.Error as exc:
            stdout.write(f"Error: {exc}\n")
            return 1
    return 0


def _dot_command(con, line: str, stdout) -> str | None:
    word, _, rest = line.partition(" ")
    if word in (".quit", ".exit", ".q"):
        return "quit"
    if word == ".tables":
        rows = con.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() "
            "WHERE NOT internal ORDER BY 1"
        ).fetchall()
        stdout.write("  ".join(r[0] for r in rows) + "\n")
    elif word == ".schema":
        rel = con.sql(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE $t IS NULL OR table_name = $t ORDER BY table_name, column_index",
            params={"t": rest.strip() or None},
        )
        stdout.write(str(rel) + "\n")
    elif word == ".help":
        stdout.write(
            ".tables            tables and views\n.schema [TABLE]    columns and their comments\n"
            ".quit              leave\nAny SQL statement, ended with ';'. The file is read-only.\n"
            f"Reports: {', '.join(report_names())} (python -m news_etl report NAME)\n"
        )
    else:
        stdout.write(f"unknown command {word}; .help lists them\n")
    return None
