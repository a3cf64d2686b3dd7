"""A burst reaches Slack and email within a minute of being stored, once per channel.

Real parts end to end: the alert loop thread of `veille up` on a SQLite state file and an
embedded index, a real SMTP server (aiosmtpd) and an HTTP server on 127.0.0.1 standing in
for Slack. The rule is Veloria's default volume-spike rule, as every brand gets it, with
the two channels added in the settings. The delays are measured, not timed: the loop
evaluates every 5 s (the shortest setting), and the assertions bound what was observed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.core.models import Brand, RawItem, utcnow
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.workers.alert_loop import AlertLoop
from tests.factories import make_item
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.smtp_server import smtp_server

LIMIT = 60.0  # seconds from storage to delivery
PASS = 5.0  # alerting.evaluate_every_seconds


class TimedMailbox:
    """An aiosmtpd handler that notes when each message arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.arrivals.append(time.time())
        return "250 OK"


def _store(ctx: ServiceContext, items: list[RawItem]) -> None:
    """Stores items as the analysis worker does: inbox, index, then acknowledgement."""
    ctx.state.enqueue_items(items)
    claimed = ctx.state.claim_items(limit=len(items))
    ctx.index.upsert(
        [c.item.to_mention().model_copy(update={"brands": ["Veloria"]}) for c in claimed]
    )
    ctx.state.ack_items([c.mention_id for c in claimed])


@pytest.fixture
def receivers() -> Iterator[tuple[HTTPTestServer, list[float], TimedMailbox, int]]:
    slack_arrivals: list[float] = []

    def hook(request: RecordedRequest) -> Response:
        slack_arrivals.append(time.time())
        return Response(body=b"ok")

    mailbox = TimedMailbox()
    with smtp_server(mailbox) as port, HTTPTestServer() as slack:
        slack.add("/hook", method="POST", handler=hook)
        yield slack, slack_arrivals, mailbox, port


def _wait(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_a_burst_is_delivered_once_per_channel_within_a_minute_of_being_stored(
    tmp_path: Path,
    receivers: tuple[HTTPTestServer, list[float], TimedMailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, slack_arrivals, mailbox, smtp_port = receivers
    monkeypatch.setenv("VEILLE_FAST_SLACK", slack.url("/hook"))
    monkeypatch.setenv("VEILLE_FAST_EMAIL", "team@example.org")
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
            "alerting": {
                "evaluate_every_seconds": PASS,
                "allowed_networks": ["127.0.0.0/8"],
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "smtp_security": "plain",
                "brand_rules": {"channels": ["slack:VEILLE_FAST_SLACK", "email:VEILLE_FAST_EMAIL"]},
            },
        }
    )
    ctx = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    ctx.sync_workspace()
    # A steady stream: about a dozen mentions an hour for four days, up to now (the
    # default rule then judges hourly buckets).
    now = utcnow()
    rng = random.Random(7)
    _store(
        ctx,
        [
            make_item(text="Veloria ride", published_at=now - timedelta(hours=h, minutes=m))
            for h in range(4 * 24)
            for m in sorted(rng.sample(range(60), rng.randint(9, 15)))
        ],
    )
    loop = AlertLoop(ctx)
    loop.start()
    try:
        time.sleep(2 * PASS)  # two passes over the steady stream: nothing to tell
        assert slack_arrivals == [] and mailbox.arrivals == []
        burst_at = utcnow()
        _store(
            ctx,
            [
                make_item(text="Veloria recall", published_at=burst_at - timedelta(seconds=s % 30))
                for s in range(600)
            ],
        )
        stored = time.time()
        delivered = _wait(lambda: slack_arrivals and mailbox.arrivals, LIMIT + PASS)
        assert delivered, "no delivery on both channels within a minute of storage"
        time.sleep(2 * PASS)  # two more passes: nothing is sent again
    finally:
        loop.stop()
        ctx.close()
    assert len(slack_arrivals) == 1 and len(mailbox.arrivals) == 1
    slack_delay, email_delay = slack_arrivals[0] - stored, mailbox.arrivals[0] - stored
    print(f"stored to delivered: slack {slack_delay:.1f} s, email {email_delay:.1f} s")
    assert 0 <= slack_delay < LIMIT and 0 <= email_delay < LIMIT
