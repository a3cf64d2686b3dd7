"""The evaluator on real stores: a SQLite state file and an embedded mention index."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.alerting.evaluator import (
    Evaluator,
    digest_period_start,
    floor_time,
    message_from_event,
    quiet_until,
)
from services.alerting.history import backtest_rule
from services.alerting.notifiers.base import AlertMessage
from services.alerting.rules import AlertRule, QuietHours, threshold_for
from services.core.models import Brand, RawItem, Sentiment, SentimentLabel
from services.store.contracts import MentionIndex, open_index
from services.store.state.sql import SqlStateStore
from tests.factories import make_item, make_mention
from tests.state import FakeClock

# Spike hour: 2026-11-10 10:00-11:00 UTC; five days of 2 mentions an hour before it.
SPIKE = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DETECTOR = {
    "bucket": "1h",
    "baseline_window": "7d",
    "seasonality": "none",
    "min_volume": 5,
    "warmup": "2d",
    "min_run": 1,
    "end_after": 2,
    "sensitivity": "high",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SPIKE + HOUR + timedelta(minutes=15))


@pytest.fixture
def state(tmp_path: Path, clock: FakeClock) -> Iterator[SqlStateStore]:
    store = SqlStateStore(f"sqlite:///{tmp_path}/veille.db", clock=clock)
    store.put_brand(Brand(name="Veloria"), origin="api")
    yield store
    store.close()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[MentionIndex]:
    idx = open_index(f"embedded:{tmp_path}/idx")
    yield idx
    idx.close()


def _hourly(index: MentionIndex, start: datetime, hours: int, per_hour: int, **kw: Any) -> None:
    mentions = [
        make_mention(published_at=start + h * HOUR + timedelta(minutes=1 + i), **kw)
        for h in range(hours)
        for i in range(per_hour)
    ]
    index.upsert(mentions)


def _rule(state: SqlStateStore, **fields: Any) -> AlertRule:
    data: dict[str, Any] = {
        "name": "veloria-spike",
        "target_type": "brand",
        "target": "Veloria",
        "kind": "volume_spike",
        "detector": DETECTOR,
        "channels": [{"type": "slack", "target": "SLACK_HOOK"}],
        "cooldown": "0s",
        **fields,
    }
    rule = AlertRule.model_validate(data)
    state.put_spec(
        "alert_rule",
        name=rule.name,
        spec=rule.model_dump(mode="json"),
        owner=None,
        visibility="shared",
    )
    return rule


def _evaluator(state: SqlStateStore, index: MentionIndex, clock: FakeClock) -> Evaluator:
    return Evaluator(state, index, clock=clock, link_base="https://veille.test")


def test_a_spike_is_recorded_once_with_its_numbers(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 2, source_name="forum")
    _hourly(index, SPIKE, 1, 40, source_name="x", text="Veloria recall panic")
    _rule(state)
    evaluator = _evaluator(state, index, clock)
    (outcome,) = evaluator.run_once()
    assert len(outcome.events) == 1
    event = state.get_alert_event(outcome.events[0])
    n = event.numbers
    assert (event.status, event.kind, event.dedupe_key) == (
        "firing",
        "volume_spike",
        SPIKE.isoformat(),
    )
    assert (n["observed"], n["averaged_buckets"]) == (40, 1)  # the bucket's own count
    assert n["expected"] == pytest.approx(2, abs=0.5)
    assert n["threshold"] == threshold_for("volume_spike", "high")
    assert "median of all buckets" in n["baseline_method"]
    # the explanation as data, stored with the event: the rule's and the bucket's figures
    assert event.baseline == {
        "method": "median",
        "season": "none",
        "window_seconds": 7 * 86400,
        "percentile": 99,
        "bucket_seconds": 3600,
        "sensitivity": "high",
        "threshold": n["threshold"],
        "observed": n["observed"],
        "expected": n["expected"],
        "score": n["score"],
    }
    assert n["top_sources"] == [["x", 5]] or n["top_sources"][0][0] == "x"
    assert len(n["top_mentions"]) == 5
    assert n["top_mentions"][0]["text"] == "Veloria recall panic"
    assert n["link"].startswith("https://veille.test/api/v1/mentions?since=")
    assert [(d.channel, d.status) for d in event.deliveries] == [("slack:SLACK_HOOK", "pending")]
    # evaluating again records nothing new
    clock.advance(60)
    assert evaluator.run_once()[0].events == []
    message = message_from_event(event, "slack:SLACK_HOOK")
    assert isinstance(message, AlertMessage)
    assert (message.observed, message.window_start) == (40.0, SPIKE)
    assert message.baseline_parts is not None and message.baseline_parts.method == "median"
    assert message.baseline == n["baseline_method"]
    assert message.top_sources[0][0] == "x"
    assert message.series[-1] == (SPIKE, 40.0)


def test_no_alert_at_cold_start(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _hourly(index, SPIKE - 24 * HOUR, 24, 2)
    _hourly(index, SPIKE, 1, 40)
    _rule(state)
    assert _evaluator(state, index, clock).run_once()[0].events == []


def test_a_spike_is_told_while_its_bucket_is_still_filling(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    """Mentions published so far only add up: a spike seen on them stands, so it is told
    before the bucket closes and the allowed lateness passes, and only once."""
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 2)
    _hourly(index, SPIKE, 1, 40)  # published 10:01 to 10:40
    _rule(state, allowed_lateness="30m")
    clock.now = SPIKE + timedelta(minutes=20, seconds=30)  # 20 of them are out so far
    evaluator = _evaluator(state, index, clock)
    (event_id,) = evaluator.run_once()[0].events
    event = state.get_alert_event(event_id)
    assert (event.status, event.dedupe_key) == ("firing", SPIKE.isoformat())
    assert event.numbers["observed"] == 20
    assert event.numbers["series"][-1] == [SPIKE.isoformat(), 20.0, 20.0]
    clock.advance(90 * 60)  # the bucket is closed and past its lateness: the same alert
    assert evaluator.run_once()[0].events == []
    assert len(state.list_alert_events(rule_name="veloria-spike")) == 1
    _hourly(index, SPIKE + HOUR, 2, 2)  # back to normal: the end is announced
    clock.now = SPIKE + 3 * HOUR + timedelta(minutes=45)
    (resolved_id,) = evaluator.run_once()[0].events
    resolved = state.get_alert_event(resolved_id)
    assert (resolved.status, resolved.dedupe_key) == ("resolved", SPIKE.isoformat())


def test_a_negative_share_is_told_once_enough_mentions_of_the_bucket_are_in(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    neg = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    pos = Sentiment(label=SentimentLabel.POSITIVE, score=0.9)
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 9, sentiment=pos)
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 1, sentiment=neg)
    _hourly(index, SPIKE, 1, 12, sentiment=neg)  # published 10:01 to 10:12
    _rule(state, kind="negative_share_spike")  # min_volume 5
    evaluator = _evaluator(state, index, clock)
    clock.now = SPIKE + timedelta(minutes=3, seconds=30)  # 3 mentions in: too few to judge
    assert evaluator.run_once()[0].events == []
    clock.now = SPIKE + timedelta(minutes=30)
    (event_id,) = evaluator.run_once()[0].events
    assert state.get_alert_event(event_id).dedupe_key == SPIKE.isoformat()
    clock.now = SPIKE + HOUR + timedelta(minutes=15)  # closed: the same alert, not again
    assert evaluator.run_once()[0].events == []


def test_a_silent_hour_still_within_lateness_is_not_a_drop(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 20)  # nothing yet for the last hour
    _rule(state, kind="drop", allowed_lateness="2h", detector={**DETECTOR, "min_run": 1})
    assert _evaluator(state, index, clock).run_once()[0].events == []


def test_the_end_of_a_spike_is_announced_as_resolved(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 2)
    _hourly(index, SPIKE, 1, 40)
    _rule(state)
    evaluator = _evaluator(state, index, clock)
    assert len(evaluator.run_once()[0].events) == 1
    _hourly(index, SPIKE + HOUR, 2, 2)
    clock.advance(2 * 3600)
    (resolved_id,) = evaluator.run_once()[0].events
    resolved = state.get_alert_event(resolved_id)
    assert (resolved.status, resolved.dedupe_key) == ("resolved", SPIKE.isoformat())
    assert resolved.numbers["window_end"] == (SPIKE + HOUR).isoformat()


def test_the_cooldown_holds_back_a_second_spike(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 2)
    _hourly(index, SPIKE, 1, 40)
    _hourly(index, SPIKE + HOUR, 3, 2)
    _hourly(index, SPIKE + 4 * HOUR, 1, 40)
    _rule(state, cooldown="6h")
    evaluator = _evaluator(state, index, clock)
    assert len(evaluator.run_once()[0].events) == 1
    clock.advance(4 * 3600)
    events = evaluator.run_once()[0].events
    assert [state.get_alert_event(e).status for e in events] == ["resolved"]


def test_a_negative_share_spike(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    neg = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    pos = Sentiment(label=SentimentLabel.POSITIVE, score=0.9)
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 9, sentiment=pos)
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 1, sentiment=neg)
    _hourly(index, SPIKE, 1, 3, sentiment=pos)
    _hourly(index, SPIKE, 1, 12, sentiment=neg)
    _rule(state, kind="negative_share_spike")
    (event_id,) = _evaluator(state, index, clock).run_once()[0].events
    event = state.get_alert_event(event_id)
    assert event.kind == "negative_share_spike"
    assert all(m["sentiment"] == "negative" for m in event.numbers["top_mentions"])


def test_a_brands_negative_share_counts_the_mentions_negative_toward_it(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    """In the spike hour, a competitor's complaints ("J'adore Veloria mais Trekko...")
    make the mentions naming Veloria negative overall, but not toward Veloria."""
    neg = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    pos = Sentiment(label=SentimentLabel.POSITIVE, score=0.9)
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 9, sentiment=pos)
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 1, sentiment=neg)
    _hourly(index, SPIKE, 1, 3, sentiment=pos)
    praised = {"Veloria": pos, "Trekko": neg}
    praise = "J'adore mon Veloria mais le SAV de Trekko est nul"
    _hourly(
        index,
        SPIKE,
        1,
        12,
        text=praise,
        sentiment=neg,
        competitors=["Trekko"],
        brand_sentiments=praised,
    )
    _rule(state, kind="negative_share_spike")
    assert _evaluator(state, index, clock).run_once()[0].events == []
    # The same mentions, negative toward Veloria too: the spike is Veloria's.
    blamed = {"Veloria": neg, "Trekko": neg}
    blame = "Veloria et Trekko, même galère"
    _hourly(
        index,
        SPIKE,
        1,
        12,
        text=blame,
        sentiment=neg,
        competitors=["Trekko"],
        brand_sentiments=blamed,
    )
    (event_id,) = _evaluator(state, index, clock).run_once()[0].events
    top = state.get_alert_event(event_id).numbers["top_mentions"]
    assert top and all(m["text"] == blame for m in top)  # those negative toward Veloria


def _store(state: SqlStateStore, index: MentionIndex, items: list[RawItem]) -> None:
    """Stores items as the analysis worker does: inbox, index, then acknowledgement."""
    state.enqueue_items(items)
    claimed = state.claim_items(limit=len(items))
    index.upsert([c.item.to_mention().model_copy(update={"brands": ["Veloria"]}) for c in claimed])
    state.ack_items([c.mention_id for c in claimed])


def test_new_mentions_are_judged_by_time_stored_not_published(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _rule(state, name="new", kind="new_mention", detector={}, grouping_window="1m")
    evaluator = _evaluator(state, index, clock)
    # Published two days ago, collected and stored just now: still news to the team.
    old = clock.now - timedelta(days=2)
    _store(state, index, [make_item(published_at=old), make_item(published_at=old)])
    index.upsert([make_mention(text="not about the brand", brands=[])])  # never stored now
    clock.advance(90)
    evaluator.run_once()
    (event,) = state.list_alert_events(rule_name="new")
    assert event.numbers["observed"] == 2
    assert event.baseline == {"method": "new_mentions"}
    clock.advance(600)
    evaluator.run_once()  # nothing new stored since: no second event
    assert len(state.list_alert_events(rule_name="new")) == 1


def test_a_new_rule_tells_only_mentions_stored_after_it_was_created(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _store(state, index, [make_item(), make_item()])  # stored before the rule existed
    clock.advance(60)
    _rule(state, name="new", kind="new_mention", detector={}, grouping_window="1m")
    clock.advance(60)
    _store(state, index, [make_item()])
    clock.advance(90)
    _evaluator(state, index, clock).run_once()
    (event,) = state.list_alert_events(rule_name="new")
    assert event.numbers["observed"] == 1


def test_new_mentions_are_batched_and_capped(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _rule(
        state,
        name="new",
        kind="new_mention",
        detector={},
        allowed_lateness="0s",
        grouping_window="5m",
        max_per_hour=2,
        batch_size=3,
    )
    evaluator = _evaluator(state, index, clock)
    start = clock.now
    for _ in range(4):  # 4 mentions stored in each 5-minute window
        _store(state, index, [make_item() for _ in range(4)])
        clock.advance(5 * 60)
        evaluator.run_once()
    events = state.list_alert_events(rule_name="new")
    assert len(events) == 2  # capped at 2 an hour; the rest waits
    first = events[-1]
    assert first.numbers["observed"] == 4
    assert len(first.numbers["top_mentions"]) == 3
    # an hour later the waiting mentions go out in one batch
    clock.advance(3600)
    evaluator.run_once()
    latest = state.list_alert_events(rule_name="new")[0]
    assert latest.numbers["observed"] == 8
    assert datetime.fromisoformat(latest.numbers["window_start"]) > start


def test_a_lasting_spike_is_repeated_every_repeat_interval(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _hourly(index, SPIKE - 5 * 24 * HOUR, 5 * 24, 2)
    _hourly(index, SPIKE, 4, 40)
    _rule(state, repeat_interval="2h")
    evaluator = _evaluator(state, index, clock)
    assert len(evaluator.run_once()[0].events) == 1
    clock.advance(3600)
    assert evaluator.run_once()[0].events == []
    clock.advance(3600)
    (reminder_id,) = evaluator.run_once()[0].events
    reminder = state.get_alert_event(reminder_id)
    assert (reminder.status, reminder.dedupe_key) == ("firing", f"{SPIKE.isoformat()}#repeat1")
    assert reminder.numbers["repeat"] == 1
    assert reminder.numbers["buckets"] == 3
    clock.advance(60)
    assert evaluator.run_once()[0].events == []


def test_quiet_hours_hold_deliveries_until_they_end() -> None:
    quiet = QuietHours(start="22:00", end="07:00", tz="Europe/Paris")
    at_night = datetime(2026, 11, 10, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    assert quiet_until(quiet, at_night) == datetime(2026, 11, 11, 6, 0, tzinfo=UTC)
    assert quiet_until(quiet, datetime(2026, 11, 10, 12, 0, tzinfo=UTC)) is None
    assert floor_time(datetime(2026, 11, 10, 10, 37, tzinfo=UTC), HOUR) == SPIKE


def test_a_daily_digest_sums_up_the_days_alerts_in_one_delivery(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    _rule(
        state,
        name="digest",
        kind="new_mention",
        detector={},
        grouping_window="1m",
        digest="daily",
        quiet_hours={"start": "23:00", "end": "23:30", "tz": "Europe/Paris"},
    )
    evaluator = _evaluator(state, index, clock)
    for _ in range(3):  # three batches of new mentions during the day
        _store(state, index, [make_item(), make_item()])
        clock.advance(120)
        evaluator.run_once()
    alerts = state.list_alert_events(rule_name="digest")
    assert len(alerts) == 3
    assert all(not e.deliveries for e in alerts)  # nothing sent one by one

    # Past midnight in Paris: one digest, delivered to the rule's channel, once.
    paris_midnight = datetime.combine(
        clock.now.astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=1),
        datetime.min.time(),
        tzinfo=ZoneInfo("Europe/Paris"),
    )
    clock.now = paris_midnight.astimezone(UTC) + timedelta(minutes=5)
    evaluator.run_once()
    evaluator.run_once()
    digests = [e for e in state.list_alert_events(rule_name="digest") if e.kind == "digest"]
    assert len(digests) == 1
    digest = digests[0]
    assert digest.numbers["observed"] == 3
    assert [d.channel for d in digest.deliveries] == ["slack:SLACK_HOOK"]
    assert digest.baseline == {
        "method": "digest",
        "digest": "daily",
        "count": 3,
        "kinds": ["new_mention"],
    }
    assert digest.numbers["baseline_method"] == "daily digest of 3 alert(s) (new_mention)"
    message = message_from_event(digest)
    assert message.kind == "digest" and message.observed == 3


@pytest.mark.parametrize(
    ("start", "end", "tz", "now", "until"),
    [
        # a daytime window (no wrap past midnight), in New York (UTC-5 in November)
        (
            "12:00",
            "14:00",
            "America/New_York",
            datetime(2026, 11, 10, 17, 0, tzinfo=UTC),
            datetime(2026, 11, 10, 19, 0, tzinfo=UTC),
        ),
        ("12:00", "14:00", "America/New_York", datetime(2026, 11, 10, 19, 0, tzinfo=UTC), None),
        # the start is inside, the end is not
        (
            "22:00",
            "07:00",
            "Europe/Paris",
            datetime(2026, 11, 10, 21, 0, tzinfo=UTC),
            datetime(2026, 11, 11, 6, 0, tzinfo=UTC),
        ),
        ("22:00", "07:00", "Europe/Paris", datetime(2026, 11, 11, 6, 0, tzinfo=UTC), None),
        # before dawn, the end is the same local day; across the March change to summer time
        (
            "22:00",
            "07:00",
            "Europe/Paris",
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            datetime(2026, 3, 29, 5, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_in_their_time_zone(
    start: str, end: str, tz: str, now: datetime, until: datetime | None
) -> None:
    assert quiet_until(QuietHours(start=start, end=end, tz=tz), now) == until


def test_digest_periods_start_at_local_midnight_daily_or_on_monday_weekly() -> None:
    def rule(digest: str, tz: str | None) -> AlertRule:
        quiet = None if tz is None else QuietHours(start="23:00", end="23:30", tz=tz)
        return AlertRule(
            name="d",
            target_type="brand",
            target="Veloria",
            kind="new_mention",
            digest=digest,
            quiet_hours=quiet,
        )

    thursday = datetime(2026, 11, 12, 3, 0, tzinfo=UTC)  # 04:00 in Paris, 22:00 Wed in NY
    assert digest_period_start(rule("daily", "Europe/Paris"), thursday) == datetime(
        2026, 11, 11, 23, 0, tzinfo=UTC
    )
    assert digest_period_start(rule("daily", "America/New_York"), thursday) == datetime(
        2026, 11, 11, 5, 0, tzinfo=UTC
    )
    assert digest_period_start(rule("weekly", "Europe/Paris"), thursday) == datetime(
        2026, 11, 8, 23, 0, tzinfo=UTC
    )  # Monday 9 November, 00:00 in Paris
    assert digest_period_start(rule("weekly", None), thursday) == datetime(
        2026, 11, 9, 0, 0, tzinfo=UTC
    )


def test_the_first_new_mention_after_a_quiet_spell_goes_out_at_once_the_next_ones_grouped(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    rule = _rule(state, name="new", kind="new_mention", detector={})  # default grouping: 5m
    evaluator = _evaluator(state, index, clock)
    _store(state, index, [make_item()])
    clock.advance(10)
    evaluator.run_once()
    assert len(state.list_alert_events(rule_name="new")) == 1  # at the next pass
    first_sent = clock.now
    clock.advance(120)
    _store(state, index, [make_item(), make_item()])
    clock.advance(10)
    (outcome,) = evaluator.run_once()
    assert (outcome.events, outcome.note) == ([], "grouping")  # 2 min after the first: held
    clock.now = first_sent + rule.grouping_window
    evaluator.run_once()
    grouped = state.list_alert_events(rule_name="new")[0]
    assert grouped.numbers["observed"] == 2
    clock.advance(15 * 60)  # quiet again
    _store(state, index, [make_item()])
    clock.advance(10)
    evaluator.run_once()
    latest = state.list_alert_events(rule_name="new")
    assert len(latest) == 3 and latest[0].numbers["observed"] == 1
    # a burst right after: a full batch does not wait for the grouping window
    clock.advance(30)
    _store(state, index, [make_item() for _ in range(rule.batch_size)])
    clock.advance(10)
    evaluator.run_once()
    latest = state.list_alert_events(rule_name="new")
    assert len(latest) == 4 and latest[0].numbers["observed"] == rule.batch_size


def test_a_burst_straddling_midnight_is_told_on_daily_buckets(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    # a quiet brand (4 a day) on daily buckets; 8 mentions late on day D-1 and 8 early on
    # day D: neither calendar day reaches min_volume (10 above the expected), the last 24
    # hours do
    midnight = datetime(2026, 11, 20, tzinfo=UTC)
    quiet = [
        midnight - timedelta(days=d) + timedelta(hours=h)
        for d in range(1, 21)
        for h in (2, 8, 14, 20)
    ]
    burst = [midnight - timedelta(minutes=25 * i + 5) for i in range(8)]
    burst += [midnight + timedelta(minutes=20 * i + 5) for i in range(8)]
    index.upsert([make_mention(published_at=ts, source_name="forum") for ts in quiet + burst])
    daily = {**DETECTOR, "bucket": "1d", "baseline_window": "14d", "seasonality": "daily"}
    _rule(state, detector=daily)
    clock.now = midnight + timedelta(minutes=15)  # D-1 closed: 4 + 8 against 4
    assert _evaluator(state, index, clock).run_once()[0].events == []
    clock.now = midnight + timedelta(hours=3)
    (outcome,) = _evaluator(state, index, clock).run_once()
    assert len(outcome.events) == 1
    event = state.get_alert_event(outcome.events[0])
    assert event.status == "firing" and event.numbers["observed"] >= 16


def test_an_alert_scores_live_as_in_the_backtest_of_the_same_bucket(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock
) -> None:
    """The live pass replays enough history for its score unit (the residuals of the last
    baseline window, each against a baseline of a whole window) to be the one a backtest
    over longer history computes: the same bucket, the same numbers and score."""
    rng = random.Random(7)
    spike_day = datetime(2026, 11, 9, tzinfo=UTC)
    days = [spike_day - timedelta(days=d) for d in range(1, 45)]
    times = [d + timedelta(hours=rng.randrange(24)) for d in days for _ in range(rng.randint(1, 9))]
    times += [spike_day + timedelta(minutes=5 * i) for i in range(30)]  # before 03:00
    index.upsert([make_mention(published_at=ts) for ts in times])
    rule = _rule(state, detector={"bucket": "1d", "sensitivity": "high", "min_volume": 5})
    _evaluator(state, index, clock).run_once()
    live = {
        e.numbers["window_start"]: e.numbers
        for e in state.list_alert_events(rule_name=rule.name)
        if e.status == "firing"
    }[spike_day.isoformat()]
    report = backtest_rule(
        state, index, rule, since=clock.now - timedelta(days=60), until=clock.now
    )
    (replayed,) = [a for a in report.to_json()["alerts"] if a["start"] == spike_day.isoformat()]
    assert [replayed[k] for k in ("observed", "expected", "averaged_buckets")] == [
        live[k] for k in ("observed", "expected", "averaged_buckets")
    ]
    assert replayed["score"] == pytest.approx(live["score"], abs=1e-6)
