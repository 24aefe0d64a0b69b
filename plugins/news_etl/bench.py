"""The benchmark: ``python -m news_etl bench --posts N`` (``make bench``).

Generates a synthetic site (``synthetic.py``) and prints a table of figures,
each the median of several runs, with the machine's core count:

1. transform: posts/s per core of the cleaner (front matter + BeautifulSoup
   clean + metrics), of the whole transform (plus keywords), and of a bare
   ``BeautifulSoup(body, "lxml")`` parse of the same bodies; the ratio says how
   close the cleaner is to the parser's own limit;
2. load: rows/s of the warehouse load (MERGE from Parquet in one
   transaction) against a row-by-row INSERT of the same rows (and dlt, where
   it is installed in ``.venv-dlt``);
3. end to end ``news_etl run`` on the site: wall time, posts/s, peak RSS of
   the whole process tree;
4. incremental runs on that warehouse: no change, and 100 changed posts;
5. optionally (``--dag``) the DAG with ``airflow dags test`` on 1,000 new
   posts, split into time in tasks and time in Airflow around them.

Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .config import DAG_ID, PROJECT_ROOT, WRITER_POOL


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_transform(site: Path, sample: int, repeat: int) -> dict:
    """Single-process throughput of the cleaner, the transform and a bare lxml parse."""
    import hashlib

    from bs4 import BeautifulSoup

    from .clean import clean_body
    from .metrics import article_metrics
    from .model import RawPost, Reject
    from .parse import parse_post
    from .transform import transform_rows

    files = sorted(site.iterdir())[:sample]
    posts = [RawPost("bench", f.name, f.read_bytes(), "") for f in files]
    for p in posts:
        p.content_hash = hashlib.sha256(p.raw).hexdigest()
    bodies = []
    for p in posts:
        try:
            bodies.append(parse_post(p.path, p.raw).body)
        except Reject:
            pass

    def cleaner():
        for p in posts:
            try:
                fm = parse_post(p.path, p.raw)
            except Reject:
                continue
            article_metrics(clean_body(fm.body))

    def bare():
        for body in bodies:
            BeautifulSoup(body, "lxml")

    def whole():
        transform_rows(posts)

    t_clean = _median_time(cleaner, repeat)
    t_bare = _median_time(bare, repeat)
    t_whole = _median_time(whole, repeat)
    return {
        "posts": len(posts),
        "cleaner_posts_s": len(posts) / t_clean,
        "transform_posts_s": len(posts) / t_whole,
        "bare_parse_posts_s": len(bodies) / t_bare,
        "ratio": (len(posts) / t_clean) / (len(bodies) / t_bare),
    }


def bench_load(site: Path, sample: int, repeat: int, workdir: Path) -> dict:
    """Rows/s of the warehouse load against a row-by-row INSERT of the same rows."""
    import duckdb
    import pyarrow.parquet as pq

    from . import pipeline
    from .config import Settings
    from .warehouse import file_connect, migrate

    src = workdir / "load-src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in sorted(site.iterdir())[:sample]:
        os.link(f, src / f.name)
    settings = Settings().with_(
        source=str(src),
        staging=workdir / "load-staging",
        workers=1,
        warehouse=workdir / "load.duckdb",
        published=workdir / "load-pub.duckdb",
    )
    run = pipeline.new_run("bench-load")
    fetched = pipeline.fetch(settings, run)
    transformed = pipeline.transform_all(fetched, 1)
    validated = pipeline.validate(fetched["staging"], transformed)
    rows = sum(t["articles"] for t in transformed)

    # an empty, migrated warehouse for each repeat: the schema's one-off creation is not load throughput
    template = workdir / "load-template.duckdb"
    template.unlink(missing_ok=True)
    con = duckdb.connect(str(template))
    migrate(con)
    con.close()
    times = []
    for _ in range(repeat):
        Path(str(settings.warehouse) + ".wal").unlink(missing_ok=True)
        shutil.copyfile(template, settings.warehouse)
        t0 = time.perf_counter()
        pipeline.load(file_connect(settings.warehouse), settings, run, fetched, transformed, validated)
        times.append(time.perf_counter() - t0)
    t_merge = statistics.median(times)

    # row by row: the same rows, one INSERT each, into the same table shape, one transaction
    table = pq.read_table([str(Path(fetched["staging"]) / t["clean"]) for t in transformed])
    n_rbr = min(rows, 2000)
    py_rows = table.slice(0, n_rbr).to_pylist()
    cols = table.column_names
    rbr_db = workdir / "rbr.duckdb"

    def row_by_row():
        rbr_db.unlink(missing_ok=True)
        con = duckdb.connect(str(rbr_db))
        con.execute(
            "CREATE TABLE t AS SELECT * FROM read_parquet(?) LIMIT 0",
            [str(Path(fetched["staging"]) / transformed[0]["clean"])],
        )
        sql = f"INSERT INTO t VALUES ({', '.join('?' for _ in cols)})"
        con.execute("BEGIN")
        for r in py_rows:
            con.execute(sql, [r[c] for c in cols])
        con.execute("COMMIT")
        con.close()

    t_rbr = _median_time(row_by_row, repeat)
    result = {"rows": rows, "merge_rows_s": rows / t_merge, "row_by_row_rows_s": n_rbr / t_rbr}
    result["speedup"] = result["merge_rows_s"] / result["row_by_row_rows_s"]
    result.update(_bench_dlt(table, workdir, repeat))
    shutil.rmtree(fetched["staging"], ignore_errors=True)
    return result


def _bench_dlt(table, workdir: Path, repeat: int) -> dict:
    """A dlt merge load of the same rows into DuckDB, in its own virtualenv (.venv-dlt) if present."""
    python = PROJECT_ROOT / ".venv-dlt" / "bin" / "python"
    if not python.exists():
        return {"dlt_rows_s": None, "dlt_note": "not measured: create .venv-dlt with `make bench-dlt-venv`"}
    import pyarrow.parquet as pq

    data = workdir / "dlt-input.parquet"
    pq.write_table(
        table.drop_columns([c for c in ("categories", "tags", "paragraphs", "warnings") if c in table.column_names]),
        data,
    )
    script = (
        "import sys, time, shutil, statistics, dlt, pyarrow.parquet as pq\n"
        "t = pq.read_table(sys.argv[1]); times = []\n"
        "for i in range(int(sys.argv[3])):\n"
        "    shutil.rmtree(sys.argv[2], ignore_errors=True)\n"
        "    p = dlt.pipeline(pipeline_name='bench', destination=dlt.destinations.duckdb(sys.argv[2] + '/d.duckdb'),"
        " pipelines_dir=sys.argv[2] + '/p', dataset_name='news')\n"
        "    t0 = time.perf_counter()\n"
        "    p.run(t, table_name='articles', write_disposition='merge', primary_key='post_id')\n"
        "    times.append(time.perf_counter() - t0)\n"
        "print(t.num_rows / statistics.median(times))\n"
    )
    out = subprocess.run(
        [str(python), "-c", script, str(data), str(workdir / "dlt"), str(repeat)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        return {"dlt_rows_s": None, "dlt_note": "dlt failed: " + (out.stderr.strip().splitlines() or ["?"])[-1]}
    return {"dlt_rows_s": float(out.stdout.strip().splitlines()[-1])}


def _run_measured(cmd: list[str], env: dict) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) of the whole process tree, and stdout of a command."""
    import psutil

    t0 = time.perf_counter()
    # output goes to files: a pipe nobody reads while we poll would fill up and block the child
    out_file, err_file = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file, text=True, env=env)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    out_file.seek(0)
    err_file.seek(0)
    out, err = out_file.read(), err_file.read()
    if proc.returncode != 0:
        lines = [line for line in err.splitlines() if "great_expectations" not in line]
        raise RuntimeError(f"{' '.join(cmd[:5])} failed (exit {proc.returncode}): {' | '.join(lines[-5:])[-1500:]}")
    return wall, peak, out


