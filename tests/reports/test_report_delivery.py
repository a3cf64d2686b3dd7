"""Scheduled reports: when they fire, and what the service sends to a real SMTP server
(aiosmtpd on 127.0.0.1), once per period however many processes run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.alerting.secret_scope import context_scope
from services.core.reports import ReportDefinition, Schedule
from services.reports.service import definitions
from services.reports.store import Renders
from services.runtime.app.context import ServiceContext
from services.runtime.workers.report_loop import ReportScheduler, trigger_for
from tests.alerting.notifiers.test_email import Mailbox
from tests.reports.conftest import local_smtp, make_context, requires_pdf
from tests.smtp_server import smtp_server

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
def mail_ctx(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[ServiceContext]:
    _, port = mailbox
    context = make_context(tmp_path, alerting=local_smtp(port, smtp_sender="veille@example.org"))
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
        context = make_context(tmp_path, alerting=local_smtp(port))
        try:
            monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org")
            run = run_report(context, WEEKLY, now=MONDAY_8_PARIS)
            assert run.kept is not None
            with pytest.raises(DeliveryError, match="554") as refused:
                send_report(
                    context.settings, run.figures, run.rendered, run.kept, context_scope(context)
                )
            assert "no thanks" not in str(refused.value)  # the reply's text may quote addresses
            [render] = Renders(context.settings.data_dir).list("weekly-mail")
            assert [f.reason for f in render.failed] == [
                f"email: 127.0.0.1:{port} answered 554"
            ] * 2
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


@requires_pdf
def test_a_non_ascii_recipient_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that does not advertise SMTPUTF8: élodie's address cannot be sent to, the
    others get the report, and the render says which entry did not (the secret's name, never
    an address read from it), the logs only its index."""
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    box = Mailbox()
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org, Élodie <élodie@client.example>")
    with smtp_server(box, enable_SMTPUTF8=False) as port:
        ctx = make_context(tmp_path, alerting=local_smtp(port, smtp_sender="veille@example.org"))
        try:
            definitions(ctx).put(
                WEEKLY.model_copy(
                    update={
                        "recipients": ["Direction <direction@example.org>", "VEILLE_REPORT_TEAM"]
                    }
                ),
                create_only=True,
            )
            with caplog.at_level("INFO", logger="veille"):
                assert ReportScheduler(ctx).run("weekly-mail", now=MONDAY_8_PARIS) is True
            [envelope] = box.envelopes
            assert sorted(envelope.rcpt_tos) == ["cm@example.org", "direction@example.org"]
            # Veille's own lines: aiosmtpd, the test's SMTP server, logs each command it
            # reads, and a library's warning (WeasyPrint's, say) could come first.
            ours = [r for r in caplog.records if r.levelno > 10 and r.name.startswith("veille")]
            warnings = [r for r in ours if r.levelname == "WARNING"]
            assert warnings and "SMTPUTF8" in warnings[0].getMessage()
            assert not any("lodie" in r.getMessage() for r in ours)

            key = ctx.state.create_api_key("tests")
            with TestClient(create_app(ctx), headers={"X-API-Key": key}) as client:
                [render] = client.get("/api/v1/reports/weekly-mail/renders").json()
        finally:
            ctx.close()
    assert render["sent_to"] == 2
    [failure] = render["failed"]
    assert (failure["recipient"], failure["index"]) == ("VEILLE_REPORT_TEAM", 1)
    assert "SMTPUTF8" in failure["reason"]


def test_addresses_needing_smtputf8_are_warned_about_at_creation(
    mail_ctx: ServiceContext,
) -> None:
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    key = mail_ctx.state.create_api_key("tests")
    body = {
        "name": "intl",
        "brand": "Veloria",
        "recipients": ["élodie@client.example", "Marc Dupont <marc@example.org>"],
    }
    with TestClient(create_app(mail_ctx), headers={"X-API-Key": key}) as client:
        created = client.post("/api/v1/reports", json=body)
        assert created.status_code == 201, created.text
        [warning] = created.json()["warnings"]
        assert "élodie@client.example" in warning and "SMTPUTF8" in warning
        refused = client.post(
            "/api/v1/reports", json={**body, "name": "bad", "recipients": ["Marc <marc@>"]}
        )
        assert refused.status_code == 422
        assert "Marc <marc@>" in refused.text


