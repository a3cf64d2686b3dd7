"""A report by email: the readings in the body, the PDF attached, sent through the alert
email notifier's SMTP settings and transport (`alerting.smtp_*`).

The message is built apart from sending it (`report_email` is pure); its Message-ID comes
from the report and render ids, so a resent render can be dropped by receivers.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING

from services.alerting.channels import email_notifier
from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.email_message import one_line
from services.alerting.notifiers.secrets import resolve_secret
from services.alerting.secret_scope import SecretScope
from services.core.reports import Section, address_of, needs_smtputf8
from services.core.settings import Settings
from services.reports import wording
from services.reports.figures import ReportFigures
from services.reports.store import RecipientFailure, RenderInfo, Renders

if TYPE_CHECKING:
    from services.reports.render import Rendered

log = logging.getLogger("veille.reports")

FOOTER = {
    "en": "Sent by Veille. The report is attached as a PDF.",
    "fr": "Envoyé par Veille. Le rapport est joint au format PDF.",
}


def report_subject(figures: ReportFigures) -> str:
    """'[Veille] Veloria · 30 November – 6 December 2026'."""
    lang = figures.definition.language
    return one_line(
        f"[Veille] {figures.subject.title} · {wording.period_text(figures.window, lang)}"
    )


def report_email(
    figures: ReportFigures,
    rendered: Rendered,
    *,
    sender: str,
    recipients: list[str],
    render: str,
    link: str | None = None,
) -> EmailMessage:
    """The email of one render (pure: no I/O)."""
    lang = figures.definition.language
    lines = [report_subject(figures).removeprefix("[Veille] "), ""]
    for section in figures.definition.sections:
        reading = wording.READINGS[section](figures, lang)
        lines.append(f"- {wording.label(section, lang)}{_colon(lang)}{reading}")
    if Section.SAMPLES not in figures.definition.sections and figures.negative_samples:
        reading = wording.samples_reading(figures, lang)
        lines.append(f"- {wording.label(Section.SAMPLES, lang)}{_colon(lang)}{reading}")
    if link:
        lines += ["", link]
    lines += ["", "-- ", FOOTER[lang]]
    message = EmailMessage()
    message["Subject"] = report_subject(figures)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    digest = hashlib.sha256(f"{figures.definition.name}/{render}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "veille.invalid"
    message["Message-ID"] = f"<veille.report.{digest}@{domain}>"
    message["Content-Language"] = lang
    message.set_content("\n".join(lines))
    stem = f"{figures.definition.name}-{figures.window.first_day:%Y-%m-%d}"
    if rendered.pdf is not None:
        message.add_attachment(
            rendered.pdf, maintype="application", subtype="pdf", filename=f"{stem}.pdf"
        )
    else:
        message.add_attachment(rendered.html, subtype="html", filename=f"{stem}.html")
    return message


def _colon(lang: str) -> str:
    return "\u00a0: " if lang == "fr" else ": "


@dataclass(frozen=True)
class _Address:
    """One address to send to, with the definition's entry it comes from."""

    index: int  # in the definition's `recipients`
    entry: str  # as written: the address itself, or the name of the secret holding it
    address: str


def _addresses(entries: list[str], scope: SecretScope) -> list[_Address]:
    """Each entry's address, or the comma-separated addresses of the secret it names
    (SecretNotAllowed when the report's workspace may not use that secret)."""
    found: list[_Address] = []
    for index, entry in enumerate(entries):
        if "@" in entry:
            found.append(_Address(index, entry, entry))
        else:
            scope.require(entry)
            value = resolve_secret(entry).reveal()
            found += [_Address(index, entry, a.strip()) for a in value.split(",") if a.strip()]
    return found


def recipient_addresses(entries: list[str], scope: SecretScope) -> list[str]:
    """The addresses: each entry, or the comma-separated value of the secret it names
    (SecretNotAllowed when the report's workspace may not use that secret)."""
    return [a.address for a in _addresses(entries, scope)]


