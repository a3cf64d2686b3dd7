"""Slack channel: a Block Kit message POSTed to an incoming webhook.

The webhook URL is a secret (whoever has it can post to the channel), so configuration
holds only its name and the URL is never logged or put in an error. Slack allows about
one message per second per webhook: a process-wide limiter spaces the posts to one URL,
and a 429's Retry-After pushes that URL's next slot back as well.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import httpx

from services.alerting.notifiers.base import AlertMessage, DeliveryError
from services.alerting.notifiers.secrets import resolve_secret
from services.alerting.notifiers.slack_message import build_slack_payload
from services.alerting.notifiers.webhook import DEFAULT_TIMEOUT, encode_json, guard_for, post
from services.alerting.notifiers.wording import Language, check_language

log = logging.getLogger("veille.alerting.slack")

#: Slack's documented rate for incoming webhooks.
MIN_INTERVAL = 1.0


def _secret_parts(url: str) -> tuple[str, ...]:
    """The URL, its path and its long path segments: any of them may be quoted back."""
    try:
        path = httpx.URL(url).raw_path.decode("ascii", "replace")
    except (httpx.InvalidURL, TypeError, ValueError):
        return (url,)
    segments = [segment for segment in path.split("/") if len(segment) >= 8]
    return (url, path, *sorted(segments, key=len, reverse=True))


class RateLimiter:
    """Spaces calls per key at least `interval` seconds apart, across threads."""

    def __init__(
        self,
        interval: float = MIN_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, key: str) -> float:
        """Blocks until `key` may be used again and books the next slot; returns the wait."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay

    def defer(self, key: str, seconds: float) -> None:
        """Nothing goes to `key` for `seconds` (the server asked us to slow down)."""
        with self._lock:
            until = self._clock() + seconds
            self._next[key] = max(self._next.get(key, until), until)


#: One limiter for the whole process: every notifier posting to a URL shares its budget.
LIMITER = RateLimiter()


class SlackNotifier:
    """Posts alerts to the Slack incoming webhook whose URL is the secret `webhook_secret`."""

    channel = "slack"
    safe_to_resend = False  # an incoming webhook cannot drop a duplicate

    def __init__(
        self,
        *,
        webhook_secret: str,
        language: str = "en",
        allowed_networks: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        limiter: RateLimiter | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.language: Language = check_language(language)
        self.guard = guard_for(allowed_networks)
        self.timeout = timeout
        self.limiter = limiter or LIMITER
        self._environ = environ
        self._turn_taken: set[str] = set()  # slots booked by wait_turn, used by send

    def _limiter_key(self, url: str | None = None) -> str:
        """A digest of the URL, so the limiter's table holds no webhook URL."""
        if url is None:
            url = resolve_secret(self.webhook_secret, environ=self._environ).reveal()
        return hashlib.sha256(url.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"SlackNotifier(webhook_secret={self.webhook_secret!r}, language={self.language!r})"

    def wait_turn(self) -> None:
        """Waits for this webhook's next slot now, so `send` posts at once. The outbox calls
        it before marking the delivery `sending`: a crash while waiting (up to a 429's
        Retry-After) then leaves nothing in doubt."""
        key = self._limiter_key()
        self.limiter.wait(key)
        self._turn_taken.add(key)

    def send(self, message: AlertMessage, *, idempotency_key: str) -> None:
        """POSTs the Block Kit payload; raises DeliveryError on failure."""
        url = resolve_secret(self.webhook_secret, environ=self._environ).reveal()
        body = encode_json(build_slack_payload(message, language=self.language))
        key = self._limiter_key(url)
        if key in self._turn_taken:
            self._turn_taken.discard(key)
        else:
            self.limiter.wait(key)
        try:
            post(
                url,
                body,
                {"Content-Type": "application/json; charset=utf-8"},
                channel=self.channel,
                guard=self.guard,
                timeout=self.timeout,
                redact=_secret_parts(url),
            )
        except DeliveryError as error:
            if error.retry_after:
                self.limiter.defer(key, error.retry_after)
            log.warning(
                "slack: %s not delivered via %s: %s", idempotency_key, self.webhook_secret, error
            )
            raise
        log.info("slack: delivered %s via %s", idempotency_key, self.webhook_secret)
