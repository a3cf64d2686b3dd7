"""Every brand and competitor is watched by default: a volume-spike and a negative-share rule
each, recorded for the dashboard and the API (no channel needed).

They are not stored: they follow the workspace's brands. A stored rule of the same name
replaces one (`PUT /api/v1/alert-rules/Veloria: volume spike` with channels, or with
`"enabled": false`); `alerting.brand_rules` turns them all off, changes their detector or
gives them channels.

`"bucket": "auto"` (the default) picks, per brand, the shortest bucket in which it usually
gets enough mentions to judge (`AUTO_BUCKET_MIN_COUNT`): an hour for a busy brand, a day for
a quiet one. A spike is still told early on a long bucket: the evaluator judges the
bucket in progress as its mentions arrive.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from services.alerting.rules import AUTO_BUCKETS, AlertRule, Channel, Rule, format_duration
from services.core.brand_names import BrandNames
from services.core.models import utcnow
from services.core.query.ast import FieldFilter, Node
from services.core.settings import BrandRulesSettings
from services.core.text import fold_keyword
from services.store.contracts import Interval, MentionFilter, MentionIndex
from services.store.state.contract import StateStore

log = logging.getLogger("veille.alerting.default_rules")

KIND_LABELS = {
    "volume_spike": "volume spike",
    "negative_share_spike": "negative share",
    "drop": "drop",
}
#: mentions a bucket should usually hold for "auto" to choose it.
AUTO_BUCKET_MIN_COUNT = 10.0
#: history looked at to measure a brand's volume for "auto".
AUTO_BUCKET_HISTORY = timedelta(days=14)


def default_rule_name(target: str, kind: str) -> str:
    """'Veloria: volume spike'."""
    return f"{target}: {KIND_LABELS[kind]}"


class DefaultName(BaseModel):
    """The parts of a default rule's name ('Veloria: volume spike'), for a client to word
    it in its own language."""

    target: str = Field(description="the brand or competitor watched")
    kind: str = Field(description="the rule's kind: volume_spike, negative_share_spike, drop")


def default_name_parts(name: str) -> DefaultName | None:
    """The brand and kind a default rule's name says ('Veloria: volume spike'); None for
    a name of any other shape."""
    target, colon, label = name.rpartition(": ")
    kind = next((k for k, words in KIND_LABELS.items() if words == label), None)
    return DefaultName(target=target, kind=kind) if colon and target and kind else None


def watched_names(state: StateStore) -> list[tuple[str, str]]:
    """(name, 'brand' | 'competitor') of every brand and competitor of the workspace."""
    return [(w.name, w.role) for w in BrandNames.of(state).watched()]


def auto_bucket(index: MentionIndex, name: str, role: str) -> timedelta:
    """The shortest bucket that holds `AUTO_BUCKET_MIN_COUNT` mentions of the name on
    average since its first mention of the last two weeks (a day when even that is too
    few, or when there is none)."""
    field = "brand" if role == "brand" else "competitor"
    return volume_bucket(index, FieldFilter(field, fold_keyword(name)))


def volume_bucket(index: MentionIndex, query: Node) -> timedelta:
    """The "auto" bucket of any target (a brand, a saved search): the shortest that holds
    `AUTO_BUCKET_MIN_COUNT` of its mentions on average since its first one of the last
    two weeks (a day when even that is too few, or when there is none)."""
    now = utcnow()
    flt = MentionFilter(query=query, since=now - AUTO_BUCKET_HISTORY, until=now)
    days = [b for b in index.histogram(flt, interval=Interval.DAY) if b.count]
    if not days:
        return AUTO_BUCKETS[-1]
    count = sum(b.count for b in days)
    # a young brand's rate is over the days it has been watched, not the whole fortnight
    span = max(now - days[0].start, timedelta(days=1))
    for bucket in AUTO_BUCKETS:
        if count * (bucket / span) >= AUTO_BUCKET_MIN_COUNT:
            return bucket
    return AUTO_BUCKETS[-1]


def sized_detector(rule: AlertRule, index: MentionIndex, query: Node) -> Rule:
    """A stored rule's detector, an "auto" bucket sized from its target's volume (`query`:
    the saved search's or the brand's, from evaluator.target_query)."""
    return rule.detector_rule(auto=volume_bucket(index, query) if rule.auto_bucket else None)


def brand_rules(
    state: StateStore, index: MentionIndex | None, settings: BrandRulesSettings
) -> list[AlertRule]:
    """The default rules of every brand and competitor (none when turned off); a rule that
    cannot be built is logged and left out."""
    if not settings.enabled:
        return []
    channels = [
        Channel.model_validate({"type": kind, "target": target})
        for kind, target in (c.split(":", 1) for c in settings.channels)
    ]
    rules: list[AlertRule] = []
    for name, role in watched_names(state):
        detector: dict[str, Any] = dict(settings.detector)
        if detector.get("bucket", "auto") == "auto":
            bucket = auto_bucket(index, name, role) if index is not None else AUTO_BUCKETS[-1]
            detector["bucket"] = format_duration(bucket)
            if "min_run" in Rule.model_fields:
                # an hour, a quarter or a day is sustained enough: waiting for a second
                # anomalous one would tell the spike an hour (or a day) late.
                detector.setdefault("min_run", 1)
        for kind in settings.kinds:
            try:
                rules.append(
                    AlertRule(
                        name=default_rule_name(name, kind),
                        target_type="brand",
                        target=name,
                        kind=kind,
                        detector=detector,
                        channels=channels,
                    )
                )
            except ValueError as exc:
                log.error("default %s rule of %r is invalid, skipped: %s", kind, name, exc)
    return rules
