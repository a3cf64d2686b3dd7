"""Reddit comment trees: "more" stubs followed, matching posts revisited, the token renewed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from services.collector.social import runner
from services.collector.social.base import SocialSource
from services.collector.social.reddit import RedditConnector
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.conftest import betamax_response, fixture_json

FOREST = "reddit/TestCommentForest.test_replace__all.json"
INTERACTIONS: list[dict[str, Any]] = fixture_json(FOREST)["interactions"]
TREE = betamax_response(FOREST, 1)[2]
POSTED = 1439797480  # created_utc of t3_3hahrw
ENV = {"VEILLE_REDDIT_CLIENT_ID": "app-id", "VEILLE_REDDIT_CLIENT_SECRET": "app-secret"}
EMPTY_LISTING = json.dumps({"kind": "Listing", "data": {"after": None, "children": []}}).encode()


def token_body(token: str, expires_in: int = 86400) -> bytes:
    """An access-token answer shaped as the recorded one."""
    return json.dumps(
        {"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": "*"}
    ).encode()


def recorded_comment_names() -> set[str]:
    """Every comment fullname in the cassette's tree, morechildren and continue answers."""
    names: set[str] = set()

    def walk(listing: dict[str, Any]) -> None:
        for child in listing["data"]["children"]:
            if child["kind"] == "t1":
                names.add(child["data"]["name"])
                if child["data"].get("replies"):
                    walk(child["data"]["replies"])

    for interaction in INTERACTIONS[1:]:
        body = json.loads(interaction["response"]["body"]["string"])
        if isinstance(body, list):
            walk(body[1])
        else:
            names.update(t["data"]["name"] for t in body["json"]["data"]["things"])
    return names


def serve_forest(server: HTTPTestServer) -> None:
    """The recorded tree, its morechildren answers (by `children`) and continue answers."""
    by_children: dict[frozenset[str], bytes] = {}
    for index in range(2, 14):
        body = INTERACTIONS[index]["request"]["body"]
        form = parse_qs(body if isinstance(body, str) else body["string"])
        by_children[frozenset(form["children"][0].split(","))] = betamax_response(FOREST, index)[2]

    def more(request: RecordedRequest) -> Response:
        query = parse_qs(request.query)
        assert query["link_id"] == ["t3_3hahrw"] and query["api_type"] == ["json"]
        return Response(200, by_children[frozenset(query["children"][0].split(","))])

    server.add("/comments/3hahrw", body=TREE)
    server.add("/api/morechildren", handler=more)
    for index in range(14, 20):
        path = INTERACTIONS[index]["request"]["uri"].split("oauth.reddit.com")[1].split("?")[0]
        server.add(path, body=betamax_response(FOREST, index)[2])


def source(server: HTTPTestServer, **options: Any) -> SocialSource:
    return SocialSource(
        name="social",
        kind="reddit",
        query="",
        options={"base_url": server.base_url, "auth_url": server.base_url, **options},
    )


def test_more_stubs_become_morechildren_and_continue_calls() -> None:
    connector = RedditConnector()
    connector.configure({}, ENV)
    page = connector.parse_response(200, {}, TREE, request=connector.thread_request("t3_3hahrw"))
    assert len(page.items) == 476
    more = [f for f in page.follow_ups if f.purpose == "more"]
    continued = [f for f in page.follow_ups if f.purpose == "comments"]
    assert len(more) == 12 and len(continued) == 6
    nine = next(f for f in more if "cu5tt8h" in dict(f.params)["children"])
    assert dict(nine.params)["children"].split(",") == [
        "cu5tt8h",
        "cu5v9yd",
        "cu5twf5",
        "cu5tkk4",
        "cu5tead",
        "cu5rxpy",
        "cu5oufs",
        "cu5tpek",
        "cu5pbdh",
    ]
    assert any(f.url.endswith("/comments/3hahrw/_/cu61zil") for f in continued)
    answer = betamax_response(FOREST, 2)[2]
    flat = connector.parse_response(200, {}, answer, request=more[0])
    comment = flat.items[0]
    assert comment.platform_id == "t1_cu5pg2h" and comment.author == "Nak4000"
    details = flat.details["t1_cu5pg2h"]
    assert (details.parent_id, details.root_id) == ("t1_cu5p1hh", "t3_3hahrw")


