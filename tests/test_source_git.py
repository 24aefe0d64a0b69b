"""The git source on real repositories built on the spot: diffs, renames, force-pushes, errors."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import settings_in
from site_repo import GitHttpServer, SiteRepo, git, post_text, serve_partial_clones
from warehouse_checks import fingerprint, rows, scalar

from news_etl import pipeline
from news_etl.ingest.sources import open_source
from news_etl.ingest.sources.base import Deleted, SourceError
from news_etl.ingest.sources.dir import DirSource
from news_etl.ingest.sources.feed import FeedSource
from news_etl.ingest.sources.git import GitSource, is_post_path
from news_etl.model import Known
from news_etl.settings import Settings


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
    return settings_in(tmp_path, spec, source_retries=2, source_timeout=5.0)


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
    # a local path that is no repository is no network: it fails at once, not transient
    missing = tmp_path / "no-such-repo.git"
    with caplog.at_level("WARNING"):
        with pytest.raises(SourceError, match=r"git clone failed on .*no-such-repo\.git") as local:
            collect(open_git(type("R", (), {"url": str(missing)})(), tmp_path))
    assert "attempt 1 of 2 failed" not in caplog.text and not local.value.transient
    # a remote that does not answer is tried again, then fails as transient (Airflow's retries may mend it)
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings_for(tmp_path, f"git+http://127.0.0.1:{port}/finews.git")
    with caplog.at_level("WARNING"):
        with pytest.raises(
            SourceError, match=rf"git repository http://127.0.0.1:{port}/finews.git is unreachable"
        ) as remote:
            pipeline.run_all(settings)
    assert remote.value.transient and "attempt 1 of" in caplog.text
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


# --- specs are checked before git sees them ----------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("-rf", "begins with '-'"),
        ("dir+--help", "begins with '-'"),
        ("git+--upload-pack=touch /tmp/pwned", "begins with '-'"),
        ("git+-uhack", "begins with '-'"),
        ("feed+-x", "begins with '-'"),
        ("git+ext::sh -c touch% /tmp/pwned", "transport ext::"),
        ("git+fd::3", "transport fd::"),
        ("git+ftp://example.invalid/site.git", "transport ftp://"),
        ("git+rsync://example.invalid/site.git", "transport rsync://"),
        ("git+/srv/site.git\n--upload-pack=x", "control characters"),
        ("git+https://example.invalid/site\x1b[2J.git", "control characters"),
        ("git+/srv/site.git#--orphan", "no valid branch name"),
        ("git+/srv/site.git#main..HEAD", "no valid branch name"),
        ("git+/srv/site.git#HEAD@{1}", "no valid branch name"),
        ("feed+file:///etc/passwd", "http:// or https:// only"),
        ("feed+ftp://example.invalid/feed.xml", "http:// or https:// only"),
    ],
)
def test_a_spec_git_could_read_as_an_option_or_a_command_is_refused(spec, message, tmp_path):
    with pytest.raises(SourceError, match=re.escape(message)):
        open_source(spec, Settings().with_(cache=tmp_path))
    assert not (tmp_path / "git").exists()  # refused before anything is cloned


@pytest.mark.parametrize(
    "spec",
    [
        "git+https://example.invalid/site.git",
        "git+http://127.0.0.1:8080/site.git#feature/x",
        "git+ssh://git@example.invalid/site.git",
        "git+git://example.invalid/site.git",
        "git+file:///srv/site.git",
        "git+git@example.invalid:finews/site.git",
        "git+/srv/site.git#main",
        "git+./site",
        "feed+https://example.invalid/feed.xml",
        "./-odd-folder-name",
    ],
)
def test_the_allowed_transports_open(spec, tmp_path):
    assert open_source(spec, Settings().with_(cache=tmp_path)).name


def test_a_refused_spec_never_shows_its_password(tmp_path):
    with pytest.raises(SourceError) as refused:
        open_source("git+https://bot:p@ss:w/rd@example.invalid/site.git#a..b", Settings().with_(cache=tmp_path))
    assert "p@ss" not in str(refused.value) and "w/rd" not in str(refused.value)
    assert "https://example.invalid/site.git" in str(refused.value)


def test_git_itself_refuses_other_transports_too(repo, tmp_path):
    """Defence in depth: the source's git runs with GIT_ALLOW_PROTOCOL, so even a URL that got past
    the spec check could not start a remote helper."""
    source = open_git(repo, tmp_path)
    done = source._git("ls-remote", "--", "ext::sh -c 'touch pwned'", cwd=tmp_path, check=False)
    assert done.returncode != 0 and b"transport 'ext' not allowed" in done.stderr
    assert not (tmp_path / "pwned").exists()


def test_a_location_that_looks_like_an_option_runs_nothing_even_past_the_spec_check(tmp_path):
    """A GitSource made directly (no spec check): the location reaches git after ``--``, so git reads it
    as a repository (an ssh host beginning with '-', which git refuses), and nothing runs."""
    for location in (f"-oProxyCommand=touch {tmp_path}/pwned:site.git", f"--upload-pack=touch {tmp_path}/pwned:x"):
        source = GitSource(location, cache=tmp_path / "cache", retries=1, timeout=5.0)
        # a remote-looking one is tried and unreachable; a path-looking one is a local path that is
        # no repository, which fails at once: either way git ran no command of it
        with pytest.raises(SourceError, match="unreachable after 1 attempt|git clone failed on"):
            collect(source)
        assert not (tmp_path / "pwned").exists()


# --- credentials: through the environment only ---------------------------------------------------

SECRET = "p@ss:w/rd-S3cr3t"


def secret_forms(user: str = "bot", secret: str = SECRET) -> list[bytes]:
    """Every form the secret could take in a file, an argv or a message."""
    import base64
    from urllib.parse import quote

    return [
        secret.encode(),
        quote(secret, safe="").encode(),
        base64.b64encode(f"{user}:{secret}".encode()),
        b"S3cr3t",  # any part of it
    ]


def assert_no_secret(where: str, data: bytes | str) -> None:
    data = data.encode("utf-8", "replace") if isinstance(data, str) else data
    for form in secret_forms():
        assert form not in data, f"the secret ({form!r}) is in {where}"


def assert_no_secret_in_folder(folder: Path) -> int:
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        assert_no_secret(str(path), path.read_bytes())
    return len(files)


class ProcessWatch:
    """Every command line of a git process seen in /proc while it runs (polled every millisecond)."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                            cmdline = f.read()
                    except OSError:
                        continue
                    if b"git" in cmdline:
                        self.seen.add(cmdline.replace(b"\0", b" "))
            time.sleep(0.001)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def served(tmp_path):
    """The site's repository (committed on 2026-11-20) behind an HTTP server that wants user ``bot`` and
    the secret (Basic auth)."""
    repo = SiteRepo(tmp_path / "remote", when="2026-11-20T10:00:00+08:00")
    serve_partial_clones(repo.remote)
    with GitHttpServer(tmp_path / "remote", "bot", SECRET) as server:
        yield repo, server


