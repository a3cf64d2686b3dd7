"""The outbox worker: delivers recorded alert events to their channels, with retries.

The evaluator records an event and one pending delivery per channel in one transaction
(`StateStore.record_alert_event`); this worker claims due deliveries under a lease, sends
each with its notifier and marks it sent, retries it with exponential backoff (honouring
the notifier's `retry_after`), or parks it as failed on a permanent error or after
`max_attempts`.

Delivery guarantee, honestly: the outbox sends each (event, channel) *at least once* and
*at most once per successful acknowledgement*. A worker killed between the notifier's
send and `mark_delivery_sent` leaves the delivery leased; when the lease expires it is
sent again: at most one duplicate per crash. Exactly-once needs the receiver's help:
every attempt carries the same idempotency key, `f"{event_id}:{channel}"` (a header for
webhooks, the message id or a dedupe field for Slack and email), so a receiver that
remembers keys it has seen drops the duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.alerting.notifiers.base import AlertMessage, DeliveryError, Notifier
from services.alerting.rules import AlertRule, Channel
from services.core.models import utcnow
from services.store.state.contract import AlertEventRecord, DueDelivery, StateStore

log = logging.getLogger("veille.alerting.outbox")

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


MessageBuilder = Callable[[AlertEventRecord, str], AlertMessage]


@dataclass(frozen=True)
class DeliveryReport:
    """What one `deliver_due` pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def idempotency_key(event_id: int, channel: str) -> str:
    """The key every attempt of one delivery carries, so receivers can drop duplicates."""
    return f"{event_id}:{channel}"


def backoff(attempts: int, *, retry_after: float | None = None) -> timedelta:
    """Delay before the next attempt: 30 s, 1 min, 2 min, ... up to 1 h; at least retry_after."""
    delay: timedelta = min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def _find_notifier(notifiers: Mapping[str, Notifier], channel: str) -> Notifier | None:
    """The notifier for a channel key ('slack:SLACK_WEBHOOK_X'), else for its type ('slack')."""
    return notifiers.get(channel) or notifiers.get(channel.partition(":")[0])


def notifiers_by_channel(
    rules: Iterable[AlertRule], make: Callable[[Channel], Notifier | None]
) -> dict[str, Notifier]:
    """One notifier per channel key of the rules ('slack:SLACK_WEBHOOK_X'), built by `make`
    (None for a channel switched off, e.g. SMTP not configured: its deliveries wait)."""
    found: dict[str, Notifier] = {}
    for rule in rules:
        for channel in rule.channels:
            if channel.key not in found:
                notifier = make(channel)
                if notifier is not None:
                    found[channel.key] = notifier
    return found


class OutboxWorker:
    """Claims due deliveries and sends them; safe to run in several processes at once."""

    def __init__(
        self,
        state: StateStore,
        *,
        build_message: MessageBuilder,
        clock: Callable[[], datetime] = utcnow,
        lease_seconds: float = 120,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        """`build_message(event, channel)` turns a stored event into the notifier's message."""
        self.state = state
        self.build_message = build_message
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts

    def deliver_due(self, notifiers: Mapping[str, Notifier], *, limit: int = 50) -> DeliveryReport:
        """Sends every due delivery (up to `limit`); returns how many were sent/retried/failed."""
        sent = retried = failed = 0
        for due in self.state.claim_deliveries(limit=limit, lease_seconds=self.lease_seconds):
            outcome = self._deliver(due, notifiers)
            sent += outcome == "sent"
            retried += outcome == "retried"
            failed += outcome == "failed"
        return DeliveryReport(sent=sent, retried=retried, failed=failed)

    def _deliver(self, due: DueDelivery, notifiers: Mapping[str, Notifier]) -> str:
        key = idempotency_key(due.event.id, due.channel)
        notifier = _find_notifier(notifiers, due.channel)
        if notifier is None:
            # A notifier switched off (missing secret): retry later, it may be configured.
            return self._retry(due, f"no notifier is configured for {due.channel}", None)
        try:
            notifier.send(self.build_message(due.event, due.channel), idempotency_key=key)
        except DeliveryError as exc:
            if exc.permanent:
                log.warning("delivery %s failed for good: %s", key, exc)
                self.state.fail_delivery(due.delivery_id, error=str(exc))
                return "failed"
            return self._retry(due, str(exc), exc.retry_after)
        except Exception as exc:  # a bug in a notifier or the builder: retried, logged
            log.exception("delivery %s raised unexpectedly", key)
            return self._retry(due, f"{type(exc).__name__}: {exc}", None)
        self.state.mark_delivery_sent(due.delivery_id)
        log.info("delivered %s (attempt %d)", key, due.attempts)
        return "sent"

    def _retry(self, due: DueDelivery, error: str, retry_after: float | None) -> str:
        key = idempotency_key(due.event.id, due.channel)
        if due.attempts >= self.max_attempts:
            log.warning("delivery %s failed after %d attempts: %s", key, due.attempts, error)
            self.state.fail_delivery(
                due.delivery_id, error=f"gave up after {due.attempts} attempts: {error}"
            )
            return "failed"
        when = self.clock() + backoff(due.attempts, retry_after=retry_after)
        log.info("delivery %s will be retried at %s: %s", key, when.isoformat(), error)
        self.state.retry_delivery(due.delivery_id, error=error, next_attempt_at=when)
        return "retried"
