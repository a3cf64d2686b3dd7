"""One alert evaluator at a time, however many `veille alerts run` processes there are.

Two evaluators racing on the same rule could both record an alert the other has not
committed yet (a first "new mentions" window ends at each one's own clock, a cooldown
read before the other's event): the same alert would go out twice. So only the holder
of the `alerts:evaluator` lease evaluates rules; the others stand by and take over when
its lease expires. Delivering the outbox needs no lease: deliveries are claimed one
worker at a time (SKIP LOCKED), so every process delivers.
"""

from __future__ import annotations

import logging

from services.store.state.engine import StateStoreError
from services.store.state.leases import LeaseStore, new_owner_id

log = logging.getLogger("veille.alerting")

EVALUATOR_LEASE = "alerts:evaluator"


class EvaluatorLease:
    """The right to evaluate alert rules, renewed on every pass."""

    def __init__(self, leases: LeaseStore, *, ttl: float, owner: str | None = None) -> None:
        """`ttl` should outlast a few passes: a holder that stops is replaced after it."""
        self.leases = leases
        self.ttl = ttl
        self.owner = owner or new_owner_id()
        self._held = False

    def acquire(self) -> bool:
        """Takes or renews the lease; True when this process is the evaluator now."""
        try:
            held = EVALUATOR_LEASE in self.leases.acquire(
                [EVALUATOR_LEASE], owner=self.owner, ttl=self.ttl
            )
        except StateStoreError as error:
            log.warning("could not renew the alert evaluator lease: %s", error)
            held = False
        if held != self._held:
            log.info("this process %s the alert evaluator", "is now" if held else "is no longer")
        self._held = held
        return held

    def release(self) -> None:
        """Lets another process take over at once."""
        try:
            self.leases.release(owner=self.owner, names=[EVALUATOR_LEASE])
        except StateStoreError as error:  # it expires on its own
            log.warning("could not release the alert evaluator lease: %s", error)
        self._held = False
