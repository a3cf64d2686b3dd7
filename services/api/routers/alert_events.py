"""Alert events with the status and attempts of their deliveries (the outbox, read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from services.alerting import saved_searches as ss
from services.alerting.default_rules import (
    KIND_LABELS,
    DefaultName,
    default_name_parts,
    default_rule_name,
)
from services.alerting.evaluator import RULE_KIND
from services.alerting.explanation import Baseline, stored_baseline
from services.api.deps import AuthDep, StateDep
from services.api.params import Before, RowId
from services.api.problems import Problem
from services.api.search_viewer import ViewerDep, hidden
from services.core.brand_names import BrandNames
from services.core.text import fold
from services.store.state.contract import AlertEventRecord, StateStore

router = APIRouter(prefix="/alerts", tags=["alerts"], dependencies=[AuthDep])


#: What each delivery status means, shown with it so nobody has to look it up.
STATUS_NOTES = {
    "pending": "waiting to be sent (or retried at next_attempt_at)",
    "sending": "being sent now; if this lasts, the worker stopped mid-send and the next "
    "worker will resolve it",
    "sent": "the channel accepted it",
    "failed": "given up: see last_error",
    "unknown": "sent, but the outcome was never recorded (a crash, or no answer); this "
    "channel cannot drop duplicates, so it was not sent again: it may or may not have "
    "arrived. Check the channel; POST .../deliveries/{channel}/resend sends it again",
}


class Delivery(BaseModel):
    channel: str  # "slack:SLACK_WEBHOOK_X": the type and the NAME of its secret
    status: str  # pending | sending | sent | failed | unknown
    note: str  # what the status means
    attempts: int  # network attempts made
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


class AlertEvent(BaseModel):
    id: int
    rule: str
    kind: str
    status: str  # firing | resolved
    created_at: datetime
    numbers: dict[str, Any]
    deliveries: list[Delivery]
    rule_default_name: DefaultName | None = Field(
        default=None,
        description="when `rule` is a default rule's name ('Veloria: volume spike'): its "
        "brand and kind, for a client to word the name in its own language",
    )
    baseline: Baseline | None = Field(
        default=None,
        description="how `expected` was computed, as a method and its parameters (what "
        "`numbers.baseline_method` says in English), with the rule's bucket, sensitivity "
        "and threshold and the figures of the bucket that fired, for a client to word it "
        "in its own language; stored with the event (events of versions before it: read "
        "once from their sentence). Null for an older sentence of no known shape: show "
        "`numbers.baseline_method` as it is",
    )


class EventPage(BaseModel):
    events: list[AlertEvent]
    next_before: int | None  # pass as `before` for the next (older) page


def _event(record: AlertEventRecord) -> AlertEvent:
    return AlertEvent(
        id=record.id,
        rule=record.rule_name,
        kind=record.kind,
        status=record.status,
        created_at=record.created_at,
        numbers=record.numbers,
        rule_default_name=default_name_parts(record.rule_name),
        baseline=stored_baseline(record.baseline),
        deliveries=[
            Delivery(
                channel=d.channel,
                status=d.status,
                note=STATUS_NOTES.get(d.status, ""),
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                sent_at=d.sent_at,
                last_error=d.last_error,
            )
            for d in record.deliveries
        ],
    )


class _Hidden:
    """Which events the viewer may not see: those of rules on a private saved search of
    someone else (the event names its target; a rule renamed since still counts)."""

    def __init__(self, state: StateStore, secret: set[str]) -> None:
        self.secret = secret
        self.rules = {
            r.name
            for r in state.list_specs(RULE_KIND)
            if r.spec.get("target_type") == "saved_search" and r.spec.get("target") in secret
        }

    def __call__(self, record: AlertEventRecord) -> bool:
        target = record.numbers.get("target")
        on_secret = (
            isinstance(target, dict)
            and target.get("type") == "saved_search"
            and target.get("name") in self.secret
        )
        return on_secret or record.rule_name in self.rules


def _visible_event(state: StateStore, viewer: ss.Viewer, event_id: int) -> AlertEventRecord:
    record = state.get_alert_event(event_id)  # NotFoundError: 404
    secret = hidden(state, viewer)
    if secret and _Hidden(state, secret)(record):
        raise Problem(404, "Not found", f"no alert event has the id {event_id}")
    return record


@router.get("/events", summary="List alert events and their deliveries")
def list_events(
    state: StateDep,
    viewer: ViewerDep,
    rule: Annotated[str | None, Query(max_length=200)] = None,
    brand: Annotated[
        str | None,
        Query(
            max_length=200,
            description="only the rules watching this brand or competitor (its name or an "
            "alias); 404 for a name that is not watched and has no events",
        ),
    ] = None,
    before: Before = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    """Alert events, newest first, each with its deliveries' status and attempts; those
    of rules on someone else's private saved search only for its owner and the admins."""
    secret = hidden(state, viewer)
    is_hidden = _Hidden(state, secret) if secret else None
    watched: set[str] | None = None
    if brand is not None:
        names = BrandNames.of(state)
        watched = _rules_watching(state, names, brand)
    records: list[AlertEventRecord] = []
    cursor, exhausted = before, False
    while len(records) < limit and not exhausted:
        if watched is None:
            page = state.list_alert_events(rule_name=rule, before_id=cursor, limit=limit)
        else:
            page = _events_of(state, watched, rule, cursor, limit)
        exhausted = len(page) < limit
        if page:
            cursor = page[-1].id
        records += [r for r in page if is_hidden is None or not is_hidden(r)]
        if is_hidden is None:
            break
    records = records[:limit]
    if brand is not None and not records and before is None and names.find(brand) is None:
        # a typo, not a quiet brand: say which names there are
        raise Problem(404, "Not found", names.unknown_message(brand))
    next_before = records[-1].id if len(records) == limit else None
    return EventPage(events=[_event(r) for r in records], next_before=next_before)


