"""The REST API: search, stats, CRUD, auth and error documents."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.runtime.app.context import ServiceContext
from tests.factories import BASE_TIME

WINDOW = {"since": "2026-10-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"}


def test_health_needs_no_key_and_reports_counts(seeded: ServiceContext, client: TestClient) -> None:
    response = client.get("/api/v1/health", headers={"X-API-Key": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["mentions"] == 8


def test_health_names_a_failing_store_without_its_message(
    seeded: ServiceContext, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection (no real way to break the embedded index mid-request): its count
    # raises with a message that names a host, which the unauthenticated endpoint must
    # not echo.
    def broken(*_: object, **__: object) -> int:
        raise ConnectionError("cannot reach es.internal:9200")

    monkeypatch.setattr(seeded.index, "count", broken)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["index"] == "error: ConnectionError"
    assert "es.internal" not in response.text
    assert body["inbox"]["done"] >= 0  # the state store still answered


def test_search_with_query_language_and_cursor(seeded: ServiceContext, client: TestClient) -> None:
    response = client.get("/api/v1/mentions", params={"q": "brand:veloria RETARD", "limit": 2})
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    seen = [m["id"] for m in page["mentions"]]
    while page["next_cursor"]:
        page = client.get(
            "/api/v1/mentions",
            params={"q": "brand:veloria RETARD", "limit": 2, "cursor": page["next_cursor"]},
        ).json()
        seen += [m["id"] for m in page["mentions"]]
    assert seen == ["v0", "v1", "v2", "v3", "v4"]  # newest first, each once


def test_search_oldest_first_and_time_window(seeded: ServiceContext, client: TestClient) -> None:
    params = {
        "q": "trekko",
        "sort": "oldest",
        "since": (BASE_TIME.replace(hour=10, minute=30)).isoformat(),
    }
    ids = [m["id"] for m in client.get("/api/v1/mentions", params=params).json()["mentions"]]
    assert ids == ["t1", "t0"]  # t2 (10:00) is before the window


def test_get_one_mention(seeded: ServiceContext, client: TestClient) -> None:
    assert client.get("/api/v1/mentions/v3").json()["language"] == "fr"
    missing = client.get("/api/v1/mentions/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_invalid_query_is_a_problem_document_with_position(client: TestClient) -> None:
    response = client.get("/api/v1/mentions", params={"q": "(veloria OR trekko"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "Invalid query"
    assert problem["position"] == 0
    assert "never closed" in problem["detail"]
    assert "Traceback" not in response.text


def test_invalid_parameters_are_explained(client: TestClient) -> None:
    response = client.get("/api/v1/mentions", params={"limit": 0})
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]
    bad_cursor = client.get("/api/v1/mentions", params={"cursor": "garbage!"})
    assert bad_cursor.status_code == 400
    window = client.get(
        "/api/v1/stats/volume", params={"since": "2026-11-02", "until": "2026-11-01"}
    )
    assert window.status_code == 400


def test_api_key_required_and_checked(seeded: ServiceContext, ctx: ServiceContext) -> None:
    from tests.apps import app_for

    with TestClient(app_for(ctx)) as anonymous:
        response = anonymous.get("/api/v1/mentions")
        assert response.status_code == 401
        assert "veille keys create" in response.json()["detail"]
        wrong = anonymous.get("/api/v1/mentions", headers={"X-API-Key": "vk_nope_nope"})
        assert wrong.status_code == 401
        key = ctx.state.create_api_key("bearer")
        bearer = anonymous.get("/api/v1/mentions", headers={"Authorization": f"Bearer {key}"})
        assert bearer.status_code == 200
        assert key not in bearer.text


def test_volume_and_sentiment_over_time(seeded: ServiceContext, client: TestClient) -> None:
    volume = client.get("/api/v1/stats/volume", params={"q": "brand:Veloria", **WINDOW}).json()
    assert volume["total"] == 5
    assert len(volume["buckets"]) == 32  # one per day of the window, empty days included
    sentiment = client.get("/api/v1/stats/sentiment", params=WINDOW).json()
    totals: dict[str, int] = {}
    for bucket in sentiment["buckets"]:
        for label, n in bucket["by"].items():
            totals[label] = totals.get(label, 0) + n
    assert totals == {"negative": 5, "positive": 3}


def test_share_of_voice(seeded: ServiceContext, client: TestClient) -> None:
    body = client.get("/api/v1/stats/share-of-voice", params={"brand": "Veloria", **WINDOW}).json()
    shares = {s["name"]: (s["count"], s["share"]) for s in body["shares"]}
    assert shares == {"Veloria": (5, 0.625), "Trekko": (3, 0.375)}
    unknown = client.get("/api/v1/stats/share-of-voice", params={"brand": "Nope"})
    assert unknown.status_code == 404
    assert (
        "no brand is named 'Nope' (brands: Veloria; competitors: Trekko)"
        in unknown.json()["detail"]
    )
    # Names match as in the query language (brand:veloria): blind to case and accents.
    for spelling in ("veloria", "VÉLORIA", "@veloria"):
        same = client.get("/api/v1/stats/share-of-voice", params={"brand": spelling, **WINDOW})
        assert same.status_code == 200 and same.json()["total"] == 8, spelling
    competitor = client.get("/api/v1/stats/share-of-voice", params={"brand": "trekko"})
    assert competitor.status_code == 404
    detail = competitor.json()["detail"]
    assert "'Trekko' is a competitor" in detail and "ask for brand=Veloria" in detail


def test_breakdown_and_top_terms(seeded: ServiceContext, client: TestClient) -> None:
    body = client.get("/api/v1/stats/breakdown", params={"dimension": "language", **WINDOW}).json()
    assert body["counts"] == [{"key": "fr", "count": 5}, {"key": "en", "count": 3}]
    terms = client.get("/api/v1/stats/top-terms", params={"q": "lang:fr", **WINDOW}).json()
    assert terms["total"] == 5 and "veloria" in terms["left_out"]
    keys = [t["key"] for t in terms["counts"]]
    assert "livraison" in keys and "numéro" in keys  # accents as written
    assert not {"pour", "mon", "veloria", "0", "1"} & set(keys)  # function words, numbers, names


def test_sources_crud_and_config_owned_rows(ctx: ServiceContext, client: TestClient) -> None:
    source = {"name": "blog", "url": "https://example.org/feed.xml", "interval_minutes": 30}
    created = client.post("/api/v1/sources", json=source)
    assert created.status_code == 201
    assert client.post("/api/v1/sources", json=source).status_code == 409
    assert client.get("/api/v1/sources/blog/status").json()["state"] == "never_run"
    replaced = client.put("/api/v1/sources/blog", json={**source, "interval_minutes": 5})
    assert replaced.json()["interval_minutes"] == 5
    bad_query = client.post("/api/v1/sources", json={**source, "name": "b2", "query": "a NEAR/x b"})
    assert bad_query.status_code == 400
    bad_url = client.post("/api/v1/sources", json={**source, "name": "b3", "url": "file:///etc"})
    assert bad_url.status_code == 422
    assert client.delete("/api/v1/sources/blog").status_code == 204
    assert client.get("/api/v1/sources/blog").status_code == 404


def test_brands_crud(ctx: ServiceContext, client: TestClient) -> None:
    assert [b["name"] for b in client.get("/api/v1/brands").json()] == ["Veloria"]
    # Veloria comes from the YAML workspace: the API refuses to change it.
    veloria = client.get("/api/v1/brands/Veloria").json()
    assert client.put("/api/v1/brands/Veloria", json=veloria).status_code == 409
    ghost = client.post("/api/v1/brands", json={"name": "Acme", "competitors": ["Ghost"]})
    assert ghost.status_code == 422
    assert client.post("/api/v1/competitors", json={"name": "Ghost"}).status_code == 201
    created = client.post("/api/v1/brands", json={"name": "Acme", "competitors": ["Ghost"]})
    assert created.status_code == 201
    assert client.delete("/api/v1/brands/Acme").status_code == 204


def test_competitors_made_over_the_api_are_changed_and_deleted_there(
    ctx: ServiceContext, client: TestClient
) -> None:
    # Trekko comes from the YAML workspace: changed there only.
    trekko = {"name": "Trekko", "aliases": ["Trekko Bikes"]}
    assert client.put("/api/v1/competitors/Trekko", json=trekko).status_code == 409
    assert client.delete("/api/v1/competitors/Trekko").status_code == 409
    assert client.post("/api/v1/competitors", json={"name": "Brewster"}).status_code == 201
    mistyped = client.put("/api/v1/competitors/Brewster", json={"name": "Brewstr"})
    assert mistyped.status_code == 400
    changed = client.put(
        "/api/v1/competitors/Brewster", json={"name": "Brewster", "aliases": ["Brewster Coffee"]}
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/competitors/Brewster").json()["aliases"] == ["Brewster Coffee"]
    created = client.post("/api/v1/brands", json={"name": "Lumière", "competitors": ["brewster"]})
    assert created.status_code == 201
    in_use = client.delete("/api/v1/competitors/Brewster")
    assert in_use.status_code == 409 and "Lumière" in in_use.json()["detail"]
    assert client.delete("/api/v1/brands/Lumière").status_code == 204
    assert client.delete("/api/v1/competitors/Brewster").status_code == 204
    assert "Brewster" not in {c["name"] for c in client.get("/api/v1/competitors").json()}
    assert client.get("/api/v1/competitors/Brewster").status_code == 404
    assert client.delete("/api/v1/competitors/Brewster").status_code == 404
    assert client.put("/api/v1/competitors/Ghost", json={"name": "Ghost"}).status_code == 404


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/mentions" in spec["paths"]
    assert "/api/v1/stats/share-of-voice" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_source_kinds_say_which_are_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VEILLE_X_BEARER_TOKEN", raising=False)
    kinds = {k["kind"]: k for k in client.get("/api/v1/sources/kinds").json()}
    assert kinds["feed"]["enabled"] and kinds["hackernews"]["enabled"]
    assert not kinds["x"]["enabled"] and "VEILLE_X_BEARER_TOKEN" in kinds["x"]["reason"]
