"""Two alert evaluators on one state store: only the lease holder evaluates, so an alert
is recorded (and sent) once; the other takes over when the holder stops.

Why: two evaluators racing (both reading a rule's last events before either records
one) would each record a first "new mentions" window ending at their own clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.alerting.evaluator import Evaluator
from services.runtime.workers.evaluator_lease import EVALUATOR_LEASE, EvaluatorLease
from services.store.contracts import MentionIndex
from services.store.state.leases import LeaseStore
from services.store.state.sql import SqlStateStore
from tests.alerting.test_evaluator import _rule, _store
from tests.alerting.test_evaluator import clock as clock
from tests.alerting.test_evaluator import index as index
from tests.alerting.test_evaluator import state as state
from tests.factories import make_item
from tests.state import FakeClock


@pytest.fixture
def leases(state: SqlStateStore, tmp_path: Path, clock: FakeClock) -> Iterator[LeaseStore]:
    store = LeaseStore(f"sqlite:///{tmp_path}/veille.db", clock=clock)
    yield store
    store.close()


def test_only_the_lease_holder_evaluates_and_another_takes_over(
    state: SqlStateStore, index: MentionIndex, clock: FakeClock, leases: LeaseStore
) -> None:
    _rule(state, name="new", kind="new_mention", detector={}, grouping_window="1m")
    _store(state, index, [make_item(), make_item()])
    clock.advance(90)

    def a_second_late() -> datetime:  # two processes never read the same instant
        return clock.now + timedelta(seconds=1)

    evaluators = {
        "a": Evaluator(state, index, clock=clock),
        "b": Evaluator(state, index, clock=a_second_late),
    }
    passes = {owner: EvaluatorLease(leases, ttl=120, owner=owner) for owner in evaluators}
    ran = []
    for owner, evaluator in evaluators.items():
        if passes[owner].acquire():
            evaluator.run_once()
            ran.append(owner)
    assert ran == ["a"]
    assert len(state.list_alert_events(rule_name="new")) == 1

    # "a" stops renewing (its process died); after the ttl "b" becomes the evaluator.
    clock.advance(60)
    assert not passes["b"].acquire()
    clock.advance(61)
    assert passes["b"].acquire()
    assert leases.live(prefix=EVALUATOR_LEASE) == {EVALUATOR_LEASE: "b"}
    assert not passes["a"].acquire()
    # A clean stop hands over at once.
    passes["b"].release()
    assert passes["a"].acquire()