def _rules_watching(state: StateStore, watched: BrandNames, brand: str) -> set[str]:
    """The names of the rules on `brand` (its name or an alias, case and accents aside):
    its default rules and the stored rules whose target it is. A name no longer watched
    still finds the events of its rules (a brand removed keeps its history)."""
    found = watched.find(brand)
    spellings = {fold(brand)} if found is None else {fold(n) for n in found.entity.all_names()}
    names = {default_rule_name(found.name if found else brand, kind) for kind in KIND_LABELS}
    for record in state.list_specs(RULE_KIND):
        spec = record.spec
        if spec.get("target_type") == "brand" and fold(str(spec.get("target", ""))) in spellings:
            names.add(record.name)
    return names


def _events_of(
    state: StateStore, rules: set[str], rule: str | None, before: int | None, limit: int
) -> list[AlertEventRecord]:
    """The newest `limit` events of these rules (and of `rule`, when given)."""
    return state.list_alert_events(
        rule_name=rule, before_id=before, limit=limit, rule_names=sorted(rules)
    )


@router.get("/events/{event_id}", summary="Get one alert event")
def get_event(event_id: RowId, state: StateDep, viewer: ViewerDep) -> AlertEvent:
    """One alert event with its deliveries."""
    return _event(_visible_event(state, viewer, event_id))


@router.post(
    "/events/{event_id}/deliveries/{channel}/resend",
    summary="Send an unknown or failed delivery again",
)
def resend_delivery(
    event_id: RowId,
    channel: Annotated[str, Path(max_length=300)],
    state: StateDep,
    viewer: ViewerDep,
) -> AlertEvent:
    """After checking the channel (an `unknown` Slack delivery that never arrived, a `failed`
    one whose cause is fixed): the delivery is pending again and goes out on the next pass."""
    _visible_event(state, viewer, event_id)
    state.requeue_delivery(event_id, channel)
    return _event(state.get_alert_event(event_id))
