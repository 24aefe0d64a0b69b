"""The git source on real repositories built on the spot: diffs, renames, force-pushes, errors."""

from __future__ import annotations

import socket

import pytest
from site_repo import SiteRepo, git, post_text
from warehouse_checks import rows, scalar

from news_etl import pipeline
from news_etl.config import Settings
from news_etl.sources import Deleted, Known, SourceError, open_source
from news_etl.sources.dir import DirSource
from news_etl.sources.feed import FeedSource
from news_etl.sources.git import GitSource, is_post_path


def open_git(repo: SiteRepo, tmp_path, retries: int = 2) -> GitSource:
    settings = Settings().with_(
        cache=tmp_path / "cache", source_retries=retries, source_backoff=0.01, source_timeout=5.0
    )
    return open_source(f"git+{repo.url}", settings)


def collect(source, known=None, previous=None):
    posts, deleted = {}, []
    for item in source.changes(known or {}, previous):
        if isinstance(item, Deleted):
            deleted.append(item.path)
        else:
            posts[item.path] = item
    return posts, deleted


def known_of(posts) -> dict[str, Known]:
    return {p.path: Known(p.content_hash, p.size, p.mtime_ns) for p in posts.values()}


def settings_for(tmp_path, spec: str) -> Settings:
    return Settings().with_(
        source=spec,
        warehouse=tmp_path / "w.duckdb",
        published=tmp_path / "p.duckdb",
        staging=tmp_path / "staging",
        cache=tmp_path / "cache",
        workers=1,
        source_retries=2,
        source_backoff=0.01,
        source_timeout=5.0,
    )


@pytest.fixture
def repo(tmp_path):
    return SiteRepo(tmp_path / "remote")


def test_specs_open_the_right_source(tmp_path):
    assert isinstance(open_source(str(tmp_path)), DirSource)
    assert isinstance(open_source(f"dir+{tmp_path}"), DirSource)
    git_source = open_source(f"git+{tmp_path}#main", Settings().with_(cache=tmp_path / "c"))
    assert isinstance(git_source, GitSource) and git_source.branch == "main"
    assert str(git_source.clone).startswith(str(tmp_path / "c"))
    assert isinstance(open_source("feed+http://127.0.0.1:1/feed.xml"), FeedSource)
    for bad in ("git+", "feed+  "):
        with pytest.raises(SourceError, match="names no location"):
            open_source(bad)


def test_credentials_in_a_url_are_never_shown(tmp_path):
    source = GitSource("https://bot:s3cret-token@example.invalid/finews.git", cache=tmp_path)
    assert "s3cret" not in source.name and "s3cret" not in str(source.clone)
    assert source.name == "git:https://example.invalid/finews.git"


def test_post_paths():
    assert is_post_path("_posts/2026-11-25-1.md") and is_post_path("old_post/2026-11-20-2.md")
    assert is_post_path("emnews/_posts/2026-11-25-3.md")
    assert not is_post_path("_posts/README.md") and not is_post_path("about.md")
    assert not is_post_path("_drafts/2026-11-25-4.md") and not is_post_path("_posts/x.txt")


def test_first_run_reads_every_post_at_head(repo, tmp_path):
    source = open_git(repo, tmp_path)
    posts, deleted = collect(source)
    assert source.mode == "full" and source.warnings == []
    assert sorted(posts) == repo.posts() and deleted == []
    assert source.seen == len(repo.posts()) == 48
    assert source.revision == repo.head()
    assert all(p.source == f"git:{repo.url}" for p in posts.values())
    raw = posts["_posts/2026-11-23-202611232410281345.md"].raw
    assert raw == repo.path("_posts/2026-11-23-202611232410281345.md").read_bytes()


def test_diff_finds_added_modified_renamed_and_deleted_posts(repo, tmp_path):
    source = open_git(repo, tmp_path)
    first, _ = collect(source)
    known, previous = known_of(first), source.revision
    names = repo.posts()
    repo.write("_posts/2026-11-26-900001.md", post_text("900001", "新增"))
    repo.write(names[0], repo.path(names[0]).read_text(encoding="utf-8") + "\n<p>更正：数字有误。</p>\n")
    moved = names[1].replace("_posts/", "old_post/")
    repo.move(names[1], moved)
    repo.delete(names[2])
    repo.write("_drafts/2026-11-26-900002.md", post_text("900002", "草稿"))  # not a post
    repo.commit("a day of scraping")

    source = open_git(repo, tmp_path)
    posts, deleted = collect(source, known, previous)
    assert source.mode == "diff" and source.warnings == []
    assert sorted(posts) == sorted(["_posts/2026-11-26-900001.md", names[0], moved])
    assert sorted(deleted) == sorted([names[1], names[2]])
    assert source.seen == 48 - 1 + 1
    # only the changed posts were read: the cost follows the changes, not the repository
    assert len(posts) == 3


def test_no_new_commit_reads_nothing(repo, tmp_path):
    source = open_git(repo, tmp_path)
    first, _ = collect(source)
    marker = source.clone / "kept-between-runs"
    marker.write_text("the clone is made once and fetched afterwards")
    again = open_git(repo, tmp_path)
    posts, deleted = collect(again, known_of(first), source.revision)
    assert (posts, deleted, again.mode, again.revision) == ({}, [], "same", source.revision)
    assert marker.exists()