def http_settings(tmp_path, spec: str, **more) -> Settings:
    return settings_for(tmp_path, spec).with_(**{"source_retries": 1, **more})


@pytest.mark.parametrize(
    "form", ["in the URL as typed", "in the URL percent-encoded", "in NEWS_ETL_GIT_TOKEN", "in the settings"]
)
def test_a_password_reaches_git_through_the_environment_only(served, tmp_path, form, monkeypatch, caplog, capfd):
    from urllib.parse import quote

    repo, server = served
    url = server.url("site.git")
    host = url.removeprefix("http://")
    settings = http_settings(tmp_path, f"git+{url}")
    if form == "in the URL as typed":
        settings = settings.with_(source=f"git+http://bot:{SECRET}@{host}")
    elif form == "in the URL percent-encoded":
        settings = settings.with_(source=f"git+http://bot:{quote(SECRET, safe='')}@{host}")
    elif form == "in NEWS_ETL_GIT_TOKEN":
        monkeypatch.setenv("NEWS_ETL_GIT_USERNAME", "bot")
        monkeypatch.setenv("NEWS_ETL_GIT_TOKEN", SECRET)
        settings = http_settings(tmp_path, f"git+{url}")  # read from the environment
    else:
        settings = settings.with_(git_username="bot", git_token=SECRET)
    assert_no_secret("the settings' repr", repr(settings))

    with caplog.at_level(logging.DEBUG), ProcessWatch() as watch:
        pipeline.run_all(settings)
    assert server.requests > 0 and server.refused == 0
    assert scalar(settings.warehouse, "SELECT count(*) FROM articles") > 40

    # the clone and the whole cache: the remote URL is credential-free, no file holds the secret
    source = open_source(settings.source, settings)
    assert git(source.clone, "config", "remote.origin.url") == url
    assert assert_no_secret_in_folder(settings.cache) > 5
    # the command lines of every git process (git clone/fetch and git-remote-http name the URL)
    assert any(url.encode() in cmd for cmd in watch.seen), watch.seen
    for cmd in watch.seen:
        assert_no_secret("a git command line", cmd)
    # logs, the warehouse and the snapshot (every table, every column)
    out, err = capfd.readouterr()
    assert_no_secret("the logs", caplog.text + out + err)
    for db in (settings.warehouse, settings.published):
        con = duckdb.connect(str(db), read_only=True)
        try:
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                assert_no_secret(f"{db.name}:{table}", repr(con.execute(f'SELECT * FROM "{table}"').fetchall()))
        finally:
            con.close()
    assert rows(settings.warehouse, "SELECT DISTINCT source FROM articles") == [(f"git:{url}",)]
    assert rows(settings.warehouse, "SELECT source FROM source_state") == [(f"git:{url}",)]


