"""Tests of the alert notifiers; `make_message` builds the AlertMessage they send."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.alerting.notifiers.base import AlertMessage

WINDOW_END = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def make_message(**changes: Any) -> AlertMessage:
    """A firing volume spike on 'Acme' with mentions, sources, topics and a rising series."""
    message = AlertMessage(
        rule_name="Acme",
        kind="volume_spike",
        status="firing",
        observed=1234.0,
        expected=56.5,
        score=7.25,
        window_start=WINDOW_END - timedelta(hours=1),
        window_end=WINDOW_END,
        baseline="seasonal median (hour of week) over 28 days",
        top_mentions=[
            {
                "title": "Acme <outage> & refunds",
                "text": "Acme's app has been down all morning.",
                "url": "https://news.example.org/acme-outage",
                "source": "news.example.org",
                "sentiment": "negative",
            },
            {
                "title": "",
                "text": "Anyone else seeing Acme errors?",
                "url": "https://social.example/@bob/1",
                "source": "mastodon",
                "sentiment": "neutral",
            },
        ],
        top_sources=[("news.example.org", 40), ("mastodon", 12)],
        top_topics=[("outage", 30), ("refund", 9)],
        link="https://veille.example/mentions?rule=acme",
        series=[
            (WINDOW_END - timedelta(hours=11 - i), float(v))
            for i, v in enumerate([50, 52, 48, 55, 60, 58, 57, 61, 59, 62, 300, 1234])
        ],
    )
    return replace(message, **changes)
