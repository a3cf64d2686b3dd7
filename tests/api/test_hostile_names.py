"""A name with a line break (a brand's, a rule's) reaches email subjects as one line: it
used to make the report's email a 500 and the alert's email undeliverable, since a
header may not hold one (real SQLite store, real SMTP server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.alerting.notifiers.email_message import build_email
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from tests.alerting.notifiers import make_message
from tests.alerting.notifiers.test_email import Mailbox
from tests.apps import app_for
from tests.smtp_server import smtp_server

EVIL = "Evil\r\nBcc: victim@example.org"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with smtp_server(box) as port:
        yield box, port


@pytest.fixture
def client(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[TestClient]:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
            "alerting": {
                "smtp_host": "127.0.0.1",
                "smtp_port": mailbox[1],
                "smtp_security": "plain",
                "smtp_sender": "veille@example.org",
            },
        }
    )
    ctx = ServiceContext(settings, Workspace())
    app = app_for(ctx)
    key = app.state.installation.tenancy.create_key(name="k", service="tests")
    with TestClient(app, headers={"X-API-Key": key}) as test_client:
        yield test_client
    ctx.close()


def test_a_brand_name_with_a_line_break_is_one_line_in_a_reports_subject(
    client: TestClient, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    assert client.post("/api/v1/brands", json={"name": EVIL}).status_code == 201
    report = {
        "name": "evil",
        "brand": EVIL,
        "period": "custom",
        "since": "2026-11-16",
        "until": "2026-11-22",
        "language": "en",
        "sections": ["key_figures"],
        "recipients": ["boss@example.org"],
    }
    assert client.post("/api/v1/reports", json=report).status_code == 201
    sent = client.post("/api/v1/reports/evil/renders", params={"send": "true"})
    assert sent.status_code == 201, sent.text
    (envelope,) = box.envelopes
    assert envelope.rcpt_tos == ["boss@example.org"]
    assert isinstance(envelope.content, bytes)
    mail = message_from_bytes(envelope.content, policy=default)
    assert mail["Bcc"] is None
    assert mail["Subject"].startswith("[Veille] Evil Bcc: victim@example.org · ")


def test_a_rule_name_with_a_carriage_return_is_one_line_in_an_alerts_subject() -> None:
    email = build_email(
        make_message(rule_name="Acme\rBcc: victim@example.org"),
        language="en",
        sender="veille@example.org",
        recipients=["team@example.org"],
        message_id="<x@example.org>",
    )
    assert "\r" not in email["Subject"] and email["Bcc"] is None
    assert "Acme Bcc: victim@example.org" in email["Subject"]