def test_a_wrong_password_fails_without_showing_it(served, tmp_path, caplog):
    repo, server = served
    host = server.url("site.git").removeprefix("http://")
    wrong = SECRET.replace("S3cr3t", "wr0ng-S3cr3t")
    settings = http_settings(tmp_path, f"git+http://bot:{wrong}@{host}", source_retries=2)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as failed:
        pipeline.run_all(settings)
    assert server.refused > 0 and server.requests == 0
    assert "unreachable after 2 attempt(s)" in str(failed.value)
    assert "the remote wants credentials or refused these" in str(failed.value)
    for text in (str(failed.value), caplog.text):
        assert "wr0ng" not in text and "p@ss" not in text and "w/rd" not in text
    assert_no_secret_in_folder(settings.cache)
    assert not settings.warehouse.exists()


def test_a_clone_made_with_the_password_in_its_config_is_cleaned(served, tmp_path):
    """Caches cloned before credentials left the URL hold them in ``config``: the next fetch removes them."""
    from urllib.parse import quote

    repo, server = served
    url = server.url("site.git")
    settings = http_settings(tmp_path, f"git+{url}", git_username="bot", git_token=SECRET)
    source = open_source(settings.source, settings)
    source.clone.parent.mkdir(parents=True)
    encoded = quote(SECRET, safe="")
    git(tmp_path, "clone", "--quiet", "--mirror", url.replace("//", f"//bot:{encoded}@"), str(source.clone))
    assert encoded.encode() in (source.clone / "config").read_bytes()  # the old way
    posts, _ = collect(source)
    assert len(posts) == 48 and source.mode == "full"
    assert_no_secret_in_folder(source.clone)


def test_a_password_is_only_sent_over_http(tmp_path):
    with pytest.raises(SourceError, match="ssh uses a key"):
        open_source(f"git+ssh://bot:{SECRET}@example.invalid/site.git", Settings().with_(cache=tmp_path))
    # a token in the environment is for http(s) remotes; an ssh user name is kept, it is no secret
    source = open_source("git+ssh://git@example.invalid/site.git", Settings().with_(cache=tmp_path, git_token="t"))
    assert source.url == "ssh://git@example.invalid/site.git" and "GIT_CONFIG_COUNT" not in source._env()


# --- a remote is cloned blob-less and shallow, and deepened only as far as a run asks -------------


