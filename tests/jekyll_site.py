"""Real Jekyll for the feed tests: build a site from post files with the site's settings and serve it.

- Jekyll 4.3 and jekyll-feed 0.17 are Debian packages (`apt-get install jekyll ruby-jekyll-feed`);
  :func:`install_jekyll` installs them when they are missing and the tests run as root, the way
  tests/test_browser.py installs Chromium.
- jekyll-feed 0.15.1 is the version GitHub Pages pins. rubygems.org is not reachable here, but
  Debian 11 (bullseye) packaged exactly that version (`ruby-jekyll-feed 0.15.1-1`):
  :func:`jekyll_feed_0151` downloads that one package with `apt-get download` from a private apt
  configuration (its own sources list, lists and cache in a temporary folder: the system's apt
  set-up is not touched), unpacks its `lib/` into a cache folder, and Jekyll loads it first
  through `RUBYLIB`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

JEKYLL = shutil.which("jekyll") or "/usr/bin/jekyll"
FEED_017 = Path("/usr/share/rubygems-integration/all/gems/jekyll-feed-0.17.0/lib")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "news-etl-tests"
FEED_0151 = CACHE / "jekyll-feed-0.15.1" / "lib"

#: The site's settings (finews.withounder.com's _config.yml), and a feed that lists every post
#: (jekyll-feed lists the newest 10 by default).
CONFIG = """\
title: finews
url: https://finews.withounder.com
timezone: Asia/Shanghai
permalink: /:categories/:year/:month/:day/:title.html
plugins:
  - jekyll-feed
feed:
  posts_limit: 100000
"""


def _apt_env() -> dict:
    return dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def install_jekyll() -> bool:
    """Debian's jekyll and ruby-jekyll-feed, when missing and we are root; whether they are there."""
    if not (Path(JEKYLL).exists() and FEED_017.is_dir()) and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=_apt_env(), capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "jekyll", "ruby-jekyll-feed"],
            check=True,
            env=_apt_env(),
            capture_output=True,
            timeout=1200,
        )
    return Path(JEKYLL).exists() and FEED_017.is_dir()


def jekyll_feed_0151() -> Path | None:
    """The lib/ folder of jekyll-feed 0.15.1 (Debian bullseye's package), fetched once; None if it
    cannot be had (not root, or no apt here)."""
    if (FEED_0151 / "jekyll-feed.rb").is_file():
        return FEED_0151
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    with tempfile.TemporaryDirectory(prefix="news-etl-apt-") as tmp:
        apt = Path(tmp)
        for sub in ("lists/partial", "cache/archives/partial", "parts"):
            (apt / sub).mkdir(parents=True)
        (apt / "sources.list").write_text(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main\n"
        )
        options = [
            f"-oDir::Etc::SourceList={apt / 'sources.list'}",
            f"-oDir::Etc::SourceParts={apt / 'parts'}",
            f"-oDir::State::Lists={apt / 'lists'}",
            f"-oDir::Cache={apt / 'cache'}",
            "-oAPT::Sandbox::User=root",
        ]
        run = functools.partial(subprocess.run, check=True, env=_apt_env(), capture_output=True, timeout=900, cwd=apt)
        run(["apt-get", *options, "update", "-qq"])
        run(["apt-get", *options, "download", "ruby-jekyll-feed=0.15.1-1"])
        run(["dpkg-deb", "-x", "ruby-jekyll-feed_0.15.1-1_all.deb", "unpacked"])
        lib = apt / "unpacked/usr/share/rubygems-integration/all/gems/jekyll-feed-0.15.1/lib"
        FEED_0151.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(FEED_0151, ignore_errors=True)
        shutil.copytree(lib, FEED_0151)
    return FEED_0151


def build_site(posts: list[Path], folder: Path, feed_lib: Path | None = None) -> Path:
    """A Jekyll site of these post files (copied into ``folder/_posts``) built with the site's
    settings; its ``_site`` folder. ``feed_lib``: a jekyll-feed lib/ folder loaded first."""
    (folder / "_posts").mkdir(parents=True)
    for post in posts:
        shutil.copyfile(post, folder / "_posts" / post.name)
    (folder / "_config.yml").write_text(CONFIG)
    env = dict(os.environ, JEKYLL_ENV="production", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    if feed_lib is not None:
        env["RUBYLIB"] = str(feed_lib)
    site = folder / "_site"
    subprocess.run(
        [JEKYLL, "build", "--source", str(folder), "--destination", str(site), "--disable-disk-cache", "--quiet"],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    return site


class SiteServer:
    """A real HTTP server on 127.0.0.1 serving a built site's folder (closed by :meth:`close`)."""

    def __init__(self, site: Path) -> None:
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
