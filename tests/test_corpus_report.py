"""``python -m news_etl corpus-report``: the template classifier against the corpus manifest, and the command."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, raw_post

from news_etl.ingest.corpus_report import build_report, format_report, read_folder, shape_of, template_of


def _manifest(corpus_dir: Path) -> dict[str, str]:
    """File name → template label, as the people who collected the corpus wrote it (``tpl=T6-…``)."""
    with open(corpus_dir.parent / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        return {
            row["filename"]: row["note"].split("tpl=", 1)[1].split("-", 1)[0]
            for row in csv.DictReader(fh, delimiter="\t")
        }


def test_the_inferred_template_of_every_post_is_the_manifests(corpus_dir):
    manifest = _manifest(corpus_dir)
    report = build_report(raw_post(f) for f in sorted(corpus_dir.glob("*.md")))
    assert report.template_of_path == manifest
    assert set(report.templates) == {"T0", "T1", "T1c", "T2", "T2b", "T3", "T4", "T5", "T6", "T7", "T8"}


def test_report_counts_outlets_rejects_and_missing_fields(corpus_dir):
    report = build_report(raw_post(f) for f in sorted(corpus_dir.glob("*.md")))
    assert (report.posts, report.articles) == (116, 115)
    assert report.rejects == {"no title": 1}
    assert sum(report.outlets.values()) == 115 and report.outlets["东财滚动新闻"] == 107
    assert report.missing["byline"] == 114 and report.missing["outlet"] == 0
    assert report.warnings["N blank line(s) before the front matter (Jekyll would not read it)"] == 4
    text = format_report(report, "corpus")
    assert "per template" in text and "T6" in text and "no title" in text and "fields most often missing" in text


def test_shapes_of_unreadable_and_unknown_posts():
    assert template_of(shape_of("x.md", b"no front matter here")) == "-"
    assert template_of(shape_of("x.md", b"")) == "-"
    odd = b"---\ntitle: a\ncategories: emnews\n---\ntext\n\n[\xe8\xbf\x94\xe5\x9b\x9e](mailto:x)\n"  # [返回](mailto:x)
    assert template_of(shape_of("2022-01-01-1.md", odd)) == "?"
    nw = b"---\ntitle: a\ncategories: x\n---\n<p>t</p>\n"
    assert template_of(shape_of("2022-01-01-NW1.md", nw)) == "T7"
    assert template_of(shape_of("2022-01-01-NW1.md", nw), byline="本报记者 张三") == "T8"


def test_cli_prints_the_report_and_fails_cleanly_on_a_missing_folder(corpus_dir, tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), "corpus-report", str(corpus_dir.parent)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"corpus {corpus_dir.parent}: 116 posts, 115 articles, 1 rejects")
    assert "东财滚动新闻" in done.stdout and "T5" in done.stdout
    missing = subprocess.run(
        [str(Path(sys.executable).with_name("news-etl")), "corpus-report", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_read_folder_skips_readme(tmp_path):
    (tmp_path / "README.md").write_text("# not a post\n", encoding="utf-8")
    (tmp_path / "2022-01-01-1.md").write_text("---\ntitle: 标题\ndate: 2022-01-01\n---\n正文。\n", encoding="utf-8")
    report = build_report(read_folder(str(tmp_path)))
    assert (report.posts, report.articles) == (1, 1)
    assert report.template_of_path == {"2022-01-01-1.md": "T1"}