def commit_count(clone: Path) -> int:
    return int(git(clone, "rev-list", "--count", "HEAD"))


def lean_site(tmp_path) -> SiteRepo:
    """A site whose history spans five days (one commit a day, 10:00 site time), with a big file that
    is no post in its first commit, served over file:// with partial clone on."""
    repo = SiteRepo(tmp_path / "remote", when="2026-11-20T10:00:00+08:00")
    repo.write("assets/big.bin", os.urandom(200_000))
    repo.commit("a big file no run reads", when="2026-11-20T11:00:00+08:00")
    for day in range(21, 26):
        repo.write(f"_posts/2026-11-{day}-90{day}.md", post_text(f"90{day}", f"第{day}日", day=f"2026-11-{day}"))
        repo.commit(f"day {day}", when=f"2026-11-{day}T10:00:00+08:00")
    serve_partial_clones(repo.remote)
    return repo


def as_of(day: int) -> str:
    return f"2026-11-{day + 1}T00:30:00+08:00"  # the end of the day's DAG interval


def test_a_remote_is_cloned_blob_less_and_shallow(tmp_path):
    repo = lean_site(tmp_path)
    source = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "cache"))
    posts, _ = collect(source)
    assert source.mode == "full" and sorted(posts) == repo.posts() and len(posts) == 53
    assert posts["_posts/2026-11-25-9025.md"].raw == repo.path("_posts/2026-11-25-9025.md").read_bytes()
    assert git(source.clone, "rev-parse", "--is-shallow-repository") == "true"
    assert commit_count(source.clone) == 1
    assert git(source.clone, "config", "remote.origin.partialclonefilter") == "blob:none"
    # the file that is no post never came: a blob-less clone fetches only the blobs a run reads
    big = git(repo.work, "rev-parse", "HEAD:assets/big.bin")
    missing = git(source.clone, "rev-list", "--objects", "--missing=print", "--no-object-names", "HEAD")
    assert f"?{big}" in missing.split()
    # a new commit: fetched, diffed against the watermark, one blob read
    known, previous = known_of(posts), source.revision
    repo.write("_posts/2026-11-26-9026.md", post_text("9026", "第26日", day="2026-11-26"))
    repo.commit("day 26", when="2026-11-26T10:00:00+08:00")
    source = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "cache"))
    posts, deleted = collect(source, known, previous)
    assert (source.mode, sorted(posts), deleted, source.warnings) == ("diff", ["_posts/2026-11-26-9026.md"], [], [])
    assert commit_count(source.clone) == 2


def test_a_backfill_deepens_the_history_to_its_day_and_reads_what_a_full_clone_reads(tmp_path):
    repo = lean_site(tmp_path)
    lean = Settings().with_(cache=tmp_path / "lean")
    full = Settings().with_(cache=tmp_path / "full")
    for day in (25, 23, 22, 24):  # the clone deepens for 23 and 22; 24 is within reach
        a = open_source(f"git+file://{repo.url}", lean, as_of=as_of(day))
        b = open_source(f"git+{repo.url}", full, as_of=as_of(day))  # a local path: a whole clone
        got, want = collect(a), collect(b)
        assert a.revision == b.revision and a.seen == b.seen == 48 + day - 20
        assert sorted(got[0]) == sorted(want[0])
    # deepened to a day before the oldest day asked for, not to the first commit
    assert git(a.clone, "rev-parse", "--is-shallow-repository") == "true"
    assert 3 <= commit_count(a.clone) < commit_count(b.clone)


def test_a_day_before_the_first_commit_finds_nothing(tmp_path):
    repo = lean_site(tmp_path)
    source = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "c"), as_of=as_of(10))
    assert collect(source) == ({}, []) and source.mode == "older"
    assert git(source.clone, "rev-parse", "--is-shallow-repository") == "false"  # the whole history was searched


