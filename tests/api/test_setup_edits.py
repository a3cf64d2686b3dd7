"""Editing and renaming what a community manager set up (PATCH), over REST on real stores:
a saved search renamed keeps its alert rules and reports; a rule renamed, a report renamed
with its kept renders; a bad value is a 422 naming the field; the roles that may create
are those that may edit."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi.testclient import TestClient

from services.api.app import API_PREFIX
from services.runtime.app.context import ServiceContext
from tests.apps import app_for

SEARCHES = f"{API_PREFIX}/saved-searches"
RULES = f"{API_PREFIX}/alert-rules"
REPORTS = f"{API_PREFIX}/reports"


def _made(client: TestClient, url: str, body: Mapping[str, object]) -> None:
    response = client.post(url, json=body)
    assert response.status_code == 201, response.text


def test_a_saved_search_renamed_keeps_its_rules_and_reports(
    client: TestClient, ctx: ServiceContext
) -> None:
    _made(client, SEARCHES, {"name": "sav", "query": "sav", "visibility": "shared"})
    rule = {
        "name": "sav new",
        "target_type": "saved_search",
        "target": "sav",
        "kind": "new_mention",
    }
    _made(client, RULES, rule)
    _made(client, REPORTS, {"name": "sav-weekly", "saved_search": "sav"})

    renamed = client.patch(f"{SEARCHES}/sav", json={"name": "service", "description": "le SAV"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["query"]) == ("service", "sav")
    assert renamed.json()["description"] == "le SAV" and renamed.json()["visibility"] == "shared"
    assert client.get(f"{SEARCHES}/sav").status_code == 404
    assert client.get(f"{RULES}/sav new").json()["target"] == "service"
    assert client.get(f"{RULES}/sav new").json()["status"] == "active"
    assert client.get(f"{REPORTS}/sav-weekly").json()["saved_search"] == "service"

    # A query changed alone; a query that does not parse is a 400 with its position.
    assert client.patch(f"{SEARCHES}/service", json={"query": "colis"}).json()["query"] == "colis"
    broken = client.patch(f"{SEARCHES}/service", json={"query": "negative:(("})
    assert broken.status_code == 400 and isinstance(broken.json()["position"], int)

    # A bad name or an unknown field: 422 naming it; a taken name: 409; nothing changed.
    _made(client, SEARCHES, {"name": "colis", "query": "colis"})
    for body, field in (({"name": "!bad"}, "name"), ({"owner": "me"}, "owner")):
        refused = client.patch(f"{SEARCHES}/service", json=body)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert client.patch(f"{SEARCHES}/service", json={"name": "colis"}).status_code == 409
    assert client.get(f"{SEARCHES}/service").json()["query"] == "colis"
    assert client.patch(f"{SEARCHES}/absent", json={"name": "x"}).status_code == 404


def test_a_rule_is_renamed_and_its_channels_changed(client: TestClient) -> None:
    _made(client, SEARCHES, {"name": "sav", "query": "sav"})
    rule = {"name": "sav spike", "target_type": "saved_search", "target": "sav", "kind": "drop"}
    _made(client, RULES, rule)
    channels = [
        {"type": "email", "target": "VEILLE_ALERT_EMAIL"},
        {"type": "slack", "target": "VEILLE_SLACK_WEBHOOK"},
        {"type": "webhook", "target": "VEILLE_WEBHOOK_URL"},
    ]
    changed = client.patch(
        f"{RULES}/sav spike",
        json={"name": "sav drop", "channels": channels, "detector": {"sensitivity": "high"}},
    )
    assert changed.status_code == 200, changed.text
    assert [c["type"] for c in changed.json()["channels"]] == ["email", "slack", "webhook"]
    assert client.get(f"{RULES}/sav spike").status_code == 404
    assert client.get(f"{RULES}/sav drop").json()["detector"] == {"sensitivity": "high"}

    refused = client.patch(f"{RULES}/sav drop", json={"channels": [{"type": "sms", "target": "X"}]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("channels.0")
    secret = client.patch(
        f"{RULES}/sav drop", json={"channels": [{"type": "email", "target": "HOME"}]}
    )
    assert secret.status_code == 422 and secret.json()["field"] == "channels[0].target"

    # A default rule is changed (a replacement), never renamed; its name is not free.
    default = next(r["name"] for r in client.get(RULES).json() if r["default"])
    kept = client.patch(f"{RULES}/{default}", json={"name": "mine"})
    assert kept.status_code == 422 and kept.json()["errors"][0]["field"] == "name"
    assert client.patch(f"{RULES}/sav drop", json={"name": default}).status_code == 409
    off = client.patch(f"{RULES}/{default}", json={"enabled": False})
    assert (
        off.status_code == 200 and client.get(f"{RULES}/{default}").json()["status"] == "disabled"
    )


def test_a_report_is_renamed_with_its_renders_and_rescheduled(
    client: TestClient, ctx: ServiceContext, tmp_path: Path
) -> None:
    _made(client, REPORTS, {"name": "hebdo", "brand": "Veloria", "schedule": {"every": "week"}})
    kept = tmp_path / "reports" / "hebdo" / "20261207T070000Z"
    kept.mkdir(parents=True)
    changed = client.patch(
        f"{REPORTS}/hebdo",
        json={"name": "mensuel", "schedule": {"every": "month", "at": "07:30"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["schedule"] == {"every": "month", "at": "07:30"}
    assert client.get(f"{REPORTS}/hebdo").status_code == 404
    assert (tmp_path / "reports" / "mensuel" / "20261207T070000Z").is_dir()

    # A custom period needs its days; leaving it drops them.
    custom = {"period": "custom", "since": "2026-11-01", "until": "2026-11-30"}
    assert client.patch(f"{REPORTS}/mensuel", json=custom).status_code == 200
    back = client.patch(f"{REPORTS}/mensuel", json={"period": "last_month"})
    assert back.status_code == 200 and back.json()["since"] is None

    refused = client.patch(f"{REPORTS}/mensuel", json={"recipients": ["not an address"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "recipients"
    _made(client, REPORTS, {"name": "autre", "brand": "Veloria"})
    assert client.patch(f"{REPORTS}/mensuel", json={"name": "autre"}).status_code == 409


def test_editing_needs_what_creating_needs(client: TestClient, ctx: ServiceContext) -> None:
    from services.runtime.app.workspaces import Installation

    _made(client, SEARCHES, {"name": "sav", "query": "sav", "visibility": "shared"})
    _made(client, REPORTS, {"name": "hebdo", "brand": "Veloria"})
    rule = {
        "name": "sav new",
        "target_type": "saved_search",
        "target": "sav",
        "kind": "new_mention",
    }
    _made(client, RULES, rule)
    installation = Installation(ctx)
    member = installation.tenancy.create_key(
        name="member-key", workspace="default", role="member", service="member"
    )
    installation.close()
    with TestClient(app_for(ctx), headers={"X-API-Key": member}) as as_member:
        assert as_member.patch(f"{RULES}/sav new", json={"enabled": False}).status_code == 403
        assert as_member.patch(f"{REPORTS}/hebdo", json={"title": "x"}).status_code == 403
        # A colleague's shared search: read, not changed.
        assert as_member.patch(f"{SEARCHES}/sav", json={"name": "x"}).status_code == 403
        _made(as_member, SEARCHES, {"name": "mine", "query": "colis"})
        assert as_member.patch(f"{SEARCHES}/mine", json={"name": "mes-colis"}).status_code == 200
