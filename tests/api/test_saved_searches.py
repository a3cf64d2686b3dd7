"""Saved searches over REST, on real stores (SQLite file, embedded index)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import API_PREFIX
from services.runtime.app.context import ServiceContext
from tests.apps import app_for

URL = f"{API_PREFIX}/saved-searches"


@pytest.fixture
def alice(seeded: ServiceContext) -> Iterator[TestClient]:
    key = seeded.state.create_api_key("alice")
    with TestClient(app_for(seeded), headers={"X-API-Key": key}) as client:
        yield client


@pytest.fixture
def bob(seeded: ServiceContext) -> Iterator[TestClient]:
    key = seeded.state.create_api_key("bob")
    with TestClient(app_for(seeded), headers={"X-API-Key": key}) as client:
        yield client


def _create(client: TestClient, **fields: object) -> dict[str, object]:
    body = {"name": "livraison", "query": "livraison", **fields}
    response = client.post(URL, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


def test_create_get_list_replace_delete(alice: TestClient) -> None:
    created = _create(alice, filters={"since": "30d", "languages": ["fr"]}, visibility="shared")
    assert created["owner"] == "alice"
    assert created["filters"] == {
        "since": "30d",
        "until": None,
        "languages": ["fr"],
        "sources": [],
        "sentiments": [],
    }
    assert alice.get(f"{URL}/livraison").json()["query"] == "livraison"
    assert [s["name"] for s in alice.get(URL).json()] == ["livraison"]

    replaced = alice.put(f"{URL}/livraison", json={"name": "livraison", "query": "veloria"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["query"] == "veloria"
    assert replaced.json()["visibility"] == "private"
    assert replaced.json()["owner"] == "alice"

    assert alice.delete(f"{URL}/livraison").status_code == 204
    assert alice.get(f"{URL}/livraison").status_code == 404


def test_a_name_is_unique(alice: TestClient) -> None:
    _create(alice)
    response = alice.post(URL, json={"name": "livraison", "query": "x"})
    assert response.status_code == 409


def test_a_bad_query_is_a_400_with_its_position(alice: TestClient) -> None:
    response = alice.post(URL, json={"name": "bad", "query": "veloria AND (livraison"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "Invalid query"
    assert isinstance(problem["position"], int)
    assert alice.get(f"{URL}/bad").status_code == 404


def test_a_field_named_query_keeps_its_name_in_the_problem(alice: TestClient) -> None:
    """Only the location (body, query string) is dropped from an error's field."""
    response = alice.post(URL, json={"name": "x", "query": 5})
    assert response.status_code == 422
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["query"]
    assert problem["detail"].startswith("query: ")
    bad_limit = alice.get(f"{API_PREFIX}/mentions", params={"limit": "many"})
    assert [e["field"] for e in bad_limit.json()["errors"]] == ["limit"]


def test_a_bad_relative_time_is_refused(alice: TestClient) -> None:
    response = alice.post(URL, json={"name": "x", "query": "a", "filters": {"since": "soon"}})
    assert response.status_code == 422


def test_private_searches_are_visible_only_to_their_owner(
    alice: TestClient, bob: TestClient
) -> None:
    _create(alice, name="mine")
    _create(alice, name="ours", visibility="shared")
    assert [s["name"] for s in bob.get(URL).json()] == ["ours"]
    # Bob's key, made before people existed, is an admin's: he may read Alice's private
    # search, audited (tests/api/test_private_names.py), never change or delete it; to
    # anyone else it does not exist (tests/api/test_private_search_uses.py)
    assert bob.get(f"{URL}/mine").json()["owner"] == "alice"
    assert bob.delete(f"{URL}/mine").status_code == 403
    assert bob.patch(f"{URL}/mine", json={"query": "x"}).status_code == 403
    # a shared search can be read, not changed, by others
    assert bob.get(f"{URL}/ours").status_code == 200
    assert bob.delete(f"{URL}/ours").status_code == 403
    assert [s["name"] for s in alice.get(URL).json()] == ["mine", "ours"]


def test_run_as_search_applies_query_and_filters(alice: TestClient) -> None:
    _create(alice, name="fr", query="veloria OR trekko", filters={"languages": ["fr"]})
    page = alice.get(f"{URL}/fr/mentions", params={"limit": 3}).json()
    assert page["total"] == 5
    assert len(page["mentions"]) == 3
    assert all(m["language"] == "fr" for m in page["mentions"])
    assert page["next_cursor"]


def test_run_as_stats(alice: TestClient) -> None:
    _create(alice, name="neg", query="sentiment:negative")
    series = alice.get(f"{URL}/neg/stats", params={"interval": "day"}).json()
    assert series["interval"] == "day"
    assert series["total"] == 5
    assert len(series["buckets"]) == 5
    split = alice.get(f"{URL}/neg/stats", params={"split_by": "language"}).json()
    assert sum(b["by"].get("fr", 0) for b in split["buckets"]) == 5


def test_requires_an_api_key(seeded: ServiceContext) -> None:
    with TestClient(app_for(seeded)) as client:
        assert client.get(URL).status_code == 401