def test_force_push_falls_back_to_a_full_scan_with_a_warning(repo, tmp_path, caplog):
    base = repo.head()
    repo.write("_posts/2026-11-26-900003.md", post_text("900003", "会被改写"))
    repo.commit("post to be rewritten")
    source = open_git(repo, tmp_path)
    first, _ = collect(source)
    known, previous = known_of(first), source.revision
    # history rewritten: the post commit is replaced by one with other content, and gc'd on the remote
    repo.write("_posts/2026-11-26-900003.md", post_text("900003", "改写后的标题"))
    repo.force_push(base, "rewritten")
    source = open_git(repo, tmp_path)
    with caplog.at_level("WARNING"):
        posts, deleted = collect(source, known, previous)
    assert source.mode == "full"
    assert any("history was rewritten" in w for w in source.warnings), source.warnings
    assert "history was rewritten" in caplog.text
    assert sorted(posts) == ["_posts/2026-11-26-900003.md"] and deleted == []


def test_an_unknown_watermark_commit_falls_back_to_a_full_scan(repo, tmp_path):
    source = open_git(repo, tmp_path)
    first, _ = collect(source)
    source = open_git(repo, tmp_path)
    posts, deleted = collect(source, known_of(first), "0123456789abcdef0123456789abcdef01234567")
    assert source.mode == "full" and (posts, deleted) == ({}, [])
    assert "is not in the repository" in source.warnings[0]


def test_an_unreachable_repository_fails_after_retries_and_leaves_the_warehouse_alone(tmp_path, caplog):
    missing = tmp_path / "no-such-repo.git"
    with caplog.at_level("WARNING"):
        with pytest.raises(SourceError, match=r"git repository .*no-such-repo\.git is unreachable after 2 attempt"):
            collect(open_git(type("R", (), {"url": str(missing)})(), tmp_path))
    assert "attempt 1 of 2 failed" in caplog.text
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings_for(tmp_path, f"git+http://127.0.0.1:{port}/finews.git")
    with pytest.raises(SourceError, match=rf"git repository http://127.0.0.1:{port}/finews.git is unreachable"):
        pipeline.run_all(settings)
    assert not settings.warehouse.exists()


def test_a_repository_that_is_not_a_jekyll_site_is_refused(tmp_path):
    repo = SiteRepo(tmp_path / "remote", with_sample=False, jekyll=False)
    with pytest.raises(SourceError, match=r"is not a Jekyll site: its top level has no _config.yml and no _posts/"):
        collect(open_git(repo, tmp_path))


def test_an_empty_repository_is_refused(tmp_path):
    git(tmp_path, "init", "--quiet", "--bare", str(tmp_path / "empty.git"))
    with pytest.raises(SourceError, match="has no commit"):
        collect(open_git(type("R", (), {"url": str(tmp_path / "empty.git")})(), tmp_path))


def test_legacy_encodings_are_read_and_other_bytes_rejected_with_their_bytes(repo, tmp_path):
    gb = post_text("900010", "国标编码的新闻").encode("gb18030")
    broken = b'---\ntitle: "x"\ndate: 2026-11-26\n---\n\n\xff\xfe\x80\x81\xfe\xff body'
    repo.write("_posts/2026-11-26-900010.md", gb)
    repo.write("_posts/2026-11-26-900011.md", broken)
    repo.commit("legacy encodings")
    settings = settings_for(tmp_path, f"git+{repo.url}")
    pipeline.run_all(settings)
    title, warnings = rows(settings.warehouse, "SELECT title, warnings FROM articles WHERE post_id = '900010'")[0]
    assert title == "国标编码的新闻" and "decoded as gb18030, not UTF-8" in warnings
    reason, raw = rows(
        settings.warehouse, "SELECT reason, raw FROM rejects WHERE path = ?", ["_posts/2026-11-26-900011.md"]
    )[0]
    assert reason == "not UTF-8" and bytes(raw) == broken


def test_two_files_with_one_post_id_one_article_and_a_reject(repo, tmp_path):
    repo.write("_posts/2026-11-26-900020.md", post_text("900020", "原稿"))
    repo.write("old_post/2026-11-26-900020.md", post_text("900020", "副本", body="另一份文件，同一个帖子编号。"))
    repo.commit("one id, two files")
    settings = settings_for(tmp_path, f"git+{repo.url}")
    pipeline.run_all(settings)
    assert rows(settings.warehouse, "SELECT path, title FROM articles WHERE post_id = '900020'") == [
        ("_posts/2026-11-26-900020.md", "原稿")
    ]
    reason, detail = rows(
        settings.warehouse, "SELECT reason, detail FROM rejects WHERE path = ?", ["old_post/2026-11-26-900020.md"]
    )[0]
    assert reason == "duplicate post id" and "_posts/2026-11-26-900020.md" in detail
    # the file holding the article goes: the article moves to the other file, it is not deleted
    repo.delete("_posts/2026-11-26-900020.md")
    repo.commit("the original goes")
    pipeline.run_all(settings)
    assert rows(
        settings.warehouse, "SELECT path, title, deleted_at IS NULL, version FROM articles WHERE post_id = '900020'"
    ) == [("old_post/2026-11-26-900020.md", "副本", True, 2)]
    assert (
        scalar(
            settings.warehouse, "SELECT count(*) FROM article_versions WHERE post_id = '900020' AND change = 'deleted'"
        )
        == 0
    )
