"""Sign-in through an OpenID Connect provider, against a real one on 127.0.0.1
(mock-oauth2-server, tests/oidc_provider): API calls with its tokens, and the
dashboard's authorization-code flow with PKCE ending in a session."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.oidc import OidcClient
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation
from tests import oidc_provider
from tests.browser import CHROMIUM, Browser
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.oidc_provider import Provider
from tests.ports import refusing_port

SECRET_NAME = "VEILLE_TEST_OIDC_CLIENT_SECRET"
SOURCE = {"name": "new-feed", "url": "https://example.org/feed.xml"}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    if not oidc_provider.AVAILABLE and os.environ.get("CI") != "true":
        pytest.skip("java and mvn run the OIDC provider (Debian: default-jre-headless maven)")
    running = oidc_provider.start(tmp_path_factory.mktemp("oidc"))
    yield running
    oidc_provider.stop(running)


def _app(tmp_path: Path, issuer: str, **oidc: Any) -> FastAPI:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
            "api": {
                "oidc": {
                    "issuer": issuer,
                    "client_id": "veille",
                    "client_secret_name": SECRET_NAME,
                    "provider_name": "Test SSO",
                    "clock_skew_seconds": 0,
                    **oidc,
                }
            },
        }
    )
    app = create_app(ServiceContext(settings, Workspace()))
    tenancy = app.state.installation.tenancy
    tenancy.add_user("Ana", email="ana@example.org")
    tenancy.grant("Ana", "default", "viewer")
    tenancy.add_user("Bob", email="bob@example.org")
    tenancy.grant("Bob", "default", "analyst")
    tenancy.create_workspace("acme", "Acme")
    tenancy.grant("Bob", "acme", "viewer")
    return app


@pytest.fixture
def app(tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv(SECRET_NAME, "secret")
    return _app(tmp_path, provider.issuer())


def _bearer(token: str, workspace: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-Veille-Workspace"] = workspace
    return headers


def test_a_provider_token_acts_with_its_users_role(app: FastAPI, provider: Provider) -> None:
    client = TestClient(app)
    viewer = provider.token("ana", {"email": "ana@example.org", "aud": "veille"})
    me = client.get("/api/v1/me", headers=_bearer(viewer))
    assert me.status_code == 200, me.text
    assert (me.json()["actor"], me.json()["role"]) == ("Ana", "viewer")
    assert client.get("/api/v1/mentions", headers=_bearer(viewer)).status_code == 200
    refused = client.post("/api/v1/sources", json=SOURCE, headers=_bearer(viewer))
    assert refused.status_code == 403
    assert refused.json()["permission"] == "sources:write"

    analyst = provider.token("bob", {"email": "bob@example.org", "aud": "veille"})
    created = client.post("/api/v1/sources", json=SOURCE, headers=_bearer(analyst))
    assert created.status_code == 201, created.text
    # The same person in another workspace has the role they hold there.
    in_acme = client.post("/api/v1/sources", json=SOURCE, headers=_bearer(analyst, "acme"))
    assert in_acme.status_code == 403
    assert client.get("/api/v1/me", headers=_bearer(analyst, "acme")).json()["role"] == "viewer"
    # Ana has no role in acme.
    assert client.get("/api/v1/me", headers=_bearer(viewer, "acme")).status_code == 403


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B") + signature[6:]
    return f"{head}.{payload}.{signature[:5]}{flipped}"


REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "expired": ({"exp": int(time.time()) - 120}, "has expired"),
    "wrong audience": ({"aud": "another-app"}, "not meant for this API"),
    "wrong issuer": ({"iss": "https://evil.example.org/veille"}, "another issuer"),
    "not yet valid": ({"nbf": int(time.time()) + 3600}, "not valid yet"),
}


@pytest.mark.parametrize("case", [*REFUSALS, "bad signature", "unknown user", "other issuer"])
def test_bad_tokens_are_refused_with_the_reason(
    app: FastAPI, provider: Provider, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    claims: dict[str, Any] = {"email": "ana@example.org", "aud": "veille"}
    reason = {
        "bad signature": "signature does not verify",
        "unknown user": "no Veille user has this email",
        "other issuer": "key the provider does not publish",
    }.get(case, "")
    if case in REFUSALS:
        extra, reason = REFUSALS[case]
        claims.update(extra)
    if case == "unknown user":
        claims["email"] = "mallory@example.org"
    token = provider.token(
        "ana", claims, issuer="elsewhere" if case == "other issuer" else "veille"
    )
    if case == "bad signature":
        token = _tampered(token)
    caplog.set_level(logging.DEBUG)
    answer = TestClient(app).get("/api/v1/mentions", headers=_bearer(token))
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert reason in answer.json()["detail"], answer.json()
    assert token not in caplog.text
    assert token.split(".")[1] not in caplog.text
    assert "mallory" not in caplog.text


def test_an_unknown_signing_key_makes_veille_fetch_the_keys_again(
    app: FastAPI, provider: Provider
) -> None:
    oidc: OidcClient = app.state.oidc
    client = TestClient(app)
    token = provider.token("ana", {"email": "ana@example.org", "aud": "veille"})
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    # As after a rotation: the cached key set lacks the key the token names.
    oidc._keys = {}
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    assert oidc._keys


@pytest.fixture
def browser(live: str) -> Iterator[httpx.Client]:
    """A cookie-keeping HTTP client, the browser of these tests."""
    with httpx.Client(base_url=live) as client:
        yield client


@pytest.fixture
def live(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn: the provider redirects a browser back to it."""
    # uvicorn serves a socket bound here: no gap in which another test could take the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def _browser_sign_in(
    browser: httpx.Client,
    provider: Provider,
    username: str,
    claims: dict[str, Any],
    workspace: str | None,
) -> httpx.Response:
    base = str(browser.base_url).rstrip("/")
    providers = browser.get("/api/v1/session/providers").json()
    assert providers["oidc"]["name"] == "Test SSO"
    asked = {"workspace": workspace} if workspace else {}
    start = browser.get(providers["oidc"]["url"], params=asked)
    assert start.status_code == 302, start.text
    authorize = httpx.URL(start.headers["location"])
    assert str(authorize).startswith(provider.issuer() + "/authorize")
    params = authorize.params
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"]
    assert params["redirect_uri"] == f"{base}/api/v1/session/oidc/callback"
    back = provider.sign_in(str(authorize), username, claims, client=browser)
    assert back.status_code == 302
    assert back.headers["location"].startswith(f"{base}/api/v1/session/oidc/callback?")
    return browser.get(back.headers["location"])