def bench_end_to_end(site: Path, posts: int, workdir: Path, workers: int, changed: int = 100) -> dict:
    """news_etl run on a site of ``posts`` posts, then a no-change run and a run with ``changed`` edits."""
    wh, pub, stg = (
        workdir / f"e2e-{posts}.duckdb",
        workdir / f"e2e-{posts}-pub.duckdb",
        workdir / f"e2e-{posts}-staging",
    )
    for p in (wh, pub, Path(str(wh) + ".wal")):
        p.unlink(missing_ok=True)
    env = dict(os.environ)
    cmd = [
        str(Path(sys.executable).with_name("news-etl")),
        "run",
        "--source",
        str(site),
        "--warehouse",
        str(wh),
        "--published",
        str(pub),
        "--staging",
        str(stg),
        "--workers",
        str(workers),
    ]
    wall, peak, _ = _run_measured(cmd, env)
    nochange_wall, _, _ = _run_measured(cmd, env)
    pipeline_nochange = _last_run_seconds(pub)
    files = sorted(site.iterdir())
    step = max(1, len(files) // changed)
    for f in files[::step][:changed]:
        with open(f, "ab") as fh:
            fh.write("\n\n<p>更正：本文数据已更新。</p>".encode())
    changed_wall, _, _ = _run_measured(cmd, env)
    pipeline_changed = _last_run_seconds(pub)
    return {
        "posts": posts,
        "wall_s": wall,
        "posts_s": posts / wall,
        "peak_rss_mib": peak / 2**20,
        "nochange_wall_s": nochange_wall,
        "nochange_pipeline_s": pipeline_nochange,
        "changed": changed,
        "changed_wall_s": changed_wall,
        "changed_pipeline_s": pipeline_changed,
    }


def _last_run_seconds(published: Path) -> float:
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute("""SELECT seconds_fetch + seconds_transform + seconds_validate + seconds_load
                              FROM etl_runs ORDER BY loaded_at DESC LIMIT 1""").fetchall()[0][0]
    finally:
        con.close()


def bench_dag(site: Path, posts: int, workdir: Path) -> dict:
    """The DAG on ``posts`` new posts with ``airflow dags test``: time in tasks vs around them."""
    import sqlite3

    src = workdir / "dag-site"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for f in sorted(site.iterdir())[:posts]:
        os.link(f, src / f.name)
    home = workdir / "airflow-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW_VAR_NEWS_ETL_SOURCE=str(src),
        NEWS_ETL_PUBLISHED=str(workdir / "dag-pub.duckdb"),
        NEWS_ETL_STAGING=str(workdir / "dag-staging"),
        NEWS_ETL_BATCH_SIZE="250",
        AIRFLOW_CONN_NEWS_WAREHOUSE=json.dumps({"conn_type": "duckdb", "host": str(workdir / "dag.duckdb")}),
    )
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([airflow, "pools", "set", WRITER_POOL, "1", "writer"], env=env, check=True, capture_output=True)
    wall, _, _ = _run_measured([airflow, "dags", "test", DAG_ID, "2026-11-25"], env)
    con = sqlite3.connect(home / "airflow.db")
    rows = con.execute(
        """SELECT task_id, (julianday(end_date) - julianday(start_date)) * 86400
                          FROM task_instance WHERE dag_id = ?""",
        [DAG_ID],
    ).fetchall()
    con.close()
    in_tasks = sum(s or 0 for _, s in rows)
    return {"posts": posts, "wall_s": wall, "in_tasks_s": in_tasks, "around_s": wall - in_tasks, "tasks": len(rows)}


