"""Builds the notifier for a rule's channel from the settings and the secrets it names.

A channel names a secret, never holds one: `slack` names the variable holding the
incoming-webhook URL; `email` the variable holding the recipient address; `webhook` the
variable holding the URL, and the HMAC key is read from the same name + `_SECRET`.
"""

from __future__ import annotations

import logging

from services.alerting.notifiers.base import DeliveryError, Notifier
from services.alerting.notifiers.email import EmailNotifier, Recipient
from services.alerting.notifiers.secrets import resolve_secret
from services.alerting.notifiers.slack import SlackNotifier
from services.alerting.notifiers.webhook import WebhookNotifier
from services.alerting.rules import Channel
from services.core.settings import AlertingSettings

log = logging.getLogger("veille.alerting")


def make_notifier(channel: Channel, settings: AlertingSettings) -> Notifier | None:
    """The notifier for `channel`, or None while it cannot be built (its deliveries wait)."""
    try:
        if channel.type == "slack":
            return SlackNotifier(
                webhook_secret=channel.target,
                language=channel.language,
                allowed_networks=settings.allowed_networks,
            )
        if channel.type == "email":
            if not settings.smtp_host:
                log.warning("email alerts wait: set alerting.smtp_host to send them")
                return None
            address = resolve_secret(channel.target).reveal()
            return EmailNotifier(
                host=settings.smtp_host,
                port=settings.smtp_port,
                security=settings.smtp_security,
                sender=settings.smtp_sender,
                recipients=[Recipient(address, channel.language)],
                username_secret=settings.smtp_username_secret,
                password_secret=settings.smtp_password_secret,
            )
        url = resolve_secret(channel.target).reveal()
        return WebhookNotifier(
            url,
            secret_name=f"{channel.target}_SECRET",
            allowed_networks=settings.allowed_networks,
        )
    except DeliveryError as exc:  # a missing secret: named in the message, never its value
        log.warning("alert channel %s waits: %s", channel.key, exc)
        return None
