"""End to end: `veille alerts run` killed with SIGKILL between a send and its acknowledgement,
restarted: every receiver ends up with the alert exactly once, and the events API says
what happened on each channel.

Real parts only: the `veille` CLI in subprocesses on a real SQLite file, a real SMTP
server (aiosmtpd), and real HTTP servers on 127.0.0.1 for the Slack incoming webhook and
the signed webhook. Each receiver can *hold* a request: it has the message, and does not
answer until the test has killed the sender. That is exactly "between send and
acknowledgement". The SMTP and webhook receivers drop duplicates by Message-ID and
Idempotency-Key, as dedupe-aware receivers do; the Slack receiver, like Slack, cannot.

The alert event is recorded straight into the outbox through the state store (the same
call the evaluator makes), so the test is about delivery, not detection; the path from a
collected mention to an alert is covered by test_alerts.py.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.alerting.notifiers.signing import verify_request
from services.alerting.rules import AlertRule, Channel
from services.store.state import open_state
from tests.e2e.service import REPO, VeilleProcess, _env, write_workspace
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.slow

LEASE_SECONDS = 5.0
WEBHOOK_SECRET = "e2e-webhook-secret"


class Hold:
    """Lets a receiver keep a request unanswered until the test releases it."""

    def __init__(self) -> None:
        self.armed = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def arm(self) -> None:
        self.armed, self.release = True, threading.Event()
        self.holding.clear()

    def wait_if_armed(self) -> None:
        if self.armed:
            self.armed = False
            self.holding.set()
            self.release.wait(60)


class DedupingInbox:
    """SMTP handler: keeps every message received, and each Message-ID once."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.unique: dict[str, bytes] = {}
        self.hold = Hold()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content or b""
        content = raw.encode() if isinstance(raw, str) else bytes(raw)
        self.received.append(content)
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.unique.setdefault(str(message["Message-ID"]), content)
        await asyncio.get_running_loop().run_in_executor(None, self.hold.wait_if_armed)
        return "250 OK"


class HttpReceiver:
    """Slack-like (no dedupe) or webhook-like (dedupe by Idempotency-Key) receiver."""

    def __init__(self, *, dedupe: bool) -> None:
        self.dedupe = dedupe
        self.received: list[RecordedRequest] = []
        self.unique: dict[str, RecordedRequest] = {}
        self.hold = Hold()

    def __call__(self, request: RecordedRequest) -> Response:
        self.received.append(request)
        key = request.headers.get("idempotency-key", "") if self.dedupe else str(id(request))
        self.unique.setdefault(key, request)
        self.hold.wait_if_armed()
        return Response(200, body=b"ok")


@pytest.fixture
def smtp() -> Iterator[tuple[DedupingInbox, int]]:
    inbox = DedupingInbox()
    with smtp_server(inbox) as port:
        try:
            yield inbox, port
        finally:
            inbox.hold.release.set()


def _alerts_run(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "alerts", "run", "--once", "--config", config],
            cwd=REPO,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _kill_while_held(config: Path, log: Path, hold: Hold, what: str) -> None:
    """Starts a worker, waits until `hold`'s receiver has the message, then kill -9."""
    hold.arm()
    worker = _alerts_run(config, log)
    try:
        if not hold.holding.wait(90):
            worker.kill()
            raise AssertionError(f"{what} never got the alert\n{log.read_text()[-4000:]}")
        worker.kill()  # SIGKILL: the acknowledgement is never recorded
        assert worker.wait(30) == -9
    finally:
        hold.release.set()  # answer the dead client; nobody reads it
    time.sleep(LEASE_SECONDS + 1)  # the dead worker's lease runs out


