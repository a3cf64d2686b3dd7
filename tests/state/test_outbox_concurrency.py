"""Several alert processes deliver the outbox at once: each delivery goes to one of them."""

from __future__ import annotations

import threading

from services.store.state.sql import SqlStateStore


def test_concurrent_deliverers_never_share_a_delivery(
    state_store: SqlStateStore, state_url: str
) -> None:
    for n in range(40):
        state_store.record_alert_event(
            rule_name="spike",
            kind="volume_spike",
            status="firing",
            dedupe_key=f"2026-11-01T{n:02d}",
            numbers={},
            channels=["slack:A", "email:B"],
        )
    # The same alert recorded again (a second evaluator, a replay) adds nothing.
    again = state_store.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="2026-11-01T00",
        numbers={},
        channels=["slack:A"],
    )
    assert again is None
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(claimed))

    def deliverer(mine: list[int]) -> None:
        # Real time (not the fixture's fake clock): deliveries are due "now" for everyone.
        store = SqlStateStore(state_url)
        try:
            barrier.wait()
            while batch := store.claim_deliveries(limit=3, lease_seconds=600):
                mine += [d.delivery_id for d in batch]
        except BaseException as error:  # surfaced below; a thread cannot fail the test
            errors.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=deliverer, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    every = [delivery for mine in claimed for delivery in mine]
    assert len(every) == 80 and len(set(every)) == 80
