"""Names held out of sight, admins reading a private saved search, and renames that
fail midway, over the real API (real SQLite state store, report files on disk).

Names are one namespace per kind: a name held by a private saved search, or by a rule
or report built on one, is refused to whoever may not see it with the same 422 as any
unusable name, never the 409 that would confirm it exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.test_private_search_uses import REPORT, RULE, People, people

API = "/api/v1"
__all__ = ["people"]  # the fixture, shared with the uses' tests

BOB_SEARCH = {"name": "bob-search", "query": "retard", "visibility": "private"}
BOB_RULE = {**RULE, "name": "bob-watch", "target": "bob-search"}
BOB_REPORT = {**REPORT, "name": "bob-weekly", "saved_search": "bob-search"}


@pytest.fixture
def bob_has_his_own(people: People) -> People:
    for url, body in (
        ("/saved-searches", BOB_SEARCH),
        ("/alert-rules", BOB_RULE),
        ("/reports", BOB_REPORT),
    ):
        answer = people.bob.post(f"{API}{url}", json=body)
        assert answer.status_code == 201, answer.text
    return people


def _refused_unseen(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    body: dict[str, Any] = answer.json()
    assert body["errors"] == [
        {
            "field": "name",
            "code": "name_unusable",
            "message": "this name cannot be used here: choose another",
        }
    ]
    for hint in ("alice", "exists", "private", "taken", "saved search", "rule", "report"):
        assert hint not in body["detail"], hint
    return body


def test_a_name_held_out_of_sight_is_refused_as_unusable(bob_has_his_own: People) -> None:
    people = bob_has_his_own
    bob = people.bob
    answers = [
        bob.post(f"{API}/saved-searches", json={**BOB_SEARCH, "name": "alice-secret"}),
        bob.post(f"{API}/alert-rules", json={**BOB_RULE, "name": "alice-watch"}),
        bob.post(f"{API}/reports", json={**BOB_REPORT, "name": "alice-weekly"}),
        bob.patch(f"{API}/saved-searches/bob-search", json={"name": "alice-secret"}),
        bob.patch(f"{API}/alert-rules/bob-watch", json={"name": "alice-watch"}),
        bob.patch(f"{API}/reports/bob-weekly", json={"name": "alice-weekly"}),
    ]
    bodies = [_refused_unseen(a) for a in answers]
    # one answer whatever holds the name: nothing tells a search from a rule or a report
    assert len({(b["title"], b["detail"]) for b in bodies}) == 1
    # nothing changed on either side
    assert people.alice.get(f"{API}/saved-searches/alice-secret").json()["query"] == "livraison"
    assert people.alice.get(f"{API}/alert-rules/alice-watch").json()["target"] == "alice-secret"
    mine = [s["name"] for s in bob.get(f"{API}/saved-searches").json()]
    assert "bob-search" in mine and "alice-secret" not in mine
    assert bob.get(f"{API}/alert-rules/bob-watch").json()["target"] == "bob-search"
    assert bob.get(f"{API}/reports/bob-weekly").status_code == 200


def test_a_name_held_in_sight_is_still_a_409(bob_has_his_own: People) -> None:
    people = bob_has_his_own
    bob, admin, alice = people.bob, people.admin, people.alice
    shared = {"name": "alice-shared", "query": "colis", "visibility": "shared"}
    assert alice.post(f"{API}/saved-searches", json=shared).status_code == 201
    for client, url, body in (
        (bob, "/saved-searches", BOB_SEARCH),  # his own
        (bob, "/alert-rules", BOB_RULE),
        (bob, "/reports", BOB_REPORT),
        (bob, "/saved-searches", {**BOB_SEARCH, "name": "alice-shared"}),  # shared
        # admins see rules and reports on private searches, and may read the searches
        (admin, "/saved-searches", {"name": "alice-secret", "query": "x"}),
        (
            admin,
            "/alert-rules",
            {**RULE, "name": "alice-watch", "target_type": "brand", "target": "Alphamark"},
        ),
        (
            admin,
            "/reports",
            {**REPORT, "name": "alice-weekly", "saved_search": None, "brand": "Alphamark"},
        ),
    ):
        answer = client.post(f"{API}{url}", json=body)
        assert answer.status_code == 409, (url, answer.text)
    answer = bob.patch(f"{API}/saved-searches/bob-search", json={"name": "alice-shared"})
    assert answer.status_code == 409, answer.text


def _audit(admin: TestClient) -> list[dict[str, Any]]:
    answer = admin.get(f"{API}/audit", params={"kind": "saved search"})
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["items"] if e["action"] == "inspect"]


def test_admins_read_a_private_search_and_the_audit_log_says_so(people: People) -> None:
    admin, bob, alice = people.admin, people.bob, people.alice
    assert _audit(admin) == []
    assert bob.get(f"{API}/saved-searches/alice-secret").status_code == 404
    assert alice.get(f"{API}/saved-searches/alice-secret").status_code == 200
    assert _audit(admin) == []  # the owner's own reads are not inspections

    read = admin.get(f"{API}/saved-searches/alice-secret")
    assert read.status_code == 200, read.text
    assert (read.json()["query"], read.json()["owner"]) == ("livraison", "alice")
    ran = admin.get(f"{API}/saved-searches/alice-secret/mentions")
    assert ran.status_code == 200 and ran.json()["total"] == 6
    entries = _audit(admin)
    assert [(e["target"], e["actor"]) for e in entries] == [
        ("alice-secret", "tests"),
        ("alice-secret", "tests"),
    ]
    # it stays Alice's: not in the admin's list, not theirs to change
    assert "alice-secret" not in [s["name"] for s in admin.get(f"{API}/saved-searches").json()]
    for method, body in (
        ("PUT", {"name": "alice-secret", "query": "x"}),
        ("PATCH", {"query": "x"}),
        ("DELETE", None),
    ):
        answer = admin.request(method, f"{API}/saved-searches/alice-secret", json=body)
        assert answer.status_code == 403, (method, answer.text)
    assert alice.get(f"{API}/saved-searches/alice-secret").json()["query"] == "livraison"
    assert len(_audit(admin)) == 2  # refused changes read nothing


def test_an_inspection_that_cannot_be_audited_shows_nothing(people: People) -> None:
    """The audit table gone (a real database failure): a 503, and no query shown."""
    engine = people.tenancy.installation.tenancy._engine
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        answer = people.admin.get(f"{API}/saved-searches/alice-secret")
        assert answer.status_code == 503, answer.text
        assert "livraison" not in answer.text
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_log_away RENAME TO audit_log")


@pytest.fixture
def state_engine(people: People, tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/veille.db")
    yield engine
    engine.dispose()


def _refuse(engine: sa.Engine, event: str, table: str, when: str) -> None:
    """A real failure of the database midway: a trigger that aborts the statement."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER refuse BEFORE {event} ON {table} WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'refused midway'); END"
        )


