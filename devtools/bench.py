"""The benchmark: ``python -m devtools.bench --posts N`` (``make bench``), run from the checkout.

Generates a synthetic site (``synthetic.py``) and prints one table in which every figure
stands beside the baseline it is compared with and its target (issue #17's for the cleaner,
keywords and the like-for-like load, issue #26's for the rest, with issue #26's baseline
``BEFORE``; met or not met; a target set for 100,000 posts says so when the run is of another
size), then a per-post breakdown beside the baseline's. Figures are medians of ``--repeat`` runs, with the machine's core count:

1. transform, one core: posts/s of the cleaner (front matter + BeautifulSoup clean +
   metrics) against a bare ``BeautifulSoup(body, "lxml")`` parse of the same bodies (target
   ≥60%), of the whole transform (target ≤800 µs a post) and the keywords' and the garbage
   collector's shares of it (targets ≤20% and <5%);
2. load, like for like: the same article rows into one ``articles`` table, merged on
   ``post_id``: ours (one DuckDB MERGE from Parquet) against dlt's merge (in ``.venv-dlt``,
   ``make bench-dlt-venv``; target ≥1.5×) and a row-by-row upsert (target ≥10×), into an
   empty table and again with half the rows edited; the whole load (every table) beside it;
3. end to end ``news-etl run`` on the site (and ``--big``, 15% of each text changed at random
   unless ``--varied 0``): posts/s (target ≥1,500 at 100,000 on 2 cores, beside a bare parse
   on every core), peak RSS of the process tree (target <2 GiB), the first load's seconds
   (target ≤15 s at 100,000) and publish's; then a no-change run (target <1.5 s; its CPU
   seconds beside), the reports on the snapshot and ``search(q)`` on it (the median of five,
   the slowest of a few queries; target <100 ms), and ``--days`` daily runs of 300 new and
   100 edited posts on the big site (target <5 s, publish under 10% of it) with the writer's
   file against a compacted copy of itself after them (target ≤1.3× after 30 days);
4. ``--huge N``: one run end to end on N posts (1,000,000): peak RSS growth against the
   previous run (target <20%) and its publish time; refused up front if the disk is too small;
5. the per-post breakdown (µs per post and share) on one core: read and hash, front matter,
   parse, tree walk, metrics, keywords, stories and securities, the garbage collector,
   Parquet, validation, and load and publish from the largest run end to end;
6. optionally (``--dag``) the DAG with ``airflow dags test`` on 1,000 new posts, split into
   time in tasks and time in Airflow around them.

Figures are printed (and written with ``--json``), never asserted.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from news_etl.analysts.search import BENCH_QUERIES
from news_etl.settings import DAG_ID, PROJECT_ROOT, WRITER_POOL

#: The share of each text's characters the bench's site changes at random (issue 26's "varied
#: posts": no two texts alike, a vocabulary that grows with the site).
VARIED = 0.15


def _median_time(fn, repeat: int) -> float:
    """Median seconds of this thread's CPU time over ``repeat`` calls: a one-core figure that
    another process on the same cores does not inflate (the work timed runs in this thread)."""
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return statistics.median(times)


def bench_transform(site: Path, sample: int, repeat: int) -> dict:
    """Single-process throughput of the cleaner, the transform and a bare lxml parse."""
    import hashlib

    from bs4 import BeautifulSoup

    from news_etl.ingest.clean import clean_body
    from news_etl.ingest.metrics import article_metrics
    from news_etl.ingest.parse import parse_post
    from news_etl.ingest.transform import transform_rows
    from news_etl.model import RawPost, Reject

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
            article_metrics(clean_body(fm.body, html=fm.html))

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


#: Our side of the like-for-like load: one MERGE on post_id from the Parquet file, in one
#: transaction, into a table whose post_id is a PRIMARY KEY (as the warehouse's is).
MERGE_SQL = """
    MERGE INTO articles USING (SELECT * FROM read_parquet(?)) AS s ON articles.post_id = s.post_id
    WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT"""


def bench_breakdown(site: Path, sample: int, repeat: int, workdir: Path) -> dict:
    """Microseconds per post of each stage of the transform on one core, so the docs can say
    where a post's time goes.

    The transform's stages are timed post by post, in the order ``transform_post`` runs them
    (front matter, ``clean_body``, metrics, securities and signature, keywords): timed each in a
    loop of its own, a stage finds its code and tables in the CPU's caches and comes out at half
    what it costs inside the transform. The bare ``BeautifulSoup(body, "lxml")`` is timed in a
    second pass, in ``clean_body``'s place; "tree walk" is ``clean_body`` minus it (so it holds
    the Markdown lines too). "rest of transform_post" is the whole ``transform_rows`` minus the
    stages (titles, plain text, outlets, the row). Both passes and ``transform_rows`` run with
    the cyclic garbage collector off; its cost is a line of its own (the whole transform with it
    on minus with it off: the trees BeautifulSoup builds are cycles only it frees). Read and
    hash, Parquet and validation run a batch at a time in the pipeline, and so here.

    Times are this thread's CPU time (another process on the same cores does not add to them),
    the least of ``repeat`` rounds. Load and publish per post come from the end-to-end run
    (:func:`breakdown_stages`).
    """
    import gc
    import hashlib
    from datetime import date

    import pyarrow as pa
    import pyarrow.parquet as pq
    from bs4 import BeautifulSoup

    from news_etl.ingest.clean import clean_body
    from news_etl.ingest.metrics import article_metrics
    from news_etl.ingest.parse import parse_post
    from news_etl.ingest.transform import transform_rows
    from news_etl.ingest.validate import COLUMNS, Validator
    from news_etl.meaning.keywords import NO_NAMES, analyse
    from news_etl.meaning.securities import names as security_names
    from news_etl.meaning.securities import securities
    from news_etl.meaning.stories import signature
    from news_etl.model import ARTICLE_SCHEMA, RAW_SCHEMA, RawPost, Reject
    from news_etl.settings import Settings

    clock = time.thread_time
    files = sorted(site.iterdir())[:sample]
    posts = [RawPost("bench", f.name, f.read_bytes(), "") for f in files]
    for p in posts:
        p.content_hash = hashlib.sha256(p.raw).hexdigest()
    articles, _ = transform_rows(posts)
    stage_dir = workdir / "breakdown-parquet"
    stage_dir.mkdir(exist_ok=True)
    clean_file = stage_dir / "clean.parquet"
    pq.write_table(pa.Table.from_pylist(articles, schema=ARTICLE_SCHEMA), clean_file)
    table = pq.read_table(clean_file, columns=COLUMNS)
    validator = Validator(date.today())  # once a process: not a per-post cost
    size = Settings().batch_size

    def post_by_post(bare: bool) -> dict[str, float]:
        """One pass over the posts as transform_post goes (``bare``: a bare parse for clean_body)."""
        spent = dict.fromkeys(("front matter", "clean", "metrics", "securities", "keywords"), 0.0)
        for p in posts:
            t0 = clock()
            try:
                fm = parse_post(p.path, p.raw)
            except Reject:
                continue
            t1 = clock()
            body = BeautifulSoup(fm.body, "lxml") if bare else clean_body(fm.body, html=fm.html)
            t2 = clock()
            spent["front matter"] += t1 - t0
            spent["clean"] += t2 - t1
            if bare:
                continue
            if not body.paragraphs and not body.digest:
                continue
            article_metrics(body)
            t3 = clock()
            mentioned = securities(body.codes, f"{fm.title}\n{body.text}")
            signature(fm.title, body.text)
            t4 = clock()
            analyse(fm.title, body.text, NO_NAMES, linked=security_names(mentioned))  # as transform_post calls it
            t5 = clock()
            spent["metrics"] += t3 - t2
            spent["securities"] += t4 - t3
            spent["keywords"] += t5 - t4
        return spent

    def read_and_hash():
        for f in files:
            hashlib.sha256(f.read_bytes()).hexdigest()

    def parquet():
        # the staged files a post goes through: its raw batch (lz4) written and read back, its article written
        raw_table = pa.Table.from_pylist([vars(p) for p in posts], schema=RAW_SCHEMA)
        pq.write_table(raw_table, stage_dir / "raw.parquet", compression="lz4")
        pq.read_table(stage_dir / "raw.parquet", use_threads=False).to_pydict()  # one core: no reader threads
        pq.write_table(pa.Table.from_pylist(articles, schema=ARTICLE_SCHEMA), clean_file)

    def validation():
        for i in range(0, table.num_rows, size):
            validator.validate(table.slice(i, size), "bench")

    best: dict[str, float] = {}

    def keep(stage: str, seconds: float) -> None:
        best[stage] = min(best.get(stage, float("inf")), seconds)

    def timed(fn, collector: bool = False):
        gc.collect()
        if not collector:
            gc.disable()
        try:
            t0 = clock()
            out = fn()
            return clock() - t0, out
        finally:
            gc.enable()

    for _ in range(repeat):
        for stage, seconds in timed(lambda: post_by_post(bare=False))[1].items():
            keep(stage, seconds)
        keep("bare parse", timed(lambda: post_by_post(bare=True))[1]["clean"])
        keep("transform_rows, collector off", timed(lambda: transform_rows(posts))[0])
        keep("transform_rows", timed(lambda: transform_rows(posts), collector=True)[0])
        for stage, fn in (("read and hash", read_and_hash), ("Parquet", parquet), ("validation", validation)):
            keep(stage, timed(fn)[0])
    shutil.rmtree(stage_dir)

    stages = ("front matter", "clean", "metrics", "securities", "keywords")
    seconds = {
        "read and hash": best["read and hash"],
        "YAML front matter (parse_post)": best["front matter"],
        "parse (bare BeautifulSoup lxml)": best["bare parse"],
        "tree walk (clean_body − bare parse)": best["clean"] - best["bare parse"],
        "metrics": best["metrics"],
        "keywords": best["keywords"],
        "stories signature and securities": best["securities"],
        "rest of transform_post": best["transform_rows, collector off"] - sum(best[s] for s in stages),
        "garbage collector (in the transform)": best["transform_rows"] - best["transform_rows, collector off"],
        "Parquet (staging)": best["Parquet"],
        "validation (GX, batches of the run's size)": best["validation"],
    }
    n = len(files)
    return {
        "posts": n,
        "transform_us": best["transform_rows"] / n * 1e6,
        "keywords_share": best["keywords"] / best["transform_rows"],
        "us_per_post": {stage: s / n * 1e6 for stage, s in seconds.items()},
    }


def bench_load(site: Path, sample: int, repeat: int, workdir: Path) -> dict:
    """Rows/s of loading articles: ours like for like against dlt's merge and a row-by-row upsert,
    and the whole load (every table) beside it.

    Like for like, each side loads the same rows (the ``articles`` columns of the staged clean
    files, written to one Parquet file) into one ``articles`` table in a DuckDB file, merged on
    ``post_id``, starting from the Parquet file on disk:

    - ours: one ``MERGE INTO articles ... ON post_id`` reading the file (``read_parquet``), in
      one transaction, into a table with ``post_id`` as PRIMARY KEY (an index to keep up: a cost
      dlt's table does not carry);
    - dlt: ``pipeline.run(table, write_disposition="merge", primary_key="post_id")`` of the file
      read with ``pyarrow.parquet`` (the read is timed): extract, normalize and load, its default
      merge strategy (delete-insert through a staging dataset), list columns stored as JSON;
    - row by row: ``INSERT OR REPLACE`` (an upsert on the primary key) of each row, one
      transaction, on the first 2,000 rows.

    Pass 1 loads into an empty table; pass 2 merges the same rows again with half of them
    edited (title and content hash). The whole load (``pipeline.load``: articles, versions,
    metrics, keywords, stories, securities, rejects, quality, audit row in one transaction)
    into an empty migrated warehouse is timed on the same staged batches.
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from news_etl import pipeline
    from news_etl.settings import Settings
    from news_etl.warehouse.connection import file_connect
    from news_etl.warehouse.migrations import migrate

    src = workdir / "load-src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in sorted(site.iterdir())[:sample]:
        shutil.copyfile(f, src / f.name)  # a copy: the dir source does not read hard links to files elsewhere
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

    # the whole load: an empty, migrated warehouse for each repeat (the schema's creation is not load throughput)
    template = workdir / "load-template.duckdb"
    template.unlink(missing_ok=True)
    con = duckdb.connect(str(template))
    migrate(con)
    warehouse_columns = {
        c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'articles'").fetchall()
    }
    con.close()
    clean_files = [str(Path(fetched["staging"]) / t["clean"]) for t in transformed]
    # the rows like for like: the articles columns the staged clean files hold (the warehouse
    # adds version, timestamps and run id itself)
    columns = [c for c in pq.read_schema(clean_files[0]).names if c in warehouse_columns]
    times = []
    for _ in range(repeat):
        Path(str(settings.warehouse) + ".wal").unlink(missing_ok=True)
        shutil.copyfile(template, settings.warehouse)
        t0 = time.perf_counter()
        pipeline.load(file_connect(settings.warehouse), settings, run, fetched, transformed, validated)
        times.append(time.perf_counter() - t0)
    t_whole = statistics.median(times)

    # like for like: the same rows in one file for every side; pass 2 is them again, half edited
    table = pq.read_table(clean_files, columns=columns)
    first, second = workdir / "load-pass1.parquet", workdir / "load-pass2.parquet"
    pq.write_table(table, first)
    edited = pa.array([i % 2 == 0 for i in range(table.num_rows)])
    for name, suffix in (("title", "（更正）"), ("content_hash", "-edited")):
        column = table.column(name)
        table = table.set_column(
            table.schema.get_field_index(name),
            name,
            pc.if_else(edited, pc.binary_join_element_wise(column, suffix, ""), column),
        )
    pq.write_table(table, second)
    shutil.rmtree(fetched["staging"], ignore_errors=True)

    ours_db = workdir / "ours.duckdb"

    def empty_table(path: Path):
        path.unlink(missing_ok=True)
        Path(str(path) + ".wal").unlink(missing_ok=True)
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE articles AS SELECT * FROM read_parquet(?) LIMIT 0", [str(first)])
        con.execute("ALTER TABLE articles ADD PRIMARY KEY (post_id)")
        return con

    def merge(con, path: Path) -> float:
        t0 = time.perf_counter()
        con.execute("BEGIN")
        con.execute(MERGE_SQL, [str(path)])
        con.execute("COMMIT")
        return time.perf_counter() - t0

    pass1, pass2 = [], []
    for _ in range(repeat):
        con = empty_table(ours_db)
        pass1.append(merge(con, first))
        pass2.append(merge(con, second))
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == rows
        con.close()

    n_rbr = min(rows, 2000)
    py_rows = table.slice(0, n_rbr).to_pylist()  # pass 2's rows: the values do not change the cost
    rbr_db = workdir / "rbr.duckdb"
    insert = f"INSERT OR REPLACE INTO articles VALUES ({', '.join('?' for _ in columns)})"

    def row_by_row() -> float:
        con = empty_table(rbr_db)
        t0 = time.perf_counter()
        con.execute("BEGIN")
        for r in py_rows:
            con.execute(insert, [r[c] for c in columns])
        con.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        con.close()
        return elapsed

    t_rbr = statistics.median(row_by_row() for _ in range(repeat))
    result = {
        "rows": rows,
        "whole_rows_s": rows / t_whole,
        "ours_rows_s": rows / statistics.median(pass1),
        "ours_pass2_rows_s": rows / statistics.median(pass2),
        "row_by_row_rows_s": n_rbr / t_rbr,
    }
    result["vs_row_by_row"] = result["ours_rows_s"] / result["row_by_row_rows_s"]
    result.update(_bench_dlt(first, second, workdir, repeat))
    if result.get("dlt_rows_s"):
        result["vs_dlt"] = result["ours_rows_s"] / result["dlt_rows_s"]
        result["vs_dlt_pass2"] = result["ours_pass2_rows_s"] / result["dlt_pass2_rows_s"]
    return result


def _bench_dlt(first: Path, second: Path, workdir: Path, repeat: int) -> dict:
    """dlt's merge of the same two passes into DuckDB, in its own virtualenv (``make bench-dlt-venv``):
    rows/s of pass 1 (into an empty table) and pass 2 (the same rows, half edited)."""
    python = PROJECT_ROOT / ".venv-dlt" / "bin" / "python"
    if not python.exists():
        return {"dlt_rows_s": None, "dlt_note": "not measured: create .venv-dlt with `make bench-dlt-venv`"}
    script = (
        "import sys, json, time, shutil, statistics, dlt, pyarrow.parquet as pq\n"
        "first, second, work, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])\n"
        "times = {first: [], second: []}\n"
        "for i in range(repeat):\n"
        "    shutil.rmtree(work, ignore_errors=True)\n"
        "    p = dlt.pipeline(pipeline_name='bench', destination=dlt.destinations.duckdb(work + '/d.duckdb'),"
        " pipelines_dir=work + '/p', dataset_name='news')\n"
        "    for path in (first, second):\n"
        "        t0 = time.perf_counter()\n"
        "        p.run(pq.read_table(path), table_name='articles', write_disposition='merge', primary_key='post_id')\n"
        "        times[path].append(time.perf_counter() - t0)\n"
        "n = pq.read_metadata(first).num_rows\n"
        "print(json.dumps([n / statistics.median(times[first]), n / statistics.median(times[second])]))\n"
    )
    out = subprocess.run(
        [str(python), "-c", script, str(first), str(second), str(workdir / "dlt"), str(repeat)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode != 0:
        return {"dlt_rows_s": None, "dlt_note": "dlt failed: " + (out.stderr.strip().splitlines() or ["?"])[-1]}
    pass1, pass2 = json.loads(out.stdout.strip().splitlines()[-1])
    return {"dlt_rows_s": pass1, "dlt_pass2_rows_s": pass2, "dlt_version": _dlt_version(python)}


def _dlt_version(python: Path) -> str:
    out = subprocess.run([str(python), "-c", "import dlt; print(dlt.__version__)"], capture_output=True, text=True)
    return out.stdout.strip()


class Measured(NamedTuple):
    wall: float  #: seconds
    peak: int  #: peak RSS of the process tree, bytes
    peak_pss: int  #: peak PSS of the process tree, bytes
    cpu: float  #: user + system seconds of the command and every process it waited for
    out: str
    err: str


def _run_measured(cmd: list[str], env: dict) -> Measured:
    """Wall seconds, peak RSS and PSS in bytes of the whole process tree, CPU seconds, stdout and
    stderr of a command. CPU seconds count what other processes on the cores do not inflate much:
    on a busy machine the wall time of a short run is mostly waiting for a core. RSS adds up what each process maps, so the pages a forked worker shares
    with its parent count once a process; PSS splits them among the processes that share them
    (sampled every 0.25 s: reading it costs more)."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # output goes to files: a pipe nobody reads while we poll would fill up and block the child
    out_file, err_file = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file, text=True, env=env)
    parent = psutil.Process(proc.pid)
    peak = peak_pss = polls = 0
    while proc.poll() is None:
        try:
            procs = [p for p in (parent, *parent.children(recursive=True)) if p.is_running()]
            peak = max(peak, sum(p.memory_info().rss for p in procs))
            if polls % 5 == 0:
                peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in procs))
        except psutil.Error:
            pass
        polls += 1
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out_file.seek(0)
    err_file.seek(0)
    out, err = out_file.read(), err_file.read()
    if proc.returncode != 0:
        lines = [line for line in err.splitlines() if "great_expectations" not in line]
        raise RuntimeError(f"{' '.join(cmd[:5])} failed (exit {proc.returncode}): {' | '.join(lines[-5:])[-1500:]}")
    return Measured(wall, peak, peak_pss, cpu, out, err)


def bench_end_to_end(
    site: Path,
    posts: int,
    workdir: Path,
    workers: int,
    again: bool = True,
    days: int = 1,
    new_posts: int = 300,
    edited: int = 100,
    varied: float = 0.0,
) -> dict:
    """news_etl run on a site of ``posts`` posts, then (``again``) a no-change run and ``days``
    daily runs of ``new_posts`` new and ``edited`` edited posts each, the writer's file against a
    compacted copy of itself after them, and the reports on its snapshot. The warehouse files are
    removed after."""
    from devtools.synthetic import generate_site

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
        "-v",  # each step logs its seconds: load's and publish's are read from the log
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
    first = _run_measured(cmd, env)
    result = {
        "posts": posts,
        "wall_s": first.wall,
        "posts_s": posts / first.wall,
        "cpu_s": first.cpu,
        "peak_rss_mib": first.peak / 2**20,
        "peak_pss_mib": first.peak_pss / 2**20,
        "load_s": _logged_seconds(first.err, LOAD_LOGGED),
        "publish_s": _logged_seconds(first.err, PUBLISH_LOGGED),
        "site_mib": sum(f.stat().st_size for f in site.iterdir()) / 2**20,
        "warehouse_mib": (wh.stat().st_size + pub.stat().st_size) / 2**20,
    }
    if again:
        # what the run wrote (the writer's file and its snapshot copy, a GB at 100,000 posts) is
        # flushed to disk first: a no-change run comes a day later, not while the kernel writes
        os.sync()
        nochange = _run_measured(cmd, env)
        result.update(
            nochange_wall_s=nochange.wall,
            nochange_cpu_s=nochange.cpu,
            nochange_pipeline_s=_last_run_seconds(wh),
            nochange_publish_s=_logged_seconds(nochange.err, PUBLISH_LOGGED),
        )
        daily = []
        for day in range(days):
            files = sorted(site.iterdir())
            step = max(1, len(files) // edited)
            touched = files[::step][:edited]
            for f in touched:
                with open(f, "ab") as fh:
                    fh.write(f"\n\n<p>更正{day}：本文数据已更新。</p>".encode())
            generate_site(site, new_posts, start=posts + day * new_posts, varied=varied)
            os.sync()
            ran = _run_measured(cmd, env)
            daily.append(
                {
                    "wall_s": ran.wall,
                    "cpu_s": ran.cpu,
                    "pipeline_s": _last_run_seconds(wh),
                    "load_s": _logged_seconds(ran.err, LOAD_LOGGED),
                    "publish_s": _logged_seconds(ran.err, PUBLISH_LOGGED),
                    "writer_mib": wh.stat().st_size / 2**20,
                }
            )
        result["reports_s"] = _report_seconds(pub)
        result["search_ms"] = search_bench(pub, BENCH_QUERIES)
        if not daily:
            return _removed(result, wh, pub)
        result.update(
            new_posts=new_posts,
            edited=edited,
            days=daily,
            daily_wall_s=statistics.median(d["wall_s"] for d in daily),
            daily_pipeline_s=statistics.median(d["pipeline_s"] for d in daily),
            daily_publish_s=statistics.median(d["publish_s"] or 0.0 for d in daily),
            **_file_against_compacted(wh, workdir),
        )
    return _removed(result, wh, pub)


def _removed(result: dict, warehouse: Path, published: Path) -> dict:
    """``result``, once the run's warehouse files are removed."""
    for p in (warehouse, published, Path(str(warehouse) + ".wal")):
        p.unlink(missing_ok=True)
    return result


def _file_against_compacted(warehouse: Path, workdir: Path) -> dict:
    """The writer's file size against a compacted copy of it (every table copied into a new file
    with the writer's own settings), and how the rows of ``articles`` lie in its row groups."""
    from news_etl.warehouse.connection import file_connect, writer

    compact = workdir / "compacted.duckdb"
    compact.unlink(missing_ok=True)
    with writer(file_connect(warehouse)) as con:
        (database,) = con.execute("SELECT current_database()").fetchone()
        groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('articles')").fetchone()[0]
        con.execute(f"ATTACH '{compact}' AS bench_compacted (STORAGE_VERSION 'v1.4.0')")
        con.execute(f'COPY FROM DATABASE "{database}" TO bench_compacted')
        con.execute("DETACH bench_compacted")
    out = {
        "writer_mib": warehouse.stat().st_size / 2**20,
        "compacted_mib": compact.stat().st_size / 2**20,
        "articles_row_groups": groups,
    }
    out["file_ratio"] = out["writer_mib"] / out["compacted_mib"]
    compact.unlink(missing_ok=True)
    return out


#: The log lines of pipeline.load and pipeline.publish that end with the step's seconds.
LOAD_LOGGED = re.compile(r"load: wrote .*, ([0-9.]+)s$", re.M)
PUBLISH_LOGGED = re.compile(r"publish: snapshot .* in ([0-9.]+)s$", re.M)


def _logged_seconds(log: str, pattern: re.Pattern) -> float | None:
    """The seconds a step logged in a ``news-etl -v run`` (None if its line is not there)."""
    found = pattern.findall(log)
    return float(found[-1]) if found else None


def _report_seconds(published: Path) -> dict[str, float]:
    """Seconds each report of sql/reports takes on the snapshot, without parameters (the whole range)."""
    from news_etl.analysts import reports

    con = reports.open_warehouse(published)
    try:
        out = {}
        for name in reports.report_names():
            t0 = time.perf_counter()
            reports.run_report(con, name, {})
            out[name] = round(time.perf_counter() - t0, 3)
        return out
    finally:
        con.close()


def search_bench(published: Path, queries) -> dict[str, dict]:
    """Milliseconds of ``search(q)`` on the snapshot (news_etl.analysts.search.bench)."""
    from news_etl.analysts.search import bench

    return bench(published, list(queries))


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
        shutil.copyfile(f, src / f.name)  # a copy: the dir source does not read hard links to files elsewhere
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
    wall = _run_measured([airflow, "dags", "test", DAG_ID, "2026-11-25"], env).wall
    con = sqlite3.connect(home / "airflow.db")
    rows = con.execute(
        """SELECT task_id, (julianday(end_date) - julianday(start_date)) * 86400
                          FROM task_instance WHERE dag_id = ?""",
        [DAG_ID],
    ).fetchall()
    con.close()
    in_tasks = sum(s or 0 for _, s in rows)
    return {"posts": posts, "wall_s": wall, "in_tasks_s": in_tasks, "around_s": wall - in_tasks, "tasks": len(rows)}


#: Disk a run end to end needs, as a multiple of its site's size: the site itself (1), the
#: batches staged from it (about 1), the writer's file and the published snapshot (about 3.4
#: on the synthetic site, measured from 500 to 1,200 posts), with room to spare.
DISK_PER_SITE_BYTE = 8


class NoRoom(Exception):
    """The huge run's site and warehouse would not fit on the disk."""


def check_room(workdir: Path, sample_site: Path, posts: int) -> None:
    """Refuse, before anything is generated, a site of ``posts`` posts that would not fit on
    the disk with its warehouse (estimated from the bytes per post of ``sample_site``)."""
    files = list(sample_site.iterdir())
    per_post = sum(f.stat().st_size for f in files) / len(files)
    need = posts * per_post * DISK_PER_SITE_BYTE
    free = shutil.disk_usage(workdir).free
    if need > free:
        raise NoRoom(
            f"--huge {posts:,}: the site and its warehouse need about {need / 2**30:.1f} GiB "
            f"and {workdir} has {free / 2**30:.1f} GiB free: not run (free some space, point TMPDIR "
            "at a bigger disk, or ask for fewer posts)"
        )


def run(
    posts: int,
    repeat: int,
    workers: int,
    dag: bool,
    big: int | None,
    out: Path | None,
    huge: int | None = None,
    days: int = 1,
    varied: float = VARIED,
) -> dict:
    """Every bench in turn in one temporary folder, then the table and the breakdown. A ``huge``
    run is checked against the free disk first, so it is refused before an hour is spent."""
    from devtools.synthetic import generate_site

    results: dict = {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
        "varied": varied,
    }
    with tempfile.TemporaryDirectory(prefix="news-etl-bench-") as tmp:
        workdir = Path(tmp)
        site = workdir / "site"
        t0 = time.perf_counter()
        generate_site(site, posts, varied=varied)
        results["generate_s"] = time.perf_counter() - t0
        if huge:
            check_room(workdir, site, max(huge, big or 0))  # each site is removed after its run
        results["transform"] = bench_transform(site, min(posts, 3000), repeat)
        results["breakdown"] = bench_breakdown(site, min(posts, 3000), repeat, workdir)
        results["load"] = bench_load(site, min(posts, 10000), repeat, workdir)
        # the daily runs on the big site when there is one (the targets are set for 100,000 posts)
        results["e2e"] = [bench_end_to_end(site, posts, workdir, workers, days=0 if big else days, varied=varied)]
        for size, again in ((big, True), (huge, False)):
            if size:
                other = workdir / f"site-{size}"
                generate_site(other, size, varied=varied)
                results["e2e"].append(
                    bench_end_to_end(other, size, workdir, workers, again=again, days=days, varied=varied)
                )
                shutil.rmtree(other, ignore_errors=True)
        if huge:
            results["huge"] = results["e2e"][-1] | {
                "rss_growth": results["e2e"][-1]["peak_rss_mib"] / results["e2e"][-2]["peak_rss_mib"] - 1,
                "against": results["e2e"][-2]["posts"],
            }
        if dag:
            results["dag"] = bench_dag(site, min(posts, 1000), workdir)
    results["breakdown"]["table_us_per_post"] = breakdown_stages(results)
    print_table(results)
    print()
    print_breakdown(results)
    if out:
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


#: The targets (issue #17's for the cleaner, keywords and the like-for-like load; issue #26's for
#: the rest), and the size they are set for.
TARGET_POSTS = 100_000
TARGET_POSTS_S = 1500
TARGET_TRANSFORM_US = 800
TARGET_GC_SHARE = 0.05
TARGET_LOAD_S = 15.0
TARGET_CLEANER_SHARE = 0.60
TARGET_KEYWORDS_SHARE = 0.20
TARGET_VS_DLT = 1.5
TARGET_VS_ROW_BY_ROW = 10
TARGET_NOCHANGE_S = 1.5
TARGET_RSS_MIB = 2 * 1024
TARGET_SEARCH_MS = 100
TARGET_RSS_GROWTH = 0.20
TARGET_DAILY_S = 5.0
TARGET_FILE_RATIO = 1.3
TARGET_FILE_DAYS = 30
TARGET_PUBLISH_SHARE = 0.10

#: Issue 26's baseline (main at 49d2969, docs/bench.json of 2026-12-02, 100,000 posts of the
#: bench's site before it was varied): what each figure is compared with.
BEFORE = {
    "date": "2026-12-02",
    "posts_s": 683,
    "transform_us": 1582,
    "gc_us": 225,
    "load_s": 32.49,
    "peak_rss_mib": 1107,
    "nochange_s": 2.60,
    "daily_s": 15.5,  # 300 new + 100 edited on varied posts (issue 26)
    "file_ratio": 1.98,  # after five such days
    "us_per_post": {
        "read and hash": 17,
        "YAML front matter (parse_post)": 110,
        "parse (bare BeautifulSoup lxml)": 329,
        "tree walk (clean_body − bare parse)": 79,
        "metrics": 182,
        "keywords": 469,
        "stories signature and securities": 157,
        "rest of transform_post": 30,
        "garbage collector (in the transform)": 225,
        "Parquet (staging)": 48,
        "validation (GX, batches of the run's size)": 85,
        "load (end to end)": 325,
        "publish (end to end)": 5,
    },
}


def _verdict(ok: bool, posts: int | None = None) -> str:
    """ "met" or "not met"; for a figure measured off the size its target is set for, says so."""
    said = "met" if ok else "not met"
    if posts is not None and posts != TARGET_POSTS:
        said += f" (set for {TARGET_POSTS:,}, measured on {posts:,})"
    return said


def _row(measure: str, figure: str, compared: str = "—", target: str = "—") -> None:
    print(f"| {measure} | {figure} | {compared} | {target} |")


def print_table(r: dict) -> None:
    """Every figure beside the baseline it is compared with and its target (met or not)."""
    t, ld, bd = r["transform"], r["load"], r["breakdown"]
    cores = r["cores"] or 1
    print(f"news_etl benchmark — {r['date']}, {cores} cores, Python {r['python']} (medians)")
    print()
    print("| measure | figure | compared with | target |")
    print("|---|---|---|---|")
    bare = f"bare parse, 1 core: {t['bare_parse_posts_s']:,.0f} posts/s"
    _row("cleaner (front matter + bs4/lxml clean + metrics), 1 core", f"{t['cleaner_posts_s']:,.0f} posts/s", bare)
    _row(
        "whole transform (cleaner + keywords, stories, securities), 1 core",
        f"{t['transform_posts_s']:,.0f} posts/s",
        f"cleaner: {t['cleaner_posts_s']:,.0f} posts/s",
    )
    _row("bare `BeautifulSoup(body, 'lxml')` of the same bodies, 1 core", f"{t['bare_parse_posts_s']:,.0f} posts/s")
    _row(
        "cleaner / bare parse",
        f"{t['ratio']:.0%}",
        bare,
        f"≥{TARGET_CLEANER_SHARE:.0%}: {_verdict(t['ratio'] >= TARGET_CLEANER_SHARE)}",
    )
    _row(
        "keywords' share of the transform, 1 core",
        f"{bd['keywords_share']:.0%} ({bd['us_per_post']['keywords']:,.0f} µs/post)",
        f"transform: {bd['transform_us']:,.0f} µs/post",
        f"≤{TARGET_KEYWORDS_SHARE:.0%}: {_verdict(bd['keywords_share'] <= TARGET_KEYWORDS_SHARE)}",
    )
    like = f"load: MERGE from Parquet on post_id into one `articles` table, like for like ({ld['rows']:,} rows)"
    if ld.get("dlt_rows_s"):
        _row(
            like,
            f"{ld['ours_rows_s']:,.0f} rows/s",
            f"dlt {ld.get('dlt_version', '')} merge, same rows: {ld['dlt_rows_s']:,.0f} rows/s ({ld['vs_dlt']:.1f}×)",
            f"≥{TARGET_VS_DLT}× dlt: {_verdict(ld['vs_dlt'] >= TARGET_VS_DLT)}",
        )
        _row(
            "load: the same rows again, half edited (MERGE on post_id)",
            f"{ld['ours_pass2_rows_s']:,.0f} rows/s",
            f"dlt merge: {ld['dlt_pass2_rows_s']:,.0f} rows/s ({ld['vs_dlt_pass2']:.1f}×)",
            f"≥{TARGET_VS_DLT}× dlt: {_verdict(ld['vs_dlt_pass2'] >= TARGET_VS_DLT)}",
        )
    else:
        _row(like, f"{ld['ours_rows_s']:,.0f} rows/s", f"dlt: {ld['dlt_note']}", f"≥{TARGET_VS_DLT}× dlt: not measured")
        _row("load: the same rows again, half edited (MERGE on post_id)", f"{ld['ours_pass2_rows_s']:,.0f} rows/s")
    _row(
        "load: row-by-row INSERT OR REPLACE of the same rows, one transaction",
        f"{ld['row_by_row_rows_s']:,.0f} rows/s",
        f"ours like for like: {ld['ours_rows_s']:,.0f} rows/s ({ld['vs_row_by_row']:.0f}×)",
        f"ours ≥{TARGET_VS_ROW_BY_ROW}×: {_verdict(ld['vs_row_by_row'] >= TARGET_VS_ROW_BY_ROW)}",
    )
    _row(
        "load: whole load (all tables), MERGE from Parquet in one transaction",
        f"{ld['whole_rows_s']:,.0f} rows/s",
        f"articles alone, like for like: {ld['ours_rows_s']:,.0f} rows/s",
    )
    transform_row(r)
    for e in r["e2e"]:
        end_to_end_rows(r, e)
    if "huge" in r:
        h = r["huge"]
        _row(
            f"peak RSS growth, {h['posts']:,} posts against {h['against']:,}",
            f"{h['rss_growth']:+.0%} ({h['peak_rss_mib']:,.0f} MiB)",
            f"{h['against']:,} posts: {h['peak_rss_mib'] / (1 + h['rss_growth']):,.0f} MiB",
            f"<{TARGET_RSS_GROWTH:.0%}: {_verdict(h['rss_growth'] < TARGET_RSS_GROWTH)}",
        )
    if "dag" in r:
        d = r["dag"]
        _row(
            f"DAG (`airflow dags test`) on {d['posts']:,} new posts",
            f"{d['wall_s']:.1f} s",
            f"{d['in_tasks_s']:.1f} s in {d['tasks']} tasks, {d['around_s']:.1f} s in Airflow around them",
        )


def transform_row(r: dict) -> None:
    """The transform on one core against its target and issue 26's baseline, and the collector's share."""
    bd = r["breakdown"]
    us = bd["transform_us"]
    gc_us = bd["us_per_post"].get("garbage collector (in the transform)", 0.0)
    _row(
        "whole transform, 1 core (µs a post)",
        f"{us:,.0f} µs/post",
        f"before: {BEFORE['transform_us']:,} µs/post ({BEFORE['date']})",
        f"≤{TARGET_TRANSFORM_US} µs: {_verdict(us <= TARGET_TRANSFORM_US)}",
    )
    _row(
        "garbage collector's share of the transform, 1 core",
        f"{gc_us / us:.0%} ({gc_us:,.0f} µs/post)",
        f"before: {BEFORE['gc_us'] / BEFORE['transform_us']:.0%} ({BEFORE['gc_us']} µs/post)",
        f"<{TARGET_GC_SHARE:.0%}: {_verdict(gc_us / us < TARGET_GC_SHARE)}",
    )


def end_to_end_rows(r: dict, e: dict) -> None:
    """The rows of one run end to end: throughput, memory, load, publish, the no-change run, the
    daily runs and the writer's file against a compacted copy of it."""
    n, cores, t = e["posts"], r["cores"] or 1, r["transform"]
    _row(
        f"end to end `news-etl run`, {n:,} posts",
        f"{e['wall_s']:.1f} s, {e['posts_s']:,.0f} posts/s",
        f"bare parse on {cores} cores: {t['bare_parse_posts_s'] * cores:,.0f} posts/s; before: {BEFORE['posts_s']:,} posts/s",
        f"≥{TARGET_POSTS_S:,} posts/s: {_verdict(e['posts_s'] >= TARGET_POSTS_S, n)}",
    )
    _row(
        f"peak RSS, {n:,} posts",
        f"{e['peak_rss_mib']:,.0f} MiB",
        "the whole process tree"
        + (f"; shared pages counted once (PSS): {e['peak_pss_mib']:,.0f} MiB" if e.get("peak_pss_mib") else ""),
        f"<{TARGET_RSS_MIB / 1024:.0f} GiB: {_verdict(e['peak_rss_mib'] < TARGET_RSS_MIB)}",
    )
    if e.get("load_s") is not None:
        _row(
            f"load of a first run, {n:,} posts",
            f"{e['load_s']:.1f} s ({e['load_s'] / n * 1e6:,.0f} µs/post)",
            f"before: {BEFORE['load_s']:.1f} s at 100,000",
            f"≤{TARGET_LOAD_S:.0f} s: {_verdict(e['load_s'] <= TARGET_LOAD_S * n / TARGET_POSTS, n)}"
            + (" (scaled to the size)" if n != TARGET_POSTS else ""),
        )
    _row(f"publish on {n:,} posts", _seconds(e["publish_s"]), f"load: {_seconds(e['load_s'])}")
    if "nochange_wall_s" not in e:
        return
    cpu = f"{e['nochange_cpu_s']:.2f} s CPU, " if e.get("nochange_cpu_s") is not None else ""
    _row(
        f"no-change run on {n:,} posts",
        f"{e['nochange_wall_s']:.2f} s wall",
        f"{cpu}{e['nochange_pipeline_s']:.2f} s in fetch to load, publish {_seconds(e['nochange_publish_s'])}",
        f"<{TARGET_NOCHANGE_S} s: {_verdict(e['nochange_wall_s'] < TARGET_NOCHANGE_S, n)}",
    )
    if "changed_wall_s" in e:  # the runs of 2026-12-02: 100 edited posts, no new ones
        _row(
            f"{e['changed']} changed posts on {n:,}",
            f"{e['changed_wall_s']:.2f} s wall",
            f"{e['changed_pipeline_s']:.2f} s in fetch to load, publish {_seconds(e['changed_publish_s'])}",
        )
    if "days" in e:
        days = len(e["days"])
        _row(
            f"daily run: {e['new_posts']} new and {e['edited']} edited posts on {n:,} (median of {days})",
            f"{e['daily_wall_s']:.2f} s wall",
            f"{e['daily_pipeline_s']:.2f} s in fetch to load, publish {e['daily_publish_s']:.2f} s; "
            f"before: up to {BEFORE['daily_s']} s",
            f"<{TARGET_DAILY_S:.0f} s: {_verdict(e['daily_wall_s'] < TARGET_DAILY_S, n)}",
        )
        share = e["daily_publish_s"] / e["daily_wall_s"]
        _row(
            f"publish's share of the daily run on {n:,}",
            f"{share:.0%}",
            f"publish {e['daily_publish_s']:.2f} s of {e['daily_wall_s']:.2f} s",
            f"<{TARGET_PUBLISH_SHARE:.0%}: {_verdict(share < TARGET_PUBLISH_SHARE, n)}",
        )
        met = e["file_ratio"] <= TARGET_FILE_RATIO
        _row(
            f"writer's file after {days} daily run(s) on {n:,}, against a compacted copy",
            f"{e['file_ratio']:.2f}× ({e['writer_mib']:,.0f} MiB)",
            f"compacted: {e['compacted_mib']:,.0f} MiB; articles in {e['articles_row_groups']} row groups; "
            f"before: {BEFORE['file_ratio']}× after 5 days",
            f"≤{TARGET_FILE_RATIO}× after {TARGET_FILE_DAYS} days: {_verdict(met, n)}"
            + (f" (measured after {days})" if days != TARGET_FILE_DAYS else ""),
        )
    if e.get("reports_s"):
        slowest = max(e["reports_s"], key=e["reports_s"].get)
        _row(
            f"reports on {n:,} posts (whole range)",
            f"same_story {e['reports_s'].get('same_story', 0):.2f} s",
            f"slowest: {slowest} {e['reports_s'][slowest]:.2f} s",
        )
    if e.get("search_ms"):
        worst = max(e["search_ms"], key=lambda q: e["search_ms"][q]["median_ms"])
        best = min(e["search_ms"], key=lambda q: e["search_ms"][q]["median_ms"])
        w, b = e["search_ms"][worst], e["search_ms"][best]
        _row(
            f"search(q) on {n:,} posts",
            f"{w['median_ms']:.0f} ms median for '{worst}' (the best 20 of {w['matches']:,} matches)",
            f"fastest: '{best}' {b['median_ms']:.0f} ms (of {b['matches']:,} matches)",
            f"<{TARGET_SEARCH_MS} ms: {_verdict(w['median_ms'] < TARGET_SEARCH_MS, n)}",
        )


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "not in the run's log"


def breakdown_stages(r: dict) -> dict[str, float]:
    """µs per post, stage by stage: the transform's from :func:`bench_breakdown` (one core), then
    load and publish from the largest run end to end (their seconds over its posts: per post as
    the run spends them)."""
    stages = dict(r["breakdown"]["us_per_post"])
    e = r["e2e"][-1]
    for step in ("load", "publish"):
        if e.get(f"{step}_s") is not None:
            stages[f"{step} (end to end, {e['posts']:,} posts)"] = e[f"{step}_s"] / e["posts"] * 1e6
    return stages


def print_breakdown(r: dict) -> None:
    """Where one post's time goes: the stages of :func:`breakdown_stages` and their shares."""
    stages = r["breakdown"]["table_us_per_post"]
    total = sum(stages.values())
    print(
        f"Per-post breakdown, one core, {r['breakdown']['posts']:,} posts (the transform's stages timed post by post, as it runs them)"
    )
    print()
    before = BEFORE["us_per_post"]
    print(f"| stage | µs/post | share | before ({BEFORE['date']}), µs/post |")
    print("|---|---|---|---|")
    for stage, us in stages.items():
        was = before.get(stage.split(" (end to end")[0] + (" (end to end)" if "(end to end" in stage else ""))
        print(f"| {stage} | {us:,.0f} | {us / total:.0%} | {was if was is not None else '—':,} |")
    print(f"| total | {total:,.0f} | 100% | {sum(before.values()):,} |")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from news_etl.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10000, help="posts in the synthetic site (default 10000)")
    parser.add_argument("--big", type=int, help="also run end to end on a second site of this many posts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is printed (default 3)")
    parser.add_argument("--workers", type=int, help="transform processes (default: one per core)")
    parser.add_argument("--dag", action="store_true", help="also time the DAG with airflow dags test on 1,000 posts")
    parser.add_argument(
        "--huge", type=int, help="also run end to end once on a site this big (1000000): RSS growth, publish time"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=1,
        help="daily runs (300 new, 100 edited posts) on the --big site (without one, on the first); "
        "30 for the file-size target; 0: none (default 1)",
    )
    parser.add_argument(
        "--varied",
        type=float,
        default=VARIED,
        help=f"share of each text's Chinese characters changed at random (default {VARIED}; 0: the old site)",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    try:
        run(
            posts=args.posts,
            repeat=args.repeat,
            workers=args.workers or Settings().workers,
            dag=args.dag,
            big=args.big,
            out=Path(args.json) if args.json else None,
            huge=args.huge,
            days=args.days,
            varied=args.varied,
        )
    except NoRoom as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
