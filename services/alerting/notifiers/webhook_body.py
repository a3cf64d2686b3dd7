"""The JSON body of an alert webhook (pure: webhook.py signs and posts what this returns)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from services.alerting.notifiers.base import AlertMessage
from services.alerting.notifiers.wording import (
    as_utc,
)


def build_webhook_body(message: AlertMessage, *, idempotency_key: str) -> dict[str, Any]:
    """Every field of the message as JSON-ready data, dates in ISO 8601 (UTC)."""
    return {
        "idempotency_key": idempotency_key,
        "rule_name": message.rule_name,
        "kind": message.kind,
        "status": message.status,
        "observed": _json_number(message.observed),
        "expected": _json_number(message.expected),
        "averaged_buckets": message.averaged_buckets,  # >1: observed/expected are means
        "score": None if message.score is None else _json_number(message.score),
        "window_start": as_utc(message.window_start).isoformat(),
        "window_end": as_utc(message.window_end).isoformat(),
        "baseline": message.baseline,  # in English words
        # the same as data (services/alerting/explanation.py), null for an older event
        # whose sentence had no known shape
        "baseline_parts": (
            None
            if message.baseline_parts is None
            else message.baseline_parts.model_dump(mode="json")
        ),
        "top_mentions": [_json_safe(m) for m in message.top_mentions],
        "top_sources": [{"name": n, "count": c} for n, c in message.top_sources],
        "top_topics": [{"name": n, "count": c} for n, c in message.top_topics],
        "link": message.link,
        "series": [
            {"ts": as_utc(ts).isoformat(), "value": _json_number(v)} for ts, v in message.series
        ],
    }


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None  # JSON has no NaN or Infinity


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, float):
        return _json_number(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
