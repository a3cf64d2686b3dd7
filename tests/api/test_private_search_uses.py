"""What is built on a private saved search (alert rules, their alerts, reports) is hidden,
over the real API, from whoever may not see the search: listed, read, changed, deleted,
backtested, rendered. Its owner and the workspace admins see and manage them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.tenancy_setup import Tenancy, two_workspaces

API = "/api/v1"
RULE = {
    "name": "alice-watch",
    "target_type": "saved_search",
    "target": "alice-secret",
    "kind": "volume_spike",
    "channels": [],
}
REPORT = {
    "name": "alice-weekly",
    "saved_search": "alice-secret",
    "period": "custom",
    "since": "2026-11-16",
    "until": "2026-11-22",
    "language": "en",
    "sections": ["key_figures"],
}

CHANNEL = "slack:VEILLE_SLACK_WEBHOOK_X"
NUMBERS = {  # an event's numbers as the evaluator records them: its matched mentions too
    "window_start": "2026-11-20T10:00:00+00:00",
    "window_end": "2026-11-20T11:00:00+00:00",
    "target": {"type": "saved_search", "name": "alice-secret"},
    "top_mentions": [{"id": "alpha-m1", "text": "alphaquartz livraison en retard 1"}],
}


@dataclass
class People:
    tenancy: Tenancy
    alice: TestClient  # an analyst, owner of the private search
    bob: TestClient  # another analyst
    admin: TestClient
    event_id: int


@pytest.fixture
def people(tmp_path: Path) -> Iterator[People]:
    with two_workspaces(tmp_path, "embedded") as tenancy:
        tenancy_store = tenancy.installation.tenancy
        keys = {
            name: tenancy_store.create_key(name=name, workspace="default", role=role)
            for name, role in (("alice", "analyst"), ("bob", "analyst"))
        }
        with (
            tenancy.client(keys["alice"]) as alice,
            tenancy.client(keys["bob"]) as bob,
            tenancy.client(tenancy.admin_keys["default"]) as admin,
        ):
            search = {"name": "alice-secret", "query": "livraison", "visibility": "private"}
            for url, body in (
                ("/saved-searches", search),
                ("/alert-rules", RULE),
                ("/reports", REPORT),
            ):
                answer = alice.post(f"{API}{url}", json=body)
                assert answer.status_code == 201, answer.text
            event_id = tenancy.installation.context("default").state.record_alert_event(
                rule_name="alice-watch",
                kind="volume_spike",
                status="firing",
                dedupe_key="secret-k",
                numbers={**NUMBERS, "observed": 9},
                channels=[CHANNEL],
            )
            assert event_id is not None
            yield People(tenancy, alice, bob, admin, event_id)


def _names(client: TestClient, url: str) -> list[str]:
    answer = client.get(f"{API}{url}")
    assert answer.status_code == 200, answer.text
    return [item["name"] for item in answer.json()]


def _event_ids(client: TestClient, **params: Any) -> list[int]:
    answer = client.get(f"{API}/alerts/events", params=params)
    assert answer.status_code == 200, answer.text
    return [e["id"] for e in answer.json()["events"]]


def test_others_do_not_see_rules_reports_or_alerts_on_a_private_search(people: People) -> None:
    bob = people.bob
    assert "alice-watch" not in _names(bob, "/alert-rules")
    assert "alice-weekly" not in _names(bob, "/reports")
    assert "alpha-report" in _names(bob, "/reports")  # a brand's report stays listed
    assert people.event_id not in _event_ids(bob)
    assert "alphaquartz" not in bob.get(f"{API}/alerts/events").text
    assert _event_ids(bob, rule="alice-watch") == []
    for method, url in (
        ("GET", "/saved-searches/alice-secret"),
        ("GET", "/saved-searches/alice-secret/mentions"),
        ("GET", "/saved-searches/alice-secret/stats"),
        ("GET", "/export/mentions?saved_search=alice-secret"),
        ("DELETE", "/saved-searches/alice-secret"),
        ("GET", "/alert-rules/alice-watch"),
        ("POST", "/alert-rules/alice-watch/backtest"),
        ("DELETE", "/alert-rules/alice-watch"),
        ("GET", "/reports/alice-weekly"),
        ("DELETE", "/reports/alice-weekly"),
        ("POST", "/reports/alice-weekly/renders"),
        ("GET", "/reports/alice-weekly/renders"),
        ("GET", "/reports/alice-weekly/renders/latest.html"),
        ("GET", f"/alerts/events/{people.event_id}"),
        ("POST", f"/alerts/events/{people.event_id}/deliveries/{CHANNEL}/resend"),
    ):
        answer = bob.request(method, f"{API}{url}")
        assert answer.status_code == 404, (method, url, answer.text)
        if "alice-secret" not in url:  # a rule's or report's answer never names it
            assert "alice-secret" not in answer.text
    for url, body in (
        ("/alert-rules/alice-watch", {"enabled": False}),
        ("/reports/alice-weekly", {"language": "fr"}),
    ):
        assert bob.patch(f"{API}{url}", json=body).status_code == 404
    assert bob.put(f"{API}/alert-rules/alice-watch", json=RULE).status_code == 404
    # a PUT would create a report of that name: refused as a name that cannot be used
    refused = bob.put(f"{API}/reports/alice-weekly", json=REPORT)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "name"
    assert "alice" not in refused.json()["detail"]
    # nothing was changed or deleted behind the 404s
    assert people.alice.get(f"{API}/alert-rules/alice-watch").json()["enabled"] is True
    assert people.alice.get(f"{API}/reports/alice-weekly").json()["language"] == "en"


def test_others_cannot_build_on_a_private_search(people: People) -> None:
    bob = people.bob
    rule = {**RULE, "name": "bob-watch"}
    for url, body in (
        ("/alert-rules", rule),
        ("/alert-rules/backtest", rule),
        ("/reports", {**REPORT, "name": "bob-weekly"}),
    ):
        answer = bob.post(f"{API}{url}", json=body)
        assert answer.status_code == 422, (url, answer.text)
    # nor point a visible report of theirs at it
    answer = bob.patch(f"{API}/reports/alpha-report", json={"saved_search": "alice-secret"})
    assert answer.status_code == 422, answer.text


def test_the_owner_and_admins_see_and_manage_them(people: People) -> None:
    for client in (people.alice, people.admin):
        assert "alice-watch" in _names(client, "/alert-rules")
        assert "alice-weekly" in _names(client, "/reports")
        assert people.event_id in _event_ids(client)
        assert client.get(f"{API}/alerts/events/{people.event_id}").status_code == 200
        assert client.get(f"{API}/reports/alice-weekly").status_code == 200
    # an admin may switch the rule off and change the report without owning the search
    admin = people.admin
    answer = admin.patch(f"{API}/alert-rules/alice-watch", json={"enabled": False})
    assert answer.status_code == 200, answer.text
    answer = admin.patch(f"{API}/reports/alice-weekly", json={"language": "fr"})
    assert answer.status_code == 200, answer.text
    # but not point a rule of theirs at someone's private search
    answer = admin.post(f"{API}/alert-rules", json={**RULE, "name": "admin-watch"})
    assert answer.status_code == 422, answer.text
    answer = admin.post(f"{API}/reports/alice-weekly/renders")
    assert answer.status_code == 201, answer.text
    assert admin.delete(f"{API}/alert-rules/alice-watch").status_code == 204
    assert people.alice.delete(f"{API}/reports/alice-weekly").status_code == 204


def test_hidden_events_do_not_shorten_a_page(people: People) -> None:
    """Bob's page of events skips the hidden one and still fills up."""
    state = people.tenancy.installation.context("default").state
    for i in range(3):
        state.record_alert_event(
            rule_name="alice-watch",
            kind="volume_spike",
            status="firing",
            dedupe_key=f"more-{i}",
            numbers=NUMBERS,
            channels=[],
        )
    seen = _event_ids(people.admin)
    shown = [e for e in seen if e <= people.event_id]  # the seeded event and the hidden one
    assert len(seen) == len(shown) + 3
    page = people.bob.get(f"{API}/alerts/events", params={"limit": 1}).json()
    assert len(page["events"]) == 1
    assert page["events"][0]["rule"] != "alice-watch"