def test_kill_9_between_send_and_ack_then_restart_delivers_each_channel_once(
    tmp_path: Path, smtp: tuple[DedupingInbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, smtp_port = smtp
    slack, hook = HttpReceiver(dedupe=False), HttpReceiver(dedupe=True)
    with HTTPTestServer() as server:
        server.add("/slack", method="POST", handler=slack)
        server.add("/hook", method="POST", handler=hook)
        monkeypatch.setenv("VEILLE_CRASH_SLACK", server.url("/slack"))
        monkeypatch.setenv("VEILLE_CRASH_HOOK", server.url("/hook"))
        monkeypatch.setenv("VEILLE_CRASH_HOOK_SECRET", WEBHOOK_SECRET)
        monkeypatch.setenv("VEILLE_CRASH_EMAIL", "team@veloria.example")
        config = write_workspace(
            tmp_path,
            sources=[],
            alerting={
                "evaluate_every_seconds": 5,
                "delivery_lease_seconds": LEASE_SECONDS,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "smtp_security": "plain",
                "smtp_sender": "veille@veloria.example",
                "allowed_networks": ["127.0.0.0/8"],
            },
        )
        rule = AlertRule(
            name="crash-test",
            target_type="brand",
            target="Veloria",
            kind="new_mention",
            channels=[
                Channel(type="email", target="VEILLE_CRASH_EMAIL", language="fr"),
                Channel(type="slack", target="VEILLE_CRASH_SLACK"),
                Channel(type="webhook", target="VEILLE_CRASH_HOOK"),
            ],
        )
        with open_state(f"sqlite:///{tmp_path}/data/veille.db") as state:
            state.put_spec(
                "alert_rule",
                name=rule.name,
                spec=rule.model_dump(mode="json"),
                owner=None,
                visibility="shared",
            )
            event_id = state.record_alert_event(
                rule_name=rule.name,
                kind="new_mention",
                status="firing",
                dedupe_key="crash",
                numbers=_numbers(),
                channels=[c.key for c in rule.channels],
            )
        assert event_id is not None
        log = tmp_path / "alerts-run.log"

        # Deliveries go out in channel order: email, slack, webhook. Each run is killed
        # while the next channel's receiver holds the message.
        _kill_while_held(config, log, inbox.hold, "the SMTP server")
        _kill_while_held(config, log, slack.hold, "the Slack receiver")  # email re-sent first
        _kill_while_held(config, log, hook.hold, "the webhook receiver")  # slack left alone

        veille = VeilleProcess(config)  # the last restart: the whole service
        veille.start()
        try:
            event = veille.wait_for(
                lambda: _settled(veille.get(f"/alerts/events/{event_id}")),
                timeout=60,
                what="every delivery to settle",
            )
        finally:
            assert veille.stop() == 0, veille.log()

    statuses = {d["channel"].partition(":")[0]: d for d in event["deliveries"]}
    assert {k: (d["status"], d["attempts"]) for k, d in statuses.items()} == {
        "email": ("sent", 2),  # re-sent with the same Message-ID, dropped by the receiver
        "slack": ("unknown", 1),  # in doubt, not re-sent: Slack cannot dedupe
        "webhook": ("sent", 2),  # re-sent with the same Idempotency-Key, dropped
    }
    assert "may or may not have arrived" in statuses["slack"]["note"]
    assert "not sent again" in (statuses["slack"]["last_error"] or "")

    # Each receiver got the alert once; the deduplicating ones saw one extra copy.
    assert (len(inbox.received), len(inbox.unique)) == (2, 1)
    assert (len(slack.received), len(slack.unique)) == (1, 1)
    assert (len(hook.received), len(hook.unique)) == (2, 1)
    (message,) = inbox.unique.values()
    assert b"crash-test" in message
    assert "crash-test" in json.dumps(json.loads(slack.received[0].body), ensure_ascii=False)
    for request in hook.received:
        assert request.headers["idempotency-key"] == f"{event_id}:webhook:VEILLE_CRASH_HOOK"
        verify_request(request.headers, request.body, WEBHOOK_SECRET, tolerance=600)


def _settled(event: dict[str, Any]) -> dict[str, Any] | None:
    done = all(d["status"] in ("sent", "unknown", "failed") for d in event["deliveries"])
    return event if done else None


def _numbers() -> dict[str, Any]:
    return {
        "observed": 3,
        "expected": 0,
        "window_start": "2026-11-22T04:00:00+00:00",
        "window_end": "2026-11-22T04:05:00+00:00",
        "baseline_method": "new matching mentions (by time stored)",
        "top_mentions": [{"title": "Panne", "text": "Mon Veloria est en panne", "source": "blog"}],
        "top_sources": [["blog", 3]],
    }
