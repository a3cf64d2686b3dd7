"""The rules evaluator: turns the mention index into alert events in the outbox.

For a detector rule (volume spike, negative-share spike, drop) each evaluation rebuilds
the rule's bucket series from the index over its recent history (baseline window and
warm-up) and replays it through a fresh detector: deterministic, nothing pickled, and a
restart loses nothing. Only *closed* buckets are fed, and only once they are older than
the rule's `allowed_lateness`, so data that is merely late never looks like a drop. A
spike, though, is told while its bucket fills: a copy of the detector also sees the
buckets in progress, counted so far (the last one over a whole bucket's length up to now,
`_in_progress`), so the first alert goes out at the next pass after the mention that
crosses the threshold is stored. Alerts the replay
emits within the last `max_age` are recorded (older ones are history the evaluator was
not running for); the outbox's unique (rule, status, start) key makes
recording the same alert twice a no-op.

A "new matching mention" rule searches the target for mentions stored since its last
event and sends them as one event: at once after a quiet spell, else once the grouping
window since the last event has passed or a full batch waits; it stays under its hourly
cap (mentions over the cap wait for the next, batched, event).

Each brand and competitor also has default rules (`default_rules.py`) unless a stored
rule of the same name replaces them.

Noise control done here: cooldown between 'firing' events, a reminder every
`repeat_interval` while an announced spike lasts, 'resolved' notices only for announced
alerts, quiet hours (deliveries held until they end), and digest mode (a rule's alerts
are not sent one by one but summed up once per day or ISO week).
"""

from __future__ import annotations

import copy
import logging
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.alerting import saved_searches as ss
from services.alerting.backtest_report import averaged_buckets
from services.alerting.chart_link import chart_url
from services.alerting.default_rules import brand_rules, sized_detector
from services.alerting.detectors import Alert, Detector, make_detector
from services.alerting.explanation import (
    NEW_MENTIONS,
    Baseline,
    digest_baseline,
    english,
    rule_baseline,
    stored_baseline,
)
from services.alerting.notifiers.base import AlertMessage
from services.alerting.rules import AlertRule, QuietHours, Rule
from services.alerting.saved_search_use import missing_target
from services.core.brand_names import BrandNames, UnknownBrand
from services.core.models import Mention, utcnow
from services.core.query import QuerySyntaxError
from services.core.query.ast import And, FieldFilter, Node
from services.core.query.matcher import matches
from services.core.settings import BrandRulesSettings
from services.core.text import fold_keyword
from services.store.contracts import (
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
    SortOrder,
)
from services.store.state.contract import AlertEventRecord, NotFoundError, StateStore

log = logging.getLogger("veille.alerting.evaluator")

RULE_KIND = "alert_rule"

