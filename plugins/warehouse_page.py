"""The "News warehouse" page inside the Airflow UI (an Airflow 3 plugin): the operator's dashboard.

A small FastAPI app mounted on the api-server at ``/news-warehouse`` and an external view that
puts it in the UI's navigation (shown in an iframe):

- ``/news-warehouse/``              the page (``?days=30`` by default; ``90``, ``365``, ``all``);
- ``/news-warehouse/summary.json``  the same numbers as JSON.

What it shows, top to bottom: a stale-source banner when the source is silent past the DAG's
limit; Airflow's state per site day (failed and running runs too, with the failing task and its
``NEWS ETL ALERT`` text, each linked to the run in the UI), read through Airflow's public REST
API as the viewing user (their own token: they see what Airflow lets them see); the current
source, the revision loaded and live articles per source; articles per day and outlet over the
last 30 days; the loads that changed the snapshot (``etl_runs``), rejects by reason and failed
expectations. Every time is written one way: site time beside UTC
(``2026-11-25 17:05 Asia/Shanghai (09:05 UTC)``); runs are named by the site day they load.

Both routes sit behind Airflow's own authentication (the UI's session cookie or a ``Bearer``
token): no route answers an anonymous caller. The warehouse numbers come from the analysts'
published snapshot (``Settings().published``), opened read-only, never the writer's file, so
the page never holds a lock a load needs. The HTML comes from Jinja2 templates with
autoescaping on (``warehouse_page_templates/``): every value from posts, the warehouse or
Airflow is escaped by Jinja2; the page sends a Content-Security-Policy that allows no script.
A snapshot that cannot be read gives a page that says "snapshot unreadable", not a 500; an
Airflow API that does not answer gives a line saying so.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

URL_PREFIX = "/news-warehouse"
TEMPLATES = Path(__file__).resolve().with_name("warehouse_page_templates")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)
#: The chart's ranges (days back from today, site time); ``all`` is every day with articles.
RANGES = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_RANGE = "30"
#: Airflow runs shown, newest site day first; the failing task's alert is read for at most this many.
AIRFLOW_RUNS = 14
ALERTS_READ = 5
ALERT_MARK = "NEWS ETL ALERT: "
#: The source Variable's environment override (Airflow's lookup: the environment before the database).
SOURCE_ENV = "AIRFLOW_VAR_NEWS_ETL_SOURCE"


def _require_login():
    """Airflow's own check: a logged-in user who may read DAG runs (cookie or Bearer token)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return requires_access_dag("GET", DagAccessEntity.RUN)


# --- one time format, site days -----------------------------------------------------------


def _zone() -> ZoneInfo:
    from news_etl.settings import SITE_TIMEZONE

    return ZoneInfo(SITE_TIMEZONE)


