"""The "News warehouse" page inside the Airflow UI (an Airflow 3 plugin).

A small FastAPI app mounted on the api-server at ``/news-warehouse`` and an
external view that puts it in the UI's navigation (shown in an iframe):

- ``/news-warehouse/``          the page: the last runs with their counts and durations,
  rejects by reason, failed expectations, articles per day and outlet (a chart),
  and freshness;
- ``/news-warehouse/summary.json``  the same numbers as JSON.

Both routes sit behind Airflow's own authentication (the UI's session cookie or a
``Bearer`` token from ``/auth/token``): no route here answers an anonymous caller.
They read only the analysts' published snapshot (``Settings().published``),
opened read-only, never the writer's file, so the page never holds a lock a load
needs. Every value that comes from posts is HTML-escaped, and the page sends a
Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

URL_PREFIX = "/news-warehouse"
#: The page flags the warehouse as stale when its newest post is older than
#: NEWS_ETL_MAX_SOURCE_SILENCE_HOURS (Settings), or this many hours when that check is off.
DEFAULT_STALE_HOURS = 48.0
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


def read_summary(path=None, runs: int = 10) -> dict:
    """The page's numbers, read from the published snapshot (read-only)."""
    import duckdb

    from news_etl.config import Settings

    path = path or Settings().published
    stale_hours = Settings().max_source_silence_hours or DEFAULT_STALE_HOURS
    out = {
        "snapshot": str(path),
        "available": os.path.exists(path),
        "runs": [],
        "rejects": [],
        "failed_expectations": [],
        "articles_per_day_outlet": [],
        "freshness": {},
        "totals": {},
    }
    if not out["available"]:
        return out
    con = duckdb.connect(str(path), read_only=True)
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
        newest, last_load, live = con.execute("""
            SELECT (SELECT max(published_at) FROM articles WHERE deleted_at IS NULL),
                   (SELECT max(loaded_at) FROM etl_runs),
                   (SELECT count(*) FROM articles WHERE deleted_at IS NULL)""").fetchone()
        now = datetime.now(UTC)
        age = (now - newest).total_seconds() / 3600 if newest else None
        out["freshness"] = {
            "newest_post_at": newest,
            "last_load_at": last_load,
            "hours_since_newest_post": None if age is None else round(age, 1),
            "stale_after_hours": stale_hours,
            "stale": age is None or age > stale_hours,
        }
        out["totals"] = {
            "articles": live,
            "rejects": sum(r["posts"] for r in out["rejects"]),
            "runs": con.execute("SELECT count(*) FROM etl_runs").fetchone()[0],
        }
    finally:
        con.close()
    return out


# --- rendering --------------------------------------------------------------------------------


def e(value) -> str:
    """Escape a value for HTML text and attributes (None → empty)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
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


def _chart(rows: list[dict]) -> str:
    """Articles per day, stacked by outlet: an inline SVG (no script)."""
    if not rows:
        return '<p class="empty" data-testid="chart">No articles yet.</p>'
    days = sorted({r["day"] for r in rows})
    totals = {}
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
    bar_w, gap, height, left, bottom = 46, 18, 220, 40, 40
    width = left + len(days) * (bar_w + gap) + 10
    parts = [
        f'<svg data-testid="chart" role="img" aria-label="Articles per day and outlet" '
        f'width="{width}" height="{height + bottom + 10}" xmlns="http://www.w3.org/2000/svg">'
    ]
    parts.append(f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" stroke="#888"/>')
    parts.append(f'<text x="{left - 6}" y="14" font-size="11" text-anchor="end">{peak}</text>')
    for i, day in enumerate(days):
        x, y = left + gap / 2 + i * (bar_w + gap), height
        for outlet in order:
            n = per_day[day].get(outlet, 0)
            if not n:
                continue
            h = n / peak * (height - 20)
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" fill="{colour[outlet]}">'
                f"<title>{e(day)} · {e(outlet)}: {n}</title></rect>"
            )
        total = sum(per_day[day].values())
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle" '
            f'data-day="{e(day)}" data-total="{total}">{total}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height + 16}" font-size="10" '
            f'text-anchor="middle">{e(str(day)[5:])}</text>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{colour[o]}"></i>{e(o)} ({totals.get(o, "")})</span>'
        for o in order
        if o != "other"
    )
    if "other" in order:
        legend += f'<span class="key"><i style="background:{colour["other"]}"></i>other</span>'
    return "".join(parts) + f'<div class="legend">{legend}</div>'


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 6px}
.muted{color:#666;font-size:12px} .cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:22px} .ok{color:#1a7f37} .bad{color:#cf222e;font-weight:bold}
table{border-collapse:collapse;font-size:12px} th,td{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4} .legend{font-size:12px;margin-top:4px}
.key{margin-right:12px;white-space:nowrap} .key i{display:inline-block;width:10px;height:10px;margin-right:4px}
"""


def render(summary: dict) -> str:
    f = summary["freshness"]
    if not summary["available"]:
        body = (
            f'<p class="bad" data-testid="no-snapshot">No published snapshot yet at {e(summary["snapshot"])}: '
            f"run the DAG once.</p>"
        )
    else:
        status = (
            f'<span class="bad">STALE: no new post for {e(f["hours_since_newest_post"])} h '
            f"(limit {e(f['stale_after_hours'])} h)</span>"
            if f["stale"]
            else '<span class="ok">fresh</span>'
        )
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
        body = f"""
<div class="cards">{cards}</div>
<p data-testid="freshness">Freshness: {status}</p>
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
at {e(datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))}.</p>{body}
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
        return HTMLResponse(render(read_summary()), headers=headers)

    @app.get("/summary.json", dependencies=[Depends(_require_login())])
    def summary() -> JSONResponse:
        return JSONResponse(_jsonable(read_summary()), headers=headers)

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
