"""Hacker News (Algolia): parsing, incremental runs on the real state store, pushdown."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from services.collector.social.base import RequestSpec, SocialSource
from services.collector.social.hackernews import HackerNewsConnector
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.conftest import fixture_json


def algolia_hit(record: dict[str, Any]) -> dict[str, Any]:
    """An Algolia search hit built from a real record of the official HN item API.

    The corpus holds Firebase item records, not Algolia answers: this maps each field
    to the name Algolia's HN index gives it, keeping the recorded values."""
    is_comment = record["type"] == "comment"
    hit: dict[str, Any] = {
        "objectID": str(record["id"]),
        "author": record.get("by"),
        "created_at_i": record["time"],
        "_tags": [record["type"], f"author_{record.get('by')}", f"story_{record['id']}"],
    }
    if is_comment:
        hit |= {
            "comment_text": record["text"],
            "parent_id": record["parent"],
            "story_id": record["parent"],
            "story_title": "Ask HN: The Arc Effect",
        }
    else:
        hit |= {
            "title": record["title"],
            "url": record.get("url"),
            "points": record.get("score"),
            "num_comments": record.get("descendants"),
        }
    return hit


STORY = algolia_hit(fixture_json("hackernews/item_8863_story.json"))
COMMENT = algolia_hit(fixture_json("hackernews/item_2921983_comment.json"))


def envelope(hits: list[dict[str, Any]], page: int = 0, pages: int = 1) -> bytes:
    return json.dumps({"hits": hits, "page": page, "nbPages": pages, "hitsPerPage": 2}).encode()


def source(server: HTTPTestServer, query: str = "", **options: Any) -> SocialSource:
    return SocialSource(
        name="social",
        kind="hackernews",
        query=query,
        options={"base_url": server.url("/api/v1"), **options},
    )


def test_stories_and_comments_are_parsed() -> None:
    connector = HackerNewsConnector()
    connector.configure({}, {})
    spec = connector.build_request("dropbox", since=None, page=None)
    page = connector.parse_response(200, {}, envelope([COMMENT, STORY]), request=spec)
    comment, story = page.items
    assert story.platform_id == "8863"
    assert story.url == "https://news.ycombinator.com/item?id=8863"
    assert story.title == "My YC app: Dropbox - Throw away your USB drive"
    assert story.author == "dhouston"
    assert (story.engagement.likes, story.engagement.replies) == (111, 71)
    assert story.published_at is not None and int(story.published_at.timestamp()) == 1175714200
    assert page.details["8863"].kind == "story"
    assert comment.author == "norvig"
    assert comment.text.startswith("Aw shucks, guys")
    assert page.details["2921983"].parent_id == "2921506"
    assert page.positions == {"2921983": 1314211127, "8863": 1175714200}
    assert page.next_page is None


def test_a_deleted_author_and_a_hit_without_id() -> None:
    connector = HackerNewsConnector()
    deleted = {**COMMENT, "author": None, "objectID": "1"}
    spec = connector.build_request("", since=None, page=None)
    page = connector.parse_response(200, {}, envelope([deleted, {"title": "no id"}]), request=spec)
    assert [i.platform_id for i in page.items] == ["1"]
    assert page.items[0].author is None and page.details["1"].author_deleted


def test_incremental_runs_store_nothing_twice(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    pages = {0: envelope([COMMENT], page=0, pages=2), 1: envelope([STORY], page=1, pages=2)}

    def search(request: RecordedRequest) -> Response:
        page = int(parse_qs(request.query).get("page", ["0"])[0])
        return Response(200, pages[page], {"Content-Type": "application/json"})

    server.add("/api/v1/search_by_date", handler=search)
    first = collect_social(
        source(server), connector=HackerNewsConnector(), state=state, settings=settings, env={}
    )
    assert first.run.status is RunStatus.OK
    assert (first.run.items_found, first.run.items_new) == (2, 2)
    assert state.get_cursor("social") == {"since": 1314211127}

    second = collect_social(
        source(server), connector=HackerNewsConnector(), state=state, settings=settings, env={}
    )
    assert second.run.status is RunStatus.OK
    assert second.run.items_new == 0  # the comment at `since` again: the store drops it
    assert second.run.items_found == 1  # the older story is below `since`
    query = parse_qs(server.requests_for("/api/v1/search_by_date")[-1].query)
    assert query["numericFilters"] == ["created_at_i>=1314211127"]
    assert state.inbox_counts()["pending"] == 2


def test_max_pages_saves_where_to_resume(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    newer = {**COMMENT, "objectID": "9000001", "created_at_i": 1400000000}
    state.set_cursor("social", {"since": 1200000000})
    server.add("/api/v1/search_by_date", body=envelope([newer], page=0, pages=3))
    run = collect_social(
        SocialSource(
            name="social",
            kind="hackernews",
            options={"base_url": server.url("/api/v1")},
            max_pages=1,
        ),
        connector=HackerNewsConnector(),
        state=state,
        settings=settings,
        env={},
    )
    assert run.run.status is RunStatus.OK
    assert state.get_cursor("social") == {
        "since": 1200000000,
        "resume": 1,
        "pending_since": 1400000000,
    }
    server.add("/api/v1/search_by_date", body=envelope([STORY], page=1, pages=3))
    collect_social(
        SocialSource(
            name="social",
            kind="hackernews",
            options={"base_url": server.url("/api/v1")},
            max_pages=1,
        ),
        connector=HackerNewsConnector(),
        state=state,
        settings=settings,
        env={},
    )
    assert parse_qs(server.requests_for("/api/v1/search_by_date")[-1].query)["page"] == ["1"]
    # The story (1175714200) is older than `since`: the backfill is done.
    assert state.get_cursor("social") == {"since": 1400000000}


def test_the_query_is_pushed_down_and_applied_locally(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/api/v1/search_by_date", body=envelope([COMMENT, STORY]))

    def run(query: str) -> list[str | None]:
        result = collect_social(
            source(server, query=query),
            connector=HackerNewsConnector(),
            state=state,
            settings=settings,
            env={},
        )
        assert result.run.status is RunStatus.OK
        return [item.platform_id for item in result.items]

    # OR, NOT and author: are not pushed to Algolia; the matcher decides here.
    assert run("dropbox author:dhouston") == ["8863"]
    sent = parse_qs(server.requests[-1].query, keep_blank_values=True)
    assert sent["query"] == ["dropbox"]
    assert run("(dropbox OR shucks) -usb") == ["2921983"]  # the story says "USB"
    sent = parse_qs(server.requests[-1].query, keep_blank_values=True)
    assert sent["query"] == [""]


def test_request_spec_for_an_author_option() -> None:
    connector = HackerNewsConnector()
    connector.configure({"author": "pg", "hits_per_page": 5}, {})
    spec: RequestSpec = connector.build_request("lisp", since=10, page=2)
    assert dict(spec.params) == {
        "query": "lisp",
        "tags": "(story,comment),author_pg",
        "hitsPerPage": "5",
        "numericFilters": "created_at_i>=10",
        "page": "2",
    }