def test_a_new_cache_deepens_to_the_watermark_and_diffs(tmp_path):
    """A new machine (an empty cache) with a warehouse loaded before: the clone reaches back to the last
    loaded commit, so the run reads only the changes, not every post."""
    repo = lean_site(tmp_path)
    first = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "old"), as_of=as_of(22))
    posts, _ = collect(first)
    source = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "new"))
    got, deleted = collect(source, known_of(posts), first.revision)
    assert (source.mode, source.warnings, deleted) == ("diff", [], [])
    assert sorted(got) == [f"_posts/2026-11-{d}-90{d}.md" for d in (23, 24, 25)]


def test_an_unknown_watermark_on_a_shallow_clone_falls_back_to_a_full_scan(tmp_path):
    repo = lean_site(tmp_path)
    first = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "c"))
    posts, _ = collect(first)
    source = open_source(f"git+file://{repo.url}", Settings().with_(cache=tmp_path / "c"))
    got, deleted = collect(source, known_of(posts), "0123456789abcdef0123456789abcdef01234567")
    assert (source.mode, got, deleted) == ("full", {}, [])
    assert "is not in the repository" in source.warnings[0]


def test_a_missing_branch_is_named(tmp_path):
    repo = lean_site(tmp_path)
    with pytest.raises(SourceError, match=r"has no branch 'nope'"):
        collect(open_source(f"git+file://{repo.url}#nope", Settings().with_(cache=tmp_path / "c", source_retries=3)))


# --- the real site's scale: a long history, served over HTTP --------------------------------------


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def day_end(day: str) -> str:
    """The end of a site day's DAG interval (00:30 the next day, site time), ISO 8601."""
    from datetime import date, timedelta

    return f"{date.fromisoformat(day) + timedelta(days=1)}T00:30:00+08:00"


RUNS = """SELECT interval_end, source, source_revision, posts_seen, posts_changed, posts_deleted, articles_new,
                 articles_updated, articles_unchanged, articles_deleted, articles_revived, rejects, message
          FROM etl_runs ORDER BY interval_end"""
ARTICLES = """SELECT * EXCLUDE (run_id, first_loaded_at, updated_at, deleted_at), deleted_at IS NULL
              FROM articles ORDER BY post_id"""


@pytest.mark.slow
def test_a_long_history_is_fetched_lean_and_loads_the_same_warehouse_as_a_full_mirror(tmp_path):
    """3,000 posts over 2,000 commits in 40 days (posts moving to old_post/, edits, 16 KB of scraper state
    a commit), served by git http-backend. The lean clone is at most a fifth of a full mirror, and first
    loads, daily increments (one on a new, empty cache) and a backfill load the same warehouse as
    the same runs on a full mirror (the git source as it was)."""
    from generate_site import generate

    generate(tmp_path / "srv" / "site.git", posts=3000, commits=2000, days=40, data_kb=16)
    serve_partial_clones(tmp_path / "srv" / "site.git")
    with GitHttpServer(tmp_path / "srv") as server:
        url = server.url("site.git")

        def settings(name: str, cache: str) -> Settings:
            return settings_for(tmp_path, f"git+{url}").with_(
                warehouse=tmp_path / f"{name}.duckdb",
                published=tmp_path / f"{name}-published.duckdb",
                cache=tmp_path / cache,
                workers=2,
            )

        # the size of the cache after a first read of the head, against a full mirror
        mirror = settings("full-a", "full-cache")
        full_clone = open_source(mirror.source, mirror).clone
        full_clone.parent.mkdir(parents=True)
        git(tmp_path, "clone", "--quiet", "--mirror", url, str(full_clone))
        head = open_source(mirror.source, mirror.with_(cache=tmp_path / "head-cache"))
        posts, _ = collect(head)
        assert len(posts) == head.seen == 3000 and head.mode == "full"
        lean_size, full_size = folder_size(head.clone), folder_size(full_clone)
        assert lean_size <= 0.2 * full_size, (lean_size, full_size)
        assert int(git(head.clone, "rev-list", "--count", "HEAD")) == 1

        # first load, two daily increments (the second on an empty cache: a new machine), a backfill
        runs = [
            ("a", "2026-10-20", "c1"),
            ("a", "2026-10-21", "c1"),
            ("a", "2026-10-22", "c2"),
            ("b", "2026-10-18", "c1"),
        ]
        for variant in ("full", "lean"):
            for warehouse, day, cache in runs:
                cache = "full-cache" if variant == "full" else f"lean-{cache}"
                done = pipeline.run_all(
                    settings(f"{variant}-{warehouse}", cache), pipeline.new_run(interval_end=day_end(day))
                )
                assert done["fetch"]["warnings"] == [] and done["fetch"]["changed"] > 50
    for warehouse in ("a", "b"):
        full, lean = tmp_path / f"full-{warehouse}.duckdb", tmp_path / f"lean-{warehouse}.duckdb"
        assert fingerprint(lean) == fingerprint(full)
        assert rows(lean, ARTICLES) == rows(full, ARTICLES)
        assert rows(lean, RUNS) == rows(full, RUNS)
    # the lean clone reached back only as far as the backfill asked (a day before it), not to the first commit
    lean_clone = open_source(mirror.source, mirror.with_(cache=tmp_path / "lean-c1")).clone
    oldest = git(lean_clone, "log", "--format=%cs", "--reverse", "HEAD").split()[0]
    assert "2026-10-16" < oldest <= "2026-10-18"
    assert folder_size(lean_clone) <= 0.2 * full_size


