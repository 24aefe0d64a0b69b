"""Staging and publishing on object storage, through a real S3 API (moto's server, tests/s3_server.py).

- ``news-etl run --staging s3://…`` builds the same warehouse as a run with a local staging folder,
  leaves nothing under the bucket's staging prefix, asks the store for fewer requests than there
  are posts (one object per staged file, never one per post), and keeps its secret out of its
  output and files;
- the publish uploads the snapshot and a Parquet export as a new version, switches ``latest.json``
  only after every file of the version is there, and prunes old versions; a reader who follows
  ``latest.json`` gets the snapshot and tables of the last run;
- the next fetch removes a killed run's folder from the bucket;
- storage options from an Airflow connection (``deployment.py``) are enough without any AWS variable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE
from s3_server import KEY, REGION, SECRET
from warehouse_checks import fingerprint, scalar

from news_etl import pipeline, storage
from news_etl.ingest import staging
from news_etl.settings import Settings
from news_etl.warehouse import upload

pytestmark = [pytest.mark.slow]


def news_etl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def run_args(base: Path, staging_location: str) -> list[str]:
    return [
        "-v",
        "run",
        "--source",
        str(SAMPLE),
        "--warehouse",
        str(base / "warehouse.duckdb"),
        "--published",
        str(base / "published" / "warehouse.duckdb"),
        "--staging",
        staging_location,
        "--workers",
        "2",
    ]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The reference: the same posts with a local staging folder."""
    base = tmp_path_factory.mktemp("local")
    out = news_etl(*run_args(base, str(base / "staging")), env={})
    assert out.returncode == 0, out.stderr[-3000:]
    return base


@pytest.fixture
def s3_options(moto_s3):
    """This process's storage options, as deployment.py sets them from an Airflow connection."""
    storage.use_options(
        {"endpoint_url": moto_s3.endpoint, "key": KEY, "secret": SECRET, "client_kwargs": {"region_name": REGION}}
    )
    yield
    storage.use_options({})


