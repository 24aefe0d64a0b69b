"""Run Airflow 3 for this project on one machine: its parts as child processes.

``make airflow`` runs ``python scripts/airflow_local.py up``: it prepares an
Airflow home (metadata database migrated, the ``duckdb_writer`` pool of one
slot, the ``news_warehouse`` connection, the ``news_etl_source`` Variable, a
login), starts the api-server, scheduler, dag-processor and triggerer, unpauses
the daily DAG, prints the UI address and the login, and waits. Ctrl-C (or
``make airflow-stop``, which signals the pid in ``$AIRFLOW_HOME/airflow-local.pid``)
stops every process it started: each runs in its own process group, which is
killed whole.

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

from news_etl import config

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "deploy" / "airflow.env"
DAG_ID, POOL = config.DAG_ID, config.WRITER_POOL
WAREHOUSE_CONN_ID, SOURCE_VARIABLE = config.WAREHOUSE_CONN_ID, config.SOURCE_VARIABLE

SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


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


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


class LocalAirflow:
    """The parts of one Airflow deployment, started as child processes on 127.0.0.1.

    ``overrides`` are environment variables on top of ``deploy/airflow.env`` and the
    local defaults (e.g. a PostgreSQL ``sql_alchemy_conn`` and the CeleryExecutor).
    """

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        warehouse: Path | None = None,
        published: Path | None = None,
        staging: Path | None = None,
        source: Path | None = None,
        user: str = "admin",
        password: str | None = None,
        overrides: dict[str, str] | None = None,
    ):
        self.home = Path(home).resolve()
        self.port = port or free_port()
        self.user = user
        self.password = password or os.environ.get("AIRFLOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        self.warehouse = Path(warehouse or ROOT / "data" / "warehouse.duckdb").resolve()
        self.published = Path(published or ROOT / "data" / "published" / "warehouse.duckdb").resolve()
        self.staging = Path(staging or ROOT / "data" / "staging").resolve()
        self.source = Path(source or ROOT / "data" / "sample_posts").resolve()
        self.logs = self.home / "process-logs"
        self.procs: dict[str, subprocess.Popen] = {}
        self._token: str | None = None
        self.env = self._environment(overrides or {})

    # --- set-up ----------------------------------------------------------------------------

    def _environment(self, overrides: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        env.update(read_env_file())
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
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [airflow_bin(), *args], env=self.env, capture_output=True, text=True, check=check, timeout=300
        )

    def prepare(self) -> None:
        """Migrate the metadata database; create the pool, the connection, the Variable and the login."""
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({self.user: self.password}))
        (self.home / "passwords.json").chmod(0o600)
        done = self.airflow("db", "migrate", check=False)
        if done.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        self.airflow(
            "pools", "set", POOL, "1", "DuckDB allows one writing process: loads and publishes run one at a time"
        )
        self.airflow("connections", "delete", WAREHOUSE_CONN_ID, check=False)
        self.airflow(
            "connections",
            "add",
            WAREHOUSE_CONN_ID,
            "--conn-type",
            "duckdb",
            "--conn-host",
            str(self.warehouse),
            "--conn-description",
            "The writer's DuckDB file (host = the file on the machine that runs the loads)",
        )
        self.airflow("variables", "set", SOURCE_VARIABLE, str(self.source))

    # --- processes -------------------------------------------------------------------------

    def start(self, components=("api-server", "scheduler", "dag-processor", "triggerer"), extra=()) -> None:
        """Start each part in its own process group; ``extra`` is more (name, argv[, env]) entries."""
        commands = [(name, [name], {}) for name in components] + [(*e, {})[:3] for e in extra]
        for name, argv, env in commands:
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

    def wait_ready(self, timeout: float = 180) -> None:
        """Wait until the api-server answers and the DAG is parsed into the database."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                self.api("GET", f"/api/v2/dags/{DAG_ID}")
                return
            except (OSError, urllib.error.URLError, RuntimeError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Airflow not ready after {timeout}s:\n{self.tail('api-server')}\n{self.tail('dag-processor')}"
                    ) from None
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

    def api(self, method: str, path: str, body: dict | None = None, raw: bool = False):
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
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                data = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:2000]!r}") from exc
        return data if raw else (json.loads(data) if data else None)

    def unpause(self) -> None:
        self.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})

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


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --- the command line (make airflow / make airflow-stop) ------------------------------------


def _up(args) -> int:
    home = Path(os.environ.get("AIRFLOW_HOME", ROOT / "airflow_home"))
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
    print(f"Preparing {home} (metadata database, pool {POOL}, connection news_warehouse) …", flush=True)
    af.prepare()
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pidfile.write_text(str(os.getpid()))
    try:
        af.start()
        af.wait_ready()
        af.unpause()
        print(
            f"""
Airflow is up: {af.url}
  login     {af.user} / {af.password}   (also in {password_file})
  DAG       {DAG_ID} (unpaused; its latest daily interval runs now)
  warehouse {af.published} (published snapshot), page "News warehouse" in the UI menu
  logs      {af.logs}/
Ctrl-C or `make airflow-stop` stops it.""",
            flush=True,
        )
        while not stopping:
            af.check_alive()
            time.sleep(1)
    except Exception as exc:  # noqa: BLE001 - say why and clean up
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping Airflow …", flush=True)
        af.stop()
        pidfile.unlink(missing_ok=True)
    return 0


def _stop(args) -> int:
    home = Path(os.environ.get("AIRFLOW_HOME", ROOT / "airflow_home"))
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
    print("Airflow stopped.")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="prepare and start Airflow, wait until Ctrl-C")
    up.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT", "8080")))
    sub.add_parser("stop", help="stop an Airflow started by `up`")
    args = parser.parse_args(argv)
    return {"up": _up, "stop": _stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
