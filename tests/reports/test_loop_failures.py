"""The report scheduler and the retention loop log an expected failure (a store down, an
SMTP refusal, a bad setting) as one line saying what failed and what to do, with the
traceback at DEBUG only; an unexpected one keeps its traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.reports.service import definitions
from services.runtime.app.context import ServiceContext
from services.runtime.governance import retention_loop
from services.runtime.governance.retention_loop import RetentionScheduler
from services.runtime.workers.report_loop import ReportScheduler
from tests.alerting.notifiers.test_email import Mailbox
from tests.reports.conftest import local_smtp, make_context, requires_pdf
from tests.reports.test_report_delivery import MONDAY_8_PARIS, WEEKLY
from tests.smtp_server import smtp_server

CLOSED_PG = "postgresql+psycopg://veille:secret-pw@127.0.0.1:1/veille"


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("veille") and r.levelno == level]


def one_clear_line(caplog: pytest.LogCaptureFixture, *words: str) -> str:
    """The single ERROR line (no traceback), whose traceback went to DEBUG."""
    [error] = lines(caplog, logging.ERROR) + lines(caplog, logging.WARNING)
    assert error.exc_info is None
    message = error.getMessage()
    for word in words:
        assert word in message, message
    assert any(r.exc_info for r in lines(caplog, logging.DEBUG))
    return message


def down_context(tmp_path: Path, **settings: object) -> ServiceContext:
    """A context whose state store is a PostgreSQL server that is not there."""
    return ServiceContext(
        build_settings(
            {
                "data_dir": str(tmp_path / "data"),
                "store": {"state_url": CLOSED_PG, "index_url": f"embedded:{tmp_path}/index"},
                **settings,
            }
        ),
        Workspace(),
    )


def test_the_state_store_down_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ctx = down_context(tmp_path)
    try:
        with caplog.at_level(logging.DEBUG, logger="veille"):
            assert RetentionScheduler(ctx).run() is None
        message = one_clear_line(
            caplog, "the daily retention run failed", "state store is unavailable", "tomorrow"
        )
        assert "secret-pw" not in message
        caplog.clear()
        definitions(ctx).put(WEEKLY, create_only=True)  # definitions are files
        with caplog.at_level(logging.DEBUG, logger="veille"):
            scheduler = ReportScheduler(ctx, refresh_seconds=60)
            assert scheduler.run("weekly-mail", now=MONDAY_8_PARIS) is False
        one_clear_line(caplog, "scheduled report weekly-mail failed", "state store", "within 60 s")
        # The period was let go: the next pass's catch-up tries it again.
        assert scheduler._attempted == set()
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="veille"):
            RetentionScheduler(ctx).resume_erasures()
        one_clear_line(caplog, "could not resume the unfinished erasures", "veille erase --resume")
    finally:
        ctx.close()


def test_a_bad_retention_setting_names_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ctx = make_context(tmp_path, retention={"days": {"no-such-kind": 30}})
    try:
        with caplog.at_level(logging.DEBUG, logger="veille"):
            assert RetentionScheduler(ctx).run() is None
        one_clear_line(
            caplog, "settings.retention.days.no-such-kind", "unknown source kind", "config check"
        )
    finally:
        ctx.close()


def test_an_unexpected_failure_keeps_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_context(tmp_path)

    def broken(*args: object, **kwargs: object) -> object:
        empty: dict[str, object] = {}
        return empty["a bug"]  # a bug in the run

    monkeypatch.setattr(retention_loop, "apply_retention", broken)
    try:
        with caplog.at_level(logging.DEBUG, logger="veille"):
            assert RetentionScheduler(ctx).run() is None
        [error] = lines(caplog, logging.ERROR)
        assert error.exc_info is not None and error.exc_info[0] is KeyError
        assert "unexpected KeyError" in error.getMessage()
    finally:
        ctx.close()


@requires_pdf
def test_an_smtp_refusal_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_REPORT_TEAM", "cm@example.org")
    with smtp_server(Mailbox(reply="554 no thanks")) as port:
        ctx = make_context(tmp_path, alerting=local_smtp(port))
        try:
            definitions(ctx).put(WEEKLY, create_only=True)
            with caplog.at_level(logging.DEBUG, logger="veille"):
                assert ReportScheduler(ctx).run("weekly-mail", now=MONDAY_8_PARIS) is False
            reports = [r for r in lines(caplog, logging.ERROR) if r.name == "veille.reports"]
            [error] = reports
            assert error.exc_info is None
            message = error.getMessage()
            assert "report weekly-mail was not sent" in message and "554" in message
            assert "smtp" in message.lower()
            assert "cm@example.org" not in message and "no thanks" not in message
        finally:
            ctx.close()
