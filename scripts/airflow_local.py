"""Run Airflow 3 for this project on one machine: its parts as child processes.

``make airflow`` runs ``python scripts/airflow_local.py up``: it prepares an
Airflow home (metadata database migrated, a login), starts the api-server, then
through Airflow's public REST API creates the ``duckdb_writer`` pool of one slot,
the ``news_warehouse`` connection and the ``news_etl_source`` Variable, starts the
scheduler, dag-processor and triggerer (a LocalExecutor of one worker per core),
unpauses the daily DAG, prints the UI address and the login, and waits.

What it keeps that ``airflow standalone`` lacks, and why it is not a wrapper of it:
the project's settings (``deploy/airflow.env``, shared with compose) under the
environment's overrides; the api-server answering before the scheduler starts (a task
started earlier fails to reach it); the pool, connection and Variable; SQLite
settings for a busy machine; a pid file for ``make airflow-stop`` and ``make backfill``;
the parts chosen per caller (the tests run no triggerer). ``airflow standalone``
starts every part at once and has none of the rest.

Ctrl-C (or ``make airflow-stop``, which signals the pid in ``$AIRFLOW_HOME/airflow-local.pid``)
stops every process it started: each runs in its own process group, which is
killed whole.

The documented overrides are honoured as compose honours them: the source
(``AIRFLOW_VAR_NEWS_ETL_SOURCE``), the warehouse connection
(``AIRFLOW_CONN_NEWS_WAREHOUSE``), every ``NEWS_ETL_*`` setting (the silence limit
``NEWS_ETL_MAX_SOURCE_SILENCE_HOURS`` among them) and any other ``AIRFLOW_VAR_*`` /
``AIRFLOW_CONN_*``: the environment wins over ``deploy/airflow.env``. The source
and the warehouse are written into the Variable and the connection, so the UI
shows what runs; without an override a Variable set in the UI is kept.

Start-up does not fall over on a busy machine: the api-server answers before
the scheduler starts, SQLite holds its write lock for less time and waits for it
up to 30 s (``deploy/airflow_local_settings.py``; Airflow already runs it in WAL
mode), REST calls are retried on transient errors (5xx such as "database is
locked", refused connections), and a convenience call that still fails (the
unpause) is reported while Airflow keeps running.

``make backfill FROM=2026-11-21 TO=2026-11-25`` runs ``backfill FROM TO``: one
run per site day (Asia/Shanghai), oldest first, one at a time.

The tests use the same class (:class:`LocalAirflow`) with a home, a port and
database of their own, so what they prove is what ``make airflow`` runs.
Settings shared with the compose deployment come from ``deploy/airflow.env``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from news_etl.settings import DAG_ID, SAMPLE_POSTS, SITE_TIMEZONE, SOURCE_VARIABLE, WAREHOUSE_CONN_ID
from news_etl.settings import WRITER_POOL as POOL

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "deploy" / "airflow.env"
SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: What the environment may override, as compose passes it to its services.
OVERRIDABLE = ("AIRFLOW_VAR_", "AIRFLOW_CONN_", "NEWS_ETL_")
SOURCE_ENV = "AIRFLOW_VAR_" + SOURCE_VARIABLE.upper()
WAREHOUSE_ENV = "AIRFLOW_CONN_" + WAREHOUSE_CONN_ID.upper()
POOL_DESCRIPTION = "DuckDB allows one writing process: loads and publishes run one at a time"
#: HTTP answers worth another try: the api-server is starting, or SQLite was locked for too long.
TRANSIENT_HTTP = {500, 502, 503, 504}


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=VALUE lines (comments and blanks skipped), as docker compose's ``env_file`` reads them."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_parallelism() -> int:
    """Task processes at once on this machine: its cores (at least 2: a transform beside a load)."""
    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


class LocalAirflow:
    """The parts of one Airflow deployment, started as child processes on 127.0.0.1.

    Precedence, lowest first: the local defaults, ``deploy/airflow.env``, the environment's
    overrides (``AIRFLOW_VAR_*``, ``AIRFLOW_CONN_*``, ``NEWS_ETL_*`` of ``environ``), the
    arguments given here (the tests' own paths), then ``overrides`` (e.g. a PostgreSQL
    ``sql_alchemy_conn`` and the CeleryExecutor).
    """

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        warehouse: Path | None = None,
        published: Path | None = None,
        staging: Path | None = None,
        source: Path | str | None = None,
        user: str = "admin",
        password: str | None = None,
        overrides: dict[str, str] | None = None,
        environ: dict[str, str] | None = None,
    ):
        environ = dict(os.environ if environ is None else environ)
        self.home = Path(home).resolve()
        self.port = port or free_port()
        self.user = user
        self.password = password or environ.get("AIRFLOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        #: the source spec an override or argument asks for (None: keep the Variable, else the sample)
        self.source = str(source) if source is not None else environ.get(SOURCE_ENV) or None
        #: the warehouse connection as JSON or URI (an argument is a file: a duckdb connection to it)
        if warehouse is not None:
            self.warehouse_conn = json.dumps({"conn_type": "duckdb", "host": str(Path(warehouse).resolve())})
        else:
            self.warehouse_conn = environ.get(WAREHOUSE_ENV) or json.dumps(
                {"conn_type": "duckdb", "host": str(ROOT / "data" / "warehouse.duckdb")}
            )
        self.published = Path(
            published or environ.get("NEWS_ETL_PUBLISHED") or ROOT / "data" / "published" / "warehouse.duckdb"
        ).resolve()
        self.staging = Path(staging or environ.get("NEWS_ETL_STAGING") or ROOT / "data" / "staging").resolve()
        self.logs = self.home / "process-logs"
        self.procs: dict[str, subprocess.Popen] = {}
        self._token: str | None = None
        self.env = self._environment(environ, overrides or {})

    # --- set-up ----------------------------------------------------------------------------

    def _environment(self, environ: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in environ.items() if not k.startswith(("AIRFLOW__", *OVERRIDABLE))}
        env.update(read_env_file())
        # the environment's overrides win over the shared file, as compose's `environment:` does;
        # the source and the warehouse go into the Variable and the connection instead (prepare)
        env.update(
            {k: v for k, v in environ.items() if k.startswith(OVERRIDABLE) and k not in (SOURCE_ENV, WAREHOUSE_ENV)}
        )
        secret_file = self.home / "secrets.json"
        secrets_ = (
            json.loads(secret_file.read_text())
            if secret_file.exists()
            else {"jwt": secrets.token_urlsafe(32), "api": secrets.token_urlsafe(32)}
        )
        self.home.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(json.dumps(secrets_))
        secret_file.chmod(0o600)
        url = f"http://127.0.0.1:{self.port}"
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                # the LocalExecutor starts this many worker processes: one per core, not compose's 16
                "AIRFLOW__CORE__PARALLELISM": str(local_parallelism()),
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets_["jwt"],
                "AIRFLOW__API__SECRET_KEY": secrets_["api"],
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "NEWS_ETL_PUBLISHED": str(self.published),
                "NEWS_ETL_STAGING": str(self.staging),
                "GX_ANALYTICS_ENABLED": "False",
            }
        )
        env.update(overrides)
        if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite"):
            # shorter and waited-for SQLite locks (deploy/airflow_local_settings.py says why); the
            # tasks' calls to the api-server wait as long as the api-server may wait for a lock
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "deploy"), env.get("PYTHONPATH")) if p)
            for key in ("SQL_ALCHEMY_CONNECT_ARGS", "SQL_ALCHEMY_CONNECT_ARGS_ASYNC"):
                env.setdefault(f"AIRFLOW__DATABASE__{key}", "airflow_local_settings.SQLITE_CONNECT_ARGS")
            env.setdefault("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60")
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [airflow_bin(), *args], env=self.env, capture_output=True, text=True, check=check, timeout=300
        )

    def prepare(self) -> None:
        """Migrate the metadata database and write the login (the rest is configured through the
        REST API once the api-server answers: :meth:`configure`)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({self.user: self.password}))
        (self.home / "passwords.json").chmod(0o600)
        done = self.airflow("db", "migrate", check=False)
        if done.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")

    def configure(self) -> None:
        """The pool, the warehouse connection and the source Variable, through Airflow's public REST
        API (a connection may carry a password: it travels in a request body, never in argv or a
        file). An override wins; without one, a source set in the UI is kept; else the sample."""
        from airflow.sdk import Connection

        self._put("pools", POOL, {"name": POOL, "slots": 1, "description": POOL_DESCRIPTION, "include_deferred": False})
        value = self.warehouse_conn.strip()
        conn = (
            Connection.from_json(value, conn_id=WAREHOUSE_CONN_ID)
            if value.startswith("{")
            else Connection.from_uri(value, conn_id=WAREHOUSE_CONN_ID)
        )
        body = {
            "connection_id": WAREHOUSE_CONN_ID,
            "conn_type": conn.conn_type,
            "description": "The writer's DuckDB file (host = the file on the machine that runs the loads)",
            **{k: getattr(conn, k) for k in ("host", "login", "password", "schema", "port", "extra")},
        }
        self._put("connections", WAREHOUSE_CONN_ID, body)
        source = self.source or self._get_variable(SOURCE_VARIABLE) or str(SAMPLE_POSTS)
        self._put(
            "variables",
            SOURCE_VARIABLE,
            {
                "key": SOURCE_VARIABLE,
                "value": source,
                "description": "What the daily DAG reads: a folder, git+<url> or feed+<url>",
            },
        )
        self.configured = {"source": source, "warehouse": conn.host}

    def _put(self, collection: str, key: str, body: dict) -> None:
        """Create or replace one object of a REST collection."""
        try:
            self.api("PATCH", f"/api/v2/{collection}/{urllib.parse.quote(key, safe='')}", body)
        except RuntimeError as exc:
            if ": 404 " not in str(exc):
                raise
            self.api("POST", f"/api/v2/{collection}", body)

    def _get_variable(self, key: str) -> str | None:
        try:
            return self.api("GET", f"/api/v2/variables/{urllib.parse.quote(key, safe='')}")["value"]
        except RuntimeError as exc:
            if ": 404 " in str(exc):
                return None
            raise

    # --- processes -------------------------------------------------------------------------

    def start(
        self, components=("api-server", "scheduler", "dag-processor", "triggerer"), extra=(), timeout: float = 180
    ) -> None:
        """Start each part in its own process group; ``extra`` is more (name, argv[, env]) entries.

        The api-server comes first and must answer before the others start: a scheduler that ran
        a task before the api-server listens would see that task fail to reach it (and retry)."""
        commands = [(name, [name], {}) for name in components] + [(*e, {})[:3] for e in extra]
        first = [c for c in commands if c[0] == "api-server"]
        for name, argv, env in first:
            self._spawn(name, argv, env)
        if first:
            self.wait_api(timeout)
            self.configure()
        for name, argv, env in commands:
            if name not in self.procs:
                self._spawn(name, argv, env)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [airflow_bin(), *argv],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(self.home),
        )
        log.close()
        (self.home / "airflow-local.pids").write_text("\n".join(str(p.pid) for p in self.procs.values()) + "\n")

    def stop(self, timeout: float = 20) -> None:
        """Stop every process group started here: SIGTERM, then SIGKILL what is left."""
        for proc in self.procs.values():
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            _signal_group(proc.pid, signal.SIGKILL)  # the group's children too (task runners, gunicorn)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()
        (self.home / "airflow-local.pids").unlink(missing_ok=True)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({proc.returncode}):\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def wait_api(self, timeout: float = 180) -> None:
        """Wait until the api-server answers (a login)."""
        self._wait(lambda: self.token(), timeout, "the api-server does not answer", ("api-server",))

    def wait_ready(self, timeout: float = 180) -> None:
        """Wait until the api-server answers and the DAG is parsed into the database."""
        self._wait(
            lambda: self.api("GET", f"/api/v2/dags/{DAG_ID}", patience=0),
            timeout,
            f"{DAG_ID} is not parsed",
            ("api-server", "dag-processor"),
        )

    def _wait(self, probe, timeout: float, what: str, logs: tuple[str, ...]) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                probe()
                return
            except (OSError, RuntimeError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    tails = "\n".join(self.tail(name) for name in logs)
                    raise TimeoutError(f"Airflow not ready after {timeout}s: {what}\n{tails}") from None
                time.sleep(1)

    # --- REST API (/api/v2 with a JWT from /auth/token) ------------------------------------

    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": self.user, "password": self.password}).encode()
            req = urllib.request.Request(
                self.url + "/auth/token", data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                self._token = json.loads(resp.read())["access_token"]
        return self._token

    def api(self, method: str, path: str, body: dict | None = None, raw: bool = False, patience: float = 120):
        """One REST call; transient failures (5xx such as "database is locked", a refused or reset
        connection, a timeout) are tried again with backoff for up to ``patience`` seconds."""
        deadline = time.monotonic() + patience
        delay = 0.5
        while True:
            try:
                return self._call(method, path, body, raw)
            except TransientError as exc:
                if time.monotonic() + delay > deadline:
                    raise RuntimeError(f"{method} {path}: {exc} (still failing after {patience:.0f}s)") from exc
                print(f"  {method} {path}: {exc}; trying again in {delay:.1f}s", file=sys.stderr, flush=True)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _call(self, method: str, path: str, body: dict | None, raw: bool):
        try:
            req = urllib.request.Request(
                self.url + path,
                method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {self.token()}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            with urllib.request.urlopen(req, timeout=60) as resp:
                data = resp.read()
        except urllib.error.HTTPError as exc:
            detail = f"{exc.code} {exc.read()[:2000]!r}"
            if exc.code in TRANSIENT_HTTP:
                raise TransientError(detail) from exc
            raise RuntimeError(f"{method} {path}: {detail}") from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise TransientError(str(getattr(exc, "reason", exc))) from exc
        return data if raw else (json.loads(data) if data else None)

    def unpause(self, patience: float = 120) -> None:
        self.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False}, patience=patience)

    def trigger(self, logical_date: str | None, run_id: str | None = None, conf: dict | None = None) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", body)["dag_run_id"]

    def wait_run(self, run_id: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        quoted = urllib.parse.quote(run_id, safe="")
        while True:
            self.check_alive()
            run = self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}")
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in self.task_instances(run_id)}
                raise TimeoutError(
                    f"run {run_id} still {run['state']} after {timeout}s: {states}\n{self.tail('scheduler')}"
                )
            time.sleep(2)

    def task_instances(self, run_id: str) -> list[dict]:
        quoted = urllib.parse.quote(run_id, safe="")
        return self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances?limit=1000")["task_instances"]

    def task_log(self, run_id: str, task_id: str, map_index: int = -1, try_number: int = 1) -> str:
        quoted = urllib.parse.quote(run_id, safe="")
        data = self.api(
            "GET",
            f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/{task_id}/logs/"
            f"{try_number}?map_index={map_index}&full_content=true",
        )
        content = data.get("content")
        if isinstance(content, list):
            return "\n".join(c.get("event", "") if isinstance(c, dict) else str(c) for c in content)
        return str(content)


