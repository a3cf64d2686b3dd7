"""FastAPI dependencies, as typed aliases (`IndexDep`, `StateDep`, ...).

Every request under /api/v1 goes through `authorize`: it resolves the caller (a key
in `X-API-Key` or `Authorization: Bearer`, or the dashboard's session cookie) to a
`Principal` (workspace and role), checks the permission the route needs
(`services/core/permissions.py`) and, once a change succeeded, writes the audit log.
`get_context` then hands each route its caller's workspace, so `StateDep` and
`IndexDep` only ever reach that workspace's stores.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.api.oidc import (
    OidcClient,
    ProviderUnavailable,
    TokenRefused,
    looks_like_jwt,
    resolve_user,
)
from services.api.problems import Problem
from services.core.models import utcnow
from services.core.permissions import LOCAL_ADMIN, Principal, route_rule
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation
from services.store.contracts import MentionIndex
from services.store.state.contract import ApiKeyInfo, StateStore
from services.store.state.tenancy import DEFAULT_WORKSPACE, SESSION_TTL, TenancyStore, UserRecord

log = logging.getLogger("veille.api.auth")

SESSION_COOKIE = "veille_session"


def start_session(
    response: Response, request: Request, tenancy: TenancyStore, user: UserRecord, workspace: str
) -> None:
    """Opens a session of `user` in `workspace` and sets its cookie (HttpOnly,
    SameSite=Strict): the end of every sign-in, by password or through a provider."""
    if workspace not in user.roles:
        raise Problem(403, "No role in this workspace", f"you have no role in {workspace!r}")
    try:
        token = tenancy.open_session(user, workspace)
    except ValueError as exc:
        raise Problem(403, "Workspace archived", str(exc)) from None
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def live_workspaces(tenancy: TenancyStore, roles: dict[str, str]) -> dict[str, str]:
    """`roles` without the archived workspaces (no session can open one)."""
    live = {w.id for w in tenancy.list_workspaces(include_archived=False)}
    return {workspace: role for workspace, role in roles.items() if workspace in live}


def home_workspace(tenancy: TenancyStore, roles: dict[str, str]) -> str:
    """The workspace a sign-in that names none opens (the dashboard's form and its
    provider link name none): the person's only live one, else `default` when they have a
    role there, else their first by name; the dashboard's picker switches to the others.
    An archived workspace is never chosen: it would refuse the sign-in while another of
    the person's is open."""
    roles = live_workspaces(tenancy, roles) or roles
    if len(roles) == 1:
        return next(iter(roles))
    if DEFAULT_WORKSPACE in roles or not roles:
        return DEFAULT_WORKSPACE
    return sorted(roles)[0]


_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")


def route_path(request: Request) -> str:
    """The full path template of the matched route (`/api/v1/sources/{name}`).

    `scope["route"]` is the route as its router declared it (`/sources/{name}`, without
    the prefix it was included under); `create_app` records each one's full template.
    """
    route = request.scope.get("route")
    paths: dict[int, str] = request.app.state.route_paths
    return paths.get(id(route), request.url.path)


