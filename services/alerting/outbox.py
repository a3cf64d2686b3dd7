"""The outbox worker: delivers recorded alert events to their channels, with retries.

The evaluator records an event and one pending delivery per channel in one transaction
(`StateStore.record_alert_event`); this worker claims due deliveries under a lease, sends
each with its notifier and marks it sent, retries it with exponential backoff (honouring
the notifier's `retry_after`), or parks it as failed on a permanent error or after
`max_attempts`.

Delivery is two-phase: the worker marks a delivery `sending` right before the network
call and `sent` right after. A worker killed in between (kill -9, power loss) leaves it
`sending`; once its lease expires the next worker gets it back flagged `in_doubt`, since
nobody can tell whether the channel received it. What happens then depends on the
channel, because exactly-once across a crash needs the receiver's help:

- a notifier with `safe_to_resend` (webhook, email) sends it again with the same
  idempotency key, `f"{event_id}:{channel}"`: the `Idempotency-Key` header (and body
  field) of a webhook, the `Message-ID` of an email. A receiver that remembers keys drops
  the copy: exactly once for webhook receivers that dedupe, as they should. SMTP relays
  do NOT dedupe by Message-ID; some mailboxes and mail clients hide a second copy with
  the same Message-ID, others show both: at most one duplicate per crash, recognisable.
- any other (Slack: an incoming webhook cannot dedupe) is parked as `unknown` and not
  sent again: at most once, and `GET /api/v1/alerts/events` says so with a note, so a
  person can check the channel.

The same doubt arises without a crash when a request went out and no answer came back
(a read time-out, a dropped connection: `DeliveryError.maybe_delivered`), and is settled
the same way. Failures before the request was whole (refused connection, DNS, connect
time-out) and error statuses are retried on every channel.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.alerting.notifiers.base import AlertMessage, DeliveryError, Notifier
from services.alerting.rules import AlertRule, Channel
from services.core import metrics
from services.core.models import utcnow
from services.store.state.contract import AlertEventRecord, DueDelivery, StateStore

log = logging.getLogger("veille.alerting.outbox")

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


MessageBuilder = Callable[[AlertEventRecord, str], AlertMessage]

UNKNOWN_NOTE = (
    "outcome unknown: the worker stopped between sending this and recording it, and {channel} "
    "cannot drop a duplicate, so it was not sent again; check the channel"
)
NO_ANSWER_NOTE = (
    "outcome unknown: sending was under way when it failed ({error}); {channel} cannot drop "
    "a duplicate, so it was not sent again; check the channel"
)


@dataclass(frozen=True)
class DeliveryReport:
    """What one `deliver_due` pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0


def idempotency_key(event_id: int, channel: str) -> str:
    """The key every attempt of one delivery carries, so receivers can drop duplicates."""
    return f"{event_id}:{channel}"


def backoff(attempts: int, *, retry_after: float | None = None) -> timedelta:
    """Delay before the next attempt: 30 s, 1 min, 2 min, ... up to 1 h; at least retry_after."""
    delay: timedelta = min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def notifier_key(channel: Channel) -> str:
    """Everything that changes what a channel sends: 'slack:SLACK_WEBHOOK_X:fr'. Two rules
    sharing a target in two languages need two notifiers."""
    return f"{channel.key}:{channel.language}"


