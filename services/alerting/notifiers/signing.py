"""Webhook signatures: HMAC-SHA256 over timestamp and body, as Stripe and Slack sign theirs.

Every webhook request carries two headers:

    X-Veille-Timestamp: 1763784000             (Unix seconds when it was signed)
    X-Veille-Signature: v1=<hex>               (HMAC-SHA256(secret, f"{timestamp}.{body}"))

Signing the timestamp with the body stops a captured request from being replayed later:
a receiver refuses requests whose timestamp is more than `REPLAY_WINDOW` seconds (5
minutes) away from its own clock, and compares signatures in constant time.
`verify_request` does both. A re-send after a crash is signed anew (new timestamp, same
`Idempotency-Key`), so receivers deduplicate on that key, not on the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Veille-Signature"
TIMESTAMP_HEADER = "X-Veille-Timestamp"
SCHEME = "v1"
#: Seconds a signed request stays acceptable; also the clock skew tolerated.
REPLAY_WINDOW = 300


class SignatureError(ValueError):
    """A webhook request whose signature or timestamp does not check out."""


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """'v1=<hex>' of HMAC-SHA256(secret, f"{timestamp}.{body}")."""
    signed = str(timestamp).encode() + b"." + body
    return f"{SCHEME}=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(body: bytes, *, secret: str, now: float | None = None) -> dict[str, str]:
    """The timestamp and signature headers for one request."""
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(body, secret=secret, timestamp=timestamp),
    }


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance: float = REPLAY_WINDOW,
    now: float | None = None,
) -> None:
    """For receivers: raises SignatureError unless the headers sign this raw body, within
    `tolerance` seconds of now. Header names are matched case-insensitively."""
    lower = {name.lower(): value for name, value in headers.items()}
    raw_timestamp = lower.get(TIMESTAMP_HEADER.lower(), "").strip()
    signature = lower.get(SIGNATURE_HEADER.lower(), "").strip()
    if not raw_timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a Unix time in seconds") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {abs(current - timestamp):.0f} s away from now "
            f"(more than {tolerance:.0f} s): a replay, or a clock out of sync"
        )
    expected = sign(body, secret=secret, timestamp=timestamp)
    # Several comma-separated signatures are allowed, so a secret can be rotated.
    if not any(hmac.compare_digest(expected, given.strip()) for given in signature.split(",")):
        raise SignatureError("the signature does not match the body and timestamp")