@pytest.fixture(scope="module")
def s3_run(moto_s3, tmp_path_factory):
    """One CLI run staged on object storage and published there (the posts in one batch, as the
    reference): its output, its folder, its bucket and the requests it made."""
    base = tmp_path_factory.mktemp("s3-run")
    bucket = moto_s3.bucket("cli-run")
    before = len(moto_s3.requests())
    env = {**moto_s3.env(), "NEWS_ETL_PUBLISH_URL": f"s3://{bucket}/published", "NEWS_ETL_BATCH_SIZE": "1000"}
    out = news_etl(*run_args(base, f"s3://{bucket}/staging"), env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out, base, bucket, moto_s3.requests()[before:]


def test_the_cli_stages_on_object_storage_and_builds_the_same_warehouse(moto_s3, s3_run, local_run):
    out, tmp_path, bucket, requests = s3_run
    assert "43 new" in out.stdout and "5 rejects" in out.stdout

    assert fingerprint(tmp_path / "warehouse.duckdb") == fingerprint(local_run / "warehouse.duckdb")
    assert moto_s3.keys(f"{bucket}/staging") == [], "a successful run leaves nothing in the staging prefix"
    assert not list(tmp_path.glob("**/*.parquet")), "nothing staged on the local disk"

    # bulk: a handful of requests per staged file, not one per post
    posts = int(re.search(r"fetched\s+(\d+) posts", out.stdout)[1])
    staged = [r for r in requests if r[1].startswith(f"/{bucket}/staging")]
    print(f"object storage requests for staging one run of {posts} posts in one batch: {len(staged)}")
    assert 0 < len(staged) < posts, staged

    # the secret reaches neither the output nor the files
    assert SECRET not in out.stdout + out.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_reader_follows_latest_json_to_the_snapshot_and_the_parquet_export(moto_s3, s3_run, tmp_path):
    _, _, bucket, _ = s3_run
    fs = moto_s3.fs()
    latest = json.loads(fs.cat_file(f"{bucket}/published/latest.json"))
    snapshot = tmp_path / "reader.duckdb"
    fs.get_file(f"{bucket}/published/{latest['snapshot']}", str(snapshot))
    assert snapshot.stat().st_size == latest["snapshot_bytes"]
    assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == latest["snapshot_sha256"]
    assert scalar(snapshot, "SELECT count(*) FROM articles") == 43
    assert scalar(snapshot, "SELECT status FROM etl_runs WHERE run_id = ?", [latest["run_id"]]) == "published"

    manifest = json.loads(fs.cat_file(f"{bucket}/published/{latest['parquet_manifest']}"))
    tables = {f["table"]: f for f in manifest["files"]}
    assert {"articles", "article_metrics", "daily_metrics"} <= set(tables)
    assert not {"source_files", "source_state", "schema_migrations", "rejects"} & set(tables), "internal state"
    articles = tmp_path / "articles.parquet"
    fs.get_file(f"{bucket}/published/{latest['parquet']}{tables['articles']['file']}", str(articles))
    con = duckdb.connect()
    try:
        (rows,) = con.execute("SELECT count(*) FROM read_parquet(?)", [str(articles)]).fetchone()
    finally:
        con.close()
    assert rows == tables["articles"]["rows"] == 43


def test_latest_json_switches_after_the_version_is_whole_and_old_versions_are_pruned(moto_s3, s3_options, tmp_path):
    bucket = moto_s3.bucket("versions")
    url = f"s3://{bucket}/published"
    snapshot = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(snapshot))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    export = tmp_path / "export"
    export.mkdir()
    (export / "t.parquet").write_bytes(b"not read here")
    (export / "manifest.json").write_text("{}")

    published = []
    for i in range(3):
        before = len(moto_s3.requests())
        published.append(upload.upload(url, snapshot, export, f"run-{i}", keep=2))
        writes = [(m, p) for m, p, _ in moto_s3.requests()[before:] if m in ("PUT", "POST", "DELETE")]
        version = published[-1]["version"]
        pointer = writes.index(("PUT", f"/{bucket}/published/latest.json"))
        files = [i for i, (m, p) in enumerate(writes) if m == "PUT" and f"/versions/{version}/" in p]
        assert len(files) == 3 and max(files) < pointer, writes  # every file of the version, then the pointer
        assert all(m == "PUT" and "/versions/" in p for m, p in writes[:pointer]), "nothing removed before the switch"

    assert upload.versions(url) == [p["version"] for p in published[1:]]
    assert upload.latest(url)["version"] == published[-1]["version"]
    assert published[-1]["pruned"] == [published[0]["version"]]
    assert moto_s3.keys(f"{bucket}/published/versions/{published[0]['version']}") == []


def test_the_next_fetch_removes_a_killed_runs_folder_from_the_bucket(moto_s3, s3_options, tmp_path):
    bucket = moto_s3.bucket("dead-runs")
    root = f"s3://{bucket}/staging"
    fs = moto_s3.fs()
    fs.pipe_file(f"{bucket}/staging/killed_run/raw/batch-00000.parquet", b"left by a killed run")
    fs.pipe_file(f"{bucket}/staging/killed_run/manifest.json", b"{}")
    fs.pipe_file(f"{bucket}/staging/not_a_run/notes.txt", b"someone else's")
    time.sleep(2.1)  # object times have a resolution of a second
    fs.pipe_file(f"{bucket}/staging/live_run/raw/batch-00000.parquet", b"a run in progress")
    settings = Settings().with_(
        source=str(SAMPLE),
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "p.duckdb",
        staging=root,
        staging_max_age_hours=2 / 3600,
    )
    fetched = pipeline.fetch(settings, pipeline.new_run("next_run"))
    assert fetched["staging"] == f"{root}/next_run"
    names = {k.split("/")[2] for k in moto_s3.keys(f"{bucket}/staging")}
    assert names == {"live_run", "next_run", "not_a_run"}
    staging.remove_run(staging.run_folder(root, "next_run"))
    assert {k.split("/")[2] for k in moto_s3.keys(f"{bucket}/staging")} == {"live_run", "not_a_run"}


