"""Alert notifiers: Slack, email and webhook channels behind one `Notifier` contract.

Messages are built by pure functions (`slack_message`, `email_message`, `webhook_body`;
the words and numbers they share are in `wording`) and sent by one module per channel
(`slack`, `email`, `webhook`); see `base` for the contract the outbox relies on.
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
