"""Alerts reach the operator: the NEWS ETL ALERT log line, and an e-mail through the Airflow
notifier configured in the Variable news_etl_alert_notifier (the SMTP provider's SmtpNotifier,
delivering to a real SMTP server on 127.0.0.1 started by the test), for a failed task and for a
quiet source; a quiet source leaves the run green, and the embedded sample never trips it.

(The deadline alert, which the scheduler and the triggerer raise, is tested in a running Airflow:
tests/test_make_airflow.py.)"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socketserver
import threading
from datetime import UTC, datetime

import pytest
from conftest import ROOT, SAMPLE

from news_etl.settings import DAG_ID

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message: no TLS, no auth."""

    def handle(self):
        self.wfile.write(b"220 test SMTP\r\n")
        data_mode, lines = False, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data_mode:
                if line in (b".\r\n", b".\n"):
                    self.server.messages.append(b"".join(lines).decode("utf-8", "replace"))
                    data_mode, lines = False, []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == b"DATA":
                data_mode = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def notifier(airflow_env, smtp_server, monkeypatch):
    """The SMTP provider's notifier, configured as an operator would (Variable + connection)."""
    port = smtp_server.server_address[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_VAR_NEWS_ETL_ALERT_NOTIFIER",
        json.dumps(
            {
                "class": "airflow.providers.smtp.notifications.smtp.SmtpNotifier",
                "kwargs": {
                    "from_email": "etl@example.test",
                    "to": "ops@example.test",
                    "subject": "{{ news_etl_alert }}",
                    "html_content": "run {{ dag_run.run_id }}: {{ news_etl_alert }}",
                },
            }
        ),
    )
    return smtp_server


@pytest.fixture
def dag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags[DAG_ID]


def subject(mail: str) -> str:
    """A mail's subject, unfolded (long headers are folded over lines)."""
    return email.message_from_string(mail, policy=email.policy.default)["subject"]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state).rsplit(".", 1)[-1].lower() for ti in dag_run.get_task_instances()}


def logged(capfd, caplog) -> str:
    # Airflow's task logs reach the console or the logging handlers, depending on what ran before
    return "".join(capfd.readouterr()) + caplog.text


def test_a_failed_task_logs_the_alert_and_mails_the_operator(dag, airflow_env, notifier, monkeypatch, capfd, caplog):
    monkeypatch.setenv("AIRFLOW_VAR_NEWS_ETL_SOURCE", str(airflow_env["source"] / "no-such-folder"))
    for task in dag.tasks:  # fail at once: no 30 s retries in a test
        task.retries = 0
    dag_run = dag.test(logical_date=datetime(2026, 11, 25, tzinfo=UTC))

    assert str(dag_run.state).endswith("failed")
    assert states(dag_run)["fetch"] == "failed"
    text = logged(capfd, caplog)
    assert "NEWS ETL ALERT: task fetch of run" in text and "failed on try 1" in text and "does not exist" in text
    assert len(notifier.messages) == 1, notifier.messages
    mail = notifier.messages[0]
    assert "ops@example.test" in mail
    assert re.match(r"task fetch of run \S+ failed on try 1: .*does not exist", subject(mail)), mail[:2000]


def test_a_quiet_source_is_an_alert_and_the_run_stays_green(dag, airflow_env, notifier, monkeypatch, capfd, caplog):
    # the posts end on 2026-11-25: a run for mid-December finds the source silent for weeks
    monkeypatch.setenv("NEWS_ETL_MAX_SOURCE_SILENCE_HOURS", "48")
    dag_run = dag.test(logical_date=datetime(2026, 12, 15, tzinfo=UTC))

    assert str(dag_run.state).endswith("success")  # the data is loaded and published
    got = states(dag_run)
    assert got["publish"] == "success" and got["check_freshness"] == "skipped", got
    assert "NEWS ETL ALERT: run " in logged(capfd, caplog)
    assert len(notifier.messages) == 1, notifier.messages
    assert re.match(r"run \S+: STALE SOURCE: no new post for [\d.]+ h", subject(notifier.messages[0]))


def test_the_embedded_sample_never_trips_the_freshness_alert(dag, airflow_env, notifier, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_NEWS_ETL_SOURCE", str(SAMPLE))
    monkeypatch.setenv("NEWS_ETL_MAX_SOURCE_SILENCE_HOURS", "48")
    dag_run = dag.test(logical_date=datetime(2027, 6, 1, tzinfo=UTC))

    assert str(dag_run.state).endswith("success")
    assert states(dag_run)["check_freshness"] == "success"
    assert notifier.messages == []
