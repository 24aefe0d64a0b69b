"""One input can only become one reject (reason and raw bytes), never a failed or blocked run.

- file names that print alike (a real newline and the two characters ``\\n``; the byte ``\\xff``
  and the text ``\\xff``) are different paths: no collision in staging, no hard expectation
  tripped, no article flipping between them run after run;
- two files with one post id: the newest publication wins (then the first path), whatever order
  the runs saw them in; the other is a ``duplicate post id`` reject with its raw bytes;
- a file whose modification time does not fit the warehouse (year 2300) is a reject naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import settings_in
from reliability import ROOT, cli_env, record
from warehouse_checks import fingerprint, rows

from news_etl import pipeline
from news_etl.contract import MAX_POST_BYTES
from news_etl.ingest.sources.dir import printable_path
from news_etl.settings import Settings

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]


def post(title: str, when: str = "2026-11-20 10:00:00", body: str = "正文一段。") -> bytes:
    return f"---\ntitle: {title}\ndate: {when}\n---\n<p>{body}</p>\n".encode()


def settings_for(tmp_path: Path) -> Settings:
    return settings_in(tmp_path, tmp_path / "posts", source_backoff=2.0)


ALIKE = [  # (name as bytes, path in the warehouse)
    (b"2026-11-20-a\nb.md", "2026-11-20-a\\nb.md"),
    (b"2026-11-20-a\\nb.md", "2026-11-20-a\\\\nb.md"),
    (b"2026-11-20-c\xff.md", "2026-11-20-c\\xff.md"),
    (b"2026-11-20-c\\xff.md", "2026-11-20-c\\\\xff.md"),
    (b"2026-11-20-d\xc2\x85.md", "2026-11-20-d\\u0085.md"),  # U+0085, not the byte 0x85
    (b"2026-11-20-d\x85.md", "2026-11-20-d\\x85.md"),
]


def test_printable_paths_are_one_to_one():
    spelled = [printable_path(os.fsdecode(name)) for name, _ in ALIKE]
    assert spelled == [path for _, path in ALIKE]
    assert printable_path("_posts/2026-11-20-普通的名字.md") == "_posts/2026-11-20-普通的名字.md"
    assert printable_path("2026-11-20-\u202eevil.md") == "2026-11-20-\\u202eevil.md"


@pytest.mark.parametrize("together", [True, False], ids=["same-run", "one-run-later"])
def test_names_that_print_alike_never_collide(tmp_path, together):
    s = settings_for(tmp_path)
    root = os.fsencode(s.source)
    os.makedirs(root)
    first, later = (ALIKE, []) if together else (ALIKE[::2], ALIKE[1::2])
    for i, (name, _) in enumerate(first):
        with open(os.path.join(root, name), "wb") as fh:
            fh.write(post(f"第{i}篇"))
    pipeline.run_all(s)
    for i, (name, _) in enumerate(later, start=10):
        with open(os.path.join(root, name), "wb") as fh:
            fh.write(post(f"第{i}篇"))
    result = pipeline.run_all(s)
    assert result["validate"]["failed_hard"] == 0
    assert sorted(p for (p,) in rows(s.warehouse, "SELECT path FROM articles")) == sorted(p for _, p in ALIKE)
    assert rows(s.warehouse, "SELECT count(*) FROM rejects") == [(0,)]
    before = fingerprint(s.warehouse)
    again = pipeline.run_all(s)  # nothing flips between two files that print alike
    assert again["fetch"]["changed"] == 0 and fingerprint(s.warehouse) == before
    record(
        "input",
        f"file names that print alike ({'one run' if together else 'over two runs'})",
        inputs=len(ALIKE),
        articles=len(ALIKE),
        rejects=0,
        lost=0,
    )


def write(source: Path, rel: str, data: bytes) -> None:
    path = source / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


OLDER = ("a/2026-11-20-same.md", post("旧的一篇", "2026-11-20 10:00:00"))
NEWER = ("b/2026-11-21-same.md", post("新的一篇", "2026-11-21 09:00:00"))


@pytest.mark.parametrize("arrival", ["together", "older first", "newer first"])
def test_duplicate_post_ids_the_newest_wins_whatever_the_order(tmp_path, arrival):
    s = settings_for(tmp_path)
    source = Path(s.source)
    write(source, "2026-11-20-other.md", post("别的"))
    steps = {"together": [[OLDER, NEWER]], "older first": [[OLDER], [NEWER]], "newer first": [[NEWER], [OLDER]]}
    for files in steps[arrival]:
        for rel, data in files:
            write(source, rel, data)
        assert pipeline.run_all(s)["validate"]["failed_hard"] == 0
    assert rows(s.warehouse, "SELECT path, title FROM articles WHERE post_id = 'same'") == [(NEWER[0], "新的一篇")]
    (reject,) = rows(s.warehouse, "SELECT path, reason, detail, raw FROM rejects")
    assert reject[:2] == (OLDER[0], "duplicate post id") and NEWER[0] in reject[2]
    assert bytes(reject[3]) == OLDER[1]
    assert rows(s.warehouse, "SELECT path, outcome FROM source_files WHERE post_id IS NULL") == [(OLDER[0], "reject")]
    before = fingerprint(s.warehouse)
    pipeline.run_all(s)  # and it stays so
    assert fingerprint(s.warehouse) == before
    # the newest goes: the older file takes the article over
    (source / NEWER[0]).unlink()
    load = pipeline.run_all(s)["load"]
    assert (load["updated"], load["deleted"]) == (1, 0)
    assert rows(s.warehouse, "SELECT path, title FROM articles WHERE post_id = 'same'") == [(OLDER[0], "旧的一篇")]
    record("input", f"two files with one post id ({arrival})", inputs=2, articles=1, rejects=1, lost=0)


def test_copies_with_one_publication_time_keep_the_first_path(tmp_path):
    s = settings_for(tmp_path)
    source = Path(s.source)
    data = post("搬家的一篇")
    write(source, "old_post/2026-11-20-moving.md", data)
    pipeline.run_all(s)
    write(source, "_posts/2026-11-20-moving.md", data)
    pipeline.run_all(s)
    assert rows(s.warehouse, "SELECT path FROM articles") == [("_posts/2026-11-20-moving.md",)]
    assert rows(s.warehouse, "SELECT path, reason FROM rejects") == [
        ("old_post/2026-11-20-moving.md", "duplicate post id")
    ]


def test_a_file_time_out_of_range_is_a_reject_naming_the_file(tmp_path):
    s = settings_for(tmp_path)
    source = Path(s.source)
    write(source, "2026-11-20-fine.md", post("正常"))
    write(source, "2026-11-20-future.md", post("来自未来"))
    year_2300 = 10_413_792_000  # 2300-01-01, seconds after 1970: more nanoseconds than an int64 holds
    os.utime(source / "2026-11-20-future.md", (year_2300, year_2300))
    if os.stat(source / "2026-11-20-future.md").st_mtime < year_2300 - 1:
        pytest.skip("this file system cannot store a file time in 2300")
    result = pipeline.run_all(s)
    assert result["load"]["new"] == 1
    (reject,) = rows(s.warehouse, "SELECT path, reason, detail, raw FROM rejects")
    assert reject[:2] == ("2026-11-20-future.md", "file time out of range") and "1677 to 2262" in reject[2]
    assert bytes(reject[3]) == post("来自未来")
    assert pipeline.run_all(s)["fetch"]["changed"] == 0  # recorded once, not staged every run
    os.utime(source / "2026-11-20-future.md")  # the time set right: it loads
    assert pipeline.run_all(s)["load"]["new"] == 1
    assert rows(s.warehouse, "SELECT count(*) FROM articles") == [(2,)]
    record("input", "a file time in 2300", inputs=2, articles=1, rejects=1, lost=0)


def test_hard_links_symlinks_fifos_and_other_files_are_skipped_and_counted(tmp_path):
    s = settings_for(tmp_path)
    source = Path(s.source)
    outside = tmp_path / "outside"
    outside.mkdir()
    write(source, "2026-11-20-fine.md", post("正常"))
    write(outside, "2026-11-20-secret.md", post("外面的秘密"))
    os.link(outside / "2026-11-20-secret.md", source / "2026-11-20-hardlink.md")  # another file's content
    write(source, "2026-11-20-twice.md", post("两个名字"))
    os.link(source / "2026-11-20-twice.md", source / "2026-11-20-twice-again.md")  # both names inside: read
    os.symlink(outside / "2026-11-20-secret.md", source / "2026-11-20-symlink.md")
    os.symlink(outside, source / "linked-folder")
    os.mkfifo(source / "2026-11-20-fifo.md")
    write(source, "picture.png", b"\x89PNG")
    write(source, "notes.txt", b"notes")
    write(source, "README.md", b"about these posts")
    result = pipeline.run_all(s)
    paths = sorted(p for (p,) in rows(s.warehouse, "SELECT path FROM source_files"))
    assert paths == ["2026-11-20-fine.md", "2026-11-20-twice-again.md", "2026-11-20-twice.md"]
    assert all("外面的秘密" not in b for (b,) in rows(s.warehouse, "SELECT body_text FROM articles"))
    message = rows(s.warehouse, "SELECT message FROM etl_runs")[0][0]
    want = (
        "2 symbolic links (not followed), 1 FIFO, socket or device (never opened), "
        "1 hard link to a file outside the source (not read), 2 files that are not posts (not .md or .markdown)"
    )
    assert want in message and want in result["fetch"]["warnings"][0]
    shutil.rmtree(outside)
    record(
        "input",
        "posts beside 6 links, FIFOs and other files in a dir source (those skipped and counted)",
        inputs=3,
        articles=3,
        rejects=0,
        lost=0,
    )


RUN_CHILD = textwrap.dedent(r"""
    import json, sys
    from news_etl.__main__ import main
    rc = main(sys.argv[2:])
    # the peak of this process image (VmHWM): ru_maxrss would also count the parent's size at fork
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    json.dump({"rc": rc, "maxrss_mb": hwm / 1024}, open(sys.argv[1], "w"))
""")
#: What a run may use with the largest post accepted, in its worst shape for the cleaner.
LIMIT_RSS_MB = 1024


@pytest.mark.slow
def test_memory_is_bounded_for_the_largest_post_accepted(tmp_path):
    """One post just under MAX_POST_BYTES made of the smallest paragraphs (the most nodes for the
    HTML parser per byte), loaded by a real CLI run in a child process whose peak RSS is measured."""
    source = tmp_path / "posts"
    source.mkdir()
    head = "---\ntitle: 最大的一篇\ndate: 2026-11-20 10:00:00\n---\n".encode()
    unit = "<p>大</p>\n".encode()
    data = head + unit * ((MAX_POST_BYTES - len(head)) // len(unit))
    assert MAX_POST_BYTES - len(unit) < len(data) <= MAX_POST_BYTES
    (source / "2026-11-20-largest.md").write_bytes(data)
    report = tmp_path / "child.json"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_CHILD,
            str(report),
            "run",
            "--source",
            str(source),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--published",
            str(tmp_path / "p.duckdb"),
            "--staging",
            str(tmp_path / "s"),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=280,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    child = json.loads(report.read_text())
    assert rows(tmp_path / "w.duckdb", "SELECT count(*) FROM articles") == [(1,)]
    assert child["maxrss_mb"] < LIMIT_RSS_MB, f"peak RSS {child['maxrss_mb']:.0f} MB"
    record(
        "input",
        f"a post at the accepted limit ({MAX_POST_BYTES // 1024} KiB of tiny paragraphs)",
        inputs=1,
        articles=1,
        rejects=0,
        lost=0,
        peak_rss_mb=round(child["maxrss_mb"]),
    )
