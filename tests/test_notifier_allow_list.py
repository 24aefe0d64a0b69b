"""The failure notifier named in an Airflow Variable: only a provider's notifier class is imported."""

from __future__ import annotations

import json
import sys

import pytest

pytestmark = [pytest.mark.reliability]


@pytest.mark.parametrize(
    "spec",
    [
        {"class": "subprocess.Popen", "kwargs": {"args": ["touch", "MARKER"]}},
        {"class": "news_etl_test_evil.Notifier", "kwargs": {}},
        {"class": "airflow.providers.smtp.notifications.smtp.smtplib.SMTP", "kwargs": {}},
    ],
)
def test_only_an_allowed_notifier_class_is_imported(tmp_path, monkeypatch, spec):
    from news_etl.deployment import NotifierRefused, alert_notifier, notify

    marker = tmp_path / "ran"
    (tmp_path / "news_etl_test_evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\nclass Notifier:\n    def __init__(self, **kw): pass\n"
        "    def __call__(self, context): pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = json.dumps(spec).replace("MARKER", str(marker))
    monkeypatch.setenv("AIRFLOW_VAR_NEWS_ETL_ALERT_NOTIFIER", text)
    notify({}, "a test alert")  # logged and refused, never raised
    with pytest.raises(NotifierRefused):
        alert_notifier(text)
    assert not marker.exists()
    assert "news_etl_test_evil" not in sys.modules


def test_a_providers_notifier_is_accepted():
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from news_etl.deployment import alert_notifier

    spec = {"class": "airflow.providers.smtp.notifications.smtp.SmtpNotifier", "kwargs": {"to": "ops@example.com"}}
    assert isinstance(alert_notifier(json.dumps(spec)), SmtpNotifier)