class ChannelNotifiers(dict[str, Notifier]):
    """Notifiers keyed by `notifier_key`, and which one each rule's channel uses: a
    delivery only names its channel key ('slack:X'), its event names the rule."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[tuple[str, str], str] = {}

    def for_delivery(self, rule_name: str, channel: str) -> Notifier | None:
        """The notifier of `rule_name`'s channel; for a rule deleted since its event was
        recorded, any notifier of that channel key (sorted, so always the same one)."""
        key = self.routes.get((rule_name, channel))
        if key is not None:
            return self.get(key)
        for other in sorted(self):
            if other.rpartition(":")[0] == channel:
                return self[other]
        return None


def _find_notifier(notifiers: Mapping[str, Notifier], due: DueDelivery) -> Notifier | None:
    """The notifier for a delivery: by its rule's channel when `notifiers` knows the rules,
    else by channel key ('slack:SLACK_WEBHOOK_X'), else by type ('slack')."""
    if isinstance(notifiers, ChannelNotifiers):
        found = notifiers.for_delivery(due.event.rule_name, due.channel)
        if found is not None:
            return found
    return notifiers.get(due.channel) or notifiers.get(due.channel.partition(":")[0])


def _safe_to_resend(notifier: Notifier | None) -> bool:
    """Only a notifier that says so; a third-party one without the flag is not."""
    return bool(getattr(notifier, "safe_to_resend", False))


def _wait_turn(notifier: Notifier) -> None:
    """Lets a rate-limited notifier (Slack) wait for its slot, if it has such a hook."""
    wait_turn = getattr(notifier, "wait_turn", None)
    if callable(wait_turn):
        # A DeliveryError here (e.g. its secret went missing) is for `send` to report.
        with contextlib.suppress(DeliveryError):
            wait_turn()


def notifiers_by_channel(
    rules: Iterable[AlertRule], make: Callable[[Channel], Notifier | None]
) -> ChannelNotifiers:
    """One notifier per `notifier_key` of the rules ('slack:SLACK_WEBHOOK_X:fr'), built by
    `make` (None: no notifier for that channel, its deliveries wait),
    with each rule's channel routed to its own."""
    found = ChannelNotifiers()
    tried: set[str] = set()
    for rule in rules:
        for channel in rule.channels:
            key = notifier_key(channel)
            found.routes[(rule.name, channel.key)] = key
            if key not in tried:
                tried.add(key)
                notifier = make(channel)
                if notifier is not None:
                    found[key] = notifier
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
        """Sends every due delivery (up to `limit`); returns what became of them."""
        outcomes: Counter[str] = Counter()
        for due in self.state.claim_deliveries(limit=limit, lease_seconds=self.lease_seconds):
            outcome = self._deliver(due, notifiers)
            outcomes[outcome] += 1
            metrics.ALERT_DELIVERIES.labels(
                channel=metrics.channel_kind(due.channel), outcome=outcome
            ).inc()
        return DeliveryReport(
            sent=outcomes["sent"],
            retried=outcomes["retried"],
            failed=outcomes["failed"],
            unknown=outcomes["unknown"],
        )

    def _deliver(self, due: DueDelivery, notifiers: Mapping[str, Notifier]) -> str:
        key = idempotency_key(due.event.id, due.channel)
        notifier = _find_notifier(notifiers, due)
        if due.in_doubt and not _safe_to_resend(notifier):
            log.warning("delivery %s is in doubt after a crash; not sent again", key)
            self.state.mark_delivery_unknown(
                due.delivery_id,
                note=UNKNOWN_NOTE.format(channel=due.channel.partition(":")[0]),
                attempt_id=due.attempt_id,
            )
            return "unknown"
        if notifier is None:
            # No notifier given for this channel (a caller's choice): retry later.
            return self._retry(due, f"no notifier is configured for {due.channel}", None)
        try:
            message = self.build_message(due.event, due.channel)
        except Exception as exc:  # a bug in the builder: retried, logged
            log.exception("delivery %s: the message could not be built", key)
            return self._retry(due, f"{type(exc).__name__}: {exc}", None)
        _wait_turn(notifier)  # rate limits are waited out before `sending`, not in it
        if not self.state.begin_delivery(
            due.delivery_id, attempt_id=due.attempt_id, lease_seconds=self.lease_seconds
        ):
            log.info("delivery %s was taken over by another worker", key)
            return "skipped"
        if due.in_doubt:
            log.info("delivery %s is in doubt after a crash; re-sent with the same key", key)
        try:
            notifier.send(message, idempotency_key=key)
        except DeliveryError as exc:
            if exc.maybe_delivered and not _safe_to_resend(notifier):
                # Sent, but no answer: the same doubt as a crash, settled the same way.
                log.warning("delivery %s got no answer after sending: %s", key, exc)
                self.state.mark_delivery_unknown(
                    due.delivery_id,
                    note=NO_ANSWER_NOTE.format(error=exc, channel=due.channel.partition(":")[0]),
                    attempt_id=due.attempt_id,
                )
                return "unknown"
            if exc.permanent:
                log.warning("delivery %s failed for good: %s", key, exc)
                self.state.fail_delivery(due.delivery_id, error=str(exc), attempt_id=due.attempt_id)
                return "failed"
            return self._retry(due, str(exc), exc.retry_after)
        except Exception as exc:  # a bug in a notifier: before or after the post? Unknown.
            log.exception("delivery %s raised unexpectedly", key)
            error = f"{type(exc).__name__}: {exc}"
            if not _safe_to_resend(notifier):
                self.state.mark_delivery_unknown(
                    due.delivery_id,
                    note=NO_ANSWER_NOTE.format(error=error, channel=due.channel.partition(":")[0]),
                    attempt_id=due.attempt_id,
                )
                return "unknown"
            return self._retry(due, error, None)
        self.state.mark_delivery_sent(due.delivery_id, attempt_id=due.attempt_id)
        log.info("delivered %s (attempt %d)", key, due.attempts)
        return "sent"

    def _retry(self, due: DueDelivery, error: str, retry_after: float | None) -> str:
        key = idempotency_key(due.event.id, due.channel)
        if due.attempts >= self.max_attempts:
            log.warning("delivery %s failed after %d attempts: %s", key, due.attempts, error)
            self.state.fail_delivery(
                due.delivery_id,
                error=f"gave up after {due.attempts} attempts: {error}",
                attempt_id=due.attempt_id,
            )
            return "failed"
        when = self.clock() + backoff(due.attempts, retry_after=retry_after)
        log.info("delivery %s will be retried at %s: %s", key, when.isoformat(), error)
        self.state.retry_delivery(
            due.delivery_id, error=error, next_attempt_at=when, attempt_id=due.attempt_id
        )
        return "retried"
