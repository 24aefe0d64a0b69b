"""A real Jekyll site in a real git repository, built in a temp folder, for the git source's tests.

``SiteRepo`` keeps a working clone and a bare "remote" (what the source reads, as a
deployment reads the site's server); every change is a real commit pushed to the
remote, and ``force_push`` rewrites the remote's history.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import SAMPLE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "scraper",
    "GIT_AUTHOR_EMAIL": "scraper@example.invalid",
    "GIT_COMMITTER_NAME": "scraper",
    "GIT_COMMITTER_EMAIL": "scraper@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.environ.get("HOME", "/tmp"),
}


def git(cwd: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def post_text(
    post_id: str, title: str, day: str = "2026-11-25", body: str = "正文第一段，营收增长12%。", category: str = "emnews"
) -> str:
    return (
        f'---\nlayout: post\ntitle: "{title}"\ndate: {day} 09:30:00 +0800\ncategories: {category}\n'
        f"tags: 东财滚动新闻\n---\n\n<p>{body}</p>\n\n<http://finance.eastmoney.com/a/{post_id}.html>\n"
    )


class SiteRepo:
    def __init__(self, root: Path, with_sample: bool = True, jekyll: bool = True, when: str | None = None) -> None:
        self.remote = root / "site.git"
        self.work = root / "site"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        git(root, "init", "--quiet", "--initial-branch=main", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.remote))
        if jekyll:
            (self.work / "_config.yml").write_text("title: finews\nplugins: [jekyll-feed]\n", encoding="utf-8")
            (self.work / "_posts").mkdir()
            (self.work / "_posts" / "README.md").write_text("posts of the last three days\n", encoding="utf-8")
        else:
            (self.work / "main.py").write_text("print('not a site')\n", encoding="utf-8")
        if with_sample:
            for path in sorted(SAMPLE.glob("*.md")):
                (self.work / "_posts" / path.name).write_bytes(path.read_bytes())
        self.commit("initial site", when=when)

    @property
    def url(self) -> str:
        return str(self.remote)

    def path(self, rel: str) -> Path:
        return self.work / rel

    def write(self, rel: str, data: str | bytes) -> None:
        target = self.work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        target.write_bytes(data)

    def move(self, src: str, dst: str) -> None:
        (self.work / dst).parent.mkdir(parents=True, exist_ok=True)
        git(self.work, "mv", src, dst)

    def delete(self, rel: str) -> None:
        git(self.work, "rm", "--quiet", rel)

    def commit(self, message: str, when: str | None = None) -> str:
        """Commit everything and push it; ``when`` (ISO 8601) is the commit's date."""
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message, when=when)
        git(self.work, "push", "--quiet", "origin", "main")
        return self.head()

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def force_push(self, reset_to: str, message: str = "rewritten", when: str | None = None) -> str:
        """Reset the branch to ``reset_to`` keeping the working files, commit them anew, force-push."""
        git(self.work, "reset", "--soft", reset_to)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message, when=when)
        git(self.work, "push", "--quiet", "--force", "origin", "main")
        git(self.remote, "reflog", "expire", "--expire=now", "--all")
        git(self.remote, "gc", "--quiet", "--prune=now")
        return self.head()

    def posts(self) -> list[str]:
        return sorted(
            p.relative_to(self.work).as_posix()
            for folder in ("_posts", "old_post")
            if (self.work / folder).is_dir()
            for p in (self.work / folder).rglob("*.md")
            if p.name.lower() != "readme.md"
        )


class GitHttpServer:
    """``git http-backend`` (git's own CGI server program) behind a small threaded HTTP server on
    127.0.0.1 that wants Basic auth, as a site's git host does; serves the bare repositories under
    ``root``. ``with GitHttpServer(root, "bot", "pw") as server: server.url("site.git")``.

    Partial clone is on for the served repositories (``uploadpack.allowFilter``), as on GitHub.
    ``requests`` counts the requests answered, ``refused`` the ones turned away (401)."""

    def __init__(self, root: Path, user: str | None = None, password: str | None = None) -> None:
        import base64

        self.root = root
        self.expected = None if user is None else "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests = 0
        self.refused = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> GitHttpServer:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _serve(self) -> None:
                body = self._body() if self.command == "POST" else b""
                if server.expected and self.headers.get("Authorization") != server.expected:
                    server.refused += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                server.requests += 1
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": str(server.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_USER": "bot",
                    "REMOTE_ADDR": "127.0.0.1",
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                }
                done = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env)
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                if not _:
                    head, _, payload = done.stdout.partition(b"\n\n")
                headers = [line.split(b":", 1) for line in head.splitlines() if b":" in line]
                status = next((int(v.split()[0]) for k, v in headers if k.lower() == b"status"), 200)
                self.send_response(status)
                for key, value in headers:
                    if key.lower() != b"status":
                        self.send_header(key.decode(), value.strip().decode())
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def serve_partial_clones(bare: Path) -> None:
    """Let a bare repository answer partial-clone requests (``--filter``), as GitHub does."""
    git(bare, "config", "uploadpack.allowFilter", "true")
