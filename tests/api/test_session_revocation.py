"""A new password ends the person's open sessions at once (in every workspace): a
password is reset because someone else may know it, and their 12-hour session cookie
would otherwise outlive the reset (real SQLite store, real requests)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.runtime.app.context import ServiceContext
from tests.apps import app_for


def test_setting_a_new_password_ends_the_persons_sessions(ctx: ServiceContext) -> None:
    app = app_for(ctx)
    tenancy = app.state.installation.tenancy
    tenancy.create_workspace("acme", "Acme")
    for name in ("Alice", "Bob"):
        tenancy.add_user(name, password="old password 123")
        tenancy.grant(name, "default", "analyst")
    tenancy.grant("Alice", "acme", "viewer")
    with TestClient(app) as thief, TestClient(app) as thief_acme, TestClient(app) as bob:
        for browser, login, workspace in (
            (thief, "Alice", "default"),
            (thief_acme, "Alice", "acme"),
            (bob, "Bob", "default"),
        ):
            signed = browser.post(
                "/api/v1/session",
                json={"login": login, "password": "old password 123", "workspace": workspace},
            )
            assert signed.status_code == 200, signed.text
        assert thief.get("/api/v1/me").status_code == 200
        tenancy.set_password("Alice", "new password 456")  # `veille users set-password Alice`
        assert thief.get("/api/v1/me").status_code == 401
        assert thief_acme.get("/api/v1/me").status_code == 401
        assert bob.get("/api/v1/me").status_code == 200  # only hers
    with TestClient(app) as alice:
        signed = alice.post(
            "/api/v1/session", json={"login": "Alice", "password": "new password 456"}
        )
        assert signed.status_code == 200, signed.text
        assert alice.get("/api/v1/me").json()["actor"] == "Alice"
