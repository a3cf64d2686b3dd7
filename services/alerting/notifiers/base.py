"""The contract between the outbox and the notifiers: a message, a notifier, its errors.

A notifier delivers one `AlertMessage` to one channel. `send` returns when the channel
accepted the message and raises `DeliveryError` otherwise: `permanent=True` means retrying
the same message cannot succeed (bad address, rejected payload, missing secret), while
`permanent=False` asks the outbox to retry later, no sooner than `retry_after` seconds
when the channel said so; `maybe_delivered=True` means the request went out but no
answer came back (a read time-out, a dropped connection), so the channel may have it.
The same `idempotency_key` is passed on every retry of one delivery, so receivers that
can deduplicate (Message-ID, Idempotency-Key) do. A rate-limited notifier may also have
a `wait_turn()` method: the outbox calls it before marking the delivery `sending`, so time
spent waiting for a slot is never mistaken for a send in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.alerting.explanation import Baseline


@dataclass(frozen=True)
class AlertMessage:
    """Everything a channel shows about one alert, already computed."""

    rule_name: str
    kind: str  # volume_spike | negative_share_spike | drop | new_mention
    status: str  # "firing" | "resolved"
    observed: float
    expected: float
    score: float | None
    window_start: datetime
    window_end: datetime
    baseline: str  # method and window in English words (the webhook's `baseline`)
    top_mentions: list[dict[str, Any]]  # {title, text, url, source, sentiment}
    top_sources: list[tuple[str, int]]
    top_topics: list[tuple[str, int]]
    link: str | None  # to the mentions in the API/dashboard
    series: list[tuple[datetime, float]]  # recent buckets for the chart
    chart_url: str | None = None  # a public URL of the chart PNG (Slack fetches it)
    #: observed/expected are a mean a bucket over this many buckets (1: the bucket's count)
    averaged_buckets: int = 1
    #: the method and its parameters, for each language's wording (None: an older event
    #: whose sentence had no known shape; `baseline` is shown as it is)
    baseline_parts: Baseline | None = None


class DeliveryError(Exception):
    """A delivery failed; `permanent` says whether retrying can help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"DeliveryError({self.message!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, maybe_delivered={self.maybe_delivered})"
        )


class Notifier(Protocol):
    """Delivers alert messages to one channel."""

    channel: str
    #: True when a re-send after a crash carries the same idempotency key in a form the
    #: receiver can drop duplicates by (webhook header, email Message-ID); False (Slack)
    #: parks an in-doubt delivery as `unknown` instead of risking a duplicate.
    safe_to_resend: bool

    def send(self, message: AlertMessage, *, idempotency_key: str) -> None:
        """Delivers the message once; raises DeliveryError when it could not."""
        ...
