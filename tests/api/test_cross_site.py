"""A change made with the dashboard's session cookie must come from the dashboard's own
pages. The cookie is SameSite=Strict, but "site" spans sibling subdomains: a page on
blog.example.org would still send it to veille.example.org, and a plain HTML form needs
no preflight to POST to a route without a body (archive a workspace, run retention,
email a report). Browsers say where a request comes from (Sec-Fetch-Site, Origin); such
a change from elsewhere is refused. Keys are not sent by browsers on their own, so a key
is never refused for it (real SQLite store, real requests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.runtime.app.context import ServiceContext
from tests.api.test_dashboard import live_api, needs_chromium
from tests.apps import app_for
from tests.browser import Browser

SIBLING = {"Origin": "https://blog.example.org", "Sec-Fetch-Site": "same-site"}
OLD_BROWSER = {"Origin": "https://blog.example.org"}  # no Sec-Fetch-* headers
OWN_PAGE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
__all__ = ["live_api"]  # the dashboard tests' fixture: the app served by uvicorn


@pytest.fixture
def app(ctx: ServiceContext) -> Iterator[FastAPI]:
    app = app_for(ctx)
    tenancy = app.state.installation.tenancy
    tenancy.create_workspace("acme", "Acme")
    tenancy.add_user("Root", password="installation admin")
    tenancy.grant("Root", "default", "admin")
    yield app


def _signed_in(app: FastAPI) -> TestClient:
    browser = TestClient(app)
    signed = browser.post(
        "/api/v1/session", json={"login": "Root", "password": "installation admin"}
    )
    assert signed.status_code == 200, signed.text
    return browser


@pytest.mark.parametrize("headers", [SIBLING, OLD_BROWSER], ids=["fetch-metadata", "origin"])
def test_a_form_on_another_origin_cannot_change_anything_with_the_cookie(
    app: FastAPI, headers: dict[str, str]
) -> None:
    with _signed_in(app) as browser:
        refused = browser.post("/api/v1/workspaces/acme/archive", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["title"] == "Cross-site request refused"
        assert app.state.installation.tenancy.get_workspace("acme").archived_at is None
        # Reading stays possible (a link to the dashboard is a cross-site GET).
        assert browser.get("/api/v1/me", headers=headers).status_code == 200
        # The dashboard's own pages, and clients that send neither header, change it.
        done = browser.post("/api/v1/workspaces/acme/archive", headers=OWN_PAGE)
        assert done.status_code == 200, done.text
        assert browser.post("/api/v1/workspaces/acme/unarchive").status_code == 200


def test_a_key_is_not_refused_whatever_origin_its_request_names(app: FastAPI) -> None:
    key = app.state.installation.tenancy.create_key(name="k", service="tests")
    with TestClient(app, headers={"X-API-Key": key}) as client:
        done = client.post("/api/v1/workspaces/acme/archive", headers=SIBLING)
        assert done.status_code == 200, done.text


@needs_chromium
def test_the_dashboards_own_pages_change_things_with_the_cookie_in_chromium(
    live_api: str, ctx: ServiceContext, tmp_path: Path
) -> None:
    from services.runtime.app.workspaces import Installation

    installation = Installation(ctx)
    installation.tenancy.create_workspace("acme", "Acme")
    installation.tenancy.add_user("Root", password="installation admin")
    installation.tenancy.grant("Root", "default", "admin")
    installation.close()
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/")
        browser.wait_for("!document.getElementById('login').hidden")
        signed = browser.evaluate(
            "fetch('/api/v1/session', {method: 'POST', headers: {'Content-Type': "
            "'application/json'}, body: JSON.stringify({login: 'Root', password: "
            "'installation admin'})}).then((r) => r.status)"
        )
        assert signed == 200
        archived = browser.evaluate(
            "fetch('/api/v1/workspaces/acme/archive', {method: 'POST'}).then((r) => r.status)"
        )
        assert archived == 200
