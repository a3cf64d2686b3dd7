"""Builds the notifier for a rule's channel from the settings and the secrets it names.

A channel names a secret, never holds one: `slack` names the variable holding the
incoming-webhook URL; `email` the variable holding the recipient address; `webhook` the
variable holding the URL, and the HMAC key is read from the same name + `_SECRET`.

A secret that is not set is a configuration error, the same on every channel: the
delivery fails at once with a `last_error` naming the variable (no retry loop), and
`POST .../deliveries/{channel}/resend` sends it again once the secret is set.
`missing_secrets` says so earlier, when a rule is saved or the config is checked.
An email channel while `alerting.smtp_host` is not set is the same kind of error: each
delivery fails at once naming the setting, and is resent once it is set.
The service log says so once per channel and reason per process, not every pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.alerting.notifiers.base import AlertMessage, DeliveryError, Notifier
from services.alerting.notifiers.email import EmailNotifier, Recipient
from services.alerting.notifiers.secrets import MissingSecretError, resolve_secret
from services.alerting.notifiers.slack import SlackNotifier
from services.alerting.notifiers.webhook import WebhookNotifier
from services.alerting.rules import Channel
from services.alerting.secret_scope import SecretScope
from services.core.settings import AlertingSettings

log = logging.getLogger("veille.alerting")


NO_SMTP_HOST = (
    "email needs alerting.smtp_host (and smtp_port, smtp_security, smtp_sender) in the "
    "config; set it, then resend: POST /api/v1/alerts/events/ID/deliveries/CHANNEL/resend"
)


def make_notifier(channel: Channel, settings: AlertingSettings, scope: SecretScope) -> Notifier:
    """The notifier for `channel`. A missing secret, one the workspace may not use
    (`scope`: a rule stored before that rule existed), or email without `smtp_host`, gives a
    notifier whose every send fails for good naming what to set."""
    try:
        scope.require(channel.target, installation_channel=True)
        if channel.type == "slack":
            return SlackNotifier(
                webhook_secret=channel.target,
                language=channel.language,
                allowed_networks=settings.allowed_networks,
            )
        if channel.type == "email":
            if not settings.smtp_host:
                raise DeliveryError(NO_SMTP_HOST, permanent=True)
            address = resolve_secret(channel.target).reveal()
            return email_notifier(settings, [Recipient(address, channel.language)])
        url = resolve_secret(channel.target).reveal()
        return WebhookNotifier(
            url,
            secret_name=f"{channel.target}_SECRET",
            allowed_networks=settings.allowed_networks,
        )
    except DeliveryError as exc:  # a missing secret: named in the message, never its value
        _note_unconfigured(channel.key, str(exc))
        return UnconfiguredNotifier(channel=channel.type, error=exc)


def email_notifier(
    settings: AlertingSettings, recipients: Sequence[Recipient | str]
) -> EmailNotifier:
    """An email notifier on the SMTP server `alerting.smtp_*` configures (alerts, reports)."""
    return EmailNotifier(
        host=settings.smtp_host or "",
        port=settings.smtp_port,
        security=settings.smtp_security,
        sender=settings.smtp_sender,
        recipients=recipients,
        username_secret=settings.smtp_username_secret,
        password_secret=settings.smtp_password_secret,
    )


_noted: set[tuple[str, str]] = set()
_noted_lock = threading.Lock()


def _note_unconfigured(key: str, reason: str) -> None:
    """Warns once per process for each channel and reason: every pass builds the channel's
    notifier again, and the delivery's `last_error` already says it each time."""
    with _noted_lock:
        if (key, reason) in _noted:
            return
        _noted.add((key, reason))
    log.warning("alert channel %s is not configured: %s", key, reason)


@dataclass
class UnconfiguredNotifier:
    """Stands for a channel whose secret (or, for email, `alerting.smtp_host`) is missing:
    every send fails for good with the error naming it, as Slack's own notifier does when
    its secret goes missing."""

    channel: str
    error: DeliveryError
    safe_to_resend: bool = True  # nothing goes out, so nothing can arrive twice

    def send(self, message: AlertMessage, *, idempotency_key: str) -> None:
        """Raises the permanent configuration error."""
        raise DeliveryError(str(self.error), permanent=True)


def refused_targets(channels: list[Channel], scope: SecretScope) -> list[tuple[int, str]]:
    """(index, reason) of each channel whose secret the workspace may not use."""
    found = []
    for index, channel in enumerate(channels):
        reason = scope.check(channel.target)
        if reason is not None:
            found.append((index, reason))
    return found


#: why a channel cannot deliver yet, for a client to word it in its own language
WarningCode = Literal["secret_not_set", "smtp_host_not_set", "secret_unusable"]
_RESEND = "(then resend them: POST /api/v1/alerts/events/ID/deliveries/CHANNEL/resend)"


@dataclass(frozen=True)
class ChannelWarning:
    """One reason a channel cannot deliver yet: `text` in English, `code` and `name` (the
    secret or setting; never a value) for a client to say it in its own words."""

    channel: str
    code: WarningCode
    name: str
    text: str


def channel_warnings(channel: Channel, settings: AlertingSettings) -> list[ChannelWarning]:
    """Why a channel cannot deliver yet: the secrets it names that are not set (in the
    environment or VEILLE_SECRETS_FILE), or email switched off. Names only."""
    names = [channel.target]
    if channel.type == "webhook":
        names.append(f"{channel.target}_SECRET")
    if channel.type == "email" and settings.smtp_username_secret:
        names.append(settings.smtp_username_secret)
    if channel.type == "email" and settings.smtp_password_secret:
        names.append(settings.smtp_password_secret)
    key = channel.key
    warnings = []
    for name in names:
        try:
            resolve_secret(name)
        except MissingSecretError:
            text = f"{key}: secret {name} is not set; deliveries will fail until it is {_RESEND}"
            warnings.append(ChannelWarning(key, "secret_not_set", name, text))
        except DeliveryError as exc:
            warnings.append(ChannelWarning(key, "secret_unusable", name, f"{key}: {exc}"))
    if channel.type == "email" and not settings.smtp_host:
        text = (
            f"{key}: alerting.smtp_host is not set; email deliveries will fail until it is "
            + _RESEND
        )
        warnings.append(ChannelWarning(key, "smtp_host_not_set", "alerting.smtp_host", text))
    return warnings


def missing_secrets(channel: Channel, settings: AlertingSettings) -> list[str]:
    """`channel_warnings` as English sentences."""
    return [warning.text for warning in channel_warnings(channel, settings)]


def brand_rule_warnings(settings: AlertingSettings) -> list[str]:
    """`missing_secrets` for the channels the YAML gives the brands' default rules
    (`alerting.brand_rules.channels`): what `veille config check` warns about."""
    if not settings.brand_rules.enabled:
        return []
    warnings: list[str] = []
    for text in settings.brand_rules.channels:
        kind, _, target = text.partition(":")
        try:
            channel = Channel.model_validate({"type": kind, "target": target})
        except ValueError:
            warnings.append(f"alerting.brand_rules.channels: {text!r} is not a usable channel")
            continue
        warnings += missing_secrets(channel, settings)
    return warnings