def _saved_long_ago(ctx: ServiceContext, name: str) -> None:
    """The definition's file dates from before the slots the tests look at."""
    path = Path(ctx.settings.data_dir) / "reports" / "definitions" / f"{name}.yaml"
    old = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    os.utime(path, (old, old))


def test_a_missed_slot_is_found_until_a_delivery_is_recorded(mail_ctx: ServiceContext) -> None:
    from services.reports.store import RenderInfo

    _saved_long_ago(mail_ctx, "weekly-mail")
    scheduler = ReportScheduler(mail_ctx)
    definition = definitions(mail_ctx).get("weekly-mail")
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert scheduler.missed(definition, now=wednesday) == MONDAY_8_PARIS
    sunday_night = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)  # Monday 30 November in Paris
    assert scheduler.missed(definition, now=sunday_night) is not None  # its own slot: 8:00
    assert scheduler.missed(definition, now=datetime(2026, 11, 23, 6, 0, tzinfo=UTC)) != (
        MONDAY_8_PARIS
    )  # before Monday 08:00: the week before's slot, not this one
    renders = Renders(mail_ctx.settings.data_dir)
    window_since = datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
    info = renders.save(
        RenderInfo("weekly-mail", "20261123T070000Z", window_since, MONDAY_8_PARIS, ["html"], 1.0),
        html="<p>x</p>",
        pdf=None,
    )
    assert scheduler.missed(definition, now=wednesday) == MONDAY_8_PARIS  # kept, not sent
    renders.record_delivery(info, sent_to=1, failed=[], at=MONDAY_8_PARIS)
    assert scheduler.missed(definition, now=wednesday) is None
    fresh = definition.model_copy(update={"updated_at": wednesday - timedelta(hours=1)})
    assert ReportScheduler(mail_ctx).missed(fresh, now=wednesday) is None  # saved after it


