"""The signed JSON webhook against a real HTTP receiver that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.signing import (
    REPLAY_WINDOW,
    SignatureError,
    sign,
    signature_headers,
    verify_request,
)
from services.alerting.notifiers.webhook import WebhookNotifier
from tests.alerting.notifiers import make_message
from tests.httpserver import HTTPTestServer, RecordedRequest, Response

SECRET = "whsec-0123456789abcdef"
ENV = {"VEILLE_WEBHOOK_SECRET": SECRET}


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as server:
        yield server


def notifier(server: HTTPTestServer, path: str = "/hook") -> WebhookNotifier:
    return WebhookNotifier(
        server.url(path),
        secret_name="VEILLE_WEBHOOK_SECRET",
        allowed_networks=["127.0.0.1/32"],
        environ=ENV,
    )


def test_signature_verifies_on_the_receiving_side(server: HTTPTestServer) -> None:
    verdicts: list[str] = []

    def receiver(request: RecordedRequest) -> Response:
        try:
            verify_request(request.headers, request.body, SECRET)
        except SignatureError as error:
            verdicts.append(str(error))
            return Response(401)
        verdicts.append("ok")
        return Response(204)

    server.add("/hook", method="POST", handler=receiver)
    before = int(time.time())
    notifier(server).send(make_message(), idempotency_key="evt-9:webhook")
    assert verdicts == ["ok"]
    (request,) = server.requests_for("/hook")
    assert request.headers["idempotency-key"] == "evt-9:webhook"
    assert request.headers["content-type"] == "application/json"
    timestamp = int(request.headers["x-veille-timestamp"])
    assert before <= timestamp <= int(time.time())
    # The documented scheme, recomputed by hand: v1=hex(HMAC-SHA256(secret, "ts.body")).
    signed = f"{timestamp}.".encode() + request.body
    expected = "v1=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["x-veille-signature"] == expected
    body = json.loads(request.body)
    assert body["rule_name"] == "Acme" and body["idempotency_key"] == "evt-9:webhook"
    assert body["window_end"] == "2026-11-22T10:00:00+00:00"


BODY = b'{"rule_name":"Acme"}'
NOW = 1_763_784_000


@pytest.mark.parametrize(
    ("headers", "body", "secret", "reason"),
    [
        (signature_headers(BODY, secret=SECRET, now=NOW), BODY + b" ", SECRET, "does not match"),
        (signature_headers(BODY, secret=SECRET, now=NOW), BODY, "other", "does not match"),
        (
            {
                "X-Veille-Timestamp": str(NOW + 1),
                "X-Veille-Signature": sign(BODY, secret=SECRET, timestamp=NOW),
            },
            BODY,
            SECRET,
            "does not match",
        ),
        ({"X-Veille-Signature": "v1=00"}, BODY, SECRET, "missing"),
        ({"X-Veille-Timestamp": "soon", "X-Veille-Signature": "v1=00"}, BODY, SECRET, "Unix"),
    ],
    ids=["body changed", "wrong secret", "timestamp changed", "no timestamp", "bad timestamp"],
)
def test_a_tampered_or_incomplete_request_is_refused(
    headers: dict[str, str], body: bytes, secret: str, reason: str
) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_request(headers, body, secret, now=NOW)


def test_the_replay_window_is_five_minutes_either_way() -> None:
    headers = signature_headers(BODY, secret=SECRET, now=NOW)
    verify_request(headers, BODY, SECRET, now=NOW + REPLAY_WINDOW)
    verify_request(headers, BODY, SECRET, now=NOW - REPLAY_WINDOW)
    for late in (NOW + REPLAY_WINDOW + 1, NOW - REPLAY_WINDOW - 1):
        with pytest.raises(SignatureError, match="replay"):
            verify_request(headers, BODY, SECRET, now=late)
    verify_request(headers, BODY, SECRET, now=NOW + 3600, tolerance=3600)


def test_a_rotated_secret_can_be_checked_among_several_signatures() -> None:
    headers = signature_headers(BODY, secret=SECRET, now=NOW)
    old = sign(BODY, secret="old-secret", timestamp=NOW)
    headers["X-Veille-Signature"] = f"{old}, {headers['X-Veille-Signature']}"
    verify_request({k.lower(): v for k, v in headers.items()}, BODY, SECRET, now=NOW)


def test_receiver_rejection_is_permanent(server: HTTPTestServer) -> None:
    server.add("/hook", method="POST", status=401, body=b"bad signature")
    with pytest.raises(DeliveryError) as caught:
        notifier(server).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is True and "HTTP 401" in str(caught.value)


def test_503_with_an_http_date_retry_after_is_temporary(server: HTTPTestServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    server.add("/hook", method="POST", status=503, headers={"Retry-After": when})
    with pytest.raises(DeliveryError) as caught:
        notifier(server).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 120


def test_invalid_url_is_permanent() -> None:
    hook = WebhookNotifier("ftp://example.org/x", secret_name="VEILLE_WEBHOOK_SECRET", environ=ENV)
    with pytest.raises(DeliveryError) as caught:
        hook.send(make_message(), idempotency_key="k")
    assert caught.value.permanent is True


def test_a_flooding_receiver_is_cut_short(server: HTTPTestServer) -> None:
    flood = (b"x" * 65536 for _ in range(2000))  # 128 MB, streamed: only 64 KB are read
    server.add("/hook", method="POST", status=500, body=lambda: flood)
    with pytest.raises(DeliveryError) as caught:
        notifier(server).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False and len(str(caught.value)) < 300
