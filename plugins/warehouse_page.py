"""The "News warehouse" page inside the Airflow UI (an Airflow 3 plugin).

A small FastAPI app mounted on the api-server at ``/news-warehouse`` and an
external view that puts it in the UI's navigation (shown in an iframe):

- ``/news-warehouse/``          the page: the last runs with their counts and durations,
  rejects by reason, failed expectations, articles per day and outlet (a chart on a
  time axis: days without articles are gaps, labels carry the year when the range
  spans years), and freshness (the verdict of ``news_etl.warehouse.freshness``, the rule the
  DAG's check uses); times are shown in the site's zone (Asia/Shanghai) and UTC;
- ``/news-warehouse/summary.json``  the same numbers as JSON.

Both routes sit behind Airflow's own authentication (the UI's session cookie or a
``Bearer`` token from ``/auth/token``): no route here answers an anonymous caller.
They read only the analysts' published snapshot (``Settings().published``),
opened read-only, never the writer's file, so the page never holds a lock a load
needs. Every value that comes from posts is HTML-escaped, and the page sends a
Content-Security-Policy that allows no script at all. A snapshot that cannot be
read (truncated, corrupt) gives a page that says "snapshot unreadable", not a 500.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

URL_PREFIX = "/news-warehouse"
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _require_login():
    """Airflow's own check: a logged-in user who may read DAG runs (cookie or Bearer token)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return requires_access_dag("GET", DagAccessEntity.RUN)


# --- reading the snapshot ---------------------------------------------------------------------


def _source() -> str | None:
    """The source the DAG reads (the Variable, or its environment override), if Airflow says."""
    try:
        from airflow.models import Variable

        from news_etl.settings import SOURCE_VARIABLE

        return Variable.get(SOURCE_VARIABLE, default_var=None)
    except Exception:  # noqa: BLE001 - outside Airflow (a test, a script) there is no Variable
        return None


def read_summary(path=None, runs: int = 10, source: str | None = None, now: datetime | None = None) -> dict:
    """The page's numbers, read from the published snapshot (read-only). ``error`` says why a
    snapshot that exists could not be read."""
    import duckdb

    from news_etl.analysts.readers import open_reader
    from news_etl.settings import Settings
    from news_etl.warehouse import freshness

    settings = Settings()
    path = path or settings.published
    now = now or datetime.now(UTC)
    out = {
        "snapshot": str(path),
        "available": os.path.exists(path),
        "error": None,
        "runs": [],
        "rejects": [],
        "failed_expectations": [],
        "articles_per_day_outlet": [],
        "freshness": {},
        "totals": {},
    }
    if not out["available"]:
        return out
    try:
        con = open_reader(path)  # external access off, configuration locked (news_etl/readers.py)
    except duckdb.Error as exc:
        return {**out, "error": f"snapshot unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}"}
    try:

        def q(sql, params=None):
            rel = con.execute(sql, params or [])
            names = [d[0] for d in rel.description]
            return [dict(zip(names, row, strict=False)) for row in rel.fetchall()]

        out["runs"] = q(f"""
            SELECT run_id, status, logical_date, loaded_at, posts_seen, posts_changed, posts_deleted,
                   articles_new, articles_updated, articles_unchanged, articles_deleted, rejects,
                   expectations_failed,
                   round(coalesce(seconds_fetch, 0) + coalesce(seconds_transform, 0)
                         + coalesce(seconds_validate, 0) + coalesce(seconds_load, 0), 2) AS seconds
            FROM etl_runs ORDER BY loaded_at DESC LIMIT {int(runs)}""")
        out["rejects"] = q(
            "SELECT reason, count(*) AS posts, min(path) AS example FROM current_rejects "
            "GROUP BY reason ORDER BY posts DESC, reason"
        )
        out["failed_expectations"] = q("""
            SELECT run_id, batch, expectation, column_name, severity, observed FROM quality_results
            WHERE NOT success ORDER BY checked_at DESC, expectation LIMIT 50""")
        out["articles_per_day_outlet"] = q("""
            SELECT published_date AS day, outlet, count(*) AS articles FROM articles
            WHERE deleted_at IS NULL GROUP BY ALL ORDER BY day, outlet""")
        newest = freshness.newest_post(con)
        last_load, live, n_runs = con.execute("""
            SELECT (SELECT max(loaded_at) FROM etl_runs),
                   (SELECT count(*) FROM articles WHERE deleted_at IS NULL),
                   (SELECT count(*) FROM etl_runs)""").fetchone()
    except duckdb.Error as exc:
        return {
            **out,
            "runs": [],
            "rejects": [],
            "failed_expectations": [],
            "articles_per_day_outlet": [],
            "error": f"snapshot unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}",
        }
    finally:
        con.close()
    verdict = freshness.assess(newest, now, settings.max_source_silence_hours, source)
    out["freshness"] = {**verdict, "newest_post_at": newest, "last_load_at": last_load}
    out["totals"] = {"articles": live, "rejects": sum(r["posts"] for r in out["rejects"]), "runs": n_runs}
    return out


