"""Alert notifiers: Slack, email and webhook channels behind one `Notifier` contract.

Messages are built by the pure functions of `message` and sent by one module per
channel; see `base` for the contract the outbox relies on.
"""

from services.alerting.notifiers.base import AlertMessage, DeliveryError, Notifier
from services.alerting.notifiers.email import EmailNotifier, Recipient
from services.alerting.notifiers.slack import SlackNotifier
from services.alerting.notifiers.webhook import WebhookNotifier

__all__ = [
    "AlertMessage",
    "DeliveryError",
    "EmailNotifier",
    "Notifier",
    "Recipient",
    "SlackNotifier",
    "WebhookNotifier",
]
