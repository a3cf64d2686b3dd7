"""The Slack transport against a real HTTP server on 127.0.0.1 standing in for Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.slack import RateLimiter, SlackNotifier
from tests.alerting.notifiers import make_message
from tests.httpserver import HTTPTestServer

HOOK = "/services/T000/B000/XXXXsecretXXXX"
LOOPBACK = ["127.0.0.0/8"]


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as server:
        yield server


def notifier(server: HTTPTestServer, **kwargs: object) -> SlackNotifier:
    options: dict[str, object] = {
        "webhook_secret": "SLACK_WEBHOOK_TEST",
        "allowed_networks": LOOPBACK,
        "limiter": RateLimiter(1.0),
        "environ": {"SLACK_WEBHOOK_TEST": server.url(HOOK)},
    }
    options.update(kwargs)
    return SlackNotifier(**options)  # type: ignore[arg-type]


def test_payload_reaches_the_webhook(server: HTTPTestServer) -> None:
    server.add(HOOK, method="POST", body=b"ok")
    notifier(server).send(make_message(), idempotency_key="evt-1:slack")
    (request,) = server.requests_for(HOOK)
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/json")
    payload = json.loads(request.body)
    assert payload["blocks"][0]["text"]["text"] == "Volume spike · Acme"
    assert "1,234 vs 56.5 expected" in payload["text"]


def test_at_most_one_message_per_second_per_webhook(server: HTTPTestServer) -> None:
    # The limiter's clock, moved by its waits only: the posts take no time on it. On the
    # wall clock a post takes what a busy machine gives it, which the limiter cannot decide
    # (under load the receiver saw posts sent a second apart arrive 0.6 s apart).
    server.add(HOOK, method="POST", body=b"ok")
    server.add("/other", method="POST", body=b"ok")
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(1.0, clock=lambda: now[0], sleep=sleep)
    slack = notifier(server, limiter=limiter)
    other = notifier(server, limiter=limiter, environ={"SLACK_WEBHOOK_TEST": server.url("/other")})
    slack.send(make_message(), idempotency_key="a")
    other.send(make_message(), idempotency_key="b")  # another webhook: not held back
    assert waits == []
    slack.send(make_message(), idempotency_key="c")  # held back a second after the first
    assert waits == [1.0]
    assert len(server.requests_for(HOOK)) == 2 and len(server.requests_for("/other")) == 1


def test_wait_turn_books_the_slot_that_send_then_uses(server: HTTPTestServer) -> None:
    server.add(HOOK, method="POST", body=b"ok")
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    slack = notifier(server, limiter=RateLimiter(1.0, clock=lambda: now[0], sleep=sleep))
    for key in ("a", "b"):
        slack.wait_turn()
        slack.send(make_message(), idempotency_key=key)
    slack.send(make_message(), idempotency_key="c")  # without wait_turn: send waits itself
    assert sleeps == [1.0, 1.0]  # one wait per message, never two
    assert len(server.requests_for(HOOK)) == 3


def test_rate_limiter_books_slots_in_order() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter(1.0, clock=lambda: now[0], sleep=sleep)
    assert [limiter.wait("u") for _ in range(3)] == [0.0, 1.0, 2.0]
    assert limiter.wait("v") == 0.0
    limiter.defer("v", 30.0)
    assert limiter.wait("v") == 30.0
    assert slept == [1.0, 2.0, 30.0]


def test_429_is_temporary_with_retry_after(server: HTTPTestServer) -> None:
    server.add(HOOK, method="POST", status=429, body=b"rate_limited", headers={"Retry-After": "7"})
    limiter = RateLimiter(1.0)
    with pytest.raises(DeliveryError) as caught:
        notifier(server, limiter=limiter).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False
    assert caught.value.retry_after == 7.0
    assert "429" in str(caught.value) and "rate_limited" in str(caught.value)
    assert max(limiter._next.values()) - time.monotonic() > 5  # the URL's next slot moved back


def test_5xx_is_temporary(server: HTTPTestServer) -> None:
    server.add(HOOK, method="POST", status=503, body=b"busy")
    with pytest.raises(DeliveryError) as caught:
        notifier(server).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False and caught.value.retry_after is None


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_other_4xx_are_permanent(server: HTTPTestServer, status: int) -> None:
    server.add(HOOK, method="POST", status=status, body=b"invalid_blocks")
    with pytest.raises(DeliveryError) as caught:
        notifier(server).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is True
    assert f"HTTP {status}" in str(caught.value)


def test_connection_failure_and_timeout_are_temporary(server: HTTPTestServer) -> None:
    server.add(HOOK, method="POST", body=b"ok", delay=2)
    with pytest.raises(DeliveryError) as caught:
        notifier(server, timeout=0.3).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False and "timed out" in str(caught.value)
    # The whole request went out before the time-out: Slack may have posted it.
    assert caught.value.maybe_delivered is True
    assert len(server.requests_for(HOOK)) == 1
    port = server.port
    server.stop()
    environ = {"SLACK_WEBHOOK_TEST": f"http://127.0.0.1:{port}{HOOK}"}
    with pytest.raises(DeliveryError) as caught:
        notifier(server, environ=environ).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False and "cannot reach 127.0.0.1" in str(caught.value)
    assert caught.value.maybe_delivered is False  # refused: it cannot have arrived


def test_private_addresses_are_refused_unless_allowed(server: HTTPTestServer) -> None:
    server.add(HOOK, method="POST", body=b"ok")
    with pytest.raises(DeliveryError) as caught:
        notifier(server, allowed_networks=()).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is True
    assert "loopback" in str(caught.value) and "allowed_networks" in str(caught.value)
    assert server.requests_for(HOOK) == []


def test_missing_secret_is_permanent_and_named(server: HTTPTestServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        notifier(server, environ={}).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is True
    assert "SLACK_WEBHOOK_TEST" in str(caught.value)