# --- rendering --------------------------------------------------------------------------------


def when(value: datetime) -> str:
    """A time in the site's zone and in UTC: ``2026-11-25 17:05 Asia/Shanghai (09:05 UTC)``
    (the UTC date too when it differs)."""
    from news_etl.settings import SITE_TIMEZONE

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    site, utc = value.astimezone(ZoneInfo(SITE_TIMEZONE)), value.astimezone(UTC)
    utc_text = f"{utc:%H:%M}" if utc.date() == site.date() else f"{utc:%Y-%m-%d %H:%M}"
    return f"{site:%Y-%m-%d %H:%M} {SITE_TIMEZONE} ({utc_text} UTC)"


def e(value) -> str:
    """Escape a value for HTML text and attributes (None → empty; times in site time and UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = when(value)
    return html.escape(str(value), quote=True)


def _table(rows: list[dict], columns: list[tuple[str, str]], test_id: str, empty: str) -> str:
    if not rows:
        return f'<p class="empty" data-testid="{test_id}">{e(empty)}</p>'
    head = "".join(f"<th>{e(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(f'<td data-col="{e(key)}">{e(row.get(key))}</td>' for key, _ in columns) + "</tr>"
        for row in rows
    )
    return f'<table data-testid="{test_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def _ticks(first: date, last: date, most: int = 8) -> list[date]:
    """Tick days for a time axis from ``first`` to ``last``: month starts (every 1, 2, 3, 6 or
    12 months) for long ranges, every N days for short ones; at most ``most`` of them."""
    span = (last - first).days + 1
    if span <= 62:
        step = next(n for n in (1, 2, 7, 14, 31) if span / n <= most)
        return [first + timedelta(days=i) for i in range(0, span, step)]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    every = next((n for n in (1, 2, 3, 6, 12) if months / n <= most), 12 * -(-months // (12 * most)))
    ticks, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        if (year * 12 + month - 1) % every == 0 and date(year, month, 1) >= first:
            ticks.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks or [first]


def _chart(rows: list[dict]) -> str:
    """Articles per day, stacked by outlet, on a time axis: an inline SVG (no script). Every day
    from the first to the last has its place, so days without articles are visible gaps; the
    axis labels carry the year when the range spans years."""
    if not rows:
        return '<p class="empty" data-testid="chart">No articles yet.</p>'
    days = sorted({r["day"] for r in rows})
    first, last = days[0], days[-1]
    span = (last - first).days + 1
    totals: dict = {}
    for r in rows:
        totals[r["outlet"]] = totals.get(r["outlet"], 0) + r["articles"]
    outlets = sorted(totals, key=lambda o: (-totals[o], o))
    top = outlets[: len(PALETTE) - 1]
    colour = {o: PALETTE[i] for i, o in enumerate(top)}
    per_day: dict = {d: {} for d in days}
    for r in rows:
        key = r["outlet"] if r["outlet"] in colour else "other"
        per_day[r["day"]][key] = per_day[r["day"]].get(key, 0) + r["articles"]
    colour["other"] = PALETTE[-1]
    order = top + (["other"] if len(outlets) > len(top) else [])
    peak = max(sum(v.values()) for v in per_day.values()) or 1
    height, left, bottom = 220, 40, 40
    slot = min(64.0, 900 / span)  # pixels per day: the plot is at most 900 px wide
    plot = span * slot
    width = left + plot + 60
    bar = max(slot * 0.72, 1.5)
    spans_years = first.year != last.year
    label = "%Y-%m-%d" if spans_years else "%m-%d"

    def x_of(day: date) -> float:
        return left + (day - first).days * slot

    parts = [
        f'<svg data-testid="chart" role="img" aria-label="Articles per day and outlet, {e(first)} to {e(last)}" '
        f'width="{width:.0f}" height="{height + bottom + 10}" xmlns="http://www.w3.org/2000/svg" '
        f'data-first="{e(first)}" data-last="{e(last)}" data-days="{span}">'
    ]
    parts.append(f'<line x1="{left}" y1="{height}" x2="{left + plot:.1f}" y2="{height}" stroke="#888"/>')
    parts.append(f'<text x="{left - 6}" y="14" font-size="11" text-anchor="end">{peak}</text>')
    for tick in _ticks(first, last):
        x = x_of(tick) + slot / 2
        parts.append(
            f'<line x1="{x:.1f}" y1="{height}" x2="{x:.1f}" y2="{height + 4}" stroke="#888"/>'
            f'<text x="{x:.1f}" y="{height + 16}" font-size="10" text-anchor="middle" data-tick="{e(tick)}">'
            f"{e(tick.strftime(label))}</text>"
        )
    if spans_years:  # a faint line where each new year starts
        for year in range(first.year + 1, last.year + 1):
            x = x_of(date(year, 1, 1))
            parts.append(
                f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height}" stroke="#ccc" stroke-dasharray="3,3"/>'
                f'<text x="{x + 3:.1f}" y="30" font-size="10" fill="#888">{year}</text>'
            )
    for day in days:
        x, y = x_of(day) + (slot - bar) / 2, float(height)
        total = sum(per_day[day].values())
        parts.append(f'<g data-day="{e(day)}" data-total="{total}"><title>{e(day)}: {total} articles</title>')
        for outlet in order:
            n = per_day[day].get(outlet, 0)
            if not n:
                continue
            h = n / peak * (height - 20)
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour[outlet]}">'
                f"<title>{e(day)} · {e(outlet)}: {n}</title></rect>"
            )
        if bar >= 18:  # room for the day's total above its bar
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{total}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{colour[o]}"></i>{e(o)} ({totals.get(o, "")})</span>'
        for o in order
        if o != "other"
    )
    if "other" in order:
        legend += f'<span class="key"><i style="background:{colour["other"]}"></i>other</span>'
    days_text = f"{len(days)} days with articles from {first} to {last}; {span - len(days)} days without"
    return "".join(parts) + f'<div class="legend">{legend}</div><p class="muted">{e(days_text)}.</p>'


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 6px}
.muted{color:#666;font-size:12px} .cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:15px}
.banner{background:#ffebe9;border:1px solid #cf222e;border-radius:6px;padding:8px 12px;color:#82071e;font-weight:bold} .ok{color:#1a7f37} .bad{color:#cf222e;font-weight:bold}
table{border-collapse:collapse;font-size:12px} th,td{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4} .legend{font-size:12px;margin-top:4px}
.key{margin-right:12px;white-space:nowrap} .key i{display:inline-block;width:10px;height:10px;margin-right:4px}
"""