def run(posts: int, repeat: int, workers: int, dag: bool, big: int | None, out: Path | None) -> dict:
    from .synthetic import generate_site

    results: dict = {"cores": os.cpu_count(), "python": sys.version.split()[0], "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory(prefix="news-etl-bench-") as tmp:
        workdir = Path(tmp)
        site = workdir / "site"
        t0 = time.perf_counter()
        generate_site(site, posts)
        results["generate_s"] = time.perf_counter() - t0
        results["transform"] = bench_transform(site, min(posts, 3000), repeat)
        results["load"] = bench_load(site, min(posts, 10000), repeat, workdir)
        results["e2e"] = [bench_end_to_end(site, posts, workdir, workers)]
        if big:
            big_site = workdir / "site-big"
            generate_site(big_site, big)
            results["e2e"].append(bench_end_to_end(big_site, big, workdir, workers))
            shutil.rmtree(big_site, ignore_errors=True)
        if dag:
            results["dag"] = bench_dag(site, min(posts, 1000), workdir)
    print_table(results)
    if out:
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


def print_table(r: dict) -> None:
    t, ld = r["transform"], r["load"]
    print(f"news_etl benchmark — {r['date']}, {r['cores']} cores, Python {r['python']} (medians)")
    print()
    print("| measure | figure |")
    print("|---|---|")
    print(f"| cleaner (front matter + bs4/lxml clean + metrics), 1 core | {t['cleaner_posts_s']:,.0f} posts/s |")
    print(f"| whole transform (cleaner + keywords), 1 core | {t['transform_posts_s']:,.0f} posts/s |")
    print(f"| bare `BeautifulSoup(body, 'lxml')` of the same bodies, 1 core | {t['bare_parse_posts_s']:,.0f} posts/s |")
    print(f"| cleaner / bare parse | {t['ratio']:.0%} |")
    print(f"| load: MERGE from Parquet, one transaction ({ld['rows']:,} rows) | {ld['merge_rows_s']:,.0f} rows/s |")
    print(
        f"| load: row-by-row INSERT of the same rows | {ld['row_by_row_rows_s']:,.0f} rows/s ({ld['speedup']:.0f}× slower) |"
    )
    if ld.get("dlt_rows_s"):
        print(f"| load: dlt merge into DuckDB, same rows | {ld['dlt_rows_s']:,.0f} rows/s |")
    else:
        print(f"| load: dlt | {ld.get('dlt_note')} |")
    for e in r["e2e"]:
        print(
            f"| end to end `news_etl run`, {e['posts']:,} posts | {e['wall_s']:.1f} s, {e['posts_s']:,.0f} posts/s, peak RSS {e['peak_rss_mib']:,.0f} MiB |"
        )
        print(
            f"| no-change run on {e['posts']:,} posts | {e['nochange_wall_s']:.2f} s wall, {e['nochange_pipeline_s']:.2f} s in the pipeline |"
        )
        print(
            f"| {e['changed']} changed posts on {e['posts']:,} | {e['changed_wall_s']:.2f} s wall, {e['changed_pipeline_s']:.2f} s in the pipeline |"
        )
    if "dag" in r:
        d = r["dag"]
        print(
            f"| DAG (`airflow dags test`) on {d['posts']:,} new posts | {d['wall_s']:.1f} s: {d['in_tasks_s']:.1f} s in {d['tasks']} tasks, {d['around_s']:.1f} s in Airflow around them |"
        )