def _as_before(people: People) -> None:
    alice = people.alice
    assert alice.get(f"{API}/saved-searches/alice-secret").json()["query"] == "livraison"
    assert alice.get(f"{API}/saved-searches/alice-moved").status_code == 404
    assert alice.get(f"{API}/alert-rules/alice-watch").json()["target"] == "alice-secret"
    assert alice.get(f"{API}/reports/alice-weekly").json()["saved_search"] == "alice-secret"


@pytest.mark.parametrize(
    ("event", "table", "when"),
    [
        # the rule's retargeting fails: the new search row is already written
        ("UPDATE", "alert_rules", "old.name = 'alice-watch'"),
        # the old row's deletion fails: the rule and the report file already follow
        ("DELETE", "saved_searches", "old.name = 'alice-secret'"),
    ],
)
def test_a_rename_that_fails_midway_leaves_everything_as_before(
    people: People, state_engine: sa.Engine, event: str, table: str, when: str
) -> None:
    _refuse(state_engine, event, table, when)
    with TestClient(
        people.tenancy.app, raise_server_exceptions=False, headers=dict(people.alice.headers)
    ) as alice:
        answer = alice.patch(f"{API}/saved-searches/alice-secret", json={"name": "alice-moved"})
    assert answer.status_code == 500, answer.text
    assert "refused midway" not in answer.text
    _as_before(people)
    with state_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")
    moved = people.alice.patch(f"{API}/saved-searches/alice-secret", json={"name": "alice-moved"})
    assert moved.status_code == 200, moved.text
    assert people.alice.get(f"{API}/alert-rules/alice-watch").json()["target"] == "alice-moved"
    assert people.alice.get(f"{API}/reports/alice-weekly").json()["saved_search"] == "alice-moved"
