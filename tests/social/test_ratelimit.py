"""Retry-After, the platforms' rate-limit headers and backoff."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from services.collector.social.ratelimit import (
    Backoff,
    RateLimit,
    parse_rate_limit,
    parse_retry_after,
)
from tests.social.conftest import vcr_response

NOW = 1_700_000_000.0


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120
    date = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert parse_retry_after(date, NOW) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW) == 0  # in the past
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_reddit_headers_reset_in_seconds() -> None:
    headers = {
        "x-ratelimit-remaining": "0.0",
        "x-ratelimit-reset": "572",
        "x-ratelimit-used": "600",
    }  # the shape of the cassette's TestInbox answer, quota spent
    limit = parse_rate_limit(headers, NOW)
    assert limit == RateLimit(limit=None, remaining=0, reset_at=NOW + 572)
    assert limit is not None and limit.wait_seconds(NOW) == 572


def test_mastodon_headers_reset_at_an_iso_time() -> None:
    _status, headers, _body = vcr_response("mastodon/test_hashtag_tl.yaml", 2)
    limit = parse_rate_limit({k.lower(): v for k, v in headers.items()}, NOW)
    assert limit is not None
    assert (limit.limit, limit.remaining) == (300, 299)
    assert limit.reset_at == datetime(2026, 8, 1, 14, 0, 0, 70144, UTC).timestamp()
    assert limit.wait_seconds(NOW) == 0  # quota left: no wait


def test_x_headers_reset_at_a_unix_time() -> None:
    headers = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(NOW) + 90),
    }
    limit = parse_rate_limit(headers, NOW)
    assert limit is not None and limit.wait_seconds(NOW) == 90


def test_no_rate_limit_headers() -> None:
    assert parse_rate_limit({"content-type": "application/json"}, NOW) is None


@given(attempt=st.integers(min_value=0, max_value=30), jitter=st.floats(0, 1))
def test_backoff_grows_exponentially_with_bounded_jitter(attempt: int, jitter: float) -> None:
    backoff = Backoff(base_seconds=1.0, max_seconds=60.0, jitter=lambda: jitter)
    ceiling = min(60.0, 2.0**attempt)
    assert ceiling / 2 <= backoff.delay(attempt) <= ceiling
