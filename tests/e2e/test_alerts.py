"""End to end: a collected mention raises an alert, delivered by a real SMTP server
(aiosmtpd) and a local Slack-webhook receiver, within 60 s of being stored."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.core.models import utcnow
from tests.e2e.service import VeilleProcess, rss, write_workspace
from tests.httpserver import HTTPTestServer
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.slow


class Inbox:
    """A real SMTP server's received messages."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


def test_new_mention_alert_reaches_email_and_slack(
    tmp_path: Path, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, smtp_port = smtp
    with HTTPTestServer() as server:
        server.add("/slack", method="POST", body=b"ok")
        monkeypatch.setenv("VEILLE_SLACK_WEBHOOK_E2E", server.url("/slack"))
        monkeypatch.setenv("VEILLE_ALERT_EMAIL_E2E", "team@veloria.example")
        config = write_workspace(
            tmp_path,
            sources=[],
            alerting={
                "evaluate_every_seconds": 5,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "smtp_security": "plain",
                "smtp_sender": "veille@veloria.example",
                "allowed_networks": ["127.0.0.0/8"],
            },
        )
        veille = VeilleProcess(config)
        veille.start()
        try:
            rule: dict[str, Any] = {
                "name": "veloria-mentions",
                "target_type": "brand",
                "target": "Veloria",
                "kind": "new_mention",
                "grouping_window": "5s",
                "channels": [
                    {"type": "slack", "target": "VEILLE_SLACK_WEBHOOK_E2E"},
                    {"type": "email", "target": "VEILLE_ALERT_EMAIL_E2E", "language": "fr"},
                ],
            }
            created = veille.post("/alert-rules", rule)
            assert created.status_code == 201, created.text
            assert "hooks" not in created.text and "team@" not in created.text

            now = format_datetime(utcnow())
            server.add(
                "/feed.xml",
                body=rss(
                    [
                        {
                            "title": "Alerte",
                            "link": server.url("/p/1"),
                            "text": "Mon Veloria est tombé en panne, service client injoignable.",
                            "date": now,
                        }
                    ]
                ),
            )
            assert (
                veille.post(
                    "/sources",
                    {"name": "blog", "url": server.url("/feed.xml"), "interval_minutes": 60},
                ).status_code
                == 201
            )
            veille.wait_for(
                lambda: veille.get("/mentions", q="panne")["total"] == 1,
                timeout=90,
                what="the mention to be stored",
            )
            stored_at = time.monotonic()
            veille.wait_for(
                lambda: server.requests_for("/slack") and inbox.envelopes,
                timeout=60,
                what="the alert on Slack and by email",
            )
            assert time.monotonic() - stored_at < 60

            slack = json.loads(server.requests_for("/slack")[0].body)
            assert "Veloria" in json.dumps(slack, ensure_ascii=False)
            content = inbox.envelopes[0].content
            assert isinstance(content, bytes)
            message = email.message_from_bytes(content, policy=email.policy.default)
            assert message["To"] == "team@veloria.example"
            body = message.get_body(preferencelist=("plain",))
            assert body is not None and "panne" in body.get_content()

            events = veille.get("/alerts/events")["events"]
            deliveries = [d for e in events for d in e["deliveries"]]
            assert {d["status"] for d in deliveries} == {"sent"}, deliveries
            # Exactly once per channel, even after more evaluation passes.
            time.sleep(12)
            assert len(server.requests_for("/slack")) == 1
            assert len(inbox.envelopes) == 1
        finally:
            assert veille.stop() == 0, veille.log()
