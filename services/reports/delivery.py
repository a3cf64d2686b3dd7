"""A report by email: the readings in the body, the PDF attached, sent through the alert
email notifier's SMTP settings and transport (`alerting.smtp_*`).

The message is built apart from sending it (`report_email` is pure); its Message-ID comes
from the report and render ids, so a resent render can be dropped by receivers.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.email import EmailNotifier
from services.alerting.notifiers.secrets import resolve_secret
from services.alerting.secret_scope import SecretScope
from services.core.settings import Settings
from services.reports import wording
from services.reports.figures import ReportFigures
from services.reports.store import RenderInfo

if TYPE_CHECKING:
    from services.reports.render import Rendered

FOOTER = {
    "en": "Sent by Veille. The report is attached as a PDF.",
    "fr": "Envoyé par Veille. Le rapport est joint au format PDF.",
}


def report_subject(figures: ReportFigures) -> str:
    """'[Veille] Veloria · 30 November – 6 December 2026'."""
    lang = figures.definition.language
    return f"[Veille] {figures.subject.title} · {wording.period_text(figures.window, lang)}"


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


def recipient_addresses(entries: list[str], scope: SecretScope) -> list[str]:
    """The addresses: each entry, or the comma-separated value of the secret it names
    (SecretNotAllowed when the report's workspace may not use that secret)."""
    addresses: list[str] = []
    for entry in entries:
        if "@" in entry:
            addresses.append(entry)
        else:
            scope.require(entry)
            value = resolve_secret(entry).reveal()
            addresses.extend(a.strip() for a in value.split(",") if a.strip())
    return addresses


def send_report(
    settings: Settings,
    figures: ReportFigures,
    rendered: Rendered,
    info: RenderInfo,
    scope: SecretScope,
) -> int:
    """Emails the render to the report's recipients; returns how many; DeliveryError when
    SMTP is not configured or refuses, or a recipient names a secret the workspace may not
    use (`scope`)."""
    alerting = settings.alerting
    recipients = recipient_addresses(figures.definition.recipients, scope)
    if not recipients:
        return 0
    if not alerting.smtp_host:
        raise DeliveryError("reports by email need alerting.smtp_host", permanent=True)
    link = None
    if settings.api.public_url:
        base = settings.api.public_url.rstrip("/")
        link = f"{base}/api/v1/reports/{info.report}/renders/{info.id}.pdf"
    notifier = EmailNotifier(
        host=alerting.smtp_host,
        port=alerting.smtp_port,
        security=alerting.smtp_security,
        sender=alerting.smtp_sender,
        recipients=recipients,
        username_secret=alerting.smtp_username_secret,
        password_secret=alerting.smtp_password_secret,
    )
    message = report_email(
        figures,
        rendered,
        sender=alerting.smtp_sender,
        recipients=recipients,
        render=info.id,
        link=link,
    )
    notifier.send_messages([message], idempotency_key=f"report:{info.report}:{info.id}")
    return len(recipients)