# Rules already logged as missing their saved search, per state store: an evaluator is
# built every pass, and the line is worth saying once, not every 30 s.
_MISSING_LOGGED: weakref.WeakKeyDictionary[StateStore, set[tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)
_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday: weekly buckets start on Mondays
TOP_MENTIONS = 5
TOP_TERMS = 5
SERIES_POINTS = 48


FIRST_LOOKBACK = timedelta(hours=1)
DIGEST_KIND = "digest"


def _stored(explained: Baseline) -> dict[str, Any]:
    """An event's `baseline` as the state store keeps it (JSON, the parts it has)."""
    return explained.model_dump(mode="json", exclude_none=True)


def _immediate_channels(rule: AlertRule) -> list[str]:
    """Where an alert goes at once: nowhere for a digest rule (its digest carries it)."""
    return [] if rule.digest != "off" else [c.key for c in rule.channels]


def digest_period_start(rule: AlertRule, now: datetime) -> datetime:
    """Start (UTC) of the current day, or ISO week, in the rule's quiet-hours time zone."""
    zone = ZoneInfo(rule.quiet_hours.tz) if rule.quiet_hours else ZoneInfo("UTC")
    local = now.astimezone(zone)
    day = local.date()
    if rule.digest == "weekly":
        day -= timedelta(days=local.weekday())
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


MAX_NEW_MENTIONS = 1000  # per pass; the checkpoint only moves past what was announced


def _top(values: Iterable[str], size: int = 5) -> list[list[Any]]:
    return [[key, n] for key, n in Counter(values).most_common(size)]


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule's evaluation did."""

    rule: str
    events: list[int]
    note: str = ""


def floor_time(ts: datetime, bucket: timedelta) -> datetime:
    """The start of the bucket holding ts (buckets aligned on a Monday 00:00 UTC)."""
    return ts - (ts - _EPOCH) % bucket


def target_query(state: StateStore, rule: AlertRule) -> Node:
    """The query of a rule's target: its saved search (with filters), or its brand or
    competitor (a 'brand' target names either); NotFoundError when there is none."""
    if rule.target_type == "brand":
        return brand_query(state, rule.target)
    return ss.search_query(ss.get_saved_search(state, rule.target))


def brand_query(state: StateStore, name: str) -> Node:
    """`brand:NAME` for a brand, `competitor:NAME` for a competitor (named by its name or
    an alias, case and accents aside); NotFoundError listing the known ones else."""
    try:
        found = BrandNames.of(state).resolve(name)
    except UnknownBrand as exc:
        raise NotFoundError(str(exc)) from None
    return FieldFilter(found.role, fold_keyword(found.name))


OVERALL_NEGATIVE: Node = FieldFilter("sentiment", "negative")


def negative_clause(rule: AlertRule, query: Node) -> Node:
    """Which of the rule's target mentions (`query`, from `target_query`) count as
    negative: for a brand those negative toward it ("J'adore Veloria mais Trekko..." is
    not), for a saved search those negative overall."""
    if rule.target_type == "brand" and isinstance(query, FieldFilter):
        return FieldFilter("negative", query.value)
    return OVERALL_NEGATIVE


def bucket_series(
    index: MentionIndex,
    query: Node,
    *,
    start: datetime,
    end: datetime,
    bucket: timedelta,
    negative: Node | None,
    until: datetime | None = None,
) -> list[tuple[datetime, float, float]]:
    """(bucket start, count, total) for every bucket in [start, end): the count is of the
    mentions matching `negative` too (the negative share's numerator), or of all of them
    when `negative` is None. With `until`, mentions published after it are left out (the
    bucket in progress counts what has been published so far).

    Buckets of whole hours come from the index's hourly histograms; finer buckets are
    counted from the mentions themselves.
    """
    counts: dict[datetime, list[float]] = {}
    ts = start
    while ts < end:
        counts[ts] = [0.0, 0.0]
        ts += bucket
    last = end if until is None else min(end, until)
    flt = MentionFilter(query=query, since=start, until=last)
    hour = timedelta(hours=1)
    if bucket % hour == timedelta(0):
        for tb in index.histogram(flt, interval=Interval.HOUR):
            row = counts.get(floor_time(tb.start, bucket))
            if row is not None:
                row[0] += tb.count if negative is None else 0
                row[1] += tb.count
        if negative is not None:
            negatives = MentionFilter(query=And((query, negative)), since=start, until=last)
            for tb in index.histogram(negatives, interval=Interval.HOUR):
                row = counts.get(floor_time(tb.start, bucket))
                if row is not None:
                    row[0] += tb.count
    else:
        for mention in index.iter_all(flt):
            row = counts.get(floor_time(mention.published_at, bucket))
            if row is None:
                continue
            row[0] += 1.0 if negative is None or matches(negative, mention) else 0.0
            row[1] += 1.0
    return [(ts, values[0], values[1]) for ts, values in counts.items()]


def _one_slot_per_bucket(det: Rule) -> bool:
    """Every bucket of the rule has the same seasonal expectation slot (no season, or daily
    seasonality on buckets of a day or more, weekly on buckets of a week or more)."""
    season = {"none": timedelta(0), "daily": timedelta(days=1), "weekly": timedelta(days=7)}
    return det.bucket >= season[det.seasonality]


def _announced_start(alert: Alert, det: Rule, recent: list[AlertEventRecord]) -> str | None:
    """The key of the 'firing' event that announced this run: the same start, else (a run
    announced while its buckets were still filling may have started a bucket apart) an
    onset within the run."""
    key = alert.start.isoformat()
    firing = [e for e in recent if e.status == "firing" and "#" not in e.dedupe_key]
    if any(e.dedupe_key == key for e in firing):
        return key
    lo = alert.start - det.bucket * getattr(det, "min_run", 1)
    hi = alert.end or alert.fired_at + det.bucket
    for event in firing:
        try:
            if lo <= datetime.fromisoformat(event.dedupe_key) < hi:
                return event.dedupe_key
        except (ValueError, TypeError):  # not a timestamp, or naive against aware
            continue
    return None


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """The end of the quiet hours now falls in, else None."""
    if quiet is None:
        return None
    zone = ZoneInfo(quiet.tz)
    local = now.astimezone(zone)
    start = time.fromisoformat(quiet.start)
    end = time.fromisoformat(quiet.end)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def mention_summary(mention: Mention) -> dict[str, Any]:
    """The few fields of a mention an alert shows."""
    return {
        "id": mention.id,
        "title": mention.title,
        "text": mention.text[:280],
        "url": mention.url,
        "source": mention.source_name,
        "sentiment": mention.sentiment.label.value if mention.sentiment else None,
        "published_at": mention.published_at.isoformat(),
    }


class Evaluator:
    """Evaluates every enabled alert rule and records new events in the outbox."""

    def __init__(
        self,
        state: StateStore,
        index: MentionIndex,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_age: timedelta = timedelta(hours=1),
        link_base: str | None = None,
        brand_rules: BrandRulesSettings | None = None,
    ) -> None:
        """`link_base` (e.g. 'https://veille.example.org') makes alerts link to mentions;
        `brand_rules` (settings.alerting.brand_rules) adds each brand's default rules."""
        self.state = state
        self.index = index
        self.clock = clock
        self.max_age = max_age
        self.link_base = link_base.rstrip("/") if link_base else None
        self.brand_rules = brand_rules

    def rules(self) -> list[AlertRule]:
        """Every stored alert rule (invalid ones are logged and skipped), then the brands'
        default rules that no stored rule of the same name replaces."""
        found: list[AlertRule] = []
        names: set[str] = set()
        for record in self.state.list_specs(RULE_KIND):
            names.add(record.name)
            try:
                found.append(AlertRule.model_validate(record.spec))
            except ValueError as exc:
                log.error("alert rule %r is invalid, skipped: %s", record.name, exc)
        if self.brand_rules is not None:
            defaults = brand_rules(self.state, self.index, self.brand_rules)
            found.extend(r for r in defaults if r.name not in names)
        return found

    def run_once(self) -> list[RuleOutcome]:
        """Evaluates every enabled rule once; one failing rule does not stop the others."""
        outcomes: list[RuleOutcome] = []
        for rule in self.rules():
            if not rule.enabled:
                continue
            missing = missing_target(self.state, rule)
            if missing is not None:
                self._note_missing(rule, missing)
                outcomes.append(RuleOutcome(rule.name, [], f"error: {missing}"))
                continue
            self._note_missing(rule, None)
            try:
                outcomes.append(self.evaluate(rule))
                if rule.digest != "off":
                    outcomes.append(self.digest(rule))
            except QuerySyntaxError as exc:  # a saved search beyond today's limits: not run
                log.error("alert rule %r not evaluated: its query is refused: %s", rule.name, exc)
                outcomes.append(RuleOutcome(rule.name, [], f"error: query not run: {exc}"))
            except Exception as exc:
                log.exception("alert rule %r could not be evaluated", rule.name)
                outcomes.append(RuleOutcome(rule.name, [], f"error: {exc}"))
        return outcomes

    def _note_missing(self, rule: AlertRule, missing: str | None) -> None:
        """Logs a rule whose saved search is gone once (a warning, no traceback); forgets
        it once the search is back, so a second deletion is logged again."""
        logged = _MISSING_LOGGED.setdefault(self.state, set())
        key = (rule.name, rule.target)
        if missing is None:
            logged.discard(key)
        elif key not in logged:
            logged.add(key)
            log.warning("alert rule %r is not evaluated: %s", rule.name, missing)

    def _own_events(self, rule: AlertRule) -> list[AlertEventRecord]:
        """The rule's recent alert events, newest first, digests left out."""
        events = self.state.list_alert_events(rule_name=rule.name, limit=200)
        return [e for e in events if e.kind != DIGEST_KIND]

    def digest(self, rule: AlertRule) -> RuleOutcome:
        """Once the day (or ISO week) is over in the rule's time zone, one message sums up
        the alerts recorded during it; those alerts were not delivered one by one."""
        now = self.clock()
        period_start = digest_period_start(rule, now)
        previous = period_start - (
            timedelta(days=7) if rule.digest == "weekly" else timedelta(days=1)
        )
        events = [
            e
            for e in self.state.list_alert_events(rule_name=rule.name, limit=500)
            if e.kind != DIGEST_KIND
            and e.status == "firing"
            and previous <= e.created_at < period_start
        ]
        if not events:
            return RuleOutcome(rule.name, [], "digest: nothing to sum up")
        sources: Counter[str] = Counter()
        mentions: list[Any] = []
        # only "daily" or "weekly" here: digest() runs for rules with a digest
        explained = digest_baseline(
            "weekly" if rule.digest == "weekly" else "daily", [e.kind for e in events]
        )
        for event in events:
            for key, count in event.numbers.get("top_sources", []):
                sources[str(key)] += int(count)
            mentions.extend(event.numbers.get("top_mentions", []))
        numbers: dict[str, Any] = {
            "observed": len(events),
            "expected": 0,
            "window_start": previous.isoformat(),
            "window_end": period_start.isoformat(),
            "baseline_method": english(explained),
            "top_mentions": mentions[: rule.batch_size],
            "top_sources": [[k, n] for k, n in sources.most_common(5)],
            "alerts": [e.id for e in events],
        }
        event_id = self.state.record_alert_event(
            rule_name=rule.name,
            kind=DIGEST_KIND,
            status="firing",
            dedupe_key=f"digest:{period_start.isoformat()}",
            numbers=numbers,
            channels=[c.key for c in rule.channels],
            deliver_after=quiet_until(rule.quiet_hours, now),
            baseline=_stored(explained),
        )
        return RuleOutcome(rule.name, [event_id] if event_id is not None else [])

    def evaluate(self, rule: AlertRule) -> RuleOutcome:
        """Evaluates one rule; returns the ids of the events it recorded."""
        query = target_query(self.state, rule)
        if rule.kind == "new_mention":
            return self._new_mentions(rule, query)
        return self._detector(rule, sized_detector(rule, self.index, query), query)

    # -- detector rules --------------------------------------------------------------

    def _detector(self, rule: AlertRule, det: Rule, query: Node) -> RuleOutcome:
        now = self.clock()
        edge = floor_time(now - rule.allowed_lateness, det.bucket)
        # warm-up, then two baseline windows before the edge: the score unit is a quantile of
        # the residuals of the last window, each against a baseline of a whole window, so
        # the replay's last buckets score as a long-running detector (and a backtest over
        # longer history) scores them. One window gave a unit from half-built baselines,
        # a few % off the backtest's (newcomer test); it costs twice the buckets replayed.
        history = det.warmup_period + 2 * det.baseline_window + det.bucket * det.min_run
        start = floor_time(edge - history, det.bucket)
        share = det.kind == "negative_share_spike"
        negative = negative_clause(rule, query) if share else None
        series = bucket_series(
            self.index, query, start=start, end=edge, bucket=det.bucket, negative=negative
        )
        # History starts at the first mention: zeros before it are "no data", not silence,
        # so a rule on a young target stays in warm-up instead of comparing with nothing.
        while series and series[0][2] == 0:
            series.pop(0)
        detector = make_detector(det)
        emitted: list[tuple[datetime, Alert]] = []
        for ts, value, total in series:
            for alert in detector.update(ts, value, total if share else None):
                emitted.append((ts, alert))
        open_rows: list[tuple[datetime, float, float]] = []
        if det.kind != "drop" and series:
            early, open_rows = self._in_progress(det, query, negative, detector, edge, now)
            emitted.extend(early)
        fresh_after = edge - self.max_age
        recent = self._own_events(rule)
        events: list[int] = []
        for ts, alert in emitted:
            # A stale onset is history; a stale end of an announced alert is still news.
            if alert.status == "firing" and ts + det.bucket <= fresh_after:
                continue
            # the chart ends with the bucket the alert was raised on, filling or not
            shown = series + [row for row in open_rows if row[0] <= alert.fired_at]
            event_id = self._record_alert(rule, det, query, alert, shown, recent, now)
            if event_id is not None:
                events.append(event_id)
        reminder = self._remind(rule, det, query, detector.open_alert, series, recent, now)
        if reminder is not None:
            events.append(reminder)
        return RuleOutcome(rule.name, events)

    def _in_progress(
        self,
        det: Rule,
        query: Node,
        negative: Node | None,
        detector: Detector,
        edge: datetime,
        now: datetime,
    ) -> tuple[list[tuple[datetime, Alert]], list[tuple[datetime, float, float]]]:
        """Spikes told before their bucket closes: a copy of the detector is fed the buckets
        still open or within the allowed lateness, counting what is stored so far. Counts
        can only grow, so a volume spike seen on them stands; a negative share among the
        mentions already stored (at least `min_volume` of them) is a fact about them. A
        drop is never told this way: the missing mentions may only be late.
        Returns the onsets and the rows fed."""
        share = det.kind == "negative_share_spike"
        rows = bucket_series(
            self.index,
            query,
            start=edge,
            end=floor_time(now, det.bucket) + det.bucket,
            bucket=det.bucket,
            negative=negative,
            until=now,
        )
        if rows and _one_slot_per_bucket(det):
            # The bucket in progress is judged on the last whole bucket of mentions up to
            # now (its own so far, plus the end of the previous one): a burst that straddles
            # a bucket boundary counts whole, as it does on a chart of the last 24 hours,
            # whatever the hour of the pass. Its expectation stays that of a whole bucket,
            # so only where consecutive buckets share it (else the end of a busy hour would
            # be judged against a quiet one's expectation).
            ts, value, total = rows[-1]
            trailing = self._trailing(query, negative, since=now - det.bucket, until=now)
            if trailing[1] > total:
                rows[-1] = (ts, *trailing)
        probe = copy.deepcopy(detector)
        onsets: list[tuple[datetime, Alert]] = []
        for ts, value, total in rows:
            for alert in probe.update(ts, value, total if share else None):
                if alert.status == "firing":
                    onsets.append((ts, alert))
        return onsets, rows

    def _trailing(
        self, query: Node, negative: Node | None, *, since: datetime, until: datetime
    ) -> tuple[float, float]:
        """(count, total) of the mentions published in [since, until), as `bucket_series`
        counts a bucket (the count is of the negative ones when `negative` is given)."""
        total = float(self.index.count(MentionFilter(query=query, since=since, until=until)))
        if negative is None:
            return total, total
        flt = MentionFilter(query=And((query, negative)), since=since, until=until)
        return float(self.index.count(flt)), total

    def _remind(
        self,
        rule: AlertRule,
        det: Rule,
        query: Node,
        open_alert: Alert | None,
        series: list[tuple[datetime, float, float]],
        recent: list[AlertEventRecord],
        now: datetime,
    ) -> int | None:
        """A 'still firing' reminder every repeat_interval while an announced spike lasts."""
        if rule.repeat_interval is None or open_alert is None:
            return None
        key = open_alert.start.isoformat()
        first = next((e for e in recent if e.status == "firing" and e.dedupe_key == key), None)
        if first is None:
            return None
        repeat = int((now - first.created_at) / rule.repeat_interval)
        if repeat < 1:
            return None
        return self._record_alert(rule, det, query, open_alert, series, recent, now, repeat=repeat)

    def _record_alert(
        self,
        rule: AlertRule,
        det: Rule,
        query: Node,
        alert: Alert,
        series: list[tuple[datetime, float, float]],
        recent: list[AlertEventRecord],
        now: datetime,
        *,
        repeat: int = 0,
    ) -> int | None:
        key = alert.start.isoformat() + (f"#repeat{repeat}" if repeat else "")
        if alert.status == "resolved":
            announced = _announced_start(alert, det, recent)
            if announced is None:
                return None  # never announced (cooldown, or before max_age): nothing to resolve
            key = announced
        elif not repeat and not any(e.dedupe_key == key for e in recent):
            # a reminder of an announced alert is exempt from the cooldown
            last = max((e.created_at for e in recent if e.status == "firing"), default=None)
            if last is not None and now - last < rule.cooldown:
                log.info("rule %r: alert at %s held back by the cooldown", rule.name, key)
                return None
        window_end = alert.end or (alert.fired_at + det.bucket)
        figures = alert.to_json()
        explained = rule_baseline(det).model_copy(
            update={key: figures[key] for key in ("observed", "expected", "score")}
        )
        numbers: dict[str, Any] = {
            **figures,
            # observed/expected are a mean a bucket over this many buckets (1: its count)
            "averaged_buckets": averaged_buckets(alert.details, det),
            "window_start": alert.start.isoformat(),
            "window_end": window_end.isoformat(),
            "target": {"type": rule.target_type, "name": rule.target},
            "repeat": repeat,
            "series": [
                [ts.isoformat(), value, total] for ts, value, total in series[-SERIES_POINTS:]
            ],
            **self._context(
                query,
                alert.start,
                window_end,
                negative_clause(rule, query) if det.kind == "negative_share_spike" else None,
            ),
        }
        return self.state.record_alert_event(
            rule_name=rule.name,
            kind=rule.kind,
            status=alert.status,
            dedupe_key=key,
            numbers=numbers,
            channels=_immediate_channels(rule),
            deliver_after=quiet_until(rule.quiet_hours, now),
            baseline=_stored(explained),
        )

    def _context(
        self, query: Node, since: datetime, until: datetime, negative: Node | None
    ) -> dict[str, Any]:
        """Top mentions, sources and topics of the anomalous window (the negative ones for
        a negative share), and a link to them."""
        if negative is not None:
            query = And((query, negative))
        flt = MentionFilter(query=query, since=since, until=until)
        page = self.index.search(
            SearchRequest(filter=flt, sort=SortOrder.NEWEST, limit=TOP_MENTIONS)
        )
        return {
            "top_mentions": [mention_summary(m) for m in page.mentions],
            "top_sources": [
                [c.key, c.count]
                for c in self.index.terms(flt, dimension=Dimension.SOURCE, size=TOP_TERMS)
            ],
            "top_topics": [
                [c.key, c.count]
                for c in self.index.terms(flt, dimension=Dimension.TOPIC, size=TOP_TERMS)
            ],
            "link": self._link(since, until),
        }

    def _link(self, since: datetime, until: datetime) -> str | None:
        if self.link_base is None:
            return None
        return (
            f"{self.link_base}/api/v1/mentions?since={since.isoformat()}&until={until.isoformat()}"
        ).replace("+", "%2B")

    # -- new matching mentions -----------------------------------------------------------

    def _new_mentions(self, rule: AlertRule, query: Node) -> RuleOutcome:
        """Mentions *stored* since the last event (whenever they were published) that
        match the target, judged by the in-memory matcher, batched into one event."""
        now = self.clock()
        until = now - rule.allowed_lateness  # lets in-flight acknowledgements commit
        recent = self.state.list_alert_events(rule_name=rule.name, limit=200)
        since = self._checkpoint(recent) or self._first_since(rule, until)
        sent_last_hour = sum(1 for e in recent if now - e.created_at < timedelta(hours=1))
        if sent_last_hour >= rule.max_per_hour:
            return RuleOutcome(rule.name, [], "rate cap")
        stored = self.state.stored_between(since=since, until=until, limit=MAX_NEW_MENTIONS)
        found = [m for m in map(self.index.get, stored) if m is not None and matches(query, m)]
        if not found:
            return RuleOutcome(rule.name, [])
        # The first mention after a quiet spell goes out at once; a trickle after it waits
        # for the grouping window to pass and goes out together, but a burst (a full
        # batch waiting) goes out at once: the mention that fills the batch is news now.
        last_sent = recent[0].created_at if recent else None
        if (
            last_sent is not None
            and now - last_sent < rule.grouping_window
            and len(found) < rule.batch_size
        ):
            return RuleOutcome(rule.name, [], "grouping")
        found.sort(key=lambda m: m.published_at, reverse=True)
        numbers: dict[str, Any] = {
            "observed": len(found),
            "expected": 0,
            "window_start": since.isoformat(),
            "window_end": until.isoformat(),
            "baseline_method": english(NEW_MENTIONS),
            "target": {"type": rule.target_type, "name": rule.target},
            "top_mentions": [mention_summary(m) for m in found[: rule.batch_size]],
            "top_sources": _top(m.source_name for m in found),
            "top_topics": _top(t for m in found for t in m.topics),
        }
        event_id = self.state.record_alert_event(
            rule_name=rule.name,
            kind=rule.kind,
            status="firing",
            dedupe_key=since.isoformat(),
            numbers=numbers,
            channels=_immediate_channels(rule),
            deliver_after=quiet_until(rule.quiet_hours, now),
            baseline=_stored(NEW_MENTIONS),
        )
        return RuleOutcome(rule.name, [event_id] if event_id is not None else [])

    def _first_since(self, rule: AlertRule, until: datetime) -> datetime:
        """Where a rule's first window starts: a short look-back, but never before the
        rule was stored, so a new rule tells only mentions stored after it."""
        since = until - max(rule.grouping_window, FIRST_LOOKBACK)
        try:
            created = self.state.get_spec(RULE_KIND, rule.name).created_at
        except NotFoundError:  # not a stored rule
            return since
        return min(max(since, created), until)

    @staticmethod
    def _checkpoint(recent: list[AlertEventRecord]) -> datetime | None:
        """Where the last new-mention event's window ended."""
        for event in recent:  # newest first
            end = event.numbers.get("window_end")
            if isinstance(end, str):
                return datetime.fromisoformat(end)
        return None


def message_from_event(
    event: AlertEventRecord,
    channel: str = "",
    *,
    public_url: str | None = None,
    workspace: str = "default",
) -> AlertMessage:
    """Builds the notifiers' message from a recorded event's numbers (the outbox's builder);
    with `public_url` (api.public_url) it links the chart image Slack shows."""
    n = event.numbers
    start = datetime.fromisoformat(str(n.get("window_start") or n.get("start")))
    end_text = n.get("window_end") or n.get("end")
    end = datetime.fromisoformat(str(end_text)) if end_text else event.created_at
    method = str(n.get("baseline_method", ""))  # names the baseline window already
    score = n.get("score")
    return AlertMessage(
        rule_name=event.rule_name,
        kind=event.kind,
        status=event.status,
        observed=float(n.get("observed", 0.0)),
        expected=float(n.get("expected", 0.0)),
        score=float(score) if isinstance(score, int | float) else None,
        window_start=start,
        window_end=end,
        baseline=method,
        baseline_parts=stored_baseline(event.baseline),
        top_mentions=list(n.get("top_mentions", [])),
        top_sources=[(str(k), int(c)) for k, c in n.get("top_sources", [])],
        top_topics=[(str(k), int(c)) for k, c in n.get("top_topics", [])],
        link=n.get("link"),
        series=[(datetime.fromisoformat(row[0]), float(row[1])) for row in n.get("series", [])],
        chart_url=chart_url(event, public_url=public_url, workspace=workspace),
        averaged_buckets=int(n.get("averaged_buckets", 1) or 1),
    )
