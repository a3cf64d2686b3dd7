"""Triage records and notes in the state store (SQLite and PostgreSQL): deleting those of
some mentions (`veille demo remove`) leaves the others'."""

from __future__ import annotations

from services.core.triage import Triage, TriageState
from services.store.state.contract import TriageRecord
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock


def test_delete_triage_takes_records_and_notes_of_those_mentions_only(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    records = [
        TriageRecord(
            mention_id=mention_id,
            story_id="s",
            triage=Triage(state=TriageState.ANSWERED),
            updated_at=clock.now,
            updated_by="cm",
            answered_at=clock.now,
            answered_by="cm",
        )
        for mention_id in ("a", "b", "c")
    ]
    state_store.put_triage(records)
    for mention_id in ("a", "b", "c", "d"):
        state_store.add_triage_note(mention_id=mention_id, author="cm", text="called back")

    assert state_store.delete_triage(["a", "b", "d", "unknown"]) == 2
    assert list(state_store.triage_records(["a", "b", "c"])) == ["c"]
    assert state_store.triage_note_counts(["a", "b", "c", "d"]) == {"c": 1}
    assert state_store.delete_triage([]) == 0
