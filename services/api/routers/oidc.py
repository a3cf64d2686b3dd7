"""Dashboard sign-in through an OpenID Connect provider (authorization code + PKCE).

`GET /session/oidc` sends the browser to the provider with a fresh state, nonce and
PKCE challenge, kept meanwhile in a short-lived HttpOnly cookie; the provider sends it
back to `/session/oidc/callback`, which trades the code for an ID token, verifies it
and opens the same session (cookie) as the password sign-in. The pending cookie is
SameSite=Lax, not Strict: the provider's redirect back is a cross-site navigation,
which a Strict cookie would not follow.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.api.deps import InstallationDep, home_workspace, start_session
from services.api.oidc import (
    OidcClient,
    PendingLogin,
    ProviderUnavailable,
    TokenRefused,
    resolve_user,
)
from services.api.problems import Problem
from services.store.state.tenancy import DEFAULT_WORKSPACE

router = APIRouter(tags=["workspaces and people"])
log = logging.getLogger("veille.api.oidc")

PENDING_COOKIE = "veille_oidc"
_PENDING_PATH = "/api/v1/session/oidc"
_PENDING_SECONDS = 600
_CALLBACK = "/api/v1/session/oidc/callback"
_DASHBOARD = "/dashboard/"


def oidc_client(request: Request) -> OidcClient:
    """The configured provider's client; 404 when OIDC sign-in is off."""
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise Problem(404, "OIDC sign-in is off", "this installation has no `api.oidc` settings")
    return client


def _redirect_uri(request: Request) -> str:
    public = request.app.state.ctx.settings.api.public_url
    base = public or str(request.base_url).rstrip("/")
    return base + _CALLBACK


def _pending_path(request: Request) -> str:
    """The pending cookie's path: the callback's folder, behind a proxy's prefix too."""
    public = request.app.state.ctx.settings.api.public_url
    return (urlsplit(public).path if public else "") + _PENDING_PATH


def _unavailable(exc: ProviderUnavailable) -> Problem:
    log.warning("OIDC provider unavailable: %s", exc)
    return Problem(503, "Sign-in provider unavailable", str(exc))


@router.get("/session/providers", summary="The sign-in methods this installation offers")
def providers(request: Request) -> dict[str, Any]:
    """The dashboard shows a "Sign in with NAME" button when `oidc` is not null."""
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    return {
        "password": True,
        "oidc": None
        if client is None
        else {"name": client.settings.provider_name, "url": _PENDING_PATH},
    }


@router.get(
    "/session/oidc",
    summary="Sign in with the OIDC provider (redirects there)",
    response_class=RedirectResponse,
    status_code=302,
)
def oidc_start(
    request: Request,
    installation: InstallationDep,
    workspace: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Sends the browser to the provider; it comes back to /session/oidc/callback. Without
    a workspace, the session opens the person's own (as the password sign-in does)."""
    client = oidc_client(request)
    if workspace is not None:
        try:
            record = installation.tenancy.get_workspace(workspace)
        except (KeyError, ValueError):
            raise Problem(404, "Unknown workspace", f"no workspace {workspace!r}") from None
        if record.archived_at is not None:
            raise Problem(403, "Workspace archived", f"workspace {workspace!r} is archived")
    try:
        url, pending = client.start_login(_redirect_uri(request), workspace or "")
    except ProviderUnavailable as exc:
        raise _unavailable(exc) from None
    response = RedirectResponse(url, status_code=302)
    value = base64.urlsafe_b64encode(json.dumps(pending.__dict__).encode()).decode()
    response.set_cookie(
        PENDING_COOKIE,
        value,
        max_age=_PENDING_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=_pending_path(request),
    )
    return response


def _pending(request: Request) -> PendingLogin:
    raw = request.cookies.get(PENDING_COOKIE)
    try:
        data = json.loads(base64.urlsafe_b64decode((raw or "").encode()))
        return PendingLogin(
            **{k: str(data[k]) for k in ("state", "nonce", "verifier", "workspace")}
        )
    except (ValueError, KeyError, TypeError):
        raise Problem(
            400,
            "Sign-in expired",
            "this sign-in was not started here or took longer than 10 minutes: start again "
            "from the dashboard",
        ) from None


@router.get(
    "/session/oidc/callback",
    summary="Where the OIDC provider sends the browser back",
    response_class=RedirectResponse,
    status_code=303,
)
def oidc_callback(
    request: Request,
    installation: InstallationDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Verifies the provider's answer, opens a session and sends the browser to the
    dashboard."""
    client = oidc_client(request)
    pending = _pending(request)
    if error:
        raise Problem(401, "Sign-in refused", f"the provider answered {error!r}", reason=error)
    if not code or not state or state != pending.state:
        raise Problem(
            400,
            "Sign-in not recognised",
            "the provider's answer does not match the sign-in started here (state): start "
            "again from the dashboard",
        )
    tenancy = installation.tenancy
    try:
        claims = client.finish_login(code, _redirect_uri(request), pending)
        # A person created on first sign-in gets their role in the named workspace, or
        # in default when the link named none.
        user = resolve_user(
            tenancy, client.settings, claims, pending.workspace or DEFAULT_WORKSPACE
        )
    except ProviderUnavailable as exc:
        raise _unavailable(exc) from None
    except TokenRefused as exc:
        log.info("OIDC sign-in refused: %s", exc.reason)
        raise Problem(401, "Sign-in failed", exc.reason, reason=exc.reason) from None
    public = request.app.state.ctx.settings.api.public_url
    response = RedirectResponse((public or "") + _DASHBOARD, status_code=303)
    start_session(
        response, request, tenancy, user, pending.workspace or home_workspace(tenancy, user.roles)
    )
    response.delete_cookie(
        PENDING_COOKIE, path=_pending_path(request), httponly=True, samesite="lax"
    )
    return response
