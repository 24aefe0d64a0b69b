"""A run with no change: the dir source names the revision it read without sorting and hashing every
path again when nothing was staged and nothing is gone, and that revision is the one a full
computation gives, whatever changed on disk without changing a file's content."""

from __future__ import annotations

import os
from pathlib import Path

from news_etl.ingest.sources.base import Deleted
from news_etl.ingest.sources.dir import DirSource
from news_etl.model import Known


def _post(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(f'---\ntitle: "{text}"\ndate: 2026-11-20 10:00:00\n---\n{text}。\n', encoding="utf-8")
    return path


def _fetch(folder: Path, known: dict[str, Known], previous: str | None) -> tuple[list, str | None]:
    source = DirSource(str(folder))
    items = list(source.changes(known, previous))
    return items, source.revision


def _known_after(folder: Path, items: list, known: dict[str, Known]) -> dict[str, Known]:
    """What a load writes into ``source_files``: every staged file with its hash, size and time."""
    out = dict(known)
    for item in items:
        if isinstance(item, Deleted):
            out.pop(item.path)
        else:
            out[item.path] = Known(item.content_hash, item.size, item.mtime_ns)
    return out


def test_an_unchanged_source_keeps_its_revision_and_it_is_the_computed_one(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for i in range(5):
        _post(site, f"2026-11-20-{i:03d}.md", f"第{i}篇")
    items, revision = _fetch(site, {}, None)
    assert len(items) == 5 and revision
    known = _known_after(site, items, {})

    # nothing changed: nothing staged, the previous revision
    items, again = _fetch(site, known, revision)
    assert items == [] and again == revision
    # the same revision as a full computation over every path and hash
    assert _fetch(site, known, None)[1] == revision

    # a file touched (its time changed, its content not): read again, not staged, the same revision
    touched = site / "2026-11-20-002.md"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    items, again = _fetch(site, known, revision)
    assert items == [] and again == revision == _fetch(site, known, None)[1]


def test_a_change_or_a_deletion_gives_a_new_revision_and_reads_the_files_sharing_its_post_id(tmp_path):
    site = tmp_path / "site"
    (site / "old_post").mkdir(parents=True)
    _post(site, "2026-11-20-001.md", "一")
    _post(site, "2026-11-20-002.md", "二")
    _post(site / "old_post", "2026-11-20-002.md", "二")  # another file of post 002
    items, revision = _fetch(site, {}, None)
    known = _known_after(site, items, {})

    # an edit: staged, and the other file of its post id read again; a new revision
    _post(site, "2026-11-20-002.md", "二（更正）")
    items, edited = _fetch(site, known, revision)
    assert sorted(i.path for i in items) == ["2026-11-20-002.md", "old_post/2026-11-20-002.md"]
    assert edited != revision and edited == _fetch(site, known, None)[1]
    known = _known_after(site, items, known)

    # a deletion, with every other file as it was: a Deleted, a new revision
    (site / "2026-11-20-001.md").unlink()
    items, deleted = _fetch(site, known, edited)
    assert [i.path for i in items if isinstance(i, Deleted)] == ["2026-11-20-001.md"]
    assert deleted not in (edited, revision)

    # a new file where one is gone (as many files as known, one of them unknown): both seen
    _post(site, "2026-11-20-003.md", "三")
    known = _known_after(site, items, known)
    (site / "old_post" / "2026-11-20-002.md").unlink()
    items, moved = _fetch(site, known, deleted)
    seen = {(type(i).__name__, i.path) for i in items}
    assert {("Deleted", "old_post/2026-11-20-002.md"), ("RawPost", "2026-11-20-003.md")} <= seen
    assert moved != deleted and moved == _fetch(site, known, None)[1]
