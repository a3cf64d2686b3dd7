"""Queries beyond the cost caps, and other user errors, are 400 problem documents.

Each case reproduces a request that answered 500, or ran unbounded, before (issue 19):
prefix groups joined by NEAR, too many histogram buckets, ids beyond SQL's integers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from services.alerting import saved_searches as ss
from services.api.app import API_PREFIX, create_app
from services.core.query.parser import (
    MAX_NEAR_PAIRS,
    MAX_NEAR_WILDCARD_PAIRS,
    MAX_WILDCARDS,
)
from services.runtime.app.context import ServiceContext
from tests.apps import app_for
from tests.factories import BASE_TIME, make_mention

SAVED = f"{API_PREFIX}/saved-searches"


def _group(words: list[str]) -> str:
    return "(" + " OR ".join(words) + ")"


def _prefixes(count: int, start: str = "a") -> list[str]:
    return [f"{start}{chr(ord('a') + i % 26)}{i}*" for i in range(count)]


# Like the query of the report: two wildcard groups around NEAR (625 characters, 2 GB).
REPORTED_BOMB = _group(_prefixes(40, "v")) + " NEAR/5 " + _group(_prefixes(40, "l"))
# Within the wildcard cap, beyond the pairs cap.
NEAR_BOMB = _group(_prefixes(16, "v")) + " NEAR/5 " + _group(_prefixes(16, "l"))
TOO_MANY_PAIRS = (
    _group([f"w{i}" for i in range(MAX_NEAR_PAIRS // 4 + 1)])
    + " NEAR/3 "
    + _group(["a1", "b2", "c3", "d4"])
)
TOO_MANY_WILDCARD_PAIRS = _group(_prefixes(MAX_NEAR_WILDCARD_PAIRS + 1)) + " NEAR/2 livraison"
TOO_MANY_WILDCARDS = " OR ".join(_prefixes(MAX_WILDCARDS + 1))


@pytest.fixture
def api(seeded: ServiceContext) -> Iterator[TestClient]:
    key = seeded.state.create_api_key("tests")
    with TestClient(app_for(seeded), headers={"X-API-Key": key}) as client:
        yield client


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (REPORTED_BOMB, "MAX_WILDCARDS"),
        (NEAR_BOMB, "MAX_NEAR_PAIRS"),
        (TOO_MANY_PAIRS, "MAX_NEAR_PAIRS"),
        (TOO_MANY_WILDCARD_PAIRS, "MAX_NEAR_WILDCARD_PAIRS"),
        (TOO_MANY_WILDCARDS, "MAX_WILDCARDS"),
        ("(ve* OR livraison) NEAR/3 retard", "MIN_NEAR_WILDCARD_PREFIX"),
    ],
)
@pytest.mark.parametrize("path", ["/mentions", "/stats/volume", "/stats/breakdown"])
def test_a_query_beyond_a_cap_is_a_400_naming_it(
    api: TestClient, query: str, limit: str, path: str
) -> None:
    params = {"q": query, "dimension": "sentiment"}
    response = api.get(f"{API_PREFIX}{path}", params=params)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["title"] == "Query too costly"
    assert problem["limit"] == limit
    assert limit.split("_")[-1].lower().replace("prefix", "letters") in problem["detail"]


def test_queries_within_the_caps_run(api: TestClient) -> None:
    within = _group(_prefixes(MAX_NEAR_WILDCARD_PAIRS // 2)) + " NEAR/3 (retard OR late)"
    response = api.get(f"{API_PREFIX}/mentions", params={"q": within})
    assert response.status_code == 200, response.text
    words = _group([f"w{i}" for i in range(MAX_NEAR_PAIRS // 8)]) + " NEAR/3 (retard OR late)"
    assert api.get(f"{API_PREFIX}/stats/volume", params={"q": words}).status_code == 200


def test_a_saved_search_beyond_a_cap_is_refused_at_save(api: TestClient) -> None:
    response = api.post(SAVED, json={"name": "bomb", "query": NEAR_BOMB})
    assert response.status_code == 400
    assert response.json()["limit"] == "MAX_NEAR_PAIRS"
    assert api.get(f"{SAVED}/bomb").status_code == 404


def test_a_stored_saved_search_beyond_a_cap_is_reported_not_run(
    api: TestClient, seeded: ServiceContext
) -> None:
    # Saved by an older version, before the caps: written to the store directly.
    old = ss.SavedSearchIn(name="old-bomb", query=NEAR_BOMB, visibility="shared")
    seeded.state.put_spec(
        ss.KIND, name=old.name, spec=ss.to_record_spec(old), owner=None, visibility="shared"
    )
    listed = {s["name"]: s for s in api.get(SAVED).json()}
    assert "left x right pairs" in listed["old-bomb"]["query_error"]
    for suffix in ("/mentions", "/stats"):
        response = api.get(f"{SAVED}/old-bomb{suffix}")
        assert response.status_code == 400, response.text
        assert response.json()["limit"] == "MAX_NEAR_PAIRS"


def test_too_many_buckets_is_a_400_saying_what_to_change(api: TestClient) -> None:
    response = api.get(
        f"{API_PREFIX}/stats/volume", params={"since": "2020-01-01", "interval": "hour"}
    )
    assert response.status_code == 400, response.text
    assert "use a longer interval or a shorter time window" in response.json()["detail"]
    dedup = api.get(
        f"{API_PREFIX}/stats/sentiment",
        params={"since": "2020-01-01", "interval": "hour", "dedup": "true"},
    )
    assert dedup.status_code == 400, dedup.text


@pytest.mark.parametrize(
    "path",
    [
        "/alerts/events/99999999999999999999999",
        "/alerts/events/99999999999999999999999/chart.png?token=x",
        "/alerts/events?before=99999999999999999999999",
        "/corrections?before_id=99999999999999999999999",
    ],
)
def test_ids_beyond_sql_integers_are_a_4xx(api: TestClient, path: str) -> None:
    response = api.get(f"{API_PREFIX}{path}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_largest_sql_id_is_a_404(api: TestClient) -> None:
    response = api.get(f"{API_PREFIX}/alerts/events/{2**63 - 1}")
    assert response.status_code == 404, response.text


@pytest.mark.slow
def test_story_breakdown_beyond_tantivys_bucket_limit(ctx: ServiceContext, api_key: str) -> None:
    # 66,000 stories in the window (beyond tantivy's 65,000 buckets); story "big" has 5
    # copies, "mid" 3: they lead the breakdown, exactly, with or without dedup.
    start = BASE_TIME - timedelta(days=80)
    mentions = [
        make_mention(id=f"s{i}", story_id=f"s{i}", published_at=start + timedelta(minutes=i))
        for i in range(66_000)
    ]
    mentions += [
        make_mention(id=f"{lead}-{c}", story_id=lead, published_at=BASE_TIME - timedelta(hours=c))
        for lead, copies in (("s7", 4), ("s8", 2))
        for c in range(copies)
    ]
    for begin in range(0, len(mentions), 10_000):
        ctx.index.upsert(mentions[begin : begin + 10_000])
    with TestClient(create_app(ctx), headers={"X-API-Key": api_key}) as client:
        params: dict[str, str | int] = {"dimension": "story", "since": str(start.date()), "size": 3}
        raw = client.get(f"{API_PREFIX}/stats/breakdown", params=params)
        assert raw.status_code == 200, raw.text
        assert raw.json()["total"] == 66_006
        assert raw.json()["counts"][:2] == [{"key": "s7", "count": 5}, {"key": "s8", "count": 3}]
        dedup = client.get(f"{API_PREFIX}/stats/breakdown", params={**params, "dedup": "true"})
        assert dedup.status_code == 200, dedup.text
        assert dedup.json()["total"] == 66_000
        volume = client.get(
            f"{API_PREFIX}/stats/volume", params={"since": str(start.date()), "dedup": "true"}
        )
        assert volume.status_code == 200, volume.text
        assert volume.json()["total"] == 66_000


@pytest.mark.parametrize(
    "params",
    [{"since": "0001-01-01T00:00:00+01:00"}, {"until": "9999-12-31T23:30:00-01:00"}],
)
def test_a_time_outside_utc_years_is_a_400(api: TestClient, params: dict[str, str]) -> None:
    # Found by schemathesis: the offset moved the time out of datetime's range.
    for path in ("/stats/sentiment", "/mentions"):
        response = api.get(f"{API_PREFIX}{path}", params=params)
        assert response.status_code == 400, response.text
        assert "outside years 1 to 9999" in response.json()["detail"]


def test_an_until_at_the_start_of_time_is_a_400(api: TestClient) -> None:
    response = api.get(f"{API_PREFIX}/stats/volume", params={"until": "0001-01-02T00:00:00Z"})
    assert response.status_code == 400, response.text
    assert "`until` is too early" in response.json()["detail"]


@pytest.mark.parametrize("param", ["since", "until"])
def test_a_relative_time_before_year_one_is_a_422_saying_so(api: TestClient, param: str) -> None:
    # It used to reach the datetime parser, whose 422 said "input is too short".
    for path in ("/mentions", "/stats/volume"):
        response = api.get(f"{API_PREFIX}{path}", params={param: "99999999d"})
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == f"{param}: 99999999d is too far back"


def test_a_saved_search_reaching_before_year_one_is_a_422_saying_so(api: TestClient) -> None:
    body = {"name": "ancient", "query": "veloria", "filters": {"since": "99999999d"}}
    response = api.post(f"{API_PREFIX}/saved-searches", json=body)
    assert response.status_code == 422, response.text
    assert "99999999d is too far back" in response.json()["detail"]
