"""The compose deployment's shape, proven without docker (docker cannot run here).

docker-compose.yml is parsed and checked: every service of Airflow 3's official shape, the image
built from ./Dockerfile with the pinned requirements, the shared settings file deploy/airflow.env
(the same file the native Celery test runs Airflow with), every secret a `${VAR:?…}` that makes
compose refuse to start without it, and .env kept out of git. The workers share no disk: staging and
the published copies are in the MinIO bucket, and only the writer's worker serves the queue
`warehouse` and mounts the warehouse's volume.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess

import pytest
import yaml
from conftest import ROOT

from news_etl.settings import WRITER_POOL, WRITER_QUEUE

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker-1",
    "airflow-worker-2",
    "airflow-init",
}
SECRETS = {
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
}
VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:\?|:-)?(?P<arg>[^}]*)\}")


def interpolate(text: str, env: dict) -> str:
    """Compose's variable interpolation: `${VAR:?msg}` fails when VAR is unset or empty."""

    def one(m):
        name, op, arg = m["name"], m["op"], m["arg"]
        value = env.get(name, "")
        if op == ":?" and not value:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        return value or (arg if op == ":-" else "")

    return VAR.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def env_example() -> dict:
    out = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_every_service_of_the_official_shape_is_there():
    assert set(SERVICES) == {"postgres", "redis", "minio"} | AIRFLOW_SERVICES
    commands = {name: SERVICES[name].get("command") for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    hosts = {re.search(r"--celery-hostname (\S+)", commands[w])[1] for w in ("airflow-worker-1", "airflow-worker-2")}
    assert len(hosts) == 2, "each worker needs its own Celery hostname"
    init = "\n".join(SERVICES["airflow-init"]["command"])
    assert "airflow db migrate" in init and f"airflow pools set {WRITER_POOL} 1" in init
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert SERVICES[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in SERVICES[name]


def test_every_airflow_service_runs_the_project_image_with_the_shared_settings():
    for name in AIRFLOW_SERVICES:
        svc = SERVICES[name]
        assert svc["build"] == "." and svc["image"] == "news-etl-airflow:latest", name
        assert svc["env_file"] == ["deploy/airflow.env"], name
        env = svc["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
            "postgresql+psycopg2://airflow:${POSTGRES_PASSWORD:?"
        )
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("redis://:${REDIS_PASSWORD:?")
        if name != "airflow-worker-2":  # the worker on another host holds no data
            assert "news-data:/opt/news-etl/data/" in svc["volumes"], name
    settings = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "airflow.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert not any(re.search(r"PASSWORD|SECRET|FERNET", k) for k in settings), "no secret in the shared file"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+-python3\.11$", dockerfile, re.M)
    assert "pip install --no-cache-dir -r /opt/news-etl/requirements.lock" in dockerfile
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^apache-airflow==3\.3\.2$", lock, re.M) and "apache/airflow:3.3.2-" in dockerfile


def test_volumes_are_declared_and_the_warehouse_has_one():
    assert set(COMPOSE["volumes"]) == {"postgres-db-volume", "minio-data", "news-data", "airflow-logs", "airflow-auth"}
    used = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert used == set(COMPOSE["volumes"])
    env = SERVICES["airflow-worker-1"]["environment"]
    assert env["AIRFLOW_CONN_NEWS_WAREHOUSE"].count("/opt/news-etl/data/warehouse.duckdb") == 1
    assert env["NEWS_ETL_PUBLISHED"].startswith("/opt/news-etl/data/")


def test_workers_share_object_storage_and_only_the_writers_worker_serves_its_queue():
    minio = SERVICES["minio"]
    assert re.fullmatch(r"minio/minio:RELEASE\.[0-9TZ-]+", minio["image"]), "a pinned MinIO release"
    assert "healthcheck" in minio and "minio-data:/data" in minio["volumes"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD"].startswith("${MINIO_ROOT_PASSWORD:?")
    for name in AIRFLOW_SERVICES:
        svc = SERVICES[name]
        assert svc["depends_on"]["minio"]["condition"] == "service_healthy", name
        env = svc["environment"]
        assert env["NEWS_ETL_STAGING"].startswith("s3://") and env["NEWS_ETL_PUBLISH_URL"].startswith("s3://")
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert env["AWS_ACCESS_KEY_ID"].startswith("${MINIO_ROOT_USER:?")
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${MINIO_ROOT_PASSWORD:?")
    queues = {
        w: re.search(r"--queues (\S+)", SERVICES[w]["command"])[1].split(",")
        for w in ("airflow-worker-1", "airflow-worker-2")
    }
    assert queues == {"airflow-worker-1": ["default", WRITER_QUEUE], "airflow-worker-2": ["default"]}
    other = {v.split(":")[0] for v in SERVICES["airflow-worker-2"]["volumes"]}
    assert "news-data" not in other, "the worker that only transforms shares no disk with the writer"
    settings = (ROOT / "deploy" / "airflow.env").read_text()
    assert re.search(r"^AWS_DEFAULT_REGION=\S+$", settings, re.M)
    init = "\n".join(SERVICES["airflow-init"]["command"])
    assert 'makedirs(os.environ["NEWS_ETL_STAGING"]' in init, "airflow-init makes the bucket"


def own_secrets() -> dict:
    """What an operator puts in .env: secrets of their own, as .env.example says to make them."""
    from cryptography.fernet import Fernet

    env = {name: secrets.token_urlsafe(32) for name in SECRETS}
    env["AIRFLOW_FERNET_KEY"] = Fernet.generate_key().decode()
    return env


def init_check(env: dict) -> subprocess.CompletedProcess:
    """deploy/check_secrets.sh, run by real bash with the environment compose gives airflow-init."""
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    init = yaml.safe_load(interpolate(text, env))["services"]["airflow-init"]
    assert "bash /opt/news-etl/deploy/check_secrets.sh" in "\n".join(init["command"]).split("airflow db migrate")[0]
    container_env = {k: str(v) for k, v in init["environment"].items()}
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / "check_secrets.sh")],
        env={"PATH": os.environ["PATH"], **container_env},
        capture_output=True,
        text=True,
    )


def test_compose_refuses_to_start_without_its_passwords():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    required = {m["name"] for m in VAR.finditer(text) if m["op"] == ":?"}
    assert required == SECRETS
    assert set(env_example()) >= SECRETS, ".env.example names every secret"
    # with secrets of one's own every variable resolves; without any one of them compose stops
    env = own_secrets()
    resolved = yaml.safe_load(interpolate(text, env))
    assert (
        f":{env['POSTGRES_PASSWORD']}@postgres/airflow"
        in resolved["services"]["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    for secret in SECRETS:
        with pytest.raises(ValueError, match=f"{secret} is missing.*set {secret} in .env"):
            interpolate(text, {k: v for k, v in env.items() if k != secret})
    # no literal secret anywhere in the file
    assert "change-me" not in text


def test_a_copy_of_the_example_left_unchanged_does_not_start():
    """.env.example's values are empty: copied as it is, compose refuses at once, naming a secret."""
    assert {k: v for k, v in env_example().items() if k in SECRETS} == dict.fromkeys(SECRETS, "")
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="is missing a value: set .* in .env"):
        interpolate(text, env_example())


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("AIRFLOW_JWT_SECRET", "change-me-jwt-secret-change-me-jwt-secret", "AIRFLOW_JWT_SECRET is a placeholder"),
        ("POSTGRES_PASSWORD", "CHANGEME-postgres", "POSTGRES_PASSWORD is a placeholder"),
        ("AIRFLOW_API_SECRET_KEY", "short", "AIRFLOW_API_SECRET_KEY has 5 characters, fewer than 32"),
        ("AIRFLOW_ADMIN_PASSWORD", "admin", "AIRFLOW_ADMIN_PASSWORD has 5 characters, fewer than 12"),
    ],
)
def test_airflow_init_refuses_placeholders_and_short_secrets(name, value, says):
    assert init_check(own_secrets()).returncode == 0  # secrets of one's own pass
    refused = init_check({**own_secrets(), name: value})
    assert refused.returncode == 1 and f"refusing to start: {says}" in refused.stderr, refused.stderr
    assert value not in refused.stderr  # the check names the secret, never shows it


def test_the_env_file_is_not_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be in .gitignore"
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked.strip() == ""
