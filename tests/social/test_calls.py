"""Tokens: a connector that only implements `Authenticating` (as plugins written before
`RenewingTokens` do) still logs in before searching, and puts its token in itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.collector.social.base import (
    JSON,
    Authenticating,
    Page,
    RenewingTokens,
    RequestSpec,
    SocialSource,
)
from services.collector.social.query_pushdown import Pushdown
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer


class FakeTokenConnector:
    """A FAKE plugin connector with its own token handling, for this test only."""

    kind = "faketoken"
    pushdown = Pushdown()

    def __init__(self) -> None:
        self.base_url = ""
        self.token: str | None = None

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.base_url = str(source_options["base_url"])

    def auth_request(self) -> RequestSpec | None:
        if self.token:
            return None
        return RequestSpec(url=f"{self.base_url}/token", method="POST", purpose="auth")

    def parse_auth(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.token = json.loads(body)["token"]

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        return RequestSpec(
            url=f"{self.base_url}/search", headers={"Authorization": f"Token {self.token}"}
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        return Page()


def test_an_authenticating_only_connector_logs_in_first(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    connector = FakeTokenConnector()
    assert isinstance(connector, Authenticating) and not isinstance(connector, RenewingTokens)
    server.add("/token", method="POST", body=b'{"token": "t-1"}')
    server.add("/search", body=b"{}")
    result = collect_social(
        SocialSource(name="social", kind="faketoken", options={"base_url": server.base_url}),
        connector=connector,
        state=state,
        settings=settings,
        env={},
    )
    assert result.run.status is RunStatus.OK, result.run.error
    assert len(server.requests_for("/token")) == 1
    assert server.requests_for("/search")[0].headers["authorization"] == "Token t-1"
