"""Every route of the OpenAPI document, called with a key of each role: a role without
the route's permission gets a 403 problem document naming it, and a viewer changes
nothing. The permission table itself covers every write route, and only real ones."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from services.core.permissions import ROLES, ROUTES, is_declared, role_allows, route_rule
from tests.api.tenancy_setup import Tenancy, two_workspaces

SNAPSHOT = (
    "/api/v1/sources",
    "/api/v1/brands",
    "/api/v1/competitors",
    "/api/v1/saved-searches",
    "/api/v1/alert-rules",
    "/api/v1/alerts/events",
    "/api/v1/reports",
    "/api/v1/topics",
    "/api/v1/corrections",
    "/api/v1/reanalyze",
    "/api/v1/users",
    "/api/v1/workspaces",
    "/api/v1/mentions",
    "/api/v1/audit",
)


@pytest.fixture
def tenancy(tmp_path: Path) -> Any:
    with two_workspaces(tmp_path, "embedded") as built:
        yield built


def _routes(tenancy: Tenancy) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, ops in tenancy.app.openapi()["paths"].items()
        for method in ops
    ]


def _snapshot(tenancy: Tenancy) -> dict[str, Any]:
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        state = {url: admin.get(url).json() for url in SNAPSHOT}
        keys = admin.get("/api/v1/keys").json()
    state["keys"] = [{k: v for k, v in key.items() if k != "last_used_at"} for key in keys]
    return state


def test_every_write_route_is_declared_and_every_declaration_is_a_route(
    tenancy: Tenancy,
) -> None:
    routes = _routes(tenancy)
    undeclared = [(m, p) for m, p in routes if not is_declared(m, p)]
    assert undeclared == []
    assert set(ROUTES) - set(routes) == set()


@pytest.mark.parametrize("role", ["viewer", "member", "analyst", "admin"])
def test_each_role_on_every_route(tenancy: Tenancy, role: str) -> None:
    key = tenancy.installation.tenancy.create_key(
        name=f"{role}-key", workspace="default", role=role, service="tests"
    )
    names = tenancy.names["default"]
    before = _snapshot(tenancy)
    refused = allowed = 0
    with tenancy.client(key) as client:
        for method, path in _routes(tenancy):
            permission = route_rule(method, path).permission
            if permission is None or (method, path) == ("DELETE", "/api/v1/session"):
                continue
            url = re.sub(r"{(\w+)}", lambda m: names.get(m.group(1), ["x"])[0], path)
            body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
            answer = client.request(method, url, json=body)
            assert answer.status_code < 500, (method, url, answer.text)
            if role_allows(role, permission):
                allowed += 1
                assert answer.status_code != 403 or permission not in answer.text, (method, url)
            else:
                refused += 1
                assert answer.status_code == 403, (role, method, url, answer.text)
                problem = answer.json()
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert problem["permission"] == permission
                assert permission in problem["detail"]
    if role == "viewer":
        assert refused > 30
        assert _snapshot(tenancy) == before  # a viewer changed nothing
    if role == "admin":
        assert refused == 0
    assert allowed > 0


def test_role_table_is_ordered_by_power() -> None:
    from services.core.permissions import ROLE_PERMISSIONS

    powers = [ROLE_PERMISSIONS[r] for r in ROLES]
    assert all(stronger > weaker for stronger, weaker in pairwise(powers))
