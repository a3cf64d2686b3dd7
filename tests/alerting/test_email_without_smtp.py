"""An email channel while `alerting.smtp_host` is not set: like a missing secret, each
delivery fails at once naming the setting (no retry every pass), saving a rule and
`veille config check` warn of it, and a resend once it is set goes out (a real aiosmtpd
server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.alerting.channels import channel_warnings, missing_secrets
from services.alerting.rules import Channel
from services.core.models import Brand
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.workers.alert_loop import run_alerts_once
from tests.alerting.notifiers.test_email import Mailbox
from tests.alerting.test_channel_secrets import _check
from tests.e2e.service import write_workspace
from tests.smtp_server import smtp_server

CHANNEL = "email:VEILLE_TEAM_EMAIL"


def _context(tmp_path: Path, **alerting: Any) -> ServiceContext:
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
            "alerting": {"brand_rules": {"channels": [CHANNEL]}, **alerting},
        }
    )
    context = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    context.sync_workspace()
    return context


def test_a_delivery_fails_at_once_naming_smtp_host_and_a_resend_sends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newcomer test: without smtp_host, the delivery was retried every 30 s forever."""
    monkeypatch.setenv("VEILLE_TEAM_EMAIL", "team@example.org")
    ctx = _context(tmp_path)
    event = ctx.state.record_alert_event(
        rule_name="veloria-volume",
        kind="volume_spike",
        status="firing",
        dedupe_key="k",
        numbers={
            "observed": 40,
            "expected": 2.5,
            "window_start": "2026-11-01T10:00:00+00:00",
            "window_end": "2026-11-01T11:00:00+00:00",
        },
        channels=[CHANNEL],
    )
    assert event is not None
    for _ in range(2):  # a second pass does not try again
        run_alerts_once(ctx)
        [delivery] = ctx.state.get_alert_event(event).deliveries
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert delivery.last_error is not None and "alerting.smtp_host" in delivery.last_error
    ctx.close()

    box = Mailbox()
    with smtp_server(box) as port:
        ctx = _context(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="plain")
        try:
            ctx.state.requeue_delivery(event, CHANNEL)  # what POST .../resend does
            run_alerts_once(ctx)
            [delivery] = ctx.state.get_alert_event(event).deliveries
        finally:
            ctx.close()
    assert delivery.status == "sent", delivery.last_error
    assert [e.rcpt_tos for e in box.envelopes] == [["team@example.org"]]


def test_saving_a_rule_with_email_warns_that_smtp_host_is_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What POST /alert-rules answers in `warnings` (services/api/routers/alert_rules.py)."""
    monkeypatch.setenv("VEILLE_TEAM_EMAIL", "team@example.org")
    channel = Channel(type="email", target="VEILLE_TEAM_EMAIL")
    ctx = _context(tmp_path)
    try:
        [warning] = missing_secrets(channel, ctx.settings.alerting)
        assert "alerting.smtp_host is not set" in warning and "resend" in warning
        [coded] = channel_warnings(channel, ctx.settings.alerting)
        assert (coded.code, coded.name, coded.text) == (
            "smtp_host_not_set",
            "alerting.smtp_host",
            warning,
        )
    finally:
        ctx.close()
    with_host = _context(tmp_path, smtp_host="127.0.0.1")
    try:
        assert missing_secrets(channel, with_host.settings.alerting) == []
    finally:
        with_host.close()


def test_config_check_says_email_needs_smtp_host(tmp_path: Path) -> None:
    config = write_workspace(
        tmp_path, sources=[], alerting={"brand_rules": {"channels": [CHANNEL]}}
    )
    checked = _check(config, VEILLE_TEAM_EMAIL="team@example.org")
    assert checked.returncode == 0, checked.stderr
    assert "alerting.smtp_host is not set" in checked.stderr


def test_an_unconfigured_channel_is_warned_about_once_per_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every pass builds the channels' notifiers again: the warning came every 30 s."""
    channels = ["email:VEILLE_ONCE_EMAIL", "webhook:VEILLE_ONCE_HOOK"]  # no smtp_host, unset
    ctx = _context(tmp_path, brand_rules={"channels": channels})
    try:
        with caplog.at_level("WARNING", logger="veille.alerting"):
            for _ in range(3):
                run_alerts_once(ctx)
    finally:
        ctx.close()
    warned = [r.getMessage() for r in caplog.records if "is not configured" in r.getMessage()]
    assert len(warned) == 2, warned
    assert any("email:VEILLE_ONCE_EMAIL" in m and "smtp_host" in m for m in warned)
    assert any("webhook:VEILLE_ONCE_HOOK" in m and "not set" in m for m in warned)