def register_routes(paths: dict[int, str], prefix: str, router: APIRouter) -> None:
    """Records the full path template of each route of `router`, included under `prefix`."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            paths[id(route)] = prefix + route.path_format


def get_installation(request: Request) -> Installation:
    """The installation: its workspaces and their register."""
    installation: Installation = request.app.state.installation
    return installation


InstallationDep = Annotated[Installation, Depends(get_installation)]


def optional_principal(
    request: Request,
    installation: InstallationDep,
    header_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal | None:
    """The caller; None when no credential came. 401/403 for a bad one, except on
    public routes (health, sign-in), where a stale cookie or key is simply ignored."""
    try:
        principal = _principal(request, installation, header_key, bearer)
        if principal is not None:
            _check_asked_workspace(request, principal)
        return principal
    except Problem:
        if route_rule(request.method, route_path(request)).permission is None:
            return None
        raise


def _principal(
    request: Request,
    installation: Installation,
    header_key: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Principal | None:
    keys_required = installation.default.settings.api.require_api_key
    key = header_key or (bearer.credentials if bearer else None)
    cookie = request.cookies.get(SESSION_COOKIE)
    oidc = getattr(request.app.state, "oidc", None)
    if bearer and oidc is not None and looks_like_jwt(bearer.credentials):
        return _from_oidc_token(request, installation, oidc, bearer.credentials)
    if key:
        principal = _from_key(installation, key)
        if principal is not None or keys_required:
            return principal
    elif cookie:
        principal = _from_session(installation, cookie)
        if principal is not None:
            _check_same_origin(request)
        if principal is not None or keys_required:
            return principal
    return None if keys_required else LOCAL_ADMIN


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_same_origin(request: Request) -> None:
    """A change made with the session cookie must come from Veille's own pages. The
    cookie is SameSite=Strict, but a site spans sibling subdomains: a form on
    blog.example.org still sends it, and needs no preflight to POST to a route without a
    body (archive, retention run). Browsers say where a request comes from: Sec-Fetch-Site,
    else (older ones) Origin; a client sending neither is not a browser page."""
    if request.method in _SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is not None:
        if site in ("same-origin", "none"):  # "none": typed by the person, not a page
            return
    elif origin is None:
        return
    else:
        public = request.app.state.ctx.settings.api.public_url
        own = {request.url.netloc, urlsplit(public).netloc if public else request.url.netloc}
        if urlsplit(origin).netloc in own:
            return
    raise Problem(
        403,
        "Cross-site request refused",
        "a change made with the dashboard's session must come from the dashboard's own "
        "pages; scripts use an API key",
    )


def _check_asked_workspace(request: Request, principal: Principal) -> None:
    """A request that names a workspace (the `X-Veille-Workspace` header or
    `?workspace=`) other than its key's or session's is refused, never answered with
    the credential's own workspace as if it were the one asked for. (On public routes,
    where `?workspace=` picks a chart's or a sign-in's workspace, optional_principal
    drops the caller instead.)"""
    asked = [
        (WORKSPACE_HEADER, request.headers.get(WORKSPACE_HEADER)),
        ("?workspace=", request.query_params.get("workspace")),
    ]
    for where, name in asked:
        if name is not None and name != principal.workspace:
            raise Problem(
                403,
                "Workspace mismatch",
                f"{where} asks for workspace {name[:40]!r}, but this key or session belongs "
                f"to workspace {principal.workspace!r}; use a key or session of "
                f"{name[:40]!r}",
                workspace=principal.workspace,
                requested_workspace=name[:40],
            )


def _from_key(installation: Installation, key: str) -> Principal | None:
    record = installation.tenancy.find_key(key)
    if record is None or record.revoked:
        if installation.default.settings.api.require_api_key:
            raise Problem(401, "Invalid API key", "this API key is unknown or was revoked")
        return None
    if record.expires_at is not None and record.expires_at <= utcnow():
        raise Problem(
            401,
            "API key expired",
            f"this API key expired on {record.expires_at:%Y-%m-%d %H:%M} UTC; ask an admin "
            "for a new one",
        )
    _check_live(installation, record.workspace)
    role = installation.tenancy.key_owner_role(record)
    if role is None:
        raise Problem(
            403,
            "No role in this workspace",
            f"the owner of this key no longer has a role in workspace {record.workspace!r}",
        )
    return Principal(
        workspace=record.workspace,
        role=record.role if record.user is None else _lesser(record.role, role),
        key_id=record.key_id,
        key_name=record.name,
        user=record.user,
        service=record.service,
    )


WORKSPACE_HEADER = "X-Veille-Workspace"


def _from_oidc_token(
    request: Request, installation: Installation, oidc: OidcClient, token: str
) -> Principal:
    """A token of the OIDC provider: verified against its keys, mapped to the user it
    names and their role in the workspace the `X-Veille-Workspace` header picks."""
    workspace = request.headers.get(WORKSPACE_HEADER) or DEFAULT_WORKSPACE
    try:
        claims = oidc.verify(token, audience=oidc.settings.expected_audience)
        try:
            installation.tenancy.get_workspace(workspace)
        except (KeyError, ValueError):
            raise Problem(
                404, "Unknown workspace", f"no workspace {workspace[:40]!r} ({WORKSPACE_HEADER})"
            ) from None
        _check_live(installation, workspace)
        user = resolve_user(installation.tenancy, oidc.settings, claims, workspace)
    except TokenRefused as exc:
        log.info("OIDC token refused: %s", exc.reason)
        raise Problem(401, "Token refused", exc.reason, reason=exc.reason) from None
    except ProviderUnavailable as exc:
        log.warning("OIDC provider unavailable: %s", exc)
        raise Problem(503, "Sign-in provider unavailable", str(exc)) from None
    role = user.roles.get(workspace)
    if role is None:
        raise Problem(403, "No role in this workspace", f"you have no role in {workspace!r}")
    return Principal(workspace=workspace, role=role, user=user.name)


def _from_session(installation: Installation, token: str) -> Principal | None:
    session = installation.tenancy.find_session(token)
    if session is None:
        if installation.default.settings.api.require_api_key:
            raise Problem(401, "Session expired", "sign in again on the dashboard")
        return None
    _check_live(installation, session.workspace)
    if session.role is None:
        raise Problem(
            403, "No role in this workspace", f"you no longer have a role in {session.workspace!r}"
        )
    return Principal(workspace=session.workspace, role=session.role, user=session.user)


def _check_live(installation: Installation, workspace: str) -> None:
    record = installation.tenancy.get_workspace(workspace)
    if record.archived_at is not None:
        raise Problem(
            403,
            "Workspace archived",
            f"workspace {workspace!r} was archived on {record.archived_at:%Y-%m-%d}; "
            "its keys and sessions no longer work",
            workspace=workspace,
        )


def _lesser(a: str, b: str) -> str:
    from services.core.permissions import ROLES

    return max(a, b, key=ROLES.index)  # ROLES is ordered from most to least powerful


OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def current_principal(request: Request, principal: OptionalPrincipalDep) -> Principal:
    """The caller; 401 when none."""
    if principal is None:
        raise Problem(
            401,
            "API key required",
            "send an API key in the X-API-Key header; create one with `veille keys create`",
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


# An alert chart's link carries a token instead of a key (Slack fetches it), and
# `?workspace=ID` to say whose alert it is.
_CHART_ROUTE = "/api/v1/alerts/events/{event_id}/chart.png"


def get_context(
    request: Request, installation: InstallationDep, principal: OptionalPrincipalDep
) -> ServiceContext:
    """The service context of the caller's workspace (`default` for anonymous routes)."""
    if principal is not None:
        return installation.context(principal.workspace)
    workspace = request.query_params.get("workspace")
    if workspace and workspace != "default" and route_path(request) == _CHART_ROUTE:
        try:
            if installation.tenancy.get_workspace(workspace).archived_at is None:
                return installation.context(workspace)
        except (KeyError, ValueError):
            pass
        raise Problem(404, "Chart not found", "no chart here: the link is wrong", code="not_found")
    return installation.default


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_index(ctx: ContextDep) -> MentionIndex:
    """The mention index."""
    return ctx.index


