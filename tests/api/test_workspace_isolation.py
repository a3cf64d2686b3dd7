"""Acceptance: a key of one workspace never sees anything of another, on every GET
route of the OpenAPI document (iterated, not listed by hand), on both index backends.

Each workspace's names, texts and handles contain its label ("alpha" for `default`,
"bravo" for `acme`); the other workspace's object names and ids are put in every
path parameter, so a route that looked them up across workspaces would leak them.
"""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from tests.api.tenancy_setup import BACKENDS, LABELS, Tenancy, two_workspaces

# A capability URL, not a key-scoped route: whoever holds the event's token sees the
# chart (it is what Slack fetches); a key changes nothing there.
NOT_KEY_SCOPED = {"/api/v1/alerts/events/{event_id}/chart.png"}


@pytest.fixture(params=BACKENDS)
def tenancy(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with two_workspaces(tmp_path, request.param) as built:
        yield built


def _query_values(op: dict[str, Any], other: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of values for the required query parameters."""
    names, choices = [], []
    for param in op.get("parameters", []):
        if param["in"] != "query" or not param.get("required"):
            continue
        schema = param.get("schema", {})
        names.append(param["name"])
        if "enum" in schema:
            choices.append([schema["enum"][0]])
        elif param["name"] in other:
            choices.append(other[param["name"]])
        else:
            choices.append(["x"])
    return [dict(zip(names, combo, strict=True)) for combo in product(*choices)] or [{}]


def _requests(tenancy: Tenancy, op_path: str, op: dict[str, Any], other_ws: str) -> list[Any]:
    other = tenancy.names[other_ws]
    path_params = re.findall(r"{(\w+)}", op_path)
    values = [other.get(name, ["x"]) for name in path_params]
    urls = []
    for combo in product(*values):
        url = op_path
        for name, value in zip(path_params, combo, strict=True):
            url = url.replace("{" + name + "}", value)
        urls.append((url, list(combo)))
    return [(url, query, used) for url, used in urls for query in _query_values(op, other)]


@pytest.mark.parametrize("viewer", ["default", "acme"])
def test_a_key_of_one_workspace_sees_nothing_of_the_other(tenancy: Tenancy, viewer: str) -> None:
    other_ws = next(ws for ws in LABELS if ws != viewer)
    own, foreign = LABELS[viewer], LABELS[other_ws]
    paths = tenancy.app.openapi()["paths"]
    checked = 0
    with tenancy.client(tenancy.admin_keys[viewer]) as client:
        # Not vacuous: the caller does see its own workspace's data.
        assert f"{own}quartz" in client.get("/api/v1/mentions").text
        for op_path, ops in paths.items():
            if "get" not in ops or op_path in NOT_KEY_SCOPED:
                continue
            for url, query, used in _requests(tenancy, op_path, ops["get"], other_ws):
                answer = client.get(url, params=query)
                assert answer.status_code < 500, (url, answer.text)
                checked += 1
                if answer.status_code >= 300:
                    continue
                body = answer.text
                for value in [*used, *query.values()]:  # what the request itself named
                    body = body.replace(value, "")
                assert foreign not in body.lower(), (url, query, answer.text[:500])
    assert checked > 60
    # And the other workspace's key does see its data: the seeds were there to leak.
    with tenancy.client(tenancy.admin_keys[other_ws]) as client:
        assert f"{foreign}quartz" in client.get("/api/v1/mentions").text
        assert f"{foreign}-feed" in client.get("/api/v1/sources").text
        assert f"{foreign}-rule" in client.get("/api/v1/alerts/events").text


def test_exports_and_stats_count_only_the_callers_workspace(tenancy: Tenancy) -> None:
    with tenancy.client(tenancy.admin_keys["acme"]) as client:
        export = client.get("/api/v1/export/mentions", params={"format": "csv"})
        assert export.status_code == 200
        assert "bravoquartz" in export.text and "alpha" not in export.text.lower()
        window = {"since": "2026-10-01", "until": "2026-11-02"}
        volume = client.get("/api/v1/stats/volume", params=window).json()
        assert volume["total"] == 6
        brands = client.get("/api/v1/brands").json()
        assert [b["name"] for b in brands] == ["Bravomark"]
