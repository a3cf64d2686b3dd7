"""Runs the alert rules and delivers due alerts, in a loop (`veille up`, `veille alerts run`).

Any number of loops may run against one state store: only the holder of the evaluator
lease (`evaluator_lease.py`) evaluates rules; every loop delivers the outbox.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from services.alerting.channels import make_notifier
from services.alerting.evaluator import Evaluator, message_from_event
from services.alerting.outbox import DeliveryReport, OutboxWorker, notifiers_by_channel
from services.alerting.secret_scope import context_scope
from services.runtime.app.context import ServiceContext
from services.runtime.workers.evaluator_lease import EvaluatorLease
from services.store.contracts import IndexUnavailable

log = logging.getLogger("veille.alerting")


@dataclass(frozen=True)
class AlertPass:
    """What one pass did: rules evaluated, events recorded, deliveries settled."""

    rules: int
    events: int
    deliveries: DeliveryReport

    def summary(self) -> str:
        """One line for people: '2 rule(s) evaluated, 1 new alert(s); deliveries: ...'."""
        d = self.deliveries
        return (
            f"{self.rules} rule(s) evaluated, {self.events} new alert(s); deliveries: "
            f"{d.sent} sent, {d.retried} to retry, {d.failed} failed, {d.unknown} unknown"
        )


def run_alerts_once(ctx: ServiceContext, *, lease: EvaluatorLease | None = None) -> AlertPass:
    """One pass: evaluate every rule (when `lease` is None or held), then deliver
    whatever is due in the outbox."""
    settings = ctx.settings.alerting
    public_url = ctx.settings.api.public_url
    evaluator = Evaluator(
        ctx.state,
        ctx.index,
        link_base=settings.link_base or public_url,
        brand_rules=settings.brand_rules,
    )
    scope = context_scope(ctx)
    outcomes = evaluator.run_once() if lease is None or lease.acquire() else []
    notifiers = notifiers_by_channel(
        evaluator.rules(), lambda channel: make_notifier(channel, settings, scope)
    )
    worker = OutboxWorker(
        ctx.state,
        build_message=lambda event, channel: message_from_event(
            event, channel, public_url=public_url, workspace=ctx.workspace_id
        ),
        lease_seconds=settings.delivery_lease_seconds,
    )
    report = worker.deliver_due(notifiers)
    return AlertPass(
        rules=len({o.rule for o in outcomes}),
        events=sum(len(o.events) for o in outcomes),
        deliveries=report,
    )


class AlertLoop(threading.Thread):
    """Background thread: a pass every `alerting.evaluate_every_seconds`."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(name="veille-alerts", daemon=True)
        self.ctx = ctx
        self._stop_event = threading.Event()
        interval = ctx.settings.alerting.evaluate_every_seconds
        # Three missed passes (plus a minute of slack) before another process takes over.
        self.lease = EvaluatorLease(ctx.leases, ttl=3 * interval + 60)

    def run(self) -> None:
        interval = self.ctx.settings.alerting.evaluate_every_seconds
        while not self._stop_event.is_set():
            try:
                run_alerts_once(self.ctx, lease=self.lease)
            except IndexUnavailable as error:  # says what is down: no traceback each pass
                log.error("alert evaluation failed (%s); trying again in %.0f s", error, interval)
            except Exception:
                log.exception("alert evaluation failed; trying again in %.0f s", interval)
            self._stop_event.wait(interval)
        self.lease.release()

    def stop(self, timeout: float = 30.0) -> None:
        """Finishes the current pass and stops."""
        self._stop_event.set()
        self.join(timeout)
