"""Renaming a saved search (its alert rules follow) or an alert rule: one transaction,
on a real SQLite file and on PostgreSQL. A failure at any point, in the database
(a trigger aborting a statement) or in what follows outside it (`before_delete`),
leaves every row as it was."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.engine import StateStoreError
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock


class Refused(RuntimeError):
    """What `before_delete` raises: the files outside the store could not follow."""


def _seed(store: SqlStateStore) -> None:
    store.put_spec(
        "saved_search", name="sav", spec={"query": "sav"}, owner="alice", visibility="private"
    )
    store.put_spec(
        "saved_search", name="other", spec={"query": "x"}, owner="bob", visibility="shared"
    )
    for rule, target in (("r1", "sav"), ("r2", "sav"), ("r3", "other")):
        spec = {"name": rule, "target_type": "saved_search", "target": target}
        store.put_spec("alert_rule", name=rule, spec=spec, owner="alice", visibility="shared")
    brand = {"name": "rb", "target_type": "brand", "target": "sav"}  # a brand named like it
    store.put_spec("alert_rule", name="rb", spec=brand, owner="alice", visibility="shared")


def _rows(store: SqlStateStore) -> dict[str, Any]:
    return {
        kind: {
            r.name: (r.spec, r.owner, r.visibility, r.created_at) for r in store.list_specs(kind)
        }
        for kind in ("saved_search", "alert_rule")
    }


def test_a_saved_search_renamed_takes_its_rules_along(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    _seed(state_store)
    created = state_store.get_spec("saved_search", "sav").created_at
    clock.advance(60)
    followed: list[str] = []
    moved = state_store.rename_spec(
        "saved_search",
        "sav",
        name="service",
        spec={"query": "sav OR service"},
        owner="alice",
        visibility="private",
        before_delete=lambda: followed.append("files"),
    )
    assert moved == ["r1", "r2"] and followed == ["files"]
    renamed = state_store.get_spec("saved_search", "service")
    assert renamed.spec == {"query": "sav OR service"} and renamed.created_at == created
    with pytest.raises(NotFoundError):
        state_store.get_spec("saved_search", "sav")
    targets = {r.name: r.spec["target"] for r in state_store.list_specs("alert_rule")}
    assert targets == {"r1": "service", "r2": "service", "r3": "other", "rb": "sav"}


def test_a_rule_renamed_is_one_row_moved(state_store: SqlStateStore) -> None:
    _seed(state_store)
    spec = {"name": "r1 new", "target_type": "saved_search", "target": "sav"}
    assert (
        state_store.rename_spec(
            "alert_rule", "r1", name="r1 new", spec=spec, owner="bob", visibility="shared"
        )
        == []
    )
    names = [r.name for r in state_store.list_specs("alert_rule")]
    assert names == ["r1 new", "r2", "r3", "rb"]
    assert state_store.get_spec("saved_search", "sav").name == "sav"


def test_a_taken_or_missing_name_changes_nothing(state_store: SqlStateStore) -> None:
    _seed(state_store)
    before = _rows(state_store)
    with pytest.raises(ConflictError):
        state_store.rename_spec(
            "saved_search", "sav", name="other", spec={}, owner="alice", visibility="private"
        )
    with pytest.raises(NotFoundError):
        state_store.rename_spec(
            "saved_search", "absent", name="new", spec={}, owner=None, visibility="shared"
        )
    assert _rows(state_store) == before


def test_a_failure_outside_the_store_rolls_the_rename_back(state_store: SqlStateStore) -> None:
    _seed(state_store)
    before = _rows(state_store)

    def refuse() -> None:
        raise Refused("the report files could not follow")

    with pytest.raises(Refused):
        state_store.rename_spec(
            "saved_search",
            "sav",
            name="service",
            spec={"query": "s"},
            owner="alice",
            visibility="private",
            before_delete=refuse,
        )
    assert _rows(state_store) == before


_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE UPDATE ON alert_rules WHEN old.name = 'r2' "
        "BEGIN SELECT RAISE(ABORT, 'refused midway'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'refused midway'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE UPDATE ON alert_rules FOR EACH ROW "
        "WHEN (old.name = 'r2') EXECUTE FUNCTION refuse()",
    ],
}


def test_a_database_failure_midway_rolls_the_rename_back(
    state_store: SqlStateStore, raw_engine: sa.Engine, backend: str
) -> None:
    """The second rule's update fails: the new search row and the first rule's new target
    were written in the same transaction, and are gone with it."""
    _seed(state_store)
    before = _rows(state_store)
    with raw_engine.begin() as conn:
        for statement in _TRIGGERS[backend]:
            conn.exec_driver_sql(statement)
    with pytest.raises(StateStoreError):
        state_store.rename_spec(
            "saved_search",
            "sav",
            name="service",
            spec={"query": "s"},
            owner="alice",
            visibility="private",
        )
    assert _rows(state_store) == before
