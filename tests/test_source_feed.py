"""The feed source against a real local HTTP server that serves a jekyll-feed Atom feed with ETags,
and can be told to fail or hang."""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import pytest
from conftest import settings_in
from warehouse_checks import fingerprint, rows, scalar

from news_etl import pipeline
from news_etl.ingest.sources import open_source
from news_etl.ingest.sources.base import SourceError
from news_etl.ingest.sources.feed import entry_path, slug_for
from news_etl.settings import Settings


def entry(
    post_id: str,
    title: str,
    day: str = "2026-11-25",
    hour: int = 9,
    body: str = "公司营收增长12%。",
    terms=("emnews", "东财滚动新闻"),
    link: str | None = None,
) -> dict:
    return {
        "id": f"https://finews.example/emnews/{day.replace('-', '/')}/{post_id}",
        "link": link or f"https://finews.example/emnews/{day.replace('-', '/')}/{post_id}.html",
        "title": title,
        "published": f"{day}T{hour:02d}:30:00+08:00",
        "terms": terms,
        "content": f'<p>{body}</p>\n<p><a href="http://finance.eastmoney.com/a/{post_id}.html">'
        f"http://finance.eastmoney.com/a/{post_id}.html</a></p>",
    }


def atom(entries: list[dict]) -> bytes:
    """An Atom feed as jekyll-feed writes one."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">',
        '<generator uri="https://jekyllrb.com/" version="4.3.4">Jekyll</generator>',
        '<link href="https://finews.example/feed.xml" rel="self" type="application/atom+xml" />',
        "<updated>2026-11-26T09:00:00+08:00</updated><id>https://finews.example/feed.xml</id>",
        '<title type="html">finews</title>',
    ]
    for e in entries:
        parts.append(
            f'<entry><title type="html">{escape(e["title"])}</title>'
            f'<link href="{escape(e["link"])}" rel="alternate" type="text/html" title="{escape(e["title"])}" />'
            f"<published>{e['published']}</published><updated>{e['published']}</updated>"
            f"<id>{escape(e['id'])}</id>"
            f'<content type="html" xml:base="{escape(e["link"])}">{escape(e["content"])}</content>'
            f"<author><name></name></author>"
            + "".join(f'<category term="{escape(t)}" />' for t in e["terms"])
            + f'<summary type="html">{escape(e["title"])}</summary></entry>'
        )
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


class FeedServer:
    """A real HTTP server on 127.0.0.1 serving one feed, with ETag and Last-Modified."""

    def __init__(self) -> None:
        self.body = atom([])
        self.version = 0
        self.fail_next = 0  # answer 503 to this many requests
        self.hang = 0.0  # sleep this long before answering
        self.status = 200  # answer with this status (e.g. 404)
        self.trickle: str | None = None  # "headers" or "body": send that part one byte every 0.1 s
        self.stop = threading.Event()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                server.requests.append(dict(self.headers.items()))
                if server.hang:
                    time.sleep(server.hang)
                if server.fail_next > 0:
                    server.fail_next -= 1
                    self.send_error(503, "busy")
                    return
                if server.status != 200:
                    self.send_error(server.status)
                    return
                if server.trickle:
                    self.send_trickle(server.trickle)
                    return
                etag = f'"v{server.version}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(1_795_000_000 + server.version, usegmt=True))
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def send_trickle(self, part: str) -> None:
                head = (
                    f"HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\n"
                    f"Content-Length: {len(server.body)}\r\nX-Padding: {'x' * 200}\r\n\r\n"
                ).encode()
                if part == "body":
                    self.wfile.write(head)
                    self.wfile.flush()
                for byte in (head if part == "headers" else b"") + server.body:
                    if server.stop.wait(0.1):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, entries: list[dict] | bytes) -> None:
        self.body = entries if isinstance(entries, bytes) else atom(entries)
        self.version += 1

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.close()


def settings_for(tmp_path, url: str, retries: int = 2, timeout: float = 5.0) -> Settings:
    return settings_in(tmp_path, f"feed+{url}", source_retries=retries, source_timeout=timeout)


def test_entries_become_articles(server, tmp_path):
    first = entry("202611252417000001", "央行开展逆回购操作")
    first["content"] = "<blockquote>\n<p>央行今日开展逆回购。</p>\n</blockquote>\n" + first["content"]
    server.serve(
        [
            first,
            entry(
                "NW202611250001", "上海证券报：券商三季报", hour=10, terms=("shanghaizhengquanbao", "上海证券报新闻")
            ),
        ]
    )
    settings = settings_for(tmp_path, server.url)
    result = pipeline.run_all(settings)
    assert result["fetch"]["source"] == f"feed:{server.url}" and result["fetch"]["seen"] == 2
    got = rows(
        settings.warehouse,
        "SELECT post_id, title, outlet, published_date::VARCHAR, path, source_url FROM articles ORDER BY post_id",
    )
    assert got == [
        (
            "202611252417000001",
            "央行开展逆回购操作",
            "东财滚动新闻",
            "2026-11-25",
            entry_path(entry("202611252417000001", "")["id"], entry("202611252417000001", "")["link"]),
            "http://finance.eastmoney.com/a/202611252417000001.html",
        ),
        (
            "NW202611250001",
            "上海证券报：券商三季报",
            "上海证券报",
            "2026-11-25",
            entry_path(entry("NW202611250001", "")["id"], entry("NW202611250001", "")["link"]),
            "http://finance.eastmoney.com/a/NW202611250001.html",
        ),
    ]
    assert rows(settings.warehouse, "SELECT digest, body_text FROM articles WHERE post_id = '202611252417000001'") == [
        ("央行今日开展逆回购。", "公司营收增长12%。")
    ]
    assert rows(settings.warehouse, "SELECT categories, tags FROM articles WHERE post_id = 'NW202611250001'") == [
        (["shanghaizhengquanbao"], ["上海证券报新闻"])
    ]


def test_conditional_get_an_unchanged_feed_changes_nothing(server, tmp_path):
    server.serve([entry("202611252417000001", "央行开展逆回购操作")])
    settings = settings_for(tmp_path, server.url)
    pipeline.run_all(settings)
    before = fingerprint(settings.warehouse)
    result = pipeline.run_all(settings)
    assert server.requests[-1].get("If-None-Match") == '"v1"'
    assert server.requests[-1].get("If-Modified-Since")
    assert result["fetch"]["changed"] == 0 and result["fetch"]["seen"] == 1
    assert fingerprint(settings.warehouse) == before
    assert scalar(settings.warehouse, "SELECT count(DISTINCT revision) FROM source_state") == 1


def test_a_changed_entry_is_a_new_version_and_an_entry_leaving_the_feed_is_not_deleted(server, tmp_path):
    a, b = entry("202611252417000001", "央行开展逆回购操作"), entry("202611252417000002", "第二条", hour=11)
    server.serve([a, b])
    settings = settings_for(tmp_path, server.url)
    pipeline.run_all(settings)
    a2 = dict(a, title="央行开展逆回购操作（更新）")
    c = entry("202611252417000003", "第三条", hour=12)
    server.serve([c, a2])  # b drops out of the feed: older entries roll off, they are not deleted
    result = pipeline.run_all(settings)
    assert result["load"]["new"] == 1 and result["load"]["updated"] == 1 and result["load"]["deleted"] == 0
    assert rows(settings.warehouse, "SELECT post_id, version, deleted_at IS NULL FROM articles ORDER BY 1") == [
        ("202611252417000001", 2, True),
        ("202611252417000002", 1, True),
        ("202611252417000003", 1, True),
    ]
    assert rows(
        settings.warehouse,
        "SELECT version, change, title FROM article_versions WHERE post_id = '202611252417000001' ORDER BY version",
    ) == [(1, "new", "央行开展逆回购操作"), (2, "updated", "央行开展逆回购操作（更新）")]


def test_a_gap_between_loaded_posts_and_the_feed_says_posts_may_have_been_missed(server, tmp_path, caplog):
    server.serve([entry("202611202417000001", "旧的一条", day="2026-11-20")])
    settings = settings_for(tmp_path, server.url)
    first = pipeline.run_all(settings)
    assert first["fetch"]["warnings"] == []
    server.serve(
        [
            entry("202611252417000009", "新的一条", day="2026-11-25"),
            entry("202611252417000008", "又一条", day="2026-11-24"),
        ]
    )
    with caplog.at_level("WARNING"):
        result = pipeline.run_all(settings)
    assert "posts may have been missed" in caplog.text
    message = scalar(settings.warehouse, "SELECT message FROM etl_runs WHERE run_id = ?", [result["run"]["run_id"]])
    assert "posts may have been missed" in message and "2026-11-20" in message
    # overlapping feed: no warning
    server.serve(
        [
            entry("202611252417000010", "再一条", day="2026-11-26"),
            entry("202611252417000009", "新的一条", day="2026-11-25"),
        ]
    )
    assert pipeline.run_all(settings)["fetch"]["warnings"] == []


def test_retries_ride_out_a_busy_server(server, tmp_path):
    server.serve([entry("202611252417000001", "央行开展逆回购操作")])
    server.fail_next = 1
    result = pipeline.run_all(settings_for(tmp_path, server.url, retries=2))
    assert result["load"]["new"] == 1 and len(server.requests) == 2


@pytest.mark.parametrize(
    "how, expected",
    [
        ("fail", r"feed http://127\.0\.0\.1:\d+/feed\.xml is unreachable after 2 attempt\(s\): HTTP 503"),
        (
            "hang",
            r"feed http://127\.0\.0\.1:\d+/feed\.xml is unreachable after 2 attempt\(s\): no complete answer within 0\.3s",
        ),
        ("404", r"feed http://127\.0\.0\.1:\d+/feed\.xml answered HTTP 404"),
    ],
)
def test_an_unreachable_feed_fails_with_what_and_where_and_the_warehouse_is_untouched(server, tmp_path, how, expected):
    server.serve([entry("202611252417000001", "央行开展逆回购操作")])
    settings = settings_for(tmp_path, server.url, retries=2, timeout=0.3)
    pipeline.run_all(settings)
    before = fingerprint(settings.warehouse)
    server.serve([entry("202611252417000002", "不会被读到")])
    if how == "fail":
        server.fail_next = 10
    elif how == "hang":
        server.hang = 1.0
    else:
        server.status = 404
    with pytest.raises(SourceError, match=expected):
        pipeline.run_all(settings)
    assert fingerprint(settings.warehouse) == before
    assert scalar(settings.warehouse, "SELECT count(*) FROM etl_runs") == 1
    assert len(server.requests) == (2 if how == "404" else 3)


def test_a_closed_port_is_unreachable(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = open_source(
        f"feed+http://127.0.0.1:{port}/feed.xml",
        Settings().with_(source_retries=2, source_backoff=0.01, source_timeout=1.0),
    )
    with pytest.raises(SourceError, match=rf"127.0.0.1:{port}/feed.xml is unreachable after 2 attempt\(s\): .*refused"):
        list(source.changes({}, None))


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"<html><body>not a feed</body></html>", r"is not an Atom feed \(its root element is <html>"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", r"is not valid XML"),
    ],
)
def test_something_that_is_not_an_atom_feed_is_refused(server, tmp_path, body, expected):
    server.serve(body)
    with pytest.raises(SourceError, match=expected):
        pipeline.run_all(settings_for(tmp_path, server.url))


def test_entry_paths_stay_inside_the_staging_folder():
    for entry_id, link in [
        ("../../../etc/passwd", None),
        ("https://x/a/..%2F..%2Fetc%2Fpasswd.html", None),
        ("tag:x,2026:/", "https://x/"),
        ("https://x/新闻/央行 公告?.html", None),
        ("https://x/" + "长" * 500, None),
    ]:
        path = entry_path(entry_id, link)
        assert path.startswith("feed/") and path.endswith(".md") and path.count("/") == 2, path
        assert ".." not in path and "\\" not in path and " " not in path, path
        assert len(path) < 160
    assert slug_for("https://x/emnews/2026/11/25/202611252417000001", None) == "202611252417000001"
    assert slug_for("x", "https://x/新闻/央行%20公告.html") == "央行-公告"
    assert entry_path("a", None) == entry_path("a", None) != entry_path("b", None)


def test_two_entries_claiming_one_post_id_give_one_article_and_a_reject(server, tmp_path):
    one = entry("202611252417000001", "第一份")
    other = dict(entry("202611252417000001", "第二份"), id="urn:uuid:another-entry")
    server.serve([one, other])
    settings = settings_for(tmp_path, server.url)
    pipeline.run_all(settings)
    assert scalar(settings.warehouse, "SELECT count(*) FROM articles") == 1
    assert rows(settings.warehouse, "SELECT reason FROM rejects") == [("duplicate post id",)]


@pytest.mark.timeout(120)  # without a deadline over the whole attempt this would take an hour
@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_server_that_trickles_a_byte_at_a_time_is_cut_off_by_the_timeout(server, tmp_path, part):
    """NEWS_ETL_SOURCE_TIMEOUT bounds the whole attempt: a server that sends its headers or its body
    a byte every 0.1 s never trips a per-read timeout (it would take minutes here)."""
    server.serve([entry(f"20261125241700{n:04d}", "央行开展逆回购操作" * 20) for n in range(20)])
    server.trickle = part
    settings = settings_for(tmp_path, server.url, retries=2, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"unreachable after 2 attempt\(s\): no complete answer within 1s"):
        pipeline.run_all(settings)
    assert time.monotonic() - started < 6  # two attempts of 1 s each, the backoff, and the run's own work
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "published, reason",
    [
        ("2300-01-01T09:30:00+08:00", "date out of range"),  # past the staged file time's range (year 2262)
        ("0000-01-01T00:00:00+00:00", "unparseable date"),  # no year 0
        ("9999-12-31T23:59:59-12:00", "date out of range"),  # past year 9999 in UTC
        ("tomorrow", "unparseable date"),
    ],
)
def test_a_published_time_out_of_range_is_one_reject_not_a_failed_run(server, tmp_path, published, reason):
    bad = dict(entry("202611252417000002", "时间坏了", hour=10), published=published)
    server.serve([entry("202611252417000001", "央行开展逆回购操作"), bad])
    settings = settings_for(tmp_path, server.url)
    result = pipeline.run_all(settings)
    assert result["load"]["new"] == 1
    assert rows(settings.warehouse, "SELECT post_id FROM articles") == [("202611252417000001",)]
    got = rows(settings.warehouse, "SELECT reason FROM rejects")
    assert len(got) == 1 and got[0][0].startswith(reason), got
