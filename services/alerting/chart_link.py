"""The chart of an alert as a public image URL, for Slack.

Slack shows an image only by fetching its URL itself, without our API key. So the URL
carries a capability instead: the event's `chart_token`, random and unguessable, drawn
when the event was recorded. The URL exists only when `api.public_url` says where the
outside world reaches this API; without it, Slack messages simply have no image.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.alerting.notifiers.chart import line_chart_png
from services.alerting.notifiers.wording import MAX_SERIES_POINTS
from services.store.state.contract import AlertEventRecord

#: Under the API prefix; served by services/api/routers/alert_charts.py.
CHART_PATH = "/alerts/events/{event_id}/chart.png"
API_PREFIX = "/api/v1"


def chart_values(numbers: dict[str, Any]) -> list[float]:
    """The values an alert's chart draws: its recent buckets, as emails show them."""
    rows = numbers.get("series") or []
    return [float(row[1]) for row in rows[-MAX_SERIES_POINTS:]]


def chart_url(
    event: AlertEventRecord, *, public_url: str | None, workspace: str = "default"
) -> str | None:
    """'https://HOST/api/v1/alerts/events/ID/chart.png?token=T' (with `&workspace=W` for a
    workspace other than the default, whose events are numbered apart), or None when there
    is no public URL, no token (an event older than tokens) or fewer than two points."""
    if not public_url or not event.chart_token or len(chart_values(event.numbers)) < 2:
        return None
    path = CHART_PATH.format(event_id=event.id)
    url = f"{public_url.rstrip('/')}{API_PREFIX}{path}?token={event.chart_token}"
    return url if workspace == "default" else f"{url}&workspace={quote(workspace)}"


def chart_png(event: AlertEventRecord) -> bytes | None:
    """The PNG, or None when there is nothing to draw."""
    values = chart_values(event.numbers)
    return line_chart_png(values) if len(values) >= 2 else None
