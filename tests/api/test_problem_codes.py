"""The problem documents' stable codes, over REST on real stores: each refusal carries a
`code` beside its English detail (a name taken, not found, a field refused with its own
code, limits and place, a time too far back), the old fields unchanged; and every title
the routes use has its code documented (services/api/problem_codes.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

from services.api.app import API_PREFIX
from services.api.problem_codes import CODES, code_of

API = Path(__file__).resolve().parents[2] / "services" / "api"
RULES = f"{API_PREFIX}/alert-rules"
SEARCHES = f"{API_PREFIX}/saved-searches"


def _codes_raised() -> dict[str, str]:
    """Each code a `Problem(...)` of the API's sources gives (its `code=`, else its
    title's), with where."""
    found = {}
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Problem"):
                continue
            given = {k.arg: k.value for k in node.keywords}
            title = node.args[1] if len(node.args) > 1 else None
            chosen = given.get("code", title)
            literal = isinstance(chosen, ast.Constant) and isinstance(chosen.value, str)
            assert literal, f"{path}:{node.lineno}: a literal title"
            text = str(chosen.value)  # type: ignore[union-attr]
            found[text if "code" in given else code_of(text)] = f"{path.name}:{node.lineno}"
    return found


def test_every_code_the_routes_give_is_documented() -> None:
    raised = _codes_raised()
    assert len(raised) > 30  # the scan sees the routes
    undocumented = {code: where for code, where in raised.items() if code not in CODES}
    assert not undocumented, f"add these to problem_codes.CODES (or pass code=): {undocumented}"
    assert code_of("Invalid time window") == "invalid_time_window"


def test_refusals_carry_their_code(client: TestClient) -> None:
    made = client.post(SEARCHES, json={"name": "sav", "query": "sav"})
    assert made.status_code == 201, made.text

    taken = client.post(SEARCHES, json={"name": "sav", "query": "colis"})
    assert taken.status_code == 409
    assert (taken.json()["code"], taken.json()["title"]) == ("name_taken", "Conflict")
    assert "sav" in taken.json()["detail"]

    missing = client.get(f"{SEARCHES}/absent")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    nowhere = client.get(f"{API_PREFIX}/nowhere")
    assert (nowhere.status_code, nowhere.json()["code"]) == (404, "not_found")

    window = client.get(f"{API_PREFIX}/mentions", params={"since": "2d", "until": "3d"})
    assert (window.status_code, window.json()["code"]) == (400, "invalid_time_window")

    # A relative time before year 1: a 422 whose field says why, in a code.
    far = client.get(f"{API_PREFIX}/mentions", params={"since": "99999999d"})
    assert far.status_code == 422, far.text
    assert far.json()["code"] == "invalid_request"
    [error] = far.json()["errors"]
    assert (error["field"], error["code"], error["path"]) == ("since", "too_far_back", ["since"])
    assert "too far back" in error["message"]

    # A field refused: pydantic's error type and its limit; the old fields as they were.
    long_name = client.post(SEARCHES, json={"name": "x" * 300, "query": "sav"})
    [error] = long_name.json()["errors"]
    assert error["field"] == "name" and error["message"]
    assert error["code"] in ("string_too_long", "string_pattern_mismatch"), error
    unknown = client.get(f"{API_PREFIX}/export/mentions", params={"colour": "red"})
    assert unknown.json()["code"] == "unknown_query_parameter"
    assert unknown.json()["errors"][0]["code"] == "unknown_query_parameter"


def test_detector_settings_refused_each_at_its_place(client: TestClient) -> None:
    """A rule's detector settings refused: one error each, still at `detector` (as
    before), with its path inside it, its code and its limit."""
    rule = {"name": "pic", "target_type": "brand", "target": "Veloria", "kind": "volume_spike"}
    assert client.post(RULES, json=rule).status_code == 201
    refused = client.patch(
        f"{RULES}/pic", json={"detector": {"min_volume": -1, "smoothing": 0, "bucket": "1h"}}
    )
    assert refused.status_code == 422, refused.text
    errors = {tuple(e["path"]): e for e in refused.json()["errors"]}
    assert set(errors) == {("detector", "min_volume"), ("detector", "smoothing")}
    volume = errors[("detector", "min_volume")]
    assert volume["field"] == "detector" and volume["message"].startswith("min_volume: ")
    assert (volume["code"], volume["params"]) == ("greater_than_equal", {"ge": 0.0})
    assert errors[("detector", "smoothing")]["params"] == {"ge": 1}

    too_long = client.patch(
        f"{RULES}/pic", json={"detector": {"bucket": "1d", "baseline_window": "1d"}}
    )
    [error] = too_long.json()["errors"]
    assert (error["path"], error["code"]) == (["detector", "bucket"], "bucket_too_long")
    assert error["params"] == {"baseline_window": "1d"}
    assert client.get(f"{RULES}/pic").json()["detector"] == {}  # nothing stored