@pytest.mark.airflow
@pytest.mark.slow
def test_in_airflow_the_token_comes_from_the_news_etl_git_connection(served, airflow_env, monkeypatch, capfd):
    """The DAG reads the git credentials from the Airflow connection ``news_etl_git``; the spec holds none."""
    import json
    from datetime import UTC, datetime

    from airflow.dag_processing.dagbag import DagBag
    from conftest import ROOT

    repo, server = served
    monkeypatch.setenv("AIRFLOW_VAR_NEWS_ETL_SOURCE", f"git+{server.url('site.git')}")
    monkeypatch.setenv("NEWS_ETL_CACHE", str(airflow_env["warehouse"].parent / "cache"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWS_ETL_GIT", json.dumps({"conn_type": "generic", "login": "bot", "password": SECRET})
    )
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["news_etl_daily"]
    dag_run = dag.test(logical_date=datetime(2026, 11, 25, tzinfo=UTC))
    assert str(dag_run.state).endswith("success")
    assert server.requests > 0 and server.refused == 0
    assert scalar(airflow_env["warehouse"], "SELECT count(*) FROM articles") > 40
    # the run read that source (its name, without credentials, is the watermark's)
    sources = {s for (s,) in rows(airflow_env["warehouse"], "SELECT source FROM source_state")}
    assert sources == {f"git:{server.url('site.git')}"}
    out, err = capfd.readouterr()  # the task logs, as far as this process's logging sends them here
    assert_no_secret("the task logs", out + err)
    assert_no_secret_in_folder(airflow_env["warehouse"].parent / "cache")


def test_names_that_print_alike_are_two_paths(tmp_path):
    """A real newline and the two characters backslash-n, the byte 0xff and the text \\xff: four files,
    four paths (the dir source's one-to-one spelling; git used to fold the two 0xff names into one)."""
    repo = SiteRepo(tmp_path, with_sample=False)
    names = [b"2026-11-20-a\nb.md", b"2026-11-20-a\\nb.md", b"2026-11-21-c\xff.md", b"2026-11-21-c\\xff.md"]
    for i, name in enumerate(names):
        (repo.work / "_posts" / os.fsdecode(name)).write_bytes(
            f'---\ntitle: "t{i}"\ndate: 2026-11-20 10:00:00 +0800\n---\n正文{i}。\n'.encode()
        )
    repo.commit("odd names")
    posts, _ = collect(open_git(repo, tmp_path))
    assert len(posts) == 4, sorted(posts)
    assert {"_posts/2026-11-20-a\\nb.md", "_posts/2026-11-20-a\\\\nb.md"} <= set(posts)
    assert {"_posts/2026-11-21-c\\xff.md", "_posts/2026-11-21-c\\\\xff.md"} <= set(posts)