def test_the_dashboard_signs_in_through_the_provider(
    browser: httpx.Client, provider: Provider
) -> None:
    done = _browser_sign_in(browser, provider, "bob", {"email": "bob@example.org"}, "acme")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/dashboard/"
    cookie = done.headers["set-cookie"]
    assert "veille_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = browser.get("/api/v1/me")  # the session cookie, as the dashboard sends it
    assert me.status_code == 200, me.text
    assert (me.json()["actor"], me.json()["workspace"], me.json()["role"]) == (
        "Bob",
        "acme",
        "viewer",
    )
    # The answer cannot be replayed: the pending sign-in is gone.
    again = browser.get(done.request.url)
    assert again.status_code == 400
    assert again.json()["title"] == "Sign-in expired"


def test_the_dashboard_link_opens_the_persons_own_workspace_and_a_picker_switches(
    app: FastAPI, browser: httpx.Client, provider: Provider
) -> None:
    """The dashboard's link names no workspace: a client's staff (roles outside default)
    land in theirs, and someone with several switches between them."""
    tenancy = app.state.installation.tenancy
    tenancy.create_workspace("sabline", "Sabline")
    tenancy.add_user("Nadia", email="nadia@example.org")
    tenancy.grant("Nadia", "sabline", "viewer")
    tenancy.add_user("Eli", email="eli@example.org")
    tenancy.grant("Eli", "acme", "analyst")
    tenancy.grant("Eli", "sabline", "viewer")
    done = _browser_sign_in(browser, provider, "nadia", {"email": "nadia@example.org"}, None)
    assert done.status_code == 303, done.text
    me = browser.get("/api/v1/me").json()
    assert (me["actor"], me["workspace"], me["workspaces"]) == ("Nadia", "sabline", ["sabline"])
    browser.cookies.clear()
    done = _browser_sign_in(browser, provider, "eli", {"email": "eli@example.org"}, None)
    assert done.status_code == 303, done.text
    me = browser.get("/api/v1/me").json()
    assert (me["workspace"], me["workspaces"]) == ("acme", ["acme", "sabline"])
    switched = browser.put("/api/v1/session/workspace", json={"workspace": "sabline"})
    assert switched.status_code == 200, switched.text
    assert switched.json() == {"user": "Eli", "workspace": "sabline", "role": "viewer"}
    assert browser.get("/api/v1/me").json()["role"] == "viewer"
    refused = browser.put("/api/v1/session/workspace", json={"workspace": "default"})
    assert refused.status_code == 403 and "no role in 'default'" in refused.json()["detail"]
    assert browser.get("/api/v1/me").json()["workspace"] == "sabline"  # still signed in


