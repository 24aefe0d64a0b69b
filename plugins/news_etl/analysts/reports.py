"""Reports read back from a warehouse file (the published snapshot by default)."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from news_etl.analysts.readers import open_reader
from news_etl.settings import SQL_DIR
from news_etl.text import printable


def _cell(value) -> str:
    return "" if value is None else printable(str(value))


def _table(con, sql: str, params: list | None = None) -> str:
    rel = con.execute(sql, params or [])
    names = [printable(d[0]) for d in rel.description]
    rows = [[_cell(v) for v in row] for row in rel.fetchall()]
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
    con = open_warehouse(path)
    try:
        print(f"Warehouse {path}\n")
        print("Articles per outlet and day (live articles):")
        print(
            _table(
                con,
                """
            SELECT day, outlet, sum(articles) AS articles, sum(stories) AS stories, sum(chars_total) AS characters
            FROM daily_metrics GROUP BY ALL HAVING sum(articles) > 0 ORDER BY day, articles DESC, outlet""",
            )
        )
        print("\nRejects by reason (files whose current bytes are rejected; fixed ones no longer count):")
        print(
            _table(
                con,
                "SELECT reason, count(*) AS posts, min(path) AS example FROM current_rejects "
                "GROUP BY reason ORDER BY posts DESC, reason",
            )
        )
        print("\nThe last run that changed the snapshot (a run with nothing new keeps it as it is):")
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


def run_report(con, name: str, params: Mapping[str, str | None] | None = None):
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
    for key in DATE_PARAMS & set(params):
        params[key] = _day(key, params[key])
    start, end = params.get("start"), params.get("end")
    if start and end and start > end:
        raise ReportError(f"start {start} is after end {end}: a reversed range (swap them, or leave one out)")
    bound = {w: params.get(w) for w in wanted}
    return con.sql(sql, params=bound or None).to_arrow_table()


#: The parameters that are days (YYYY-MM-DD): the range a report looks at.
DATE_PARAMS = frozenset({"start", "end", "day"})


def _day(key: str, value: str | None) -> str | None:
    """A day parameter as YYYY-MM-DD (an empty value: no bound)."""
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ReportError(f"${key} must be a day written YYYY-MM-DD, not {value!r}") from None


def why_empty(con, name: str, params: Mapping[str, str | None] | None = None) -> str:
    """Why a report returned no rows: the range it looked at, and the days the warehouse's live
    articles span (so an empty answer is never mistaken for "nothing happened")."""
    given: dict[str, str | None] = {k: _day(k, v) if k in DATE_PARAMS else v for k, v in (params or {}).items()}
    lo, hi = con.execute(
        "SELECT min(published_date), max(published_date) FROM articles WHERE deleted_at IS NULL"
    ).fetchone()
    held = f"the live articles run from {lo} to {hi}" if lo else "the warehouse holds no live article yet"
    takes = set(report_params(report_sql(name)))
    if "day" in takes:
        looked = f"on {given.get('day') or 'the last day'}"
    elif {"start", "end"} & takes:
        looked = f"from {given.get('start') or 'the first day'} to {given.get('end') or 'the last day'}"
    else:
        looked = "over the whole warehouse"
    extra = ", ".join(f"{k}={v}" for k, v in sorted(given.items()) if k not in DATE_PARAMS and v is not None)
    return f"no rows: report {name} looked {looked}{' with ' + extra if extra else ''}; {held}"


def open_warehouse(path: Path | str, writes_to: Path | str | None = None):
    """A read-only connection on a warehouse file (the published snapshot by default), site time zone,
    external access off (:func:`news_etl.analysts.readers.open_reader`; ``writes_to``: the one folder it may write)."""

    if not Path(path).exists():
        raise ReportError(f"no warehouse at {path}: run the pipeline first (make run)")
    return open_reader(path, writes_to=writes_to, timezone=REPORT_TIMEZONE)


def format_table(table) -> str:
    """An Arrow table as aligned text (Chinese characters take two columns)."""
    names = [printable(n) for n in table.column_names]
    rows = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    widths = [max(_width(x) for x in [n, *(r[i] for r in rows)]) for i, n in enumerate(names)]
    lines = [
        "  ".join(_pad(n, w) for n, w in zip(names, widths, strict=False)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def write_report(table, fmt: str = "table", out: Path | str | None = None, stream=None, bom: bool = False) -> None:
    """Write a report's rows as a table, CSV, JSON (a list of objects) or Parquet (needs ``out``).

    ``bom``: start CSV with a UTF-8 byte order mark, so Excel reads the Chinese text right. Written to
    a terminal, CSV and JSON escape unprintable characters like the table does (a file keeps them).
    """

    stream = stream or sys.stdout
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if bom and fmt != "csv":
        raise ReportError("--bom is for --format csv (Excel)")
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
        text = ("\ufeff" if bom else "") + buf.getvalue().decode("utf-8")
    else:
        text = json.dumps(table.to_pylist(), ensure_ascii=False, indent=1, default=str) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        return
    if fmt != "table" and getattr(stream, "isatty", lambda: False)():
        text = "\n".join(printable(line) for line in text.split("\n"))
    stream.write(text)


# --- the analysts' SQL client: the official DuckDB CLI on the snapshot ----------------------------

#: The client's start-up script: the site's time zone, more rows shown.
CLIENT_INIT = SQL_DIR / "client" / "init.sql"


def client_command(path: Path | str) -> list[str]:
    """The command line of the official DuckDB CLI (``duckdb-cli``, pinned in requirements.lock) on a
    snapshot, read-only, started with :data:`CLIENT_INIT`. The snapshot is written in DuckDB's 1.4
    storage format (news_etl/warehouse/snapshot.py), which the 1.x CLI reads."""

    beside = Path(sys.executable).with_name("duckdb")
    binary = str(beside) if beside.exists() else shutil.which("duckdb")
    if not binary:
        raise ReportError("the DuckDB CLI is not installed: pip install -r requirements.lock (duckdb-cli)")
    if not Path(path).exists():
        raise ReportError(f"no warehouse at {path}: run the pipeline first (make run)")
    return [binary, "-readonly", "-init", str(CLIENT_INIT), str(path)]
