"""Logging set-up: the service's own lines, without one line per HTTP request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.app.logs import setup_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("elastic_transport", "httpx")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


@pytest.mark.usefixtures("restored_logging")
def test_per_request_loggers_are_quiet_at_info_and_the_service_is_not() -> None:
    setup_logging(level="INFO")
    assert logging.getLogger("veille.analyzer").isEnabledFor(logging.INFO)
    for per_request in ("elastic_transport.transport", "httpx"):
        assert not logging.getLogger(per_request).isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    # Its retry warnings carry a traceback each; the store logs its own line per try.
    assert not logging.getLogger("elastic_transport.transport").isEnabledFor(logging.WARNING)
    assert logging.getLogger("elastic_transport.transport").isEnabledFor(logging.ERROR)


@pytest.mark.usefixtures("restored_logging")
def test_governance_logs_no_handle_or_text_above_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Retention, erasure, the ingest hold and the author export log counts and ids only."""
    from services.runtime.app.context import ServiceContext
    from services.runtime.governance.access import author_data
    from services.runtime.governance.erasure import start_erasure
    from services.runtime.governance.retention import apply_retention
    from services.runtime.workers.analysis import process_batch
    from tests.factories import local_settings, make_item, make_mention

    settings = local_settings(tmp_path, retention={"days": {"x": 30}})
    ctx = ServiceContext(settings)
    secret_text = "Numéro privé 0612345678 de Jeanne"
    try:
        ctx.index.upsert(
            [
                make_mention(author="jeanne.secret", text=secret_text),
                make_mention(source_kind="x", author="jeanne.secret", text="vieux post x"),
            ]
        )
        ctx.state.enqueue_items([make_item(author="jeanne.secret", text="déjà là")])
        with caplog.at_level(logging.DEBUG):
            apply_retention(ctx)
            author_data(ctx, "jeanne.secret")
            start_erasure(ctx, kind="author", identifier="jeanne.secret")
            start_erasure(ctx, kind="text", identifier="0612345678")
            ctx.state.enqueue_items([make_item(author="jeanne.secret", text="encore elle")])
            assert process_batch(ctx).dropped == 1  # held: dropped before the analyzer
    finally:
        ctx.close()
    # Veille's own lines: what a library logs about its own work is not what this checks.
    above_debug = [
        r for r in caplog.records if r.levelno > logging.DEBUG and r.name.startswith("veille")
    ]
    assert any("erasure" in r.getMessage() for r in above_debug)
    for record in above_debug:
        message = record.getMessage().lower()
        assert "jeanne" not in message and "0612345678" not in message, message
