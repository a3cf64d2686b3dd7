"""A workspace-YAML report on its first day: a slot from before the service first saw it
was never missed, so nothing is "caught up" (an empty report, before anything was
collected); a slot missed later, while the service was down, still is. Real SQLite
file, real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.core.reports import ReportDefinition, Schedule
from services.reports.service import definitions
from services.reports.store import RenderInfo, Renders
from services.runtime.app.context import ServiceContext
from services.runtime.workers.report_loop import ReportScheduler
from tests.alerting.notifiers.test_email import Mailbox
from tests.reports.conftest import WORKSPACE, local_smtp, make_context, requires_pdf

YAML_REPORT = ReportDefinition(
    name="veloria-hebdo",
    brand="Veloria",
    period="last_week",
    language="fr",
    timezone="Europe/Paris",
    schedule=Schedule(every="week", at="08:00"),
    recipients=["direction@example.org"],
)
FIRST_DAY = datetime(2026, 11, 16, 20, 19, tzinfo=UTC)  # Monday 21:19 in Paris
NEXT_MONDAY_8 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def yaml_ctx(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[ServiceContext]:
    _, port = mailbox
    context = make_context(
        tmp_path,
        workspace=WORKSPACE.model_copy(update={"reports": [YAML_REPORT]}),
        alerting=local_smtp(port, smtp_sender="veille@example.org"),
    )
    yield context
    context.close()


@requires_pdf
def test_a_new_workspace_report_is_not_caught_up_on_its_first_day_but_later_is(
    yaml_ctx: ServiceContext, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    [definition] = definitions(yaml_ctx).list()
    assert definition.origin == "config" and definition.updated_at is None
    # `veille up` for the first time on Monday evening: the 08:00 slot predates the report.
    first = ReportScheduler(yaml_ctx, clock=lambda: FIRST_DAY)
    assert first.missed(definition, now=FIRST_DAY) is None
    assert first.catch_up([definition], now=FIRST_DAY) == []
    # A restart later that week finds the marker, not a new floor.
    assert ReportScheduler(yaml_ctx).catch_up([definition], now=WEDNESDAY.replace(day=18)) == []
    assert box.messages() == []
    # The service was down over the next Monday's 08:00: that slot was missed.
    later = ReportScheduler(yaml_ctx, clock=lambda: WEDNESDAY)
    assert later.missed(definition, now=WEDNESDAY) == NEXT_MONDAY_8
    assert later.catch_up([definition], now=WEDNESDAY) == ["veloria-hebdo"]
    [job] = [j for j in later._scheduler.get_jobs() if j.id.endswith(":veloria-hebdo")]
    assert job.func(*job.args, **job.kwargs) is True
    [message] = box.messages()
    assert message["Subject"] == "[Veille] Veloria · du 16 au 22 novembre 2026"


def test_a_report_with_renders_from_before_the_upgrade_still_catches_up(
    yaml_ctx: ServiceContext,
) -> None:
    """An install upgraded to first-seen markers: the report's kept renders show it
    existed, so its missed slot is not taken for one from before it existed."""
    since = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    until = datetime(2026, 11, 8, 23, 0, tzinfo=UTC)
    Renders(yaml_ctx.settings.data_dir).save(
        RenderInfo("veloria-hebdo", "20261109T070000Z", since, until, ["html"], 1.0),
        html="<p>x</p>",
        pdf=None,
    )
    [definition] = definitions(yaml_ctx).list()
    assert ReportScheduler(yaml_ctx).missed(definition, now=WEDNESDAY) == NEXT_MONDAY_8
