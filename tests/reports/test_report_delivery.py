"""Scheduled reports: when they fire, and what the service sends to a real SMTP server
(aiosmtpd on 127.0.0.1), once per period however many processes run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.alerting.secret_scope import context_scope
from services.core.reports import ReportDefinition, Schedule
from services.reports.service import definitions
from services.runtime.app.context import ServiceContext
from services.runtime.workers.report_loop import ReportScheduler, trigger_for
from tests.alerting.notifiers.test_email import Mailbox, smtp_server
from tests.reports.conftest import make_context, requires_pdf

WEEKLY = ReportDefinition(
    name="weekly-mail",
    brand="Veloria",
    period="last_week",
    language="fr",
    timezone="Europe/Paris",
    schedule=Schedule(every="week", at="08:00"),
    recipients=["direction@example.org", "VEILLE_REPORT_TEAM"],
)
MONDAY_8_PARIS = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # the week of 16 November ended


def test_weekly_reports_fire_on_monday_at_eight_in_their_time_zone() -> None:
    after = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
    trigger = trigger_for(WEEKLY)
    assert trigger is not None
    assert trigger.get_next_fire_time(None, after) == MONDAY_8_PARIS
    monthly = WEEKLY.model_copy(
        update={"schedule": Schedule(every="month", at="08:30"), "timezone": "America/New_York"}
    )
    trigger = trigger_for(monthly)
    assert trigger is not None
    assert trigger.get_next_fire_time(None, after) == datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    assert trigger_for(WEEKLY.model_copy(update={"schedule": None})) is None


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with smtp_server(box) as port:
        yield box, port


@pytest.fixture
def mail_ctx(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[ServiceContext]:
    _, port = mailbox
    alerting = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain"}
    context = make_context(tmp_path, alerting={**alerting, "smtp_sender": "veille@example.org"})
    definitions(context).put(WEEKLY, create_only=True)
    yield context
    context.close()


@requires_pdf
def test_a_scheduled_report_is_rendered_kept_and_emailed_once(
    mail_ctx: ServiceContext, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, _ = mailbox
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org, manager@example.org")
    first, second = ReportScheduler(mail_ctx), ReportScheduler(mail_ctx)  # two processes
    assert first.run("weekly-mail", now=MONDAY_8_PARIS) is True
    assert second.run("weekly-mail", now=MONDAY_8_PARIS) is False  # the period's lease
    [message] = box.messages()
    assert sorted(box.envelopes[0].rcpt_tos) == [
        "cm@example.org",
        "direction@example.org",
        "manager@example.org",
    ]
    assert message["Subject"] == "[Veille] Veloria · du 16 au 22 novembre 2026"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "- Chiffres clés\u00a0: 15 mentions citent Veloria" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "weekly-mail-2026-11-16.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    kept = list((Path(mail_ctx.settings.data_dir) / "reports" / "weekly-mail").glob("*/report.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == attachment.get_content()


def test_the_running_scheduler_picks_up_scheduled_reports(mail_ctx: ServiceContext) -> None:
    scheduler = ReportScheduler(mail_ctx, refresh_seconds=3600)
    scheduler.start()
    try:
        runs = scheduler.next_runs()
        assert set(runs) == {"weekly-mail"}  # the workspace's report has no schedule
        next_run = runs["weekly-mail"].astimezone(WEEKLY.zone)
        assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 8, 0)
        definitions(mail_ctx).delete("weekly-mail")
        scheduler.refresh()
        assert scheduler.next_runs() == {}
    finally:
        scheduler.shutdown()


@requires_pdf
def test_a_refused_delivery_is_reported_not_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.alerting.notifiers.base import DeliveryError
    from services.reports.delivery import send_report
    from services.reports.service import run_report

    box = Mailbox(reply="554 no thanks")
    with smtp_server(box) as port:
        alerting = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain"}
        context = make_context(tmp_path, alerting=alerting)
        try:
            monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org")
            run = run_report(context, WEEKLY, now=MONDAY_8_PARIS)
            assert run.kept is not None
            with pytest.raises(DeliveryError, match="554"):
                send_report(
                    context.settings, run.figures, run.rendered, run.kept, context_scope(context)
                )
        finally:
            context.close()


@requires_pdf
def test_a_temporary_smtp_failure_is_retried_for_the_same_period(
    mail_ctx: ServiceContext, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, _ = mailbox
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org")
    scheduler = ReportScheduler(mail_ctx)
    box.reply = "451 mailbox busy, try later"
    assert scheduler.run("weekly-mail", now=MONDAY_8_PARIS) is False
    assert scheduler.pending_retries() == ["weekly-mail"]
    assert box.messages() == []
    box.reply = "250 OK"
    other = ReportScheduler(mail_ctx)  # the lease was let go: any process may retry
    assert other.run("weekly-mail", now=MONDAY_8_PARIS, attempt=2) is True
    [message] = box.messages()
    assert message["Subject"] == "[Veille] Veloria · du 16 au 22 novembre 2026"