def test_a_forged_state_is_refused(browser: httpx.Client, provider: Provider) -> None:
    start = browser.get("/api/v1/session/oidc")
    back = provider.sign_in(
        start.headers["location"], "bob", {"email": "bob@example.org"}, client=browser
    )
    forged = httpx.URL(back.headers["location"]).copy_merge_params({"state": "forged"})
    answer = browser.get(forged)
    assert answer.status_code == 400
    assert "state" in answer.json()["detail"]
    assert "veille_session" not in answer.headers.get("set-cookie", "")


def test_an_unknown_person_is_refused_by_default(
    app: FastAPI, browser: httpx.Client, provider: Provider
) -> None:
    done = _browser_sign_in(browser, provider, "eve", {"email": "eve@example.org"}, "default")
    assert done.status_code == 401
    assert "no Veille user has this email" in done.json()["detail"]
    assert "eve" not in {u.name for u in app.state.installation.tenancy.list_users()}


def test_unknown_people_may_be_created_with_the_default_role(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_NAME, "secret")
    app = _app(tmp_path, provider.issuer(), unknown_users="create", default_role="member")
    token = provider.token(
        "carol", {"email": "carol@example.org", "name": "Carol", "aud": "veille"}
    )
    me = TestClient(app).get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200, me.text
    assert (me.json()["actor"], me.json()["role"]) == ("Carol", "member")
    installation: Installation = app.state.installation
    assert installation.tenancy.get_user("carol@example.org").roles == {"default": "member"}
    entries = installation.tenancy.audit(workspace="default")
    assert [(e.kind, e.action, e.target) for e in entries][:1] == [("person", "create", "Carol")]


def test_a_provider_that_is_down_gets_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_NAME, "secret")
    with refusing_port() as port:
        app = _app(tmp_path, f"http://127.0.0.1:{port}/veille")
        client = TestClient(app)
        start = client.get("/api/v1/session/oidc", follow_redirects=False)
        token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InZlaWxsZSJ9.eyJzdWIiOiJhbmEifQ.c2ln"
        api = client.get("/api/v1/mentions", headers=_bearer(token))
    assert start.status_code == 503
    assert start.headers["content-type"].startswith("application/problem+json")
    assert "discovery document" in start.json()["detail"]
    assert api.status_code == 503
    assert api.json()["title"] == "Sign-in provider unavailable"


def test_oidc_off_keeps_api_keys_working(tmp_path: Path) -> None:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )
    app = create_app(ServiceContext(settings, Workspace()))
    client = TestClient(app)
    assert client.get("/api/v1/session/providers").json()["oidc"] is None
    assert client.get("/api/v1/session/oidc").status_code == 404
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2ln"
    assert client.get("/api/v1/mentions", headers=_bearer(jwt_like)).status_code == 401


def _config_check(tmp_path: Path, oidc: dict[str, Any], env: dict[str, str]) -> Any:
    config = write_workspace(tmp_path, sources=[], api={"oidc": oidc}) / "veille.yaml"
    return veille("config", "check", "--config", str(config), env=env)


def test_config_check_validates_the_oidc_settings(tmp_path: Path) -> None:
    good = {"issuer": "https://sso.example.org/realms/x", "client_id": "veille"}
    ok = _config_check(tmp_path, good, {"VEILLE_OIDC_CLIENT_SECRET": "s3cret-value"})
    assert ok.returncode == 0, ok.stderr
    assert "s3cret-value" not in ok.stdout + ok.stderr

    no_secret = _config_check(tmp_path, good, {})
    assert no_secret.returncode == 2
    assert "VEILLE_OIDC_CLIENT_SECRET is not set" in no_secret.stdout + no_secret.stderr

    bad = {**good, "issuer": "sso.example.org", "default_role": "boss", "client_secret_name": None}
    wrong = _config_check(tmp_path, bad, {})
    assert wrong.returncode != 0
    output = wrong.stdout + wrong.stderr
    assert "api.oidc.issuer must be a URL" in output
    assert "unknown role 'boss'" in output