@requires_pdf
def test_a_service_started_after_the_slot_sends_the_missed_report(
    mail_ctx: ServiceContext,
    mailbox: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, _ = mailbox
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org")
    _saved_long_ago(mail_ctx, "weekly-mail")
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # after Monday 08:00
    scheduler = ReportScheduler(mail_ctx, refresh_seconds=3600, clock=lambda: wednesday)
    with caplog.at_level("INFO", logger="veille.reports"):
        scheduler.start()
        try:
            deadline = time.monotonic() + 60
            while not box.messages() and time.monotonic() < deadline:
                time.sleep(0.2)
            scheduler.refresh()  # a later pass: already sent, not again
            time.sleep(1)
        finally:
            scheduler.shutdown()
    assert len(box.messages()) == 1
    assert any("missed its slot" in r.getMessage() for r in caplog.records)
    assert box.messages()[0]["Subject"] == "[Veille] Veloria · du 16 au 22 novembre 2026"
    [render] = Renders(mail_ctx.settings.data_dir).list("weekly-mail")
    assert render.sent_to == 2 and render.sent_at is not None
    assert ReportScheduler(mail_ctx).catch_up([definitions(mail_ctx).get("weekly-mail")],
                                             now=wednesday) == []  # fmt: skip


class _QuotingMailbox(Mailbox):
    """Refuses addresses starting with 'refused' the way real servers do: quoting them."""

    async def handle_RCPT(  # type: ignore[no-untyped-def]
        self, server, session, envelope, address, options
    ) -> str:
        if address.startswith("refused"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@requires_pdf
def test_a_render_records_entries_and_reply_codes_never_a_secrets_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    box = _QuotingMailbox()
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("POSTGRES_PASSWORD=refused-PG-S3CR3T@x.org\nTEAM_LIST=ok@example.org\n")
    monkeypatch.setenv("VEILLE_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("VEILLE_INSTALLATION_SECRET", "refused-S3CR3T")
    monkeypatch.setenv("VEILLE_X_BEARER_TOKEN", "refused-X-S3CR3T@x.org")
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "refused-team@example.org, ok@example.org")
    with smtp_server(box) as port:
        context = make_context(tmp_path, alerting=local_smtp(port))
        key = context.state.create_api_key("tests")
        try:
            with (
                TestClient(create_app(context), headers={"X-API-Key": key}) as client,
                caplog.at_level("DEBUG", logger="veille"),
            ):
                # The installation's own secrets are no recipients, even in `default`.
                for name in (
                    "VEILLE_INSTALLATION_SECRET",
                    "VEILLE_X_BEARER_TOKEN",
                    "VEILLE_REDDIT_CLIENT_SECRET",
                    "POSTGRES_PASSWORD",
                    "ELASTICSEARCH_PASSWORD",
                ):
                    body = {"name": "leak", "brand": "Veloria", "recipients": [name]}
                    answer = client.post("/api/v1/reports", json=body)
                    assert answer.status_code == 422, (name, answer.text)
                    assert "installation's own secrets" in answer.json()["detail"]
                # A report stored before the rule does not send to one either.
                definitions(context).put(
                    WEEKLY.model_copy(
                        update={"name": "old", "recipients": ["VEILLE_INSTALLATION_SECRET"]}
                    ),
                    create_only=True,
                )
                refused = client.post("/api/v1/reports/old/renders?send=true")
                assert refused.status_code == 502 and "S3CR3T" not in refused.text
                # A key of the secrets file the installation does not read is one.
                body = {"name": "team", "brand": "Veloria", "recipients": ["TEAM_LIST"]}
                assert client.post("/api/v1/reports", json=body).status_code == 201
                # A refusal names the entry as written, never an address from a secret.
                recipients = ["refused-literal@example.org", "VEILLE_REPORT_TEAM"]
                body = {"name": "mixed", "brand": "Veloria", "recipients": recipients}
                assert client.post("/api/v1/reports", json=body).status_code == 201
                sent = client.post("/api/v1/reports/mixed/renders?send=true")
                assert sent.status_code == 201, sent.text
                listed = client.get("/api/v1/reports/mixed/renders").json()
        finally:
            context.close()
    assert sent.json()["sent_to"] == 1
    assert (
        sent.json()["failed"]
        == listed[0]["failed"]
        == [
            {
                "recipient": "refused-literal@example.org",
                "index": 0,
                "reason": "refused: 550 5.1.1",
            },
            {"recipient": "VEILLE_REPORT_TEAM", "index": 1, "reason": "refused: 550 5.1.1"},
        ]
    )
    assert [e.rcpt_tos for e in box.envelopes] == [["ok@example.org"]]
    assert "S3CR3T" not in sent.text + str(listed)
    # Veille's own log lines: aiosmtpd, the test's SMTP server, logs each command it reads.
    logged = [
        r.getMessage() for r in caplog.records if r.levelno >= 20 and r.name.startswith("veille")
    ]
    assert any("recipients[0], recipients[1] not sent: refused: 550 5.1.1" in m for m in logged)
    for message in logged:  # no address, no reply text above debug
        assert "refused-" not in message and "User unknown" not in message, message


@requires_pdf
def test_a_catch_up_and_the_cron_job_of_one_process_send_the_period_once(
    mail_ctx: ServiceContext, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cron job fired at 08:00 and waits for a thread when a refresh pass finds the
    slot with no delivery: the lease cannot stop the second run (it is the process's own),
    the claim does."""
    box, _ = mailbox
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org")
    _saved_long_ago(mail_ctx, "weekly-mail")
    just_after = MONDAY_8_PARIS + timedelta(seconds=30)
    scheduler = ReportScheduler(mail_ctx, clock=lambda: just_after)  # not started: no thread
    definition = definitions(mail_ctx).get("weekly-mail")
    assert scheduler.catch_up([definition], now=just_after) == ["weekly-mail"]
    [job] = [j for j in scheduler._scheduler.get_jobs() if j.id.endswith(":weekly-mail")]
    assert scheduler.run("weekly-mail", now=just_after) is False  # the cron job's run
    assert box.messages() == []
    assert job.func(*job.args, **job.kwargs) is True  # the catch-up's run
    assert scheduler.catch_up([definition], now=just_after) == []
    assert scheduler.run("weekly-mail", now=just_after) is False
    assert len(box.messages()) == 1
    # The other order: the cron job's run first, then a refresh pass finds nothing to do.
    later = ReportScheduler(mail_ctx, clock=lambda: just_after)
    Path(mail_ctx.settings.data_dir, "reports", "weekly-mail").rename(
        Path(mail_ctx.settings.data_dir, "reports", "weekly-mail-old")
    )  # as if not sent yet
    mail_ctx.leases.release(owner=scheduler.owner, names=["report:weekly-mail:2026-11-16"])
    assert later.run("weekly-mail", now=just_after) is True
    assert later.catch_up([definition], now=just_after) == []
    assert later.run("weekly-mail", now=just_after) is False
    assert len(box.messages()) == 2
