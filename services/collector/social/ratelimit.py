"""Rate limits and backoff: read what the platform says, wait politely, never hammer.

`Retry-After` is seconds or an HTTP date (RFC 9110). The rate-limit headers differ by
platform: `X-RateLimit-Remaining/-Limit/-Reset` (Mastodon: reset is an ISO time;
Reddit: reset is seconds from now, remaining a float), `x-rate-limit-*` (X: reset is
a Unix time). `reset_at` normalises all of them to a Unix time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A reset value above this is a Unix time, below it a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RateLimit:
    """The platform's quota as its last answer described it."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # Unix time

    def wait_seconds(self, now: float) -> float:
        """How long to wait before the next call: until the reset once the quota is spent."""
        if self.remaining is not None and self.remaining <= 0 and self.reset_at is not None:
            return max(0.0, self.reset_at - now)
        return 0.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (seconds or an HTTP date); None if absent."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _reset(value: str | None, now: float) -> float | None:
    if value is None or not value.strip():
        return None
    number = _number(value)
    if number is not None:
        return number if number > _EPOCH_THRESHOLD else now + max(0.0, number)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimit | None:
    """The quota from an answer's headers (lower-case names); None when it gives none."""
    for prefix in ("x-ratelimit-", "x-rate-limit-", "ratelimit-"):
        remaining = _number(headers.get(prefix + "remaining"))
        limit = _number(headers.get(prefix + "limit"))
        reset = _reset(headers.get(prefix + "reset"), now)
        if remaining is not None or limit is not None or reset is not None:
            return RateLimit(
                limit=None if limit is None else int(limit),
                remaining=None if remaining is None else int(remaining),
                reset_at=reset,
            )
    return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits in [base*2^n / 2, base*2^n]."""

    base_seconds: float = 1.0
    max_seconds: float = 60.0
    max_retries: int = 2
    max_wait_seconds: float = 60.0  # a longer Retry-After ends the run instead
    jitter: Callable[[], float] = random.random  # 0..1

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (0-based)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2.0**attempt)
        return ceiling / 2 + ceiling / 2 * float(self.jitter())