def _instant(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def when(value) -> str:
    """A time in the site's zone and in UTC: ``2026-11-25 17:05 Asia/Shanghai (09:05 UTC)``, the
    format of the logs too (``news_etl.contract.site_time``); an ISO string is read first; None is empty."""
    from news_etl.contract import site_time

    return site_time(value)


def site_day(interval_start=None, logical_date=None) -> str | None:
    """The site day a run loads: its data interval's first day in site time (a daily interval
    runs 00:30 to 00:30), else its logical date's day; None for a run with neither (the CLI)."""
    instant = _instant(interval_start) or _instant(logical_date)
    return instant.astimezone(_zone()).date().isoformat() if instant else None


def today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(_zone()).date()


# --- the snapshot ------------------------------------------------------------------------------


def open_snapshot(path):
    """The published snapshot, read-only, external access off and the configuration locked (the
    readers' one open, news_etl/analysts/readers.py): the page's one DuckDB open."""
    from news_etl.analysts.readers import open_reader

    return open_reader(path)


EMPTY = {"loads": [], "rejects": [], "failed_expectations": [], "articles_per_day_outlet": [], "sources": []}


def read_summary(
    path=None, runs: int = 10, source: str | None = None, now: datetime | None = None, days: int | None = 30
) -> dict:
    """The warehouse's numbers, read from the published snapshot (read-only). ``days``: the
    chart's range back from today (site time; None: from the first day with articles).
    ``error`` says why a snapshot that exists could not be read."""
    import duckdb

    from news_etl.settings import Settings
    from news_etl.warehouse import freshness

    settings = Settings()
    path = path or settings.published
    now = now or datetime.now(UTC)
    out = {
        "snapshot": str(path),
        "available": os.path.exists(path),
        "error": None,
        **EMPTY,
        "source": source,
        "chart_first": None if days is None else (today(now) - timedelta(days=days - 1)).isoformat(),
        "chart_last": today(now).isoformat(),
        "freshness": {},
        "totals": {},
    }
    if not out["available"]:
        return out
    try:
        con = open_snapshot(path)
    except duckdb.Error as exc:
        return {**out, "error": f"snapshot unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}"}
    try:

        def q(sql, params=None):
            rel = con.execute(sql, params or [])
            names = [d[0] for d in rel.description]
            return [dict(zip(names, row, strict=False)) for row in rel.fetchall()]

        out["loads"] = q(
            """
            SELECT run_id, dag_run_id, interval_start, logical_date, status, loaded_at, source_revision,
                   posts_seen, posts_changed, articles_new, articles_updated, articles_deleted, rejects,
                   expectations_failed,
                   round(coalesce(seconds_fetch, 0) + coalesce(seconds_transform, 0)
                         + coalesce(seconds_validate, 0) + coalesce(seconds_load, 0), 2) AS seconds
            FROM etl_runs ORDER BY loaded_at DESC LIMIT ?""",
            [int(runs)],
        )
        out["sources"] = q("""
            SELECT s.source, s.revision, s.updated_at,
                   (SELECT count(*) FROM articles a WHERE a.source = s.source AND a.deleted_at IS NULL) AS live
            FROM source_state s ORDER BY s.updated_at DESC""")
        out["rejects"] = q(
            "SELECT reason, count(*) AS posts, min(path) AS example FROM current_rejects "
            "GROUP BY reason ORDER BY posts DESC, reason"
        )
        out["failed_expectations"] = q("""
            SELECT run_id, batch, expectation, column_name, severity, observed FROM quality_results
            WHERE NOT success ORDER BY checked_at DESC, expectation LIMIT 50""")
        out["articles_per_day_outlet"] = q(
            """
            SELECT published_date AS day, outlet, count(*) AS articles FROM articles
            WHERE deleted_at IS NULL AND published_date <= ?
              AND (CAST(? AS DATE) IS NULL OR published_date >= CAST(? AS DATE))
            GROUP BY ALL ORDER BY day, outlet""",
            [out["chart_last"], out["chart_first"], out["chart_first"]],
        )
        newest = freshness.newest_post(con)
        last_load, live, n_runs = con.execute("""
            SELECT (SELECT max(loaded_at) FROM etl_runs),
                   (SELECT count(*) FROM articles WHERE deleted_at IS NULL),
                   (SELECT count(*) FROM etl_runs)""").fetchone()
    except duckdb.Error as exc:
        return {**out, **EMPTY, "error": f"snapshot unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}"}
    finally:
        con.close()
    for load in out["loads"]:
        load["site_day"] = site_day(load["interval_start"], load["logical_date"])
    verdict = freshness.assess(newest, now, settings.max_source_silence_hours, source)
    out["freshness"] = {**verdict, "newest_post_at": newest, "last_load_at": last_load}
    out["totals"] = {"articles": live, "rejects": sum(r["posts"] for r in out["rejects"]), "runs": n_runs}
    return out


# --- Airflow's state, through its public REST API as the viewing user ------------------------


def viewer_token(request: Request) -> str | None:
    """The viewing user's own token: a ``Bearer`` header, else the UI's cookie."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def read_airflow(base_url: str, token: str | None, limit: int = AIRFLOW_RUNS) -> dict:
    """The DAG's latest runs by site day, with the failing task and its alert for failed ones,
    from ``/api/v2`` on ``base_url`` with ``token``. ``error`` says why Airflow did not answer."""
    import httpx

    from news_etl.settings import DAG_ID, SOURCE_VARIABLE

    out: dict = {"runs": [], "error": None, "dag_id": DAG_ID, "source": None}
    try:
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=20
        ) as client:

            def get(path: str, **params):
                answer = client.get(path, params=params)
                answer.raise_for_status()
                return answer.json()

            out["source"] = os.environ.get(SOURCE_ENV) or _variable(client, SOURCE_VARIABLE)
            runs = get(f"/api/v2/dags/{DAG_ID}/dagRuns", order_by="-run_after", limit=limit)["dag_runs"]
            alerts_left = ALERTS_READ
            for run in runs:
                shown = _run_row(run)
                if run["state"] in ("failed", "running") and (run["state"] == "running" or alerts_left > 0):
                    shown["tasks"] = _tasks_to_show(get, run, alert=run["state"] == "failed")
                    alerts_left -= run["state"] == "failed"
                out["runs"].append(shown)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return out


def _variable(client, key: str) -> str | None:
    """A Variable's value as the viewer may read it (None: unset or not theirs to read)."""
    answer = client.get(f"/api/v2/variables/{quote(key, safe='')}")
    return answer.json().get("value") if answer.status_code == 200 else None


def _run_row(run: dict) -> dict:
    return {
        "site_day": site_day(run.get("data_interval_start"), run.get("logical_date")),
        "run_id": run["dag_run_id"],
        "run_type": run.get("run_type"),
        "state": run["state"],
        "start": run.get("start_date"),
        "end": run.get("end_date"),
        # a run triggered to "read the site as of now" reads it as of its run_after
        "as_of": run.get("run_after") if (run.get("conf") or {}).get("read_as_of_now") else None,
        "href": f"/dags/{quote(run['dag_id'], safe='')}/runs/{quote(run['dag_run_id'], safe='')}",
        "tasks": [],
    }


def _tasks_to_show(get, run: dict, alert: bool) -> list[dict]:
    """The failed (or running) tasks of a run, each with its UI link and, for a failed one, the
    ``NEWS ETL ALERT`` line of its last try's log."""
    dag, run_id = quote(run["dag_id"], safe=""), quote(run["dag_run_id"], safe="")
    state = "failed" if alert else "running"
    tis = get(f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances", state=state, limit=10)["task_instances"]
    out = []
    for ti in tis[:3]:
        index = ti.get("map_index", -1)
        task = {
            "task_id": ti["task_id"] + (f"[{index}]" if index >= 0 else ""),
            "href": f"/dags/{dag}/runs/{run_id}/tasks/{quote(ti['task_id'], safe='')}"
            + (f"/mapped/{index}" if index >= 0 else ""),
            "alert": None,
        }
        if alert and ti.get("try_number"):
            log = get(
                f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{ti['try_number']}",
                map_index=index,
                full_content="true",
            )
            task["alert"] = alert_text(log.get("content"))
        out.append(task)
    return out


def alert_text(content) -> str | None:
    """The first ``NEWS ETL ALERT: …`` of a task log as the REST API returns it (structured lines
    or text), without the mark: the alert itself (the lines after it say how the notifier did)."""
    lines = content if isinstance(content, list) else str(content or "").splitlines()
    for line in lines:
        text = str(line.get("event", "") if isinstance(line, dict) else line)
        if ALERT_MARK in text:
            return text.split(ALERT_MARK, 1)[1].strip()
    return None


# --- the chart ---------------------------------------------------------------------------------

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
HEIGHT, LEFT, BOTTOM = 220, 40, 40


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


def _outlets(rows: list[dict]) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """The outlets in the chart's order (most articles first, the rest as "other"), their colours
    and totals."""
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["outlet"]] = totals.get(r["outlet"], 0) + r["articles"]
    outlets = sorted(totals, key=lambda o: (-totals[o], o))
    top = outlets[: len(PALETTE) - 1]
    colour = {o: PALETTE[i] for i, o in enumerate(top)}
    colour["other"] = PALETTE[-1]
    return top + (["other"] if len(outlets) > len(top) else []), colour, totals


def _per_day(rows: list[dict], colour: dict[str, str]) -> dict:
    """{day: {outlet or "other": articles}}."""
    per_day: dict = {}
    for r in rows:
        key = r["outlet"] if r["outlet"] in colour else "other"
        day = per_day.setdefault(r["day"], {})
        day[key] = day.get(key, 0) + r["articles"]
    return per_day


def chart(rows: list[dict], first: date | None = None, last: date | None = None) -> dict | None:
    """The geometry of the articles-per-day chart (stacked by outlet, on a time axis from
    ``first`` to ``last``: every day has its place, so days without articles are visible gaps);
    the template ``chart.svg`` draws it. None without articles."""
    if not rows:
        return None
    days = sorted({r["day"] for r in rows})
    first, last = first or days[0], last or days[-1]
    span = (last - first).days + 1
    order, colour, totals = _outlets(rows)
    per_day = _per_day(rows, colour)
    peak = max(sum(v.values()) for v in per_day.values()) or 1
    slot = min(64.0, 900 / span)  # pixels per day: the plot is at most 900 px wide
    bar = max(slot * 0.72, 1.5)
    label = "%Y-%m-%d" if first.year != last.year else "%m-%d"

    def x_of(day: date) -> float:
        return LEFT + (day - first).days * slot

    bars = []
    for day in days:
        y, stack = float(HEIGHT), []
        for outlet in (o for o in order if per_day[day].get(o)):
            h = per_day[day][outlet] / peak * (HEIGHT - 20)
            y -= h
            stack.append({"outlet": outlet, "n": per_day[day][outlet], "y": y, "h": h, "colour": colour[outlet]})
        bars.append({"day": day, "total": sum(per_day[day].values()), "x": x_of(day) + (slot - bar) / 2, "top": y})
        bars[-1]["stack"] = stack
    return {
        "first": first,
        "last": last,
        "span": span,
        "width": LEFT + span * slot + 60,
        "height": HEIGHT,
        "bottom": BOTTOM,
        "left": LEFT,
        "plot_end": LEFT + span * slot,
        "peak": peak,
        "bar": bar,
        "bars": bars,
        "ticks": [{"day": t, "x": x_of(t) + slot / 2, "label": t.strftime(label)} for t in _ticks(first, last)],
        "years": [{"year": y, "x": x_of(date(y, 1, 1))} for y in range(first.year + 1, last.year + 1)],
        "legend": [{"outlet": o, "colour": colour[o], "n": totals.get(o)} for o in order],
        "with_articles": len(days),
        "without": span - len(days),
    }


#: The longest query the page's search box takes (characters): what a search costs stays bounded.
MAX_QUERY = 200
NO_SEARCH = {"q": "", "rows": [], "more": False, "error": None}


def search_snapshot(q: str, path=None) -> dict:
    """``search(q)`` on the published snapshot (news_etl.analysts.search): the best matches and
    whether more match; ``error`` says why there are none to show."""
    import duckdb

    from news_etl.analysts.search import SearchError, search, words
    from news_etl.settings import Settings

    out = {**NO_SEARCH, "q": q[:MAX_QUERY]}
    if not words(out["q"]):
        return out
    path = path or Settings().published
    if not os.path.exists(path):
        return {**out, "error": "no published snapshot yet: run the DAG once"}
    try:
        con = open_snapshot(path)
    except duckdb.Error as exc:
        return {**out, "error": f"snapshot unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}"}
    try:
        table, more = search(con, out["q"])
        return {**out, "rows": table.to_pylist(), "more": more}
    except (SearchError, duckdb.Error) as exc:
        return {**out, "error": f"search failed: {str(exc).splitlines()[0]}"}
    finally:
        con.close()


# --- rendering ---------------------------------------------------------------------------------


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["num"] = lambda value, digits=1: f"{value:.{digits}f}"
    return env


_ENV = None


def render(
    summary: dict,
    airflow: dict | None = None,
    chosen: str = DEFAULT_RANGE,
    now: datetime | None = None,
    found: dict | None = None,
) -> str:
    """The page's HTML (templates/page.html, autoescaped)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    first = date.fromisoformat(summary["chart_first"]) if summary.get("chart_first") else None
    last = date.fromisoformat(summary["chart_last"]) if summary.get("chart_last") else None
    return _ENV.get_template("page.html").render(
        s=summary,
        f=summary["freshness"],
        airflow=airflow,
        chart=chart(summary["articles_per_day_outlet"], first, last),
        ranges=list(RANGES),
        chosen=chosen,
        now=now or datetime.now(UTC),
        found=found or NO_SEARCH,
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- the app ----------------------------------------------------------------------------------


def _base_url(request: Request) -> str:
    """This api-server, as the request reached it (the page calls the REST API it is mounted on)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def create_app() -> FastAPI:
    app = FastAPI(title="News warehouse", docs_url=None, redoc_url=None, openapi_url=None)
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
    }

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(_require_login())])
    def page(request: Request, days: str = DEFAULT_RANGE, q: str = "") -> HTMLResponse:
        chosen = days if days in RANGES else DEFAULT_RANGE
        airflow = read_airflow(_base_url(request), viewer_token(request))
        summary = read_summary(source=airflow["source"], days=RANGES[chosen])
        return HTMLResponse(render(summary, airflow, chosen, found=search_snapshot(q)), headers=headers)

    @app.get("/summary.json", dependencies=[Depends(_require_login())])
    def summary(request: Request, days: str = DEFAULT_RANGE) -> JSONResponse:
        chosen = days if days in RANGES else DEFAULT_RANGE
        airflow = read_airflow(_base_url(request), viewer_token(request))
        body = {**read_summary(source=airflow["source"], days=RANGES[chosen]), "airflow": airflow}
        return JSONResponse(_jsonable(body), headers=headers)

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