def get_state(ctx: ContextDep) -> StateStore:
    """The state store."""
    return ctx.state


IndexDep = Annotated[MentionIndex, Depends(get_index)]
StateDep = Annotated[StateStore, Depends(get_state)]


def require_api_key(request: Request, principal: OptionalPrincipalDep) -> ApiKeyInfo | None:
    """The caller as the routes knew it before people existed: its name is the actor
    (a user's, a service's or a key's name); None when keys are off."""
    installation = get_installation(request)
    if not installation.default.settings.api.require_api_key:
        return None
    principal = current_principal(request, principal)
    return ApiKeyInfo(
        key_id=principal.key_id or "session",
        name=principal.actor,
        created_at=utcnow(),
        last_used_at=None,
        revoked=False,
    )


AuthDep = Depends(require_api_key)


ANONYMOUS = "anonymous"  # the caller when API keys are off (a single-user installation)


def caller_name(info: ApiKeyInfo | None) -> str:
    """Who is calling, as triage records it (`assignee:me`, who changed what, note authors).

    For now the API key's name; the one place to change when keys belong to users."""
    return info.name if info is not None else ANONYMOUS


def get_caller_name(info: Annotated[ApiKeyInfo | None, Depends(require_api_key)]) -> str:
    """The caller's name (see `caller_name`)."""
    return caller_name(info)


CallerNameDep = Annotated[str, Depends(get_caller_name)]
# For routes other code also calls as functions (reports call the stats routes).
CallerNameOptDep = Annotated[str | None, Depends(get_caller_name)]
_ACTIONS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
_TARGET_PARAMS = ("name", "key_id", "workspace_id", "mention_id", "event_id", "erasure_id")


async def authorize(request: Request, principal: OptionalPrincipalDep) -> AsyncIterator[None]:
    """Checks the route's permission; after a successful change, writes the audit log."""
    path = route_path(request)
    rule = route_rule(request.method, path)
    if rule.permission is None:
        yield
        return
    principal = current_principal(request, principal)
    if not principal.can(rule.permission):
        raise Problem(
            403,
            "Forbidden",
            f"this needs the permission {rule.permission!r}, which the role "
            f"{principal.role!r} does not have in workspace {principal.workspace!r}",
            permission=rule.permission,
            role=principal.role,
        )
    target = await _target(request) if rule.audit_kind else ""
    yield
    if rule.audit_kind:
        # A route that makes its target's id (an erasure's receipt) names it itself.
        target = getattr(request.state, "audit_target", None) or target
        _audit(request, principal, rule.audit_kind, path, target)


async def _target(request: Request) -> str:
    params = request.path_params
    for name in _TARGET_PARAMS:
        if name in params:
            return str(params[name])
    try:
        body: Any = json.loads(await request.body() or b"null")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return ""
    if isinstance(body, dict):
        for field in ("name", "id", "workspace_id"):
            if isinstance(body.get(field), str):
                return str(body[field])
    return ""


def _audit(request: Request, principal: Principal, kind: str, path: str, target: str) -> None:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    action = last if last in {"archive", "unarchive", "renders", "resend", "role", "lift"} else ""
    if last == "role":
        action = "grant" if request.method == "PUT" else "revoke"
    action = action or _ACTIONS.get(request.method, request.method.lower())
    try:
        get_installation(request).tenancy.record(
            workspace=principal.workspace,
            actor=principal.actor,
            actor_kind=principal.actor_kind,
            kind=kind,
            action=action,
            target=target,
        )
    except Exception:  # the change is made: a lost audit line must not turn it into a 500
        log.exception("could not write the audit log for %s %s", request.method, path)