def _settle(browser: Any, expression: str, timeout: float = 30.0) -> Any:
    """Waits for `expression` across page loads (an evaluation during one may fail)."""
    from tests.browser import BrowserError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = browser.evaluate(expression)
        except BrowserError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never true: {expression}")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_the_dashboard_button_signs_in_in_chromium(
    live: str, provider: Provider, tmp_path: Path
) -> None:
    """A person's path: the sign-in page's button, the provider's form, back signed in."""
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live}/dashboard/")
        _settle(browser, "!document.getElementById('oidc-sign-in').hidden")
        assert browser.text("oidc-name").strip() == "Test SSO"
        browser.evaluate("document.getElementById('oidc-link').click()")
        _settle(browser, "!!document.querySelector('input[name=username]')")  # the provider
        browser.evaluate("document.querySelector('input[name=username]').value = 'bob'")
        claims = json.dumps(json.dumps({"email": "bob@example.org"}))
        browser.evaluate(f"document.querySelector('textarea[name=claims]').value = {claims}")
        browser.evaluate("document.querySelector('form').submit()")
        _settle(
            browser, "location.pathname === '/dashboard/' && document.readyState === 'complete'"
        )
        me = _settle(browser, "fetch('../api/v1/me').then(r => r.ok && r.json())")
        assert (me["actor"], me["role"]) == ("Bob", "analyst")
        assert "veille_session" not in browser.evaluate("document.cookie")  # HttpOnly
        # Bob holds roles in two workspaces: the picker offers both and switches.
        _settle(browser, "!document.getElementById('workspace-pick').hidden")
        options = "[...document.getElementById('workspace').options].map(o => o.value)"
        assert browser.evaluate(options) == ["acme", "default"]
        assert browser.evaluate("document.getElementById('workspace').value") == "default"
        browser.evaluate(
            "const s = document.getElementById('workspace'); s.value = 'acme';"
            " s.dispatchEvent(new Event('change'))"
        )
        me = _settle(
            browser,
            "fetch('../api/v1/me').then(r => r.ok && r.json())"
            ".then(m => m && m.workspace === 'acme' && m)",
        )
        assert me["role"] == "viewer"
        _settle(browser, "document.getElementById('workspace').value === 'acme'")  # reloaded


def test_a_person_created_from_an_email_alone_is_named_without_an_email(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name may not be an email address: with no `name` claim (or a taken one) the
    person is named by the part before `@`, and signs in again by the email."""
    monkeypatch.setenv(SECRET_NAME, "secret")
    app = _app(tmp_path, provider.issuer(), unknown_users="create", default_role="member")
    client = TestClient(app)
    dave = provider.token("dave", {"email": "dave@example.org", "aud": "veille"})
    me = client.get("/api/v1/me", headers=_bearer(dave))
    assert me.status_code == 200, me.text
    assert me.json()["actor"] == "dave"
    ana = provider.token("ana2", {"email": "ana@other.example.org", "name": "Ana", "aud": "veille"})
    other = client.get("/api/v1/me", headers=_bearer(ana))
    assert other.status_code == 200, other.text
    # "Ana" is taken, and so is "ana" (the same name in other letters); never the email.
    assert re.fullmatch(r"ana-[0-9a-f]{6}", other.json()["actor"]), other.json()
    tenancy = app.state.installation.tenancy
    assert tenancy.get_user("ana@other.example.org").roles == {"default": "member"}
    assert tenancy.get_user("ana@example.org").roles == {"default": "viewer"}
    assert client.get("/api/v1/me", headers=_bearer(dave)).json()["actor"] == "dave"


def test_a_person_unknown_to_veille_cannot_enrol_in_a_workspace_of_their_choice(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`unknown_users: create` lets anyone the provider knows in: into `default`, which the
    operator chose to open, never into a client's workspace they name themselves (by
    X-Veille-Workspace or the sign-in link's ?workspace=)."""
    monkeypatch.setenv(SECRET_NAME, "secret")
    app = _app(tmp_path, provider.issuer(), unknown_users="create", default_role="member")
    client = TestClient(app)
    mallory = provider.token("mallory", {"email": "mallory@example.org", "aud": "veille"})
    refused = client.get("/api/v1/mentions", headers=_bearer(mallory, "acme"))
    assert refused.status_code == 401, refused.text
    assert "default" in refused.json()["detail"]
    tenancy = app.state.installation.tenancy
    assert "mallory" not in {u.name for u in tenancy.list_users()}
    assert [u.name for u in tenancy.list_users(workspace="acme")] == ["Bob"]
    # Into `default` she comes, as configured; acme stays closed to her.
    assert client.get("/api/v1/me", headers=_bearer(mallory)).status_code == 200
    assert tenancy.get_user("mallory@example.org").roles == {"default": "member"}
    assert client.get("/api/v1/me", headers=_bearer(mallory, "acme")).status_code == 403
