"""The signed JSON webhook against a real HTTP receiver that checks the signature."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.webhook import WebhookNotifier, verify_signature
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
    verdicts: list[bool] = []

    def receiver(request: RecordedRequest) -> Response:
        ok = verify_signature(request.body, request.headers["x-veille-signature"], SECRET)
        verdicts.append(ok)
        return Response(204 if ok else 401)

    server.add("/hook", method="POST", handler=receiver)
    before = int(time.time())
    notifier(server).send(make_message(), idempotency_key="evt-9:webhook")
    assert verdicts == [True]
    (request,) = server.requests_for("/hook")
    assert request.headers["idempotency-key"] == "evt-9:webhook"
    assert request.headers["content-type"] == "application/json"
    assert before <= int(request.headers["x-veille-timestamp"]) <= int(time.time())
    assert request.headers["x-veille-signature"].startswith("sha256=")
    body = json.loads(request.body)
    assert body["rule_name"] == "Acme" and body["idempotency_key"] == "evt-9:webhook"
    assert body["window_end"] == "2026-11-22T10:00:00+00:00"
    assert not verify_signature(request.body + b" ", request.headers["x-veille-signature"], SECRET)
    assert not verify_signature(request.body, request.headers["x-veille-signature"], "other")


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
