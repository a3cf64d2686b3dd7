"""Secrets by name, and no secret value in logs, errors or reprs of any channel."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.email import EmailNotifier
from services.alerting.notifiers.secrets import MissingSecretError, Secret, resolve_secret
from services.alerting.notifiers.slack import RateLimiter, SlackNotifier
from services.alerting.notifiers.webhook import WebhookNotifier
from tests.alerting.notifiers import make_message
from tests.alerting.notifiers.test_email import Mailbox
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.smtp_server import smtp_server

SLACK_PATH = "/services/T1/B2/slack-token-s3cr3t"
HMAC_KEY = "hmac-key-s3cr3t-value"
SMTP_PASSWORD = "smtp-password-s3cr3t"


def test_from_the_environment_first(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("A=from-file\n", encoding="utf-8")
    env = {"A": "from-env", "VEILLE_SECRETS_FILE": str(path)}
    assert resolve_secret("A", environ=env).reveal() == "from-env"


def test_from_the_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(
        "# alert channels\n\nSLACK_HOOK=https://hooks.slack.com/services/T/B/x=y\n"
        "export SMTP_PASSWORD='with spaces # and hash'\nQUOTED=\"q\"\nEMPTY=\n",
        encoding="utf-8",
    )
    env = {"VEILLE_SECRETS_FILE": str(path)}
    assert resolve_secret("SLACK_HOOK", environ=env).reveal().endswith("/x=y")
    assert resolve_secret("SMTP_PASSWORD", environ=env).reveal() == "with spaces # and hash"
    assert resolve_secret("QUOTED", environ=env).reveal() == "q"
    with pytest.raises(MissingSecretError, match="secret EMPTY is not set"):
        resolve_secret("EMPTY", environ=env)


def test_missing_and_unreadable_are_permanent(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as caught:
        resolve_secret("NOPE", environ={})
    assert caught.value.permanent and "NOPE" in str(caught.value)
    assert "VEILLE_SECRETS_FILE unset" in str(caught.value)
    env = {"VEILLE_SECRETS_FILE": str(tmp_path / "absent.env")}
    with pytest.raises(DeliveryError) as caught:
        resolve_secret("NOPE", environ=env)
    assert caught.value.permanent and "cannot read the secrets file" in str(caught.value)
    with pytest.raises(DeliveryError, match="invalid secret name"):
        resolve_secret("NOT A NAME", environ={})


def test_a_secret_does_not_print_itself() -> None:
    secret = Secret("TOKEN", "tok-s3cr3t")
    assert "tok-s3cr3t" not in repr(secret) and "tok-s3cr3t" not in str(secret)
    assert "tok-s3cr3t" not in f"{secret}" and "TOKEN" in repr(secret)
    assert secret == Secret("TOKEN", "tok-s3cr3t") and secret.reveal() == "tok-s3cr3t"


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as server:
        yield server


def _everything_said(
    caplog: pytest.LogCaptureFixture, errors: list[BaseException], objects: list[object]
) -> str:
    said = [caplog.text, *(r.getMessage() for r in caplog.records)]
    for error in errors:
        said += [str(error), repr(error), "".join(traceback.format_exception(error))]
    said += [repr(o) for o in objects]
    return "\n".join(said)


def test_no_channel_leaks_its_secrets(
    server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore and ours, at their most verbose
    slack_url = server.url(SLACK_PATH)
    env = {
        "SLACK_HOOK": slack_url,
        "HOOK_KEY": HMAC_KEY,
        "SMTP_USER": "u",
        "SMTP_PW": SMTP_PASSWORD,
    }
    errors: list[BaseException] = []

    server.add(SLACK_PATH, method="POST", body=b"ok")
    slack = SlackNotifier(
        webhook_secret="SLACK_HOOK",
        allowed_networks=["127.0.0.0/8"],
        limiter=RateLimiter(0.0),
        environ=env,
    )
    slack.send(make_message(), idempotency_key="ok")

    def echo(request: RecordedRequest) -> Response:  # a server quoting the URL back
        return Response(400, body=f"bad hook {slack_url} {request.path}".encode())

    server.add(SLACK_PATH, method="POST", handler=echo)
    with pytest.raises(DeliveryError) as caught:
        slack.send(make_message(), idempotency_key="bad")
    errors.append(caught.value)
    assert "***" in str(caught.value)

    server.add("/hook", method="POST", status=500, body=b"boom")
    hook = WebhookNotifier(
        server.url("/hook"), secret_name="HOOK_KEY", allowed_networks=["127.0.0.0/8"], environ=env
    )
    with pytest.raises(DeliveryError) as caught:
        hook.send(make_message(), idempotency_key="k")
    errors.append(caught.value)
    assert HMAC_KEY.encode() not in server.requests_for("/hook")[0].body

    with smtp_server(Mailbox(reply="554 5.7.1 no")) as port:
        mail = EmailNotifier(
            host="127.0.0.1",
            port=port,
            security="plain",
            sender="alerts@veille.example",
            recipients=["a@example.org"],
            username_secret="SMTP_USER",
            password_secret="SMTP_PW",
            environ=env,
        )
        with pytest.raises(DeliveryError) as caught:  # no AUTH offered over plain: refused
            mail.send(make_message(), idempotency_key="k")
        errors.append(caught.value)

    said = _everything_said(caplog, errors, [slack, hook, mail])
    assert caplog.records  # something was logged, at DEBUG too
    for value in (SLACK_PATH, "slack-token-s3cr3t", HMAC_KEY, SMTP_PASSWORD):
        assert value not in said