def _freshness(f: dict) -> str:
    """The freshness line: the verdict of news_etl.warehouse.freshness (the rule the DAG's check uses)."""
    verdict = f.get("verdict")
    hours = f.get("hours_without_new_post")
    if verdict == "stale":
        return f'<span class="bad">{e(f["message"])}</span>'
    if verdict == "fresh":
        return f'<span class="ok">fresh</span>: newest post {e(hours)} h ago (limit {e(f["limit_hours"])} h)'
    if verdict == "not measured":
        return '<span class="ok">not measured</span>: the source is the embedded sample posts, a fixed set'
    return f"check off (NEWS_ETL_MAX_SOURCE_SILENCE_HOURS=0): newest post {e(hours)} h ago"


def render(summary: dict) -> str:
    f = summary["freshness"]
    if not summary["available"]:
        body = (
            f'<p class="bad" data-testid="no-snapshot">No published snapshot yet at {e(summary["snapshot"])}: '
            f"run the DAG once.</p>"
        )
    elif summary.get("error"):
        body = (
            f'<p class="bad" data-testid="snapshot-unreadable">The published snapshot {e(summary["snapshot"])} '
            f"is unreadable ({e(summary['error'])}). The writer's file is intact: the next run's publish "
            f"replaces the snapshot.</p>"
        )
    else:
        stale_banner = f'<p class="banner" data-testid="stale-banner">{e(f["message"])}</p>' if f.get("stale") else ""
        cards = "".join(
            f'<div class="card"><span class="muted">{e(label)}</span><b data-testid="{e(tid)}">{e(v)}</b></div>'
            for label, tid, v in [
                ("live articles", "total-articles", summary["totals"]["articles"]),
                ("rejects", "total-rejects", summary["totals"]["rejects"]),
                ("runs loaded", "total-runs", summary["totals"]["runs"]),
                ("newest post", "newest-post", f["newest_post_at"]),
                ("last load", "last-load", f["last_load_at"]),
            ]
        )
        body = f"""{stale_banner}
<div class="cards">{cards}</div>
<p data-testid="freshness">Freshness: {_freshness(f)}</p>
<h2>Articles per day and outlet</h2>{_chart(summary["articles_per_day_outlet"])}
<h2>Last runs</h2>{
            _table(
                summary["runs"],
                [
                    ("run_id", "run"),
                    ("status", "status"),
                    ("loaded_at", "loaded"),
                    ("posts_seen", "seen"),
                    ("posts_changed", "changed"),
                    ("articles_new", "new"),
                    ("articles_updated", "updated"),
                    ("articles_deleted", "deleted"),
                    ("rejects", "rejects"),
                    ("expectations_failed", "soft fails"),
                    ("seconds", "seconds"),
                ],
                "runs",
                "No run has loaded yet.",
            )
        }
<h2>Rejects by reason</h2>{
            _table(
                summary["rejects"],
                [("reason", "reason"), ("posts", "posts"), ("example", "example")],
                "rejects",
                "No rejects.",
            )
        }
<h2>Failed expectations</h2>{
            _table(
                summary["failed_expectations"],
                [
                    ("run_id", "run"),
                    ("batch", "batch"),
                    ("expectation", "expectation"),
                    ("column_name", "column"),
                    ("severity", "severity"),
                    ("observed", "observed"),
                ],
                "failed-expectations",
                "Every expectation held.",
            )
        }"""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News warehouse</title><style>{STYLE}</style></head>
<body><h1>News warehouse</h1>
<p class="muted">Read from the published snapshot <code>{e(summary["snapshot"])}</code>
at {e(datetime.now(UTC))}.</p>{body}
</body></html>"""


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- the app ----------------------------------------------------------------------------------


def create_app() -> FastAPI:
    app = FastAPI(title="News warehouse", docs_url=None, redoc_url=None, openapi_url=None)
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
    }

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(_require_login())])
    def page() -> HTMLResponse:
        return HTMLResponse(render(read_summary(source=_source())), headers=headers)

    @app.get("/summary.json", dependencies=[Depends(_require_login())])
    def summary() -> JSONResponse:
        return JSONResponse(_jsonable(read_summary(source=_source())), headers=headers)

    return app


class NewsWarehousePlugin(AirflowPlugin):
    name = "news_warehouse_page"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "News warehouse"}]
    external_views = [
        {
            "name": "News warehouse",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "news-warehouse",
            "destination": "nav",
        }
    ]
