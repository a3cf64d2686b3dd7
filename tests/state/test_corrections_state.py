"""Corrections and re-analysis jobs in the state store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from services.store.state.contract import NotFoundError
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock


def _add(store: SqlStateStore, **values: object) -> dict[str, object]:
    defaults: dict[str, object] = {
        "mention_id": "m1",
        "fingerprint": "fp1",
        "field": "sentiment",
        "brand": None,
        "label": "negative",
        "text": "Le SAV de Veloria ne répond plus",
        "language": "fr",
        "author": "alice",
    }
    return store.add_correction(**{**defaults, **values})


def test_corrections_keep_history_and_the_newest_is_current(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    first = _add(state_store)
    created = clock.now
    clock.advance(60)
    _add(state_store, label="positive", author="bob")
    _add(state_store, brand="Veloria", label="neutral")
    _add(state_store, field="topics", label=["SAV", "délai"])
    _add(state_store, fingerprint="fp2", mention_id="m2")
    assert first["brand"] is None and first["created_at"] == created
    listed = state_store.list_corrections()
    assert [c["label"] for c in listed] == [
        "negative",
        ["SAV", "délai"],
        "neutral",
        "positive",
        "negative",
    ]
    assert [
        c["label"] for c in state_store.list_corrections(before_id=listed[2]["id"], limit=1)
    ] == ["positive"]
    current = state_store.corrections_for(["fp1", "unknown"])
    assert list(current) == ["fp1"]
    assert [(c["field"], c["brand"], c["label"], c["author"]) for c in current["fp1"]] == [
        ("sentiment", None, "positive", "bob"),
        ("sentiment", "Veloria", "neutral", "alice"),
        ("topics", None, ["SAV", "délai"], "alice"),
    ]
    assert len(state_store.current_corrections()) == 4


def test_a_correction_of_an_unknown_field_is_refused(state_store: SqlStateStore) -> None:
    with pytest.raises(ValueError, match="unknown correction field"):
        _add(state_store, field="language")
    assert state_store.list_corrections() == []


def test_reanalysis_jobs_record_progress(state_store: SqlStateStore, clock: FakeClock) -> None:
    job = state_store.create_reanalysis_job({"since": "2026-11-01T00:00:00+00:00", "query": ""})
    assert (job["status"], job["done"], job["cursor"], job["total"]) == ("pending", 0, None, None)
    clock.advance(5)
    state_store.update_reanalysis_job(job["id"], status="running", cursor="abc", done=32, total=90)
    stored = state_store.get_reanalysis_job(job["id"])
    assert (stored["status"], stored["cursor"], stored["done"], stored["total"]) == (
        "running",
        "abc",
        32,
        90,
    )
    assert stored["updated_at"] == clock.now and stored["spec"]["since"].startswith("2026-11-01")
    assert [j["id"] for j in state_store.list_reanalysis_jobs()] == [job["id"]]
    with pytest.raises(ValueError, match="unknown job status"):
        state_store.update_reanalysis_job(job["id"], status="paused")
    with pytest.raises(NotFoundError):
        state_store.update_reanalysis_job("nope", done=1)
    with pytest.raises(NotFoundError):
        state_store.get_reanalysis_job("nope")


def test_a_brand_correction_is_stored_beside_the_others(state_store: SqlStateStore) -> None:
    """Migration 0017 lets the field be "brand" on every backend."""
    _add(state_store, field="brand", brand="Veloria", label={"about_brand": False, "role": "brand"})
    _add(state_store, brand="Veloria", label="neutral")
    current = state_store.corrections_for(["fp1"])["fp1"]
    assert [(c["field"], c["brand"], c["label"]) for c in current] == [
        ("brand", "Veloria", {"about_brand": False, "role": "brand"}),
        ("sentiment", "Veloria", "neutral"),
    ]
