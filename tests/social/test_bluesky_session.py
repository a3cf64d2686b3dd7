"""Bluesky app-password login: createSession, refreshSession on expiry or 401, public search."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest

from services.collector.social.base import SocialSource
from services.collector.social.bluesky import BlueskyConnector, jwt_expiry
from services.collector.social.registry import available_kinds
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.test_bluesky import POST, envelope

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
DID = "did:plc:kvwvcn5iqfooopmyzvb4qzba"
ENV = {
    "VEILLE_BLUESKY_IDENTIFIER": "veloria.bsky.social",
    "VEILLE_BLUESKY_APP_PASSWORD": "abcd-efgh",
}


def jwt(name: str, expires_in: float) -> str:
    """A token shaped as the PDS issues them (ES256K header, at+jwt claims, a fake signature)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"scope": "com.atproto.appPass", "sub": DID, "iat": int(time.time())}
    claims |= {"exp": int(time.time() + expires_in), "aud": "did:web:bsky.social", "jti": name}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


def session(access: str, refresh: str) -> bytes:
    """A createSession / refreshSession answer (the com.atproto.server lexicons' output)."""
    return json.dumps(
        {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": "veloria.bsky.social",
            "did": DID,
            "active": True,
        }
    ).encode()


def source(server: HTTPTestServer) -> SocialSource:
    return SocialSource(
        name="social", kind="bluesky", query="", options={"auth_url": server.base_url}
    )


def test_the_expiry_of_an_access_token_is_read_from_its_claims() -> None:
    token = jwt("a", 7200)
    expiry = jwt_expiry(token)
    assert expiry is not None and abs(expiry - (time.time() + 7200)) < 5
    assert jwt_expiry("not-a-jwt") is None and jwt_expiry("a.!!!.c") is None


def test_a_half_configured_login_is_disabled_with_the_reason() -> None:
    kinds = {
        i.kind: i for i in available_kinds(env={"VEILLE_BLUESKY_IDENTIFIER": "veloria.bsky.social"})
    }
    assert not kinds["bluesky"].enabled
    assert kinds["bluesky"].reason == (
        "VEILLE_BLUESKY_APP_PASSWORD not set while VEILLE_BLUESKY_IDENTIFIER is"
        " (a Bluesky app password)"
    )
    assert {i.kind: i for i in available_kinds(env={})}["bluesky"].enabled  # public search


def test_a_run_logs_in_then_searches_through_the_pds(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: SqlStateStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    access = jwt("access-1", 7200)
    server.add(CREATE, method="POST", body=session(access, jwt("refresh-1", 86400 * 60)))
    server.add(SEARCH, body=envelope([POST]))
    result = collect_social(
        source(server), connector=BlueskyConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    (login,) = server.requests_for(CREATE)
    assert json.loads(login.body) == {"identifier": "veloria.bsky.social", "password": "abcd-efgh"}
    (search,) = server.requests_for(SEARCH)  # on the PDS: no base_url was set
    assert search.headers["authorization"] == f"Bearer {access}"
    assert [item.platform_id for item in result.items] == [POST["uri"]]
    assert "abcd-efgh" not in caplog.text and access not in caplog.text


def test_an_expiring_session_is_refreshed_not_recreated(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    refresh = jwt("refresh-1", 86400 * 60)
    server.add(CREATE, method="POST", body=session(jwt("access-1", 30), refresh))
    fresh = jwt("access-2", 7200)
    server.add(REFRESH, method="POST", body=session(fresh, jwt("refresh-2", 86400 * 60)))
    server.add(SEARCH, body=envelope([]))
    connector = BlueskyConnector()  # the scheduler keeps one connector per source

    def run() -> None:
        collect_social(source(server), connector=connector, state=state, settings=settings, env=ENV)

    run()  # the new access token expires within the minute: renewed before the search
    (renewal,) = server.requests_for(REFRESH)
    assert renewal.headers["authorization"] == f"Bearer {refresh}"
    assert server.requests_for(SEARCH)[-1].headers["authorization"] == f"Bearer {fresh}"
    run()  # the renewed token is kept between runs
    assert len(server.requests_for(CREATE)) == 1 and len(server.requests_for(REFRESH)) == 1
    assert server.requests_for(SEARCH)[-1].headers["authorization"] == f"Bearer {fresh}"


def test_a_401_refreshes_and_a_refused_refresh_logs_in_again(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    logins = iter([jwt("access-1", 7200), jwt("access-3", 7200)])
    server.add(
        CREATE,
        method="POST",
        handler=lambda _r: Response(200, session(next(logins), jwt("refresh", 86400))),
    )
    server.add(
        REFRESH,
        method="POST",
        status=400,
        body=b'{"error": "ExpiredToken", "message": "Token has expired"}',
    )

    def search(request: RecordedRequest) -> Response:
        if "access-1" in _claims(request.headers["authorization"]):
            return Response(401, b'{"error": "ExpiredToken", "message": "Token has expired"}')
        return Response(200, envelope([POST]))

    server.add(SEARCH, handler=search)
    result = collect_social(
        source(server), connector=BlueskyConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert len(server.requests_for(REFRESH)) == 1 and len(server.requests_for(CREATE)) == 2
    assert len(server.requests_for(SEARCH)) == 2


def test_refused_credentials_are_reported(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add(
        CREATE,
        method="POST",
        status=401,
        body=b'{"error": "AuthenticationRequired", "message": "Invalid identifier or password"}',
    )
    result = collect_social(
        source(server), connector=BlueskyConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.error == "HTTP 401 Unauthorized: Invalid identifier or password"
    assert server.requests_for(SEARCH) == []


def test_without_credentials_the_public_appview_is_searched_anonymously(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add(SEARCH, body=envelope([POST]))
    result = collect_social(
        SocialSource(
            name="social", kind="bluesky", query="python", options={"base_url": server.base_url}
        ),
        connector=BlueskyConnector(),
        state=state,
        settings=settings,
        env={},
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert "authorization" not in server.requests_for(SEARCH)[0].headers
    assert server.requests_for(CREATE) == []


def _claims(authorization: str) -> str:
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def test_a_spent_quota_in_ratelimit_headers_is_waited_for(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    """Bluesky sends the IETF draft headers; `ratelimit-reset` is a Unix time."""
    now = 1_700_000_000.0
    spent = {
        "ratelimit-limit": "3000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(int(now) + 42),
        "ratelimit-policy": "3000;w=300",
    }
    pages = iter(
        [Response(200, envelope([POST], "c2"), spent), Response(200, envelope([]))],
    )
    server.add(SEARCH, handler=lambda _request: next(pages))
    sleeps: list[float] = []
    result = collect_social(
        SocialSource(name="social", kind="bluesky", options={"base_url": server.base_url}),
        connector=BlueskyConnector(),
        state=state,
        settings=settings,
        env={},
        sleep=sleeps.append,
        clock=lambda: now,
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert sleeps == [42.0] and len(server.requests_for(SEARCH)) == 2
