"""Logging set-up: the service's own lines, without one line per HTTP request."""

from __future__ import annotations

import logging
from collections.abc import Iterator

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
        assert logging.getLogger(per_request).isEnabledFor(logging.WARNING)
