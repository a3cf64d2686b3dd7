"""Password guessing on POST /session is slowed: after 5 failures of one login (or 30
from one address) in 15 minutes, sign-in answers 429 with Retry-After, the right
password included, until the oldest failure is 15 minutes old (real SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.sign_in_throttle import PER_CLIENT, PER_LOGIN, WINDOW_SECONDS
from services.runtime.app.context import ServiceContext
from tests.apps import app_for

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(ctx: ServiceContext) -> Iterator[FastAPI]:
    app = app_for(ctx)
    tenancy = app.state.installation.tenancy
    for name in ("Alice", "Bob"):
        tenancy.add_user(name, email=f"{name.lower()}@example.org", password=PASSWORD)
        tenancy.grant(name, "default", "viewer")
    yield app


def _sign_in(browser: TestClient, login: str, password: str) -> int:
    return browser.post("/api/v1/session", json={"login": login, "password": password}).status_code


def test_guessing_a_password_is_stopped_after_five_failures(app: FastAPI) -> None:
    clock = Clock()
    app.state.sign_in_throttle.clock = clock
    with TestClient(app) as browser:
        for _ in range(PER_LOGIN):
            assert _sign_in(browser, "Alice", "wrong password!") == 401
            clock.now += 1
        refused = browser.post("/api/v1/session", json={"login": "alice", "password": PASSWORD})
        assert refused.status_code == 429, refused.text
        assert refused.json()["title"] == "Too many sign-in attempts"
        assert 0 < int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
        assert "set-cookie" not in refused.headers
        # Another person is not locked out by Alice's guesser.
        assert _sign_in(browser, "Bob", PASSWORD) == 200
        # Once the oldest failure is 15 minutes old, one more try is allowed.
        clock.now += WINDOW_SECONDS - PER_LOGIN + 1
        assert _sign_in(browser, "alice@example.org", PASSWORD) == 200
        # ...and a success forgets the login's failures.
        for _ in range(PER_LOGIN - 1):
            assert _sign_in(browser, "Alice", "wrong password!") == 401
        assert _sign_in(browser, "Alice", PASSWORD) == 200


def test_spraying_one_password_over_many_names_is_stopped(app: FastAPI) -> None:
    with TestClient(app) as browser:
        for i in range(PER_CLIENT):
            assert _sign_in(browser, f"someone{i}", "Summer2026!!") == 401
        assert _sign_in(browser, "Bob", PASSWORD) == 429
