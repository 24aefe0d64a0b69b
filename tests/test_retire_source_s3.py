"""retire-source with staging on object storage (moto's S3 server)."""

from __future__ import annotations

import pytest
from conftest import SAMPLE
from reliability import cli, loaded, record
from warehouse_checks import scalar

pytestmark = [pytest.mark.reliability]


def test_retire_source_with_s3_staging(tmp_path, moto_s3):
    bucket = moto_s3.bucket("retire-staging")
    paths = loaded(tmp_path)
    done = cli(
        "retire-source", f"dir:{SAMPLE}", "--warehouse", str(paths["warehouse"]), "--published", str(paths["published"]),
        NEWS_ETL_STAGING=f"s3://{bucket}/staging", **moto_s3.env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # was: TypeError: unsupported operand type(s) for /
    assert scalar(paths["published"], "SELECT count(*) FROM articles WHERE deleted_at IS NULL") == 0
    record("fault", "retire-source with S3 staging (moto)")