class TransientError(Exception):
    """A REST call failed in a way worth trying again."""


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --- the command line (make airflow / make airflow-stop / make backfill) ----------------------


def _home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", ROOT / "airflow_home"))


def _up(args) -> int:
    started = time.monotonic()
    home = _home()
    pidfile = home / "airflow-local.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), 0)
            print(f"Airflow is already running (pid {pidfile.read_text().strip()}): make airflow-stop", file=sys.stderr)
            return 1
        except (ProcessLookupError, ValueError):
            pidfile.unlink()
    password_file = home / "passwords.json"
    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD")
    if not password and password_file.exists():
        password = json.loads(password_file.read_text()).get("admin")
    af = LocalAirflow(home, port=args.port, password=password)
    print(f"Preparing {home} (metadata database, pool {POOL}, connection {WAREHOUSE_CONN_ID}) …", flush=True)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pidfile.write_text(str(os.getpid()))
    try:
        af.prepare()
        af.start()
        af.wait_ready()
        # a convenience: if it still fails after its retries, say so and keep Airflow running
        try:
            af.unpause()
            dag_state = "unpaused; its latest daily interval runs now"
        except RuntimeError as exc:
            dag_state = f"NOT unpaused ({exc}): unpause it in the UI"
            print(f"warning: could not unpause {DAG_ID}: {exc}", file=sys.stderr, flush=True)
        print(
            f"""
Airflow is up: {af.url}   (ready in {time.monotonic() - started:.0f}s)
  login     {af.user} / {af.password}   (also in {password_file})
  DAG       {DAG_ID} ({dag_state})
  source    {af.configured["source"]}   (Variable {SOURCE_VARIABLE})
  warehouse {af.configured["warehouse"]}   (connection {WAREHOUSE_CONN_ID}); snapshot {af.published}
  page      "News warehouse" in the UI menu
  logs      {af.logs}/
Ctrl-C or `make airflow-stop` stops it.""",
            flush=True,
        )
        while not stopping:
            af.check_alive()
            time.sleep(1)
    except Exception as exc:  # noqa: BLE001 - a part died or never came up: say why and clean up
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping Airflow …", flush=True)
        af.stop()
        pidfile.unlink(missing_ok=True)
    return 0


