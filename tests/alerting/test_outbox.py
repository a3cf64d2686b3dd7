"""The outbox: events recorded once, each delivered once per channel, retried with backoff."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.alerting.notifiers.base import DeliveryError
from services.alerting.outbox import DeliveryReport, OutboxWorker, backoff
from services.store.state.contract import AlertEventRecord
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock


@dataclass
class FakeNotifier:
    """A fake notifier (no real receiver here): records sends, or raises queued errors."""

    channel: str = "slack"
    safe_to_resend: bool = False
    sent: list[tuple[Any, str]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    def send(self, message: Any, *, idempotency_key: str) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((message, idempotency_key))


def build_message(event: AlertEventRecord, channel: str) -> Any:
    """A stand-in for an AlertMessage: the fake notifiers only record what they get."""
    return {"rule": event.rule_name, "status": event.status, "channel": channel}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(tmp_path: Path, clock: FakeClock) -> Iterator[SqlStateStore]:
    store = SqlStateStore(f"sqlite:///{tmp_path}/veille.db", clock=clock)
    yield store
    store.close()


@pytest.fixture
def worker(state: SqlStateStore, clock: FakeClock) -> OutboxWorker:
    return OutboxWorker(state, build_message=build_message, clock=clock, lease_seconds=60)


def _record(state: SqlStateStore, channels: list[str], key: str = "2026-11-01T10:00") -> int:
    event_id = state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key=key,
        numbers={"observed": 40, "expected": 5},
        channels=channels,
    )
    assert event_id is not None
    return event_id


def test_an_event_is_recorded_once_with_one_delivery_per_channel(state: SqlStateStore) -> None:
    event_id = _record(state, ["slack:HOOK", "email:TEAM", "slack:HOOK"])
    again = state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="2026-11-01T10:00",
        numbers={},
        channels=["slack:HOOK"],
    )
    assert again is None
    event = state.get_alert_event(event_id)
    assert [(d.channel, d.status, d.attempts) for d in event.deliveries] == [
        ("email:TEAM", "pending", 0),
        ("slack:HOOK", "pending", 0),
    ]
    assert [e.id for e in state.list_alert_events()] == [event_id]


def test_due_deliveries_are_sent_once_with_an_idempotency_key(
    state: SqlStateStore, worker: OutboxWorker
) -> None:
    event_id = _record(state, ["slack:HOOK", "email:TEAM"])
    slack, email = FakeNotifier("slack"), FakeNotifier("email")
    report = worker.deliver_due({"slack": slack, "email:TEAM": email})
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert slack.sent == [
        (
            {"rule": "spike", "status": "firing", "channel": "slack:HOOK"},
            f"{event_id}:slack:HOOK",
        )
    ]
    assert [key for _, key in email.sent] == [f"{event_id}:email:TEAM"]
    assert worker.deliver_due({"slack": slack, "email": email}).sent == 0
    deliveries = state.get_alert_event(event_id).deliveries
    assert {(d.status, d.attempts) for d in deliveries} == {("sent", 1)}
    assert all(d.sent_at is not None for d in deliveries)


def test_a_temporary_error_is_retried_with_backoff_honouring_retry_after(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    event_id = _record(state, ["slack:HOOK"])
    slack = FakeNotifier(errors=[DeliveryError("429", permanent=False, retry_after=300)])
    assert worker.deliver_due({"slack": slack}).retried == 1
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "429"
    assert delivery.next_attempt_at == clock.now + backoff(1, retry_after=300)
    clock.advance(299)
    assert worker.deliver_due({"slack": slack}).sent == 0  # not due yet
    clock.advance(2)
    assert worker.deliver_due({"slack": slack}).sent == 1
    assert len(slack.sent) == 1


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(n).total_seconds() for n in range(1, 10)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 3600
    assert backoff(1, retry_after=900).total_seconds() == 900


def test_a_permanent_error_fails_the_delivery(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    event_id = _record(state, ["webhook:HOOK"])
    hook = FakeNotifier("webhook", errors=[DeliveryError("404 no such hook", permanent=True)])
    assert worker.deliver_due({"webhook": hook}).failed == 1
    clock.advance(86400)
    assert worker.deliver_due({"webhook": hook}).sent == 0
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert delivery.status == "failed"
    assert "404 no such hook" in (delivery.last_error or "")


def test_too_many_temporary_errors_fail_the_delivery(
    state: SqlStateStore, clock: FakeClock
) -> None:
    worker = OutboxWorker(state, build_message=build_message, clock=clock, max_attempts=3)
    event_id = _record(state, ["slack:HOOK"])
    slack = FakeNotifier(errors=[DeliveryError("503", permanent=False) for _ in range(5)])
    for _ in range(3):
        worker.deliver_due({"slack": slack})
        clock.advance(3600)
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert slack.sent == []


def test_a_missing_notifier_is_retried_not_dropped(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    _record(state, ["email:TEAM"])
    assert worker.deliver_due({}).retried == 1
    clock.advance(3600)
    email = FakeNotifier("email")
    assert worker.deliver_due({"email": email}).sent == 1


def _crash_after_send(state: SqlStateStore, notifier: FakeNotifier, event_id: int) -> None:
    """A worker claims, marks sending, sends, and dies before recording it."""
    (due,) = state.claim_deliveries(limit=10, lease_seconds=60)
    assert state.begin_delivery(due.delivery_id, attempt_id=due.attempt_id, lease_seconds=60)
    notifier.send(
        build_message(due.event, due.channel), idempotency_key=f"{event_id}:{due.channel}"
    )


def test_after_a_crash_mid_send_slack_is_not_sent_again_and_shows_unknown(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    event_id = _record(state, ["slack:HOOK"])
    slack = FakeNotifier()
    _crash_after_send(state, slack, event_id)
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert delivery.status == "sending"
    # While its lease runs, nobody touches it.
    assert worker.deliver_due({"slack": slack}) == DeliveryReport()
    clock.advance(61)
    assert worker.deliver_due({"slack": slack}) == DeliveryReport(unknown=1)
    clock.advance(3600)
    assert worker.deliver_due({"slack": slack}) == DeliveryReport()
    assert len(slack.sent) == 1
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert (delivery.status, delivery.attempts) == ("unknown", 1)
    assert delivery.last_error is not None and "not sent again" in delivery.last_error


@pytest.mark.parametrize("channel", ["email:TEAM", "webhook:HOOK"])
def test_after_a_crash_mid_send_a_deduplicating_channel_gets_it_again_with_the_same_key(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock, channel: str
) -> None:
    event_id = _record(state, [channel])
    notifier = FakeNotifier(channel.partition(":")[0], safe_to_resend=True)
    _crash_after_send(state, notifier, event_id)
    clock.advance(61)
    assert worker.deliver_due({notifier.channel: notifier}) == DeliveryReport(sent=1)
    assert [key for _, key in notifier.sent] == [f"{event_id}:{channel}"] * 2
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_a_crash_after_claiming_but_before_sending_is_not_in_doubt(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    event_id = _record(state, ["slack:HOOK", "webhook:HOOK"])
    assert len(state.claim_deliveries(limit=10, lease_seconds=60)) == 2  # then the worker dies
    clock.advance(61)
    slack, hook = FakeNotifier(), FakeNotifier("webhook", safe_to_resend=True)
    assert worker.deliver_due({"slack": slack, "webhook": hook}) == DeliveryReport(sent=2)
    assert len(slack.sent) == len(hook.sent) == 1
    statuses = [(d.status, d.attempts) for d in state.get_alert_event(event_id).deliveries]
    assert statuses == [("sent", 1), ("sent", 1)]


def test_an_in_doubt_delivery_is_not_resent_by_a_notifier_that_does_not_say_it_dedupes(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    class PluginNotifier:  # a third-party notifier written before `safe_to_resend` existed
        channel = "teams"

        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, message: Any, *, idempotency_key: str) -> None:
            self.sent.append(idempotency_key)

    event_id = _record(state, ["teams:HOOK"])
    plugin = PluginNotifier()
    _crash_after_send(state, FakeNotifier("teams"), event_id)
    clock.advance(61)
    # It lacks `safe_to_resend` on purpose, so it is no Notifier to the type checker.
    assert worker.deliver_due({"teams": plugin}) == DeliveryReport(unknown=1)  # type: ignore[dict-item]
    assert plugin.sent == []


def test_no_answer_after_sending_is_settled_like_a_crash(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    event_id = _record(state, ["slack:HOOK", "webhook:HOOK"])
    lost = DeliveryError("read time-out", permanent=False, maybe_delivered=True)
    slack = FakeNotifier(errors=[lost])
    hook = FakeNotifier("webhook", safe_to_resend=True, errors=[lost])
    assert worker.deliver_due({"slack": slack, "webhook": hook}) == DeliveryReport(
        retried=1, unknown=1
    )
    clock.advance(3600)
    assert worker.deliver_due({"slack": slack, "webhook": hook}) == DeliveryReport(sent=1)
    assert (len(slack.sent), len(hook.sent)) == (0, 1)
    slack_delivery, hook_delivery = sorted(
        state.get_alert_event(event_id).deliveries, key=lambda d: d.channel
    )
    assert slack_delivery.status == "unknown"
    assert "under way when it failed (read time-out)" in (slack_delivery.last_error or "")
    assert (hook_delivery.status, hook_delivery.attempts) == ("sent", 2)


def test_a_notifier_bug_mid_send_is_unknown_for_slack_and_retried_for_a_webhook(
    state: SqlStateStore, worker: OutboxWorker
) -> None:
    event_id = _record(state, ["slack:HOOK", "webhook:HOOK"])
    slack = FakeNotifier(errors=[RuntimeError("bug")])
    hook = FakeNotifier("webhook", safe_to_resend=True, errors=[RuntimeError("bug")])
    report = worker.deliver_due({"slack": slack, "webhook": hook})
    assert report == DeliveryReport(retried=1, unknown=1)
    slack_delivery, hook_delivery = sorted(
        state.get_alert_event(event_id).deliveries, key=lambda d: d.channel
    )
    assert slack_delivery.status == "unknown" and "RuntimeError: bug" in (
        slack_delivery.last_error or ""
    )
    assert (hook_delivery.status, hook_delivery.last_error) == ("pending", "RuntimeError: bug")


def test_a_rate_limit_is_waited_out_before_the_delivery_is_marked_sending(
    state: SqlStateStore, worker: OutboxWorker
) -> None:
    event_id = _record(state, ["slack:HOOK"])
    seen: list[str] = []

    class Limited(FakeNotifier):
        def wait_turn(self) -> None:  # a crash here must leave nothing in doubt
            seen.append(state.get_alert_event(event_id).deliveries[0].status)

        def send(self, message: Any, *, idempotency_key: str) -> None:
            seen.append(state.get_alert_event(event_id).deliveries[0].status)
            super().send(message, idempotency_key=idempotency_key)

    assert worker.deliver_due({"slack": Limited()}) == DeliveryReport(sent=1)
    assert seen == ["pending", "sending"]


def test_a_worker_whose_lease_was_taken_over_neither_sends_nor_overwrites(
    state: SqlStateStore, clock: FakeClock
) -> None:
    event_id = _record(state, ["webhook:HOOK"])
    (stale,) = state.claim_deliveries(limit=10, lease_seconds=60)
    clock.advance(61)
    (fresh,) = state.claim_deliveries(limit=10, lease_seconds=60)
    assert fresh.attempt_id != stale.attempt_id and not fresh.in_doubt
    assert not state.begin_delivery(
        stale.delivery_id, attempt_id=stale.attempt_id, lease_seconds=60
    )
    assert state.begin_delivery(fresh.delivery_id, attempt_id=fresh.attempt_id, lease_seconds=60)
    state.fail_delivery(stale.delivery_id, error="late", attempt_id=stale.attempt_id)
    state.mark_delivery_sent(fresh.delivery_id, attempt_id=fresh.attempt_id)
    (delivery,) = state.get_alert_event(event_id).deliveries
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)


def test_quiet_hours_delay_a_delivery(
    state: SqlStateStore, worker: OutboxWorker, clock: FakeClock
) -> None:
    from datetime import timedelta

    state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="k",
        numbers={},
        channels=["slack:HOOK"],
        deliver_after=clock.now + timedelta(hours=2),
    )
    slack = FakeNotifier()
    assert worker.deliver_due({"slack": slack}).sent == 0
    clock.advance(7200)
    assert worker.deliver_due({"slack": slack}).sent == 1


def test_notifiers_are_built_once_per_channel_key() -> None:
    from services.alerting.outbox import notifiers_by_channel
    from services.alerting.rules import AlertRule, Channel

    def rule(name: str, *targets: str) -> AlertRule:
        return AlertRule(
            name=name,
            target_type="brand",
            target="Veloria",
            kind="new_mention",
            channels=[Channel(type="slack", target=t) for t in targets],
        )

    made: list[str] = []

    def make(channel: Channel) -> FakeNotifier | None:
        made.append(channel.key)
        return None if channel.target == "OFF" else FakeNotifier(channel.type)

    found = notifiers_by_channel([rule("a", "A", "OFF"), rule("b", "A", "B")], make)
    assert sorted(found) == ["slack:A:en", "slack:B:en"]
    assert made == ["slack:A", "slack:OFF", "slack:B"]
    assert found.for_delivery("b", "slack:A") is found.for_delivery("a", "slack:A")
