"""Generic webhook channel: a JSON POST signed with HMAC-SHA256, plus the HTTP delivery
shared with Slack (address guard, status mapping, Retry-After, secret-free errors).

Receivers verify `X-Veille-Signature: v1=<hex>`, the HMAC-SHA256 of
f"{X-Veille-Timestamp}.{raw body}" keyed with the shared secret, and refuse timestamps
more than 5 minutes old (`signing.verify_request` does both). They should deduplicate on
the `Idempotency-Key` header (also in the body as `idempotency_key`): after a crash the
outbox sends the same alert again with the same key.

Webhook URLs are configuration, so they are resolved and checked like collector URLs
(services.net.guard.AddressGuard): private, loopback and link-local addresses are
refused unless their network is in `allowed_networks`, and the connection goes to the
address that passed the check.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from services.alerting.notifiers.base import AlertMessage, DeliveryError
from services.alerting.notifiers.secrets import resolve_secret
from services.alerting.notifiers.signing import signature_headers
from services.alerting.notifiers.webhook_body import build_webhook_body
from services.net.guard import AddressGuard, FetchError, GuardedTransport, RefusedError

log = logging.getLogger("veille.alerting.webhook")

USER_AGENT = "Veille-Notifier/0.1"
DEFAULT_TIMEOUT = 10.0
#: Failures after the whole request went out: the receiver may have acted on it. (A
#: connect or write failure means it cannot have: the body never arrived whole.)
_SENT_THEN_LOST = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
#: only the start of an answer is kept (quoted in errors); a receiver cannot flood us.
MAX_RESPONSE_BYTES = 64 * 1024


class WebhookNotifier:
    """POSTs the alert as signed JSON to one URL."""

    channel = "webhook"
    safe_to_resend = True  # same Idempotency-Key on every attempt

    def __init__(
        self,
        url: str,
        *,
        secret_name: str,
        allowed_networks: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.secret_name = secret_name
        self.guard = guard_for(allowed_networks)
        self.timeout = timeout
        self._environ = environ

    def __repr__(self) -> str:
        return f"WebhookNotifier({_origin(self.url)!r}, secret_name={self.secret_name!r})"

    def send(self, message: AlertMessage, *, idempotency_key: str) -> None:
        """Signs and POSTs the JSON body; raises DeliveryError on failure."""
        secret = resolve_secret(self.secret_name, environ=self._environ)
        body = encode_json(build_webhook_body(message, idempotency_key=idempotency_key))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            **signature_headers(body, secret=secret.reveal()),
        }
        try:
            post(self.url, body, headers, channel="webhook", guard=self.guard, timeout=self.timeout)
        except DeliveryError as error:
            log.warning("webhook: %s not delivered: %s", idempotency_key, error)
            raise
        log.info("webhook: delivered %s to %s", idempotency_key, _origin(self.url))


def encode_json(data: Any) -> bytes:
    """Compact UTF-8 JSON, the exact bytes that are signed and sent."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# -- HTTP delivery shared with Slack -------------------------------------------------------


def guard_for(allowed_networks: Sequence[str]) -> AddressGuard:
    """A guard allowing public addresses and these networks (e.g. '10.0.0.0/8')."""
    return AddressGuard(
        tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks),
        hint="allow its network with alerting.allowed_networks",
    )


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    channel: str,
    guard: AddressGuard,
    timeout: float,
    redact: Iterable[str] = (),
) -> httpx.Response:
    """POSTs once; returns a 2xx response or raises DeliveryError (429/5xx/network: temporary,
    other statuses: permanent). Messages name the host only, never the path or query, and
    `redact` values are cut out of anything quoted from the response."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise DeliveryError(f"{channel}: invalid URL", permanent=True) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise DeliveryError(f"{channel}: the URL must be http(s)://HOST/...", permanent=True)
    host = target.host
    request = httpx.Request(
        "POST",
        target,
        content=body,
        headers={"User-Agent": USER_AGENT, **headers},
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )
    # The transport, not a Client: httpx.Client logs every request URL at INFO, and a Slack
    # webhook URL is itself the secret.
    transport = GuardedTransport(guard, max_connections=1)
    try:
        response = transport.handle_request(request)
        try:
            content = _read_capped(response, MAX_RESPONSE_BYTES)
        finally:
            response.close()
    except RefusedError as error:
        raise DeliveryError(f"{channel}: {error}", permanent=True) from None
    except FetchError as error:  # the host did not resolve
        raise DeliveryError(f"{channel}: {error}", permanent=False) from None
    except httpx.TimeoutException as error:
        raise DeliveryError(
            f"{channel}: {host} timed out after {timeout:g} s",
            permanent=False,
            maybe_delivered=isinstance(error, _SENT_THEN_LOST),
        ) from None
    except (httpx.HTTPError, OSError) as error:
        raise DeliveryError(
            f"{channel}: cannot reach {host} ({_short(error, redact)})",
            permanent=False,
            maybe_delivered=isinstance(error, _SENT_THEN_LOST),
        ) from None
    finally:
        transport.close()
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = _short_text(content.decode("utf-8", "replace"), redact)
    reason = f"{channel}: {host} answered HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429 or status >= 500:
        raise DeliveryError(reason, permanent=False, retry_after=retry_after(response.headers))
    raise DeliveryError(reason, permanent=True)


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None when absent."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _origin(url: str) -> str:
    """scheme://host[:port] only: paths and queries may hold tokens."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(invalid URL)"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _short(error: BaseException, redact: Iterable[str]) -> str:
    text = str(error).strip() or type(error).__name__
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return _short_text(text, redact)


def _short_text(text: str, redact: Iterable[str]) -> str:
    for value in redact:
        if value:
            text = text.replace(value, "***")
    return " ".join(text.split())[:200]
