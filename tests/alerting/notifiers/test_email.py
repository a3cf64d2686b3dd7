"""The email transport against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.email import EmailNotifier, Recipient
from tests.alerting.notifiers import make_message
from tests.ports import refusing_port
from tests.smtp_server import smtp_server

USER, PASSWORD = "veille", "smtp-pa55-0123456789"
SECRETS = {"SMTP_USER": USER, "SMTP_PASSWORD": PASSWORD}


class Mailbox:
    """An aiosmtpd handler that keeps what it receives, or answers `reply` to DATA."""

    def __init__(self, reply: str = "250 OK", rcpt_reply: str | None = None) -> None:
        self.reply = reply
        self.rcpt_reply = rcpt_reply
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply and address.startswith("refused"):
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.reply

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            raw = envelope.content
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture(scope="module")
def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    pytest.importorskip(
        "cryptography", reason="TLS tests need cryptography: pip install cryptography"
    )
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "cert.pem").write_bytes(cert_pem)
        (Path(tmp) / "key.pem").write_bytes(key_pem)
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(Path(tmp) / "cert.pem", Path(tmp) / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


def notifier(port: int, **kwargs: Any) -> EmailNotifier:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "plain",
        "sender": "Veille <alerts@veille.example>",
        "recipients": [Recipient("ana@example.org", "fr"), "bob@example.org"],
        "timeout": 5.0,
        "environ": SECRETS,
    }
    options.update(kwargs)
    return EmailNotifier(**options)


def test_plain_delivery_has_both_parts_the_chart_and_a_stable_message_id() -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        sender = notifier(port)
        sender.send(make_message(), idempotency_key="evt-1:email")
        sender.send(make_message(), idempotency_key="evt-1:email")  # a retry
    assert len(box.envelopes) == 4  # French and English, twice
    french, english, french_again, _ = box.messages()
    assert box.envelopes[0].rcpt_tos == ["ana@example.org"]
    assert box.envelopes[1].rcpt_tos == ["bob@example.org"]
    assert box.envelopes[0].mail_from == "alerts@veille.example"
    assert (
        french["Message-ID"] == french_again["Message-ID"] == sender.message_id("evt-1:email", "fr")
    )
    assert french["Message-ID"] != english["Message-ID"]
    assert french["Message-ID"].endswith("@veille.example>")
    assert french["Date"] and french["Auto-Submitted"] == "auto-generated"
    assert "Pic de volume" in french["Subject"] and "Volume spike" in english["Subject"]
    plain = french.get_body(("plain",))
    html = french.get_body(("html",))
    assert plain is not None and html is not None
    assert "1\u202f234 contre 56,5 attendu" in plain.get_content()
    assert "cid:veille-chart" in html.get_content()
    (image,) = [part for part in french.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<veille-chart>"
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"


def test_authentication_over_starttls_with_secrets(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = tls_pair
    box = Mailbox()
    auth = {
        "authenticator": _authenticator,
        "auth_required": True,
        "tls_context": server_context,
    }
    tls = {"security": "starttls", "ssl_context": client_context}
    credentials = {"username_secret": "SMTP_USER", "password_secret": "SMTP_PASSWORD"}
    with smtp_server(box, **auth) as port:
        notifier(port, **tls, **credentials).send(make_message(), idempotency_key="k")
        with pytest.raises(DeliveryError) as caught:
            notifier(port, **tls).send(make_message(), idempotency_key="k")  # no credentials
        assert caught.value.permanent is True and "530" in str(caught.value)
        wrong = {"SMTP_USER": USER, "SMTP_PASSWORD": "nope"}
        with pytest.raises(DeliveryError) as caught:
            notifier(port, **tls, **credentials, environ=wrong).send(
                make_message(), idempotency_key="k"
            )
        assert caught.value.permanent is True and "535" in str(caught.value)
    assert len(box.envelopes) == 2


def test_starttls_and_implicit_tls(tls_pair: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls_pair
    box = Mailbox()
    with smtp_server(box, tls_context=server_context, require_starttls=True) as port:
        notifier(port, security="starttls", ssl_context=client_context).send(
            make_message(), idempotency_key="k"
        )
        with pytest.raises(DeliveryError) as caught:  # the default context does not trust it
            notifier(port, security="starttls").send(make_message(), idempotency_key="k")
        assert caught.value.permanent is True and "TLS" in str(caught.value)
    with smtp_server(box, ssl_context=server_context) as port:
        notifier(port, security="tls", ssl_context=client_context).send(
            make_message(), idempotency_key="k"
        )
    assert len(box.envelopes) == 4


@pytest.mark.parametrize(
    ("reply", "permanent"), [("451 4.3.0 try again later", False), ("554 5.6.0 rejected", True)]
)
def test_smtp_4xx_is_temporary_and_5xx_permanent(reply: str, permanent: bool) -> None:
    with smtp_server(Mailbox(reply=reply)) as port, pytest.raises(DeliveryError) as caught:
        notifier(port).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is permanent
    assert reply.split()[0] in str(caught.value)


def test_refused_recipients() -> None:
    box = Mailbox(rcpt_reply="450 4.2.1 mailbox busy")
    with smtp_server(box) as port:
        with pytest.raises(DeliveryError) as caught:
            notifier(port, recipients=["refused@example.org"]).send(
                make_message(), idempotency_key="k"
            )
        assert caught.value.permanent is False
        box.rcpt_reply = "550 5.1.1 no such user"
        with pytest.raises(DeliveryError) as caught:
            notifier(port, recipients=["refused@example.org"]).send(
                make_message(), idempotency_key="k"
            )
        assert caught.value.permanent is True
        # one good, one bad for good: delivered to the good one, the bad one logged
        notifier(port, recipients=["refused@example.org", "ok@example.org"]).send(
            make_message(), idempotency_key="k"
        )
    assert [e.rcpt_tos for e in box.envelopes] == [["ok@example.org"]]


def test_unreachable_server_is_temporary() -> None:
    with refusing_port() as port, pytest.raises(DeliveryError) as caught:
        notifier(port).send(make_message(), idempotency_key="k")
    assert caught.value.permanent is False and "127.0.0.1" in str(caught.value)
