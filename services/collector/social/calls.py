"""Makes a run's API calls: retries, rate limits, and the connector's token.

A 429 (or a 403 that a connector calls a spent quota) is retried after its
Retry-After, or the quota's reset, when that is at most `Backoff.max_wait_seconds`;
a 5xx after an exponential backoff with jitter; both at most `Backoff.max_retries`
times. A spent quota is waited for before the next call. Anything else ends the run
with `RunFailed`, whose message is the run's error.

For an `Authenticating` connector, every call first renews the token when the
connector asks for it; for a `RenewingTokens` one, it also carries the token's
headers, and a 401 makes the connector forget its token and the call be retried
once with a new one (an OAuth token can be revoked or expire early).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus

from services.collector.social.base import (
    Authenticating,
    Connector,
    RenewingTokens,
    RequestSpec,
)
from services.collector.social.http import ApiClient, ApiResponse
from services.collector.social.ratelimit import (
    Backoff,
    RateLimit,
    parse_rate_limit,
    parse_retry_after,
)


class RunFailed(Exception):
    """Ends a run; `str(error)` is the run's error, `not_before` when to come back."""

    def __init__(
        self,
        message: str,
        *,
        not_before: float | None = None,
        status: int | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.not_before = not_before
        self.status = status
        # The run's error kind (`ErrorKind`); by default from what happened.
        self.kind = kind or (
            "rate_limited" if not_before is not None else "http_status" if status else "error"
        )


@dataclass
class Caller:
    """Makes calls with retries, waiting as the platform's rate limits ask."""

    client: ApiClient
    backoff: Backoff
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    connector: Connector
    rate_limit: RateLimit | None = None

    def call(self, spec: RequestSpec) -> ApiResponse:
        """A 2xx answer to `spec`, authenticated when the connector needs it."""
        connector = self.connector
        self.authenticate()
        if not isinstance(connector, RenewingTokens):
            return self._send(spec)
        try:
            return self._send(_with_headers(spec, connector.auth_headers()))
        except RunFailed as error:
            if error.status != 401:
                raise
            connector.forget_token()
            if connector.auth_request() is None:
                raise  # a token that cannot be renewed (a static one): report the 401
        self.authenticate()
        return self._send(_with_headers(spec, connector.auth_headers()))

    def authenticate(self) -> None:
        """Obtains or renews the connector's token when it holds no valid one."""
        connector = self.connector
        if not isinstance(connector, Authenticating):
            return
        for _attempt in range(2):
            spec = connector.auth_request()
            if spec is None:
                return
            try:
                answer = self._send(spec)
            except RunFailed as error:
                refused = spec.purpose == "refresh" and error.status in (400, 401)
                if refused and isinstance(connector, RenewingTokens):
                    connector.forget_token(refresh_too=True)  # log in afresh
                    continue
                raise
            connector.parse_auth(answer.status, answer.headers, answer.body)
            return

    def _send(self, spec: RequestSpec) -> ApiResponse:
        quota_error: Callable[[bytes], bool] = getattr(self.connector, "is_quota_error", _never)
        for attempt in range(self.backoff.max_retries + 1):
            self._respect_quota()
            response = self.client.send(spec)
            now = self.clock()
            self.rate_limit = parse_rate_limit(response.headers, now) or self.rate_limit
            status = response.status
            if 200 <= status < 300:
                return response
            last = attempt == self.backoff.max_retries
            spent = self._quota_spent() or quota_error(response.body)
            if status == 429 or (status == 403 and spent):
                wait = parse_retry_after(response.headers.get("retry-after"), now)
                if wait is None and self.rate_limit is not None:
                    wait = self.rate_limit.wait_seconds(now) or None
                if wait is None:
                    wait = self.backoff.delay(attempt)
                if last or wait > self.backoff.max_wait_seconds:
                    raise RunFailed(
                        f"rate limited: HTTP {status}, retry after {wait:.0f} s",
                        not_before=now + wait,
                        status=status,
                        kind="rate_limited",
                    )
                self.sleep(wait)
                continue
            if status >= 500 and not last:
                wait = parse_retry_after(response.headers.get("retry-after"), now)
                backoff = self.backoff.delay(attempt)
                self.sleep(min(wait, self.backoff.max_seconds) if wait else backoff)
                continue
            raise RunFailed(status_message(response), status=status)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _quota_spent(self) -> bool:
        return self.rate_limit is not None and self.rate_limit.remaining == 0

    def _respect_quota(self) -> None:
        if self.rate_limit is None:
            return
        now = self.clock()
        wait = self.rate_limit.wait_seconds(now)
        if wait > self.backoff.max_wait_seconds:
            raise RunFailed(
                f"rate limited: quota spent, resets in {wait:.0f} s", not_before=now + wait
            )
        if wait > 0:
            self.sleep(wait)
            self.rate_limit = None


def _with_headers(spec: RequestSpec, headers: dict[str, str]) -> RequestSpec:
    return replace(spec, headers={**spec.headers, **headers}) if headers else spec


def status_message(response: ApiResponse) -> str:
    """'HTTP 503 Service Unavailable: <the platform's own message>'."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    detail = _error_detail(response.body)
    message = f"HTTP {response.status} {reason}".rstrip()
    return f"{message}: {detail}" if detail else message


def _error_detail(body: bytes) -> str:
    """The platform's own error message, when the body is JSON that carries one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    for key in ("message", "error_description", "error", "detail", "title"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str | int) and str(value).strip():
            return " ".join(str(value).split())[:200]
    return ""


def _never(_body: bytes) -> bool:
    return False
