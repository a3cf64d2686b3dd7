"""Email channel: the alert as text + HTML (with an inline PNG chart) over SMTP.

Security is `starttls` (port 587, the default), `tls` (implicit TLS, port 465) or `plain`
(no encryption: a local relay or tests only). Authentication is optional; the user name
and password come from secrets by name. Recipients are grouped by language and each
group gets one message; the Message-ID is derived from the idempotency key (and the
language), so a message re-sent after a crash carries the same Message-ID and receivers
can drop the duplicate.

SMTP replies map to DeliveryError: 4xx and network failures are temporary, 5xx permanent.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal

from services.alerting.notifiers.base import AlertMessage, DeliveryError
from services.alerting.notifiers.email_message import build_email
from services.alerting.notifiers.secrets import resolve_secret
from services.alerting.notifiers.wording import Language, check_language

log = logging.getLogger("veille.alerting.email")

Security = Literal["starttls", "tls", "plain"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "plain": 25}


@dataclass(frozen=True)
class Recipient:
    """An address and the language its messages are written in."""

    address: str
    language: str = "en"


class EmailNotifier:
    """Sends alert emails through one SMTP server."""

    channel = "email"
    safe_to_resend = True  # same Message-ID on every attempt

    def __init__(
        self,
        *,
        host: str,
        sender: str,
        recipients: Sequence[Recipient | str],
        port: int | None = None,
        security: Security = "starttls",
        username_secret: str | None = None,
        password_secret: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        message_id_domain: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if security not in DEFAULT_PORTS:
            raise ValueError(f"security must be starttls, tls or plain, not {security!r}")
        if (username_secret is None) != (password_secret is None):
            raise ValueError("give both username_secret and password_secret, or neither")
        if not recipients:
            raise ValueError("an email notifier needs at least one recipient")
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security = security
        self.sender = sender
        self.recipients = [r if isinstance(r, Recipient) else Recipient(r) for r in recipients]
        self.username_secret = username_secret
        self.password_secret = password_secret
        self.timeout = timeout
        self.ssl_context = ssl_context
        domain = parseaddr(sender)[1].rpartition("@")[2]
        self.message_id_domain = message_id_domain or domain or "veille.invalid"
        self._environ = environ

    def __repr__(self) -> str:
        return (
            f"EmailNotifier(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username_secret={self.username_secret!r}, password_secret={self.password_secret!r})"
        )

    def message_id(self, idempotency_key: str, language: Language) -> str:
        """The same key and language always give the same Message-ID."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return f"<veille.{digest}.{language}@{self.message_id_domain}>"

    def get_messages(self, message: AlertMessage, *, idempotency_key: str) -> list[EmailMessage]:
        """The emails to send, one per recipient language (pure: no I/O)."""
        groups: dict[Language, list[str]] = {}
        for recipient in self.recipients:
            groups.setdefault(check_language(recipient.language), []).append(recipient.address)
        return [
            build_email(
                message,
                language=language,
                sender=self.sender,
                recipients=addresses,
                message_id=self.message_id(idempotency_key, language),
            )
            for language, addresses in groups.items()
        ]

    def send(self, message: AlertMessage, *, idempotency_key: str) -> None:
        """Sends every language's email in one SMTP session; raises DeliveryError on failure."""
        emails = self.get_messages(message, idempotency_key=idempotency_key)
        self.send_messages(emails, idempotency_key=idempotency_key)

    def send_messages(
        self, emails: Sequence[EmailMessage], *, idempotency_key: str
    ) -> dict[str, tuple[int, bytes]]:
        """Sends built emails (an alert's, a report's) in one SMTP session; returns the
        recipients refused for good (5xx) while others were accepted; raises DeliveryError
        on failure."""
        refused_for_good: dict[str, tuple[int, bytes]] = {}
        credentials = None
        if self.username_secret and self.password_secret:
            user = resolve_secret(self.username_secret, environ=self._environ)
            password = resolve_secret(self.password_secret, environ=self._environ)
            credentials = (user.reveal(), password.reveal())
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if credentials is not None:
                    smtp.login(*credentials)
                for email in emails:
                    email["Date"] = formatdate(usegmt=True)
                    refused = smtp.send_message(email)
                    self._check_refused(refused, where)
                    refused_for_good.update(refused)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as error:
            self._check_refused(error.recipients, where)
            raise DeliveryError(f"email: {where} refused every recipient", permanent=True) from None
        except smtplib.SMTPResponseException as error:
            raise _from_reply(where, error.smtp_code, error.smtp_error) from None
        except smtplib.SMTPNotSupportedError as error:
            raise DeliveryError(f"email: {where}: {error}", permanent=True) from None
        except ssl.SSLCertVerificationError as error:
            reason = error.verify_message or "certificate verification failed"
            raise DeliveryError(f"email: TLS with {where}: {reason}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as error:  # disconnects, time-outs, refusals
            reason = " ".join(str(error).split())[:200] or type(error).__name__
            raise DeliveryError(
                f"email: cannot deliver via {where} ({reason})", permanent=False
            ) from None
        log.info(
            "email: delivered %s via %s to %d recipient(s)",
            idempotency_key,
            where,
            len(self.recipients),
        )
        return refused_for_good

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    @staticmethod
    def _check_refused(refused: Mapping[str, tuple[int, bytes]], where: str) -> None:
        """Some recipients refused: 4xx ones make the delivery temporary (retried, and the
        others drop the duplicate by Message-ID); 5xx ones are logged and given up."""
        if not refused:
            return
        if any(400 <= code < 500 for code, _ in refused.values()):
            raise DeliveryError(
                f"email: {where} deferred {len(refused)} recipient(s)", permanent=False
            )
        log.warning("email: %s refused %d recipient(s) for good", where, len(refused))


def _from_reply(where: str, code: int, reply: bytes | str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    text = " ".join(text.split())[:200]
    permanent = not 400 <= code < 500 and code != -1
    return DeliveryError(f"email: {where} answered {code} {text}".rstrip(), permanent=permanent)
