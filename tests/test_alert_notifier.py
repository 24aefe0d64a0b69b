"""A failed task reaches the operator: the NEWS ETL ALERT log line, and an e-mail through the
Airflow notifier configured in the Variable news_etl_alert_notifier (the SMTP provider's
SmtpNotifier, delivering to a real SMTP server on 127.0.0.1 started by the test)."""

from __future__ import annotations

import json
import socketserver
import threading
from datetime import UTC, datetime

import pytest
from conftest import ROOT

from news_etl.config import DAG_ID

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


def test_a_failed_task_logs_the_alert_and_mails_the_operator(airflow_env, smtp_server, monkeypatch, capfd, caplog):
    from airflow.dag_processing.dagbag import DagBag

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
                    "subject": "news_etl failed: {{ ti.task_id }}",
                    "html_content": "run {{ dag_run.run_id }}",
                },
            }
        ),
    )
    # the sample posts end on 2026-11-25: a run for mid-December finds the source silent for weeks
    monkeypatch.setenv("NEWS_ETL_MAX_SOURCE_SILENCE_HOURS", "48")
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags[DAG_ID]
    dag_run = dag.test(logical_date=datetime(2026, 12, 15, tzinfo=UTC))

    assert str(dag_run.state).endswith("failed")
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["publish"].endswith("success") and states["check_freshness"].endswith("failed")
    # Airflow's task logs reach the console or the logging handlers, depending on what ran before
    logged = "".join(capfd.readouterr()) + caplog.text
    assert "NEWS ETL ALERT: task check_freshness" in logged and "STALE SOURCE" in logged
    assert len(smtp_server.messages) == 1, smtp_server.messages
    mail = smtp_server.messages[0]
    assert "news_etl failed: check_freshness" in mail and "ops@example.test" in mail