def running_here(home: Path) -> str | None:
    """Why we think an Airflow runs in ``home`` (the pid of ``make airflow``, or a part the launcher
    started), or None."""
    pidfile = home / "airflow-local.pid"
    candidates = [(pidfile, "make airflow")] + [(home / "airflow-local.pids", "its parts")]
    for path, what in candidates:
        if not path.exists():
            continue
        for word in path.read_text().split():
            try:
                os.kill(int(word), 0)
                return f"{what}, pid {word}"
            except (ProcessLookupError, ValueError):
                continue
            except PermissionError:
                return f"{what}, pid {word}"
    return None


def not_running(home: Path, what: str) -> int:
    print(
        f"error: no Airflow started by `make airflow` runs in AIRFLOW_HOME={home}, so {what}.\n"
        f"Start it with `make airflow`, or point AIRFLOW_HOME at the home of the Airflow you started "
        f"(make airflow printed it; the default is {ROOT / 'airflow_home'}).",
        file=sys.stderr,
    )
    return 1


def _stop(args) -> int:
    home = _home()
    if running_here(home) is None:
        (home / "airflow-local.pid").unlink(missing_ok=True)
        (home / "airflow-local.pids").unlink(missing_ok=True)
        return not_running(home, "there is nothing to stop")
    pidfile = home / "airflow-local.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(60):
                os.kill(pid, 0)
                time.sleep(0.5)
        except ProcessLookupError:
            pass
    # process groups left by a launcher that was killed hard
    pids = home / "airflow-local.pids"
    if pids.exists():
        for line in pids.read_text().split():
            _signal_group(int(line), signal.SIGKILL)
        pids.unlink()
    pidfile.unlink(missing_ok=True)
    print(f"Airflow stopped (AIRFLOW_HOME={home}).")
    return 0


