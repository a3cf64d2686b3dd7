"""Filters that name nothing known get a hint next to their empty answer (newcomer test:
`brand:Velorya`, `topic:livraison`, `lang:french` gave silent zeros)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from services.runtime.app.context import ServiceContext
from tests.factories import BASE_TIME

WINDOW = {"since": (BASE_TIME.replace(year=BASE_TIME.year - 1)).isoformat()}


def _search(client: TestClient, q: str) -> dict[str, Any]:
    response = client.get("/api/v1/mentions", params={"q": q})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_misspelt_brand_says_which_names_exist(
    client: TestClient, seeded: ServiceContext
) -> None:
    for q in ("brand:Velorya", "negative:Velorya"):
        body = _search(client, q)
        assert body["total"] == 0
        [line] = body["warnings"]
        assert "no " in line and "'velorya'" in line, line
        assert "Veloria" in line and "Trekko" in line and "did you mean Veloria" in line


def test_known_names_and_codes_give_no_warning(client: TestClient, seeded: ServiceContext) -> None:
    body = _search(client, "brand:veloria lang:fr negative:VELORIA")
    assert body["total"] == 5
    assert body["warnings"] == []


def test_a_competitor_under_brand_says_to_use_competitor(
    client: TestClient, seeded: ServiceContext
) -> None:
    [line] = _search(client, "brand:Trekko")["warnings"]
    assert "competitor" in line and "competitor:trekko" in line


def test_an_unknown_topic_lists_the_topics(client: TestClient, seeded: ServiceContext) -> None:
    [line] = _search(client, "topic:livraison")["warnings"]
    assert "no topic 'livraison'" in line
    topics = [t["name"] for t in client.get("/api/v1/topics").json()]
    assert all(name in line for name in topics)


def test_a_language_name_says_to_use_its_code(client: TestClient, seeded: ServiceContext) -> None:
    [line] = _search(client, "lang:french")["warnings"]
    assert "ISO 639-1" in line and "lang:fr" in line


def test_stats_carry_the_warnings(client: TestClient, seeded: ServiceContext) -> None:
    params = {**WINDOW, "q": "brand:Velorya"}
    for path, extra in (
        ("volume", {}),
        ("sentiment", {}),
        ("breakdown", {"dimension": "language"}),
        ("top-terms", {}),
    ):
        response = client.get(f"/api/v1/stats/{path}", params={**params, **extra})
        assert response.status_code == 200, response.text
        assert any("velorya" in w for w in response.json()["warnings"]), path
    body = client.get("/api/v1/stats/sentiment", params={**WINDOW, "toward": "Velorya"}).json()
    assert body["total"] == 0
    [line] = body["warnings"]
    assert line.startswith("toward=Velorya") and "did you mean Veloria" in line
    ok = client.get("/api/v1/stats/sentiment", params={**WINDOW, "toward": "Veloria"}).json()
    assert ok["total"] == 5 and ok["warnings"] == []


def test_since_and_until_take_relative_times_as_the_cli(
    client: TestClient, ctx: ServiceContext
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.factories import make_mention

    now = datetime.now(UTC)
    ctx.index.upsert(
        [
            make_mention(id=f"r{days}", text="Veloria", published_at=now - timedelta(days=days))
            for days in (1, 3, 10, 40)
        ]
    )
    ids = {
        (since, until): sorted(
            m["id"]
            for m in client.get(
                "/api/v1/mentions", params={"since": since, **({"until": until} if until else {})}
            ).json()["mentions"]
        )
        for since, until in (("7d", None), ("2w", "2d"), ("720h", None))
    }
    assert ids == {
        ("7d", None): ["r1", "r3"],
        ("2w", "2d"): ["r10", "r3"],
        ("720h", None): ["r1", "r10", "r3"],
    }
    volume = client.get("/api/v1/stats/volume", params={"since": "7d"})
    assert volume.status_code == 200 and volume.json()["total"] == 2
    bad = client.get("/api/v1/mentions", params={"since": "7 days"})
    assert bad.status_code == 422 and "since" in bad.json()["detail"]
    described = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/mentions"]["get"]
    since_doc = next(p for p in described["parameters"] if p["name"] == "since")
    assert "7d" in since_doc["description"]
