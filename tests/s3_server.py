"""A real S3 API for the tests: moto's server (the ``moto_server`` command) as a process of its own
on 127.0.0.1, spoken to over HTTP by s3fs/botocore exactly as a deployment speaks to S3 or MinIO.
Nothing of boto is mocked in the process under test.

The server logs one line per request; :meth:`MotoS3.requests` reads them back, so a test can count
what a run asked of the store.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: Credentials the tests give the pipeline (moto accepts any): the secret is made per session, so a
#: test can search logs and files for it.
KEY = "news-etl-test-key"
SECRET = "news-etl-" + secrets.token_urlsafe(24)
REGION = "us-east-1"
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # the server colours some log lines
_REQUEST = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoS3:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.log = Path(folder) / "moto-server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point botocore (and so s3fs) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
        }

    def start(self, timeout: float = 60) -> None:
        command = Path(sys.executable).with_name("moto_server")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(command), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"moto_server not answering on {self.endpoint}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self.proc = None

    def fs(self):
        """An s3fs filesystem on this server, for the test's own looks (no instance cache)."""
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=self.endpoint,
            key=KEY,
            secret=SECRET,
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def bucket(self, name: str) -> str:
        self.fs().mkdir(name)
        return name

    def keys(self, prefix: str) -> list[str]:
        """Every object under ``bucket/prefix``."""
        fs = self.fs()
        try:
            return sorted(fs.find(prefix))
        except FileNotFoundError:
            return []

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request served so far, in order."""
        text = _COLOUR.sub("", self.log.read_text(encoding="utf-8", errors="replace"))
        return [(m, p, int(s)) for m, p, s in _REQUEST.findall(text)]


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory):
    from conftest import require

    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError:
        require("moto's S3 server and s3fs", False, ".venv/bin/pip install -r requirements.lock")
    server = MotoS3(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
