"""One API call through the collector's SSRF guard, bounded in time and size.

Reuses `services.collector.fetching`: the same `AddressGuard`-checked transport (every
connection goes to an address the guard allowed, so a configurable base URL cannot
reach the private network unless `collector.allowed_networks` says so), the same
error mapping ("unreachable: " for time-outs and unresolvable hosts) and the same
bounded body reader. `fetch()` itself is not used because API calls need methods,
headers and forms it does not take, and must see 4xx/5xx answers (their headers and
bodies carry Retry-After and error messages) instead of an exception.
Redirects are not followed: an API that redirects is misconfigured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from services.collector.fetching import (
    AddressGuard,
    GuardedTransport,
    host_of,
    mapped_errors,
    parse_url,
    read_body,
)
from services.collector.social.base import RequestSpec
from services.core.settings import CollectorSettings


@dataclass(frozen=True)
class ApiResponse:
    """An answer; header names are lower-case."""

    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)


class ApiClient:
    """A guarded HTTP client for one run; close it (or use `with`)."""

    def __init__(self, settings: CollectorSettings) -> None:
        self._settings = settings
        self._guard = AddressGuard.from_settings(settings)
        self._transport = GuardedTransport(self._guard)
        self._client = httpx.Client(
            transport=self._transport, follow_redirects=False, trust_env=False
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection pool."""
        self._client.close()

    def send(self, spec: RequestSpec) -> ApiResponse:
        """Makes the call; raises a FetchError on network failure, time-out or size."""
        settings = self._settings
        url = parse_url(spec.url)
        host = host_of(url)
        port = url.port or (443 if url.scheme == "https" else 80)
        self._guard.check_host(host, port, timeout=settings.timeout_seconds)  # a bounded wait
        deadline = time.monotonic() + settings.timeout_seconds
        self._transport.deadline.start(settings.timeout_seconds)  # connect, headers, body
        headers = {
            "User-Agent": settings.user_agent,
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            **spec.headers,
        }
        request = self._client.build_request(
            spec.method,
            url,
            params=list(spec.params),
            headers=headers,
            data=dict(spec.form) if spec.form is not None else None,
            json=spec.json_body,
            timeout=httpx.Timeout(settings.timeout_seconds),
        )
        auth = httpx.BasicAuth(*spec.basic_auth) if spec.basic_auth is not None else None
        with mapped_errors(settings.timeout_seconds, host):
            response = self._client.send(request, stream=True, auth=auth)
            try:
                lowered = {name.lower(): value for name, value in response.headers.items()}
                body = read_body(response, lowered, settings, deadline)
            finally:
                response.close()
        return ApiResponse(response.status_code, lowered, body)
