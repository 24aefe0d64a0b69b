"""A real browser for the UI tests: Debian's headless Chromium, driven by Playwright.

Chromium comes from Debian (`apt-get install chromium`); :func:`install_chromium` installs it when it
is missing and the tests run as root. Playwright never downloads a browser here. The fixtures
``browser`` (one Chromium a module) and ``page`` (a fresh context a test) are registered in
conftest.py; :func:`login` signs in with the simple auth manager's form. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, require

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def install_chromium() -> None:
    """Debian's chromium (and a CJK font for the posts' titles), when missing and we are root."""
    if CHROMIUM.exists() or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "fonts-wqy-microhei"],
        check=True,
        env=env,
        capture_output=True,
        timeout=1200,
    )


@pytest.fixture(scope="module")
def browser():
    install_chromium()
    require("Chromium", CHROMIUM.exists(), "apt-get install chromium (as root), then run the tests again")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - pinned in requirements.lock
        require("playwright", False, "pip install -r requirements.lock")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def login(pg, af) -> None:
    pg.goto(af.url + "/")
    pg.wait_for_url("**/auth/login**")
    pg.get_by_label("Username").fill(af.user)
    pg.get_by_label("Password").fill(af.password)
    pg.screenshot(path=str(ARTIFACTS / "01-login.png"))
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(lambda url: "/auth/login" not in url)
