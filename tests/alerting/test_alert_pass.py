"""One alert pass as `veille alerts run --once` makes it, on real stores and a real HTTP
receiver standing in for Slack: the wiring of settings, rules, outbox and notifiers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.alerting.rules import AlertRule, Channel
from services.core.models import Brand
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.workers.alert_loop import run_alerts_once
from tests.httpserver import HTTPTestServer

SERIES = [["2026-11-22T09:00:00+00:00", 2, 2], ["2026-11-22T10:00:00+00:00", 40, 40]]


@pytest.fixture
def slack() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as server:
        server.add("/hook", method="POST", body=b"ok")
        yield server


def _context(tmp_path: Path, **api: Any) -> ServiceContext:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
            "api": api,
            "alerting": {"allowed_networks": ["127.0.0.0/8"]},
        }
    )
    ctx = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    ctx.sync_workspace()
    rule = AlertRule(
        name="spike",
        target_type="brand",
        target="Veloria",
        kind="new_mention",
        channels=[Channel(type="slack", target="VEILLE_PASS_SLACK")],
    )
    ctx.state.put_spec(
        "alert_rule",
        name=rule.name,
        spec=rule.model_dump(mode="json"),
        owner=None,
        visibility="shared",
    )
    ctx.state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="k",
        numbers={"observed": 40, "expected": 2, "window_start": SERIES[1][0], "series": SERIES},
        channels=["slack:VEILLE_PASS_SLACK"],
    )
    return ctx


@pytest.mark.parametrize("public_url", [None, "https://veille.example.org"])
def test_a_pass_delivers_and_links_the_chart_only_with_a_public_url(
    tmp_path: Path,
    slack: HTTPTestServer,
    monkeypatch: pytest.MonkeyPatch,
    public_url: str | None,
) -> None:
    monkeypatch.setenv("VEILLE_PASS_SLACK", slack.url("/hook"))
    ctx = _context(tmp_path, public_url=public_url)
    try:
        done = run_alerts_once(ctx)
        again = run_alerts_once(ctx)
    finally:
        ctx.close()
    # the stored rule and Veloria's two default rules (volume spike, negative share)
    assert done.summary() == (
        "3 rule(s) evaluated, 0 new alert(s); deliveries: 1 sent, 0 to retry, 0 failed, 0 unknown"
    )
    assert again.deliveries.sent == 0
    (request,) = slack.requests_for("/hook")
    images = [b for b in json.loads(request.body)["blocks"] if b["type"] == "image"]
    if public_url is None:
        assert images == []
    else:
        (image,) = images
        assert image["image_url"].startswith(
            "https://veille.example.org/api/v1/alerts/events/1/chart.png?token="
        )


def test_a_missing_secret_fails_every_channel_alike_and_resends_once_set(
    tmp_path: Path, slack: HTTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack and webhook: a delivery whose secret is unset fails at once with an error
    naming the variable (no retry every pass), and goes out on resend once it is set."""
    for name in ("VEILLE_PASS_SLACK", "VEILLE_PASS_HOOK", "VEILLE_PASS_HOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("VEILLE_SECRETS_FILE", raising=False)
    ctx = _context(tmp_path)
    hook = AlertRule(
        name="hooked",
        target_type="brand",
        target="Veloria",
        kind="new_mention",
        channels=[Channel(type="webhook", target="VEILLE_PASS_HOOK")],
    )
    ctx.state.put_spec(
        "alert_rule",
        name=hook.name,
        spec=hook.model_dump(mode="json"),
        owner=None,
        visibility="shared",
    )
    event_id = ctx.state.record_alert_event(
        rule_name="hooked",
        kind="volume_spike",
        status="firing",
        dedupe_key="k2",
        numbers={"observed": 40, "expected": 2, "window_start": SERIES[1][0], "series": SERIES},
        channels=["webhook:VEILLE_PASS_HOOK"],
    )
    assert event_id is not None
    try:
        first = run_alerts_once(ctx)
        errors = {
            d.channel: (d.status, d.last_error)
            for e in ctx.state.list_alert_events(limit=10)
            for d in e.deliveries
        }
        second = run_alerts_once(ctx)
        monkeypatch.setenv("VEILLE_PASS_HOOK", slack.url("/hook"))
        monkeypatch.setenv("VEILLE_PASS_HOOK_SECRET", "s3cret-key")
        ctx.state.requeue_delivery(event_id, "webhook:VEILLE_PASS_HOOK")
        resent = run_alerts_once(ctx)
    finally:
        ctx.close()
    assert (first.deliveries.failed, first.deliveries.retried) == (2, 0)
    for channel, name in (
        ("slack:VEILLE_PASS_SLACK", "VEILLE_PASS_SLACK"),
        ("webhook:VEILLE_PASS_HOOK", "VEILLE_PASS_HOOK"),
    ):
        status, error = errors[channel]
        assert status == "failed"
        assert error is not None and f"secret {name} is not set" in error
    assert (second.deliveries.failed, second.deliveries.retried, second.deliveries.sent) == (
        0,
        0,
        0,
    )
    assert resent.deliveries.sent == 1
    assert len(slack.requests_for("/hook")) == 1


def test_two_rules_sharing_an_email_target_each_get_their_own_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel's `language` is per rule: one rule in French and one in English on the
    same address give one French and one English email (real SMTP server)."""
    from tests.alerting.notifiers.test_email import Mailbox
    from tests.smtp_server import smtp_server

    monkeypatch.setenv("VEILLE_PASS_TEAM", "team@example.org")
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        settings = build_settings(
            {
                "data_dir": str(tmp_path),
                "store": {
                    "state_url": f"sqlite:///{tmp_path}/veille.db",
                    "index_url": f"embedded:{tmp_path}/index",
                },
                "alerting": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_security": "plain",
                    "brand_rules": {"enabled": False},
                },
            }
        )
        ctx = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
        ctx.sync_workspace()
        for name, language in (("en-rule", "en"), ("fr-rule", "fr")):
            rule = AlertRule(
                name=name,
                target_type="brand",
                target="Veloria",
                kind="new_mention",
                channels=[Channel(type="email", target="VEILLE_PASS_TEAM", language=language)],
            )
            ctx.state.put_spec(
                "alert_rule",
                name=name,
                spec=rule.model_dump(mode="json"),
                owner=None,
                visibility="shared",
            )
            ctx.state.record_alert_event(
                rule_name=name,
                kind="volume_spike",
                status="firing",
                dedupe_key="k",
                numbers={"observed": 40, "expected": 2, "window_start": SERIES[1][0]},
                channels=["email:VEILLE_PASS_TEAM"],
            )
        try:
            done = run_alerts_once(ctx)
        finally:
            ctx.close()
    assert done.deliveries.sent == 2
    subjects = sorted(str(m["Subject"]) for m in mailbox.messages())
    assert len(subjects) == 2
    assert subjects[0].startswith("[Veille] Pic de volume"), subjects
    assert subjects[1].startswith("[Veille] Volume spike"), subjects