def site_days(first: str, last: str) -> tuple[str, str]:
    """``--from-date`` and ``--to-date`` that cover the site days ``first``..``last``
    (YYYY-MM-DD, Asia/Shanghai): from the first day's midnight to the last one's end, in site
    time. Plain dates would be UTC midnight, 8 hours into the site's day: the first day's run,
    which starts at 00:30, would be left out."""
    from datetime import date, datetime, timedelta
    from datetime import time as clock
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(SITE_TIMEZONE)
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if end < start:
        raise ValueError(f"TO ({last}) is before FROM ({first})")
    begin = datetime.combine(start, clock(0, 0), zone)
    finish = datetime.combine(end + timedelta(days=1), clock(0, 0), zone) - timedelta(seconds=1)
    return begin.isoformat(), finish.isoformat()


def _backfill(args) -> int:
    """``make backfill FROM=… TO=…``: one run per site day, oldest first, ``--max-active-runs 1``
    (the scheduler of ``make airflow`` runs them)."""
    begin, finish = site_days(args.first, args.last)
    if not args.dry_run and running_here(_home()) is None:
        return not_running(_home(), "no scheduler would run the backfill")
    af = LocalAirflow(_home(), port=0)
    command = [
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        begin,
        "--to-date",
        finish,
        "--max-active-runs",
        str(args.max_active_runs),
    ]
    if args.dry_run:
        command.append("--dry-run")
    print("airflow " + " ".join(command), flush=True)
    done = af.airflow(*command, check=False)
    print(done.stdout, end="")
    print(done.stderr[-3000:] if done.returncode else "", end="", file=sys.stderr)
    return done.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="prepare and start Airflow, wait until Ctrl-C")
    up.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT", "8080")))
    sub.add_parser("stop", help="stop an Airflow started by `up`")
    bf = sub.add_parser("backfill", help="backfill site days FIRST..LAST (YYYY-MM-DD, Asia/Shanghai)")
    bf.add_argument("first")
    bf.add_argument("last")
    bf.add_argument("--max-active-runs", type=int, default=1, help="runs at a time (default 1: in turn)")
    bf.add_argument("--dry-run", action="store_true", help="list the runs it would create")
    args = parser.parse_args(argv)
    return {"up": _up, "stop": _stop, "backfill": _backfill}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