def test_a_watched_post_is_revisited_and_its_whole_tree_collected(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/api/v1/access_token", method="POST", body=token_body("tok-1"))
    server.add("/search", body=EMPTY_LISTING)
    serve_forest(server)
    state.set_cursor("social", {"since": POSTED, "threads": {"t3_3hahrw": [POSTED, 0]}})
    result = collect_social(
        source(server),
        connector=RedditConnector(),
        state=state,
        settings=settings,
        env=ENV,
        clock=lambda: POSTED + 3600.0,
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert len(server.requests_for("/api/morechildren")) == 12
    stored = {c.item.platform_id for c in state.claim_items(limit=1000)}
    assert stored == recorded_comment_names() and len(stored) == 541
    cursor = state.get_cursor("social")
    assert cursor["since"] == POSTED
    assert cursor["threads"] == {"t3_3hahrw": [POSTED, POSTED + 3600]}

    again = collect_social(
        source(server),
        connector=RedditConnector(),
        state=state,
        settings=settings,
        env=ENV,
        clock=lambda: POSTED + 7200.0,
    )
    assert again.run.status is RunStatus.OK and again.run.items_new == 0  # nothing twice
    assert len(server.requests_for("/comments/3hahrw")) == 2


def test_a_post_older_than_the_window_is_no_longer_revisited(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/api/v1/access_token", method="POST", body=token_body("tok-1"))
    server.add("/search", body=EMPTY_LISTING)
    serve_forest(server)
    state.set_cursor("social", {"since": POSTED, "threads": {"t3_3hahrw": [POSTED, 0]}})
    result = collect_social(
        source(server, revisit_hours=24),
        connector=RedditConnector(),
        state=state,
        settings=settings,
        env=ENV,
        clock=lambda: POSTED + 25 * 3600.0,
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert server.requests_for("/comments/3hahrw") == []
    assert "threads" not in state.get_cursor("social")


def test_a_revoked_token_is_renewed_once_and_the_call_retried(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    tokens = iter([token_body("tok-1"), token_body("tok-2")])
    server.add(
        "/api/v1/access_token", method="POST", handler=lambda _r: Response(200, next(tokens))
    )

    def search(request: RecordedRequest) -> Response:
        if request.headers["authorization"] == "Bearer tok-1":
            return Response(401, b'{"message": "Unauthorized", "error": 401}')
        return Response(200, EMPTY_LISTING)

    server.add("/search", handler=search)
    result = collect_social(
        source(server), connector=RedditConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert len(server.requests_for("/api/v1/access_token")) == 2
    auths = [r.headers["authorization"] for r in server.requests_for("/search")]
    assert auths == ["Bearer tok-1", "Bearer tok-2"]


def test_a_token_is_reused_until_it_expires(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/api/v1/access_token", method="POST", body=token_body("tok-1"))
    server.add("/search", body=EMPTY_LISTING)
    connector = RedditConnector()  # the scheduler keeps one connector per source
    for _ in range(2):
        collect_social(source(server), connector=connector, state=state, settings=settings, env=ENV)
    assert len(server.requests_for("/api/v1/access_token")) == 1
    connector.token_expires = 0.0  # as if a day had passed
    collect_social(source(server), connector=connector, state=state, settings=settings, env=ENV)
    assert len(server.requests_for("/api/v1/access_token")) == 2


def test_a_token_that_keeps_being_refused_is_reported(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/api/v1/access_token", method="POST", body=token_body("tok-1"))
    server.add("/search", status=401, body=b'{"message": "Unauthorized", "error": 401}')
    result = collect_social(
        source(server), connector=RedditConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.error == "HTTP 401 Unauthorized: Unauthorized"
    assert len(server.requests_for("/search")) == 2  # retried once, not hammered
    assert state.get_cursor("social") == {}


def test_matching_posts_not_fetched_now_are_watched_for_later_comments(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    """Posts without comments yet, or over `comment_posts`, are fetched by later runs."""
    from tests.social.test_reddit import COMMENTS_BODY, SEARCH_BODY

    newest = 1458221634
    server.add("/api/v1/access_token", method="POST", body=token_body("tok-1"))
    server.add("/search", body=SEARCH_BODY)
    server.add("/comments/3gpbiu", body=COMMENTS_BODY)
    result = collect_social(
        source(server, comment_posts=1, revisit_hours=24 * 365),  # 1 year: not t3_1qvzkd
        connector=RedditConnector(),
        state=state,
        settings=settings,
        env=ENV,
        clock=lambda: newest + 3600.0,
    )
    assert result.run.status is RunStatus.OK, result.run.error
    posts = {i.platform_id for i in result.items if (i.platform_id or "").startswith("t3_")}
    threads = state.get_cursor("social")["threads"]
    assert len(posts) == 6 and set(threads) == posts - {"t3_1qvzkd"}  # 2013: too old
    visited = {thread for thread, (_posted, seen) in threads.items() if seen}
    assert visited == {"t3_3gpbiu"}  # fetched now; the 5 others wait for the next runs


def test_a_tree_larger_than_a_run_is_covered_over_several_runs(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: SqlStateStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With 7 calls per run (the tree and 6 of its 18 stubs), each visit starts where
    the last one stopped: three runs expand every stub once."""
    monkeypatch.setattr(runner, "MAX_FOLLOW_UPS", 7)
    server.add("/api/v1/access_token", method="POST", body=token_body("tok-1"))
    server.add("/search", body=EMPTY_LISTING)
    serve_forest(server)
    state.set_cursor("social", {"since": POSTED, "threads": {"t3_3hahrw": [POSTED, 0]}})
    stored: set[str | None] = set()
    offsets = []
    for hour in (1, 2, 3):

        def clock(now: float = POSTED + hour * 3600.0) -> float:
            return now

        result = collect_social(
            source(server),
            connector=RedditConnector(),
            state=state,
            settings=settings,
            env=ENV,
            clock=clock,
        )
        assert result.run.status is RunStatus.OK, result.run.error
        stored |= {c.item.platform_id for c in state.claim_items(limit=1000)}
        offsets.append(state.get_cursor("social")["threads"]["t3_3hahrw"][2:])
    assert offsets == [[6], [12], [18]]
    assert len(server.requests_for("/api/morechildren")) == 12  # each stub expanded once
    assert stored == recorded_comment_names()