def _refusal(code: int, reply: bytes) -> str:
    """'refused: 550 5.1.1': the reply code and enhanced status, never the reply's text
    (servers quote the address in it, and the address may come from a secret)."""
    words = reply.decode("utf-8", "replace").split()
    status = words[0] if words and _ENHANCED_STATUS.match(words[0]) else ""
    return f"refused: {code} {status}".rstrip()


# "email: host:25 answered 554 <a@b.org>: no" -> "... answered 554": the text may quote addresses
_REPLY_TEXT = re.compile(r"(answered -?\d+)\D.*$", re.DOTALL)
_ENHANCED_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


@dataclass(frozen=True)
class Delivery:
    """Who got a render by email, and who did not (and why)."""

    sent: list[str]
    failed: list[RecipientFailure]


_NO_SMTPUTF8 = "the SMTP server does not accept non-ASCII addresses (it lacks SMTPUTF8)"


def send_report(
    settings: Settings,
    figures: ReportFigures,
    rendered: Rendered,
    info: RenderInfo,
    scope: SecretScope,
    *,
    now: datetime | None = None,
) -> Delivery:
    """Emails the render to the report's recipients and records on the render who got it
    and who did not. A recipient the server cannot take (a non-ASCII address without
    SMTPUTF8, a 5xx refusal) does not stop the others. DeliveryError when SMTP is not
    configured, on a temporary failure (retried whole: receivers drop the duplicate by
    Message-ID), when a recipient names a secret the workspace may not use (`scope`), or
    when no recipient at all could be sent to."""
    alerting = settings.alerting
    recipients = _addresses(figures.definition.recipients, scope)
    if not recipients:  # recorded all the same: the period's report was delivered
        Renders(settings.data_dir).record_delivery(
            info, sent_to=0, failed=[], at=now or datetime.now(UTC)
        )
        return Delivery([], [])
    if not alerting.smtp_host:
        raise DeliveryError("reports by email need alerting.smtp_host", permanent=True)
    link = None
    if settings.api.public_url:
        base = settings.api.public_url.rstrip("/")
        link = f"{base}/api/v1/reports/{info.report}/renders/{info.id}.pdf"
    plain = [r for r in recipients if not needs_smtputf8(address_of(r.address) or r.address)]
    international = [r for r in recipients if r not in plain]
    sent: list[str] = []
    refusals: dict[int, RecipientFailure] = {}  # by entry: one failure each, as written
    for group in (plain, international):
        if not group:
            continue
        addresses = [r.address for r in group]
        notifier = email_notifier(alerting, addresses)
        message = report_email(
            figures,
            rendered,
            sender=alerting.smtp_sender,
            recipients=addresses,
            render=info.id,
            link=link,
        )
        key = f"report:{info.report}:{info.id}"
        try:
            refused = notifier.send_messages([message], idempotency_key=key)
        except DeliveryError as exc:
            if not exc.permanent:
                raise
            reason = _NO_SMTPUTF8 if "SMTPUTF8" in str(exc) else _REPLY_TEXT.sub(r"\1", str(exc))
            for r in group:
                refusals.setdefault(r.index, RecipientFailure(r.entry, reason, r.index))
            continue
        by_address = {a.casefold(): reply for a, reply in refused.items()}
        for r in group:
            refusal = by_address.get((address_of(r.address) or r.address).casefold())
            if refusal is None:
                sent.append(r.address)
            else:
                failure = RecipientFailure(r.entry, _refusal(*refusal), r.index)
                refusals.setdefault(r.index, failure)
    failed = [refusals[i] for i in sorted(refusals)]
    Renders(settings.data_dir).record_delivery(
        info, sent_to=len(sent), failed=failed, at=now or datetime.now(UTC)
    )
    if failed:  # the entries' indexes and the reply codes: no address, no reply text
        log.warning(
            "report %s (%s): recipient(s) %s not sent: %s",
            info.report,
            info.id,
            ", ".join(f"recipients[{f.index}]" for f in failed),
            "; ".join(sorted({f.reason for f in failed})),
        )
    if not sent and failed:
        raise DeliveryError(
            f"sent to no recipient: {'; '.join(sorted({f.reason for f in failed}))}",
            permanent=True,
        )
    return Delivery(sent, failed)
