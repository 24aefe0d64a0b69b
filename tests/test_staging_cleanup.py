"""Staging cleanup removes only the folders a run made and marked."""

from __future__ import annotations

import pytest
from reliability import loaded, record

pytestmark = [pytest.mark.reliability]


def test_staging_cleanup_leaves_folders_it_never_made(tmp_path):
    root = tmp_path / "staging"
    mine = root / "reports"
    mine.mkdir(parents=True)
    (mine / "q3.csv").write_text("keep me")
    (root / ".reports.lock").write_text("")  # someone else's lock file beside it
    loaded(tmp_path)
    assert (mine / "q3.csv").read_text() == "keep me"
    record("fault", "a folder beside a lock file in staging that no run made: left alone")