def test_a_killed_runs_local_folder_goes_the_same_way(tmp_path):
    root = tmp_path / "staging"
    old = time.time() - 3 * 86400
    for name, files in {
        "killed_run": ["raw/batch-00000.parquet", "raw/batch-00001.parquet.tmp", "manifest.json", staging.RUN_MARK],
        "not_a_run": ["notes.txt"],
        "unmarked": ["raw/batch-00000.parquet", "manifest.json"],  # looks like a run's, but no run made it
        "live_run": ["raw/batch-00000.parquet"],
    }.items():
        for f in files:
            (root / name / f).parent.mkdir(parents=True, exist_ok=True)
            (root / name / f).write_bytes(b"x")
        if name != "live_run":
            for p in [root / name, *(root / name).rglob("*")]:
                os.utime(p, (old, old))
    assert staging.remove_dead_runs(root, keep=root / "next_run", max_age_hours=24) == ["killed_run"]
    assert sorted(p.name for p in root.iterdir()) == ["live_run", "not_a_run", "unmarked"]


def test_storage_options_from_an_airflow_connection(moto_s3, tmp_path, monkeypatch):
    """deployment.py reads the connection named by NEWS_ETL_STORAGE_CONN_ID (type aws: login, password,
    extra endpoint_url and region_name); with no AWS variable at all, staging works through it."""
    from news_etl import deployment

    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    conn = {
        "conn_type": "aws",
        "login": KEY,
        "password": SECRET,
        "extra": {"endpoint_url": moto_s3.endpoint, "region_name": REGION},
    }
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_S3_TEST", json.dumps(conn))
    options = deployment.storage_options("news_s3_test")
    assert options == {
        "key": KEY,
        "secret": SECRET,
        "endpoint_url": moto_s3.endpoint,
        "client_kwargs": {"region_name": REGION},
    }
    assert SECRET not in repr(Settings()), "settings never print a secret"

    bucket = moto_s3.bucket("from-connection")
    storage.use_options(options)
    try:
        folder = staging.run_folder(f"s3://{bucket}/staging", "conn_run")
        import pyarrow as pa

        staging.write_table(pa.table({"x": [1, 2]}), folder / "t.parquet")
        assert staging.read_table(folder / "t.parquet").num_rows == 2
        assert moto_s3.keys(f"{bucket}/staging") == [f"{bucket}/staging/conn_run/t.parquet"]
        staging.remove_run(folder)
        assert moto_s3.keys(f"{bucket}/staging") == []
    finally:
        storage.use_options({})


def test_a_missing_or_corrupt_staged_object_names_itself(moto_s3, s3_options):
    bucket = moto_s3.bucket("corrupt")
    folder = staging.run_folder(f"s3://{bucket}/staging", "r")
    with pytest.raises(staging.StagingError, match="missing"):
        staging.read_table(folder / "raw/batch-00000.parquet")
    moto_s3.fs().pipe_file(f"{bucket}/staging/r/raw/batch-00000.parquet", b"PAR1 truncated")
    with pytest.raises(staging.StagingError, match="truncated or corrupt"):
        staging.read_table(folder / "raw/batch-00000.parquet")


def test_a_quiet_run_uploads_a_snapshot_not_yet_there_then_keeps_it(moto_s3, s3_options, tmp_path):
    """A day with nothing new keeps the snapshot in place only if it went where this run publishes:
    the first quiet run with an upload URL uploads it; the next one keeps it (no new version)."""
    url = f"s3://{moto_s3.bucket('quiet')}/published"
    first = news_etl(*run_args(tmp_path, str(tmp_path / "staging")), env={})  # published locally, not uploaded
    assert first.returncode == 0, first.stderr[-3000:]
    env = {**moto_s3.env(), "NEWS_ETL_PUBLISH_URL": url}
    quiet = news_etl(*run_args(tmp_path, str(tmp_path / "staging")), env=env)
    assert quiet.returncode == 0 and "kept" not in quiet.stdout, quiet.stdout + quiet.stderr[-3000:]
    uploaded = upload.versions(url)
    assert len(uploaded) == 1
    again = news_etl(*run_args(tmp_path, str(tmp_path / "staging")), env=env)
    assert again.returncode == 0 and "(kept: nothing new" in again.stdout, again.stdout + again.stderr[-3000:]
    assert upload.versions(url) == uploaded
