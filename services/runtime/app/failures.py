"""How the background loops log a failed pass: one line for the failures an operator
expects (a store down, an SMTP refusal, a bad setting), saying what failed and what to do,
with the traceback at DEBUG; the traceback at ERROR only for the others (a bug).

    try:
        apply_retention(ctx, trigger="daily")
    except Exception as error:
        log_failure(log, "the daily retention run failed", error, then="it runs again tomorrow")
"""

from __future__ import annotations

import logging

from services.alerting.notifiers.base import DeliveryError
from services.core.workspace import ConfigError
from services.reports.period import PeriodError
from services.reports.service import ReportInputError
from services.store.contracts import IndexUnavailable
from services.store.state.contract import NotFoundError
from services.store.state.errors import StateStoreError

ErrorTypes = tuple[type[Exception], ...]
_CHECK_STORES = "check that it runs and that this process reaches it (`veille health`)"
_FIX_SETTING = "fix it in the configuration, then run `veille config check`"


def advice(error: BaseException, bad_settings: ErrorTypes = ()) -> str | None:
    """What to do about an expected failure; None for an unexpected one. `bad_settings`:
    more errors that name a wrong setting (the caller's own)."""
    if isinstance(error, IndexUnavailable):
        return f"the mention index is unavailable: {_CHECK_STORES}"
    if isinstance(error, StateStoreError):
        return f"the state store is unavailable: {_CHECK_STORES}"
    if isinstance(error, DeliveryError):
        return "check the SMTP server and settings.alerting.smtp_* (and the recipients)"
    if isinstance(error, (ConfigError, PeriodError, ReportInputError, *bad_settings)):
        return _FIX_SETTING
    if isinstance(error, NotFoundError):
        return "it was deleted meanwhile"
    return None


def log_failure(
    logger: logging.Logger,
    what: str,
    error: BaseException,
    *,
    then: str | None = None,
    bad_settings: ErrorTypes = (),
) -> None:
    """Logs `what` failed: one line (and the traceback at DEBUG) when the failure is
    expected, the traceback at ERROR when not. `then` says what happens next."""
    after = f"; {then}" if then else ""
    hint = advice(error, bad_settings)
    if hint is None:
        logger.error("%s (unexpected %s)%s", what, type(error).__name__, after, exc_info=error)
        return
    reason = str(error.args[0] if isinstance(error, NotFoundError) and error.args else error)
    logger.error("%s: %s (%s)%s", what, reason or type(error).__name__, hint, after)
    logger.debug("%s: traceback", what, exc_info=error)
