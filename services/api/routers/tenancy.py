"""Workspaces, people and their roles, API keys, the audit log, and dashboard sign-in.

Everything acts on the caller's workspace. Creating and archiving workspaces is for
the admins of `default`, the installation's own workspace.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import (
    SESSION_COOKIE,
    InstallationDep,
    PrincipalDep,
    home_workspace,
    live_workspaces,
    start_session,
)
from services.api.params import TIME_FORMS, BodyTime, to_utc
from services.api.problems import Problem, problem_response
from services.api.sign_in_throttle import SignInThrottle
from services.core.permissions import ROLES, Principal, check_role
from services.runtime.app.workspaces import Installation
from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.tenancy import KeyRecord, NameTaken, UserRecord

router = APIRouter(tags=["workspaces and people"])


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=40, examples=["acme"])
    name: str | None = Field(default=None, max_length=200)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    role: str = Field(description=f"one of {', '.join(ROLES)}")


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(description=f"one of {', '.join(ROLES)}")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    user: str | None = Field(default=None, description="the person the key belongs to")
    service: str | None = Field(default=None, description="or the service it belongs to")
    expires_at: datetime | None = None
    workspace: str | None = Field(
        default=None, description="another workspace (admins of `default` only)"
    )


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=320, description="name or email")
    password: str = Field(min_length=1, max_length=1024)
    workspace: str | None = Field(
        default=None,
        max_length=64,
        description="the workspace to open; default: the person's only one, else default",
    )


def _bad(exc: ValueError) -> Exception:
    if isinstance(exc, (ConflictError, NotFoundError)):  # answered 409 / 404 by their handlers
        return exc
    return Problem(422, "Invalid request", str(exc))


def _installation_admin(principal: Principal) -> None:
    if not principal.is_installation_admin:
        raise Problem(
            403,
            "Forbidden",
            "only admins of the default workspace manage workspaces",
            permission="workspaces:admin",
        )


def _workspace_json(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "created_at": record.created_at,
        "archived_at": record.archived_at,
    }


@router.get("/workspaces", summary="List workspaces")
def list_workspaces(installation: InstallationDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Every workspace for an admin of `default`; otherwise the caller's own."""
    records = installation.tenancy.list_workspaces()
    if not principal.is_installation_admin:
        records = [r for r in records if r.id == principal.workspace]
    return [_workspace_json(r) for r in records]


@router.post("/workspaces", status_code=status.HTTP_201_CREATED, summary="Create a workspace")
def create_workspace(
    body: WorkspaceIn, installation: InstallationDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Registers a workspace; its stores are created on first use."""
    _installation_admin(principal)
    try:
        record = installation.tenancy.create_workspace(body.id, body.name)
    except ValueError as exc:
        raise _bad(exc) from None
    installation.notify_changed()
    return _workspace_json(record)


@router.post("/workspaces/{workspace_id}/archive", summary="Archive a workspace")
def archive_workspace(
    workspace_id: str, installation: InstallationDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Stops a workspace: its keys and sessions stop working; its data is kept."""
    _installation_admin(principal)
    try:
        record = installation.tenancy.archive_workspace(workspace_id)
    except ValueError as exc:
        raise _bad(exc) from None
    installation.notify_changed()
    return _workspace_json(record)


@router.delete("/workspaces/{workspace_id}", summary="Delete an archived workspace for good")
def delete_workspace(
    workspace_id: str,
    installation: InstallationDep,
    principal: PrincipalDep,
    dry_run: Annotated[bool, Query(description="count what would go, remove nothing")] = False,
) -> dict[str, Any]:
    """Removes an archived workspace and all it holds: keys and sessions first, then its
    mentions, state, renders and data files, then its register row (409 when it is not
    archived, 422 for `default`, 404 once gone). Answers what it held. Audited as one
    installation-level entry; the workspace's own audit entries go with it."""
    from services.runtime.app.workspace_deletion import (
        delete_workspace as delete,
    )
    from services.runtime.app.workspace_deletion import (
        inspect_workspace,
    )

    _installation_admin(principal)
    try:
        if dry_run:
            plan = inspect_workspace(installation, workspace_id)
        else:
            plan = delete(
                installation,
                workspace_id,
                actor=principal.actor,
                actor_kind=principal.actor_kind,
            )
    except ValueError as exc:
        raise _bad(exc) from None
    return {
        "id": workspace_id,
        "deleted": not dry_run,
        "mentions": plan.mentions,
        "stories": plan.stories,
        "state_rows": plan.state_rows,
        "renders": plan.renders,
        "register": plan.register,
    }


def _person(installation: Installation, principal: Principal, name: str) -> UserRecord:
    """The person `name` (a name, or an email) as the caller may see them: anyone for an
    admin of `default`, otherwise only people with a role in the caller's workspace. An
    outsider gets the same 404 as an unknown name, so other clients' staff cannot be
    probed. An exact name wins over an email, so a name cannot stand for someone else."""
    workspace = None if principal.is_installation_admin else principal.workspace
    return installation.tenancy.get_user(name, workspace=workspace)


@router.post("/workspaces/{workspace_id}/unarchive", summary="Bring an archived workspace back")
def unarchive_workspace(
    workspace_id: str, installation: InstallationDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Its keys work again (its sessions ended when it was archived); `veille up` runs
    its loops again."""
    _installation_admin(principal)
    try:
        record = installation.tenancy.unarchive_workspace(workspace_id)
    except ValueError as exc:
        raise _bad(exc) from None
    installation.notify_changed()
    return _workspace_json(record)


def _user_json(user: UserRecord, workspace: str | None) -> dict[str, Any]:
    roles = user.roles if workspace is None else {workspace: user.roles[workspace]}
    return {"name": user.name, "email": user.email, "created_at": user.created_at, "roles": roles}


@router.get("/users", summary="List the people of this workspace")
def list_users(installation: InstallationDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """People with a role in the caller's workspace."""
    ws = principal.workspace
    return [_user_json(u, ws) for u in installation.tenancy.list_users(workspace=ws)]


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Add a person")
def create_user(body: UserIn, installation: InstallationDep, principal: PrincipalDep) -> Any:
    """Adds a person with a role in the caller's workspace. Names (whatever their case:
    "alice" when "Alice" exists) and emails are installation-wide: a taken one is refused
    with 409 saying which, when the caller may see its holder (an admin of `default`, or
    a holder with a role in the caller's workspace); otherwise with the same 422 as any
    invalid input, which does not say who holds it or where."""
    tenancy = installation.tenancy
    try:
        check_role(body.role)
        user_id = tenancy.add_user(body.name, email=body.email, password=body.password)
    except NameTaken as exc:
        if principal.is_installation_admin or principal.workspace in exc.holder.roles:
            raise Problem(409, "Name taken", str(exc)) from None
        raise Problem(
            422, "Invalid request", "this name or email cannot be used here: choose another"
        ) from None
    except ConflictError as exc:
        if principal.is_installation_admin:
            raise exc from None
        raise Problem(
            422, "Invalid request", "this name or email cannot be used here: choose another"
        ) from None
    except ValueError as exc:
        raise _bad(exc) from None
    try:
        tenancy.grant_id(user_id, principal.workspace, body.role)
    except ValueError as exc:
        raise _bad(exc) from None
    return _user_json(tenancy.get_user_by_id(user_id), principal.workspace)


@router.put("/users/{name}/role", summary="Give a person a role in this workspace")
def grant_role(
    name: str, body: RoleIn, installation: InstallationDep, principal: PrincipalDep
) -> Any:
    """Changes the role of a person of the caller's workspace. Only an admin of `default`
    may give a role to someone of another workspace; for others that person is unknown
    (404), like a name that does not exist."""
    try:
        person = _person(installation, principal, name)
        installation.tenancy.grant_id(person.id, principal.workspace, body.role)
    except ValueError as exc:
        raise _bad(exc) from None
    return _user_json(installation.tenancy.get_user_by_id(person.id), principal.workspace)


@router.delete(
    "/users/{name}/role",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a person's role in this workspace away",
)
def revoke_role(name: str, installation: InstallationDep, principal: PrincipalDep) -> Response:
    """Their keys and sessions in this workspace stop working (404 for anyone without a
    role here, whether or not they exist)."""
    person = _person(installation, principal, name)
    installation.tenancy.revoke_id(person.id, principal.workspace)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _key_json(record: KeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "name": record.name,
        "workspace": record.workspace,
        "role": record.role,
        "user": record.user,
        "service": record.service,
        "created_at": record.created_at,
        "last_used_at": record.last_used_at,
        "expires_at": record.expires_at,
        "revoked": record.revoked,
    }


@router.get("/keys", summary="List this workspace's API keys")
def list_keys(installation: InstallationDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Keys of the caller's workspace (never their secret)."""
    return [_key_json(k) for k in installation.tenancy.list_keys(workspace=principal.workspace)]


@router.post("/keys", status_code=status.HTTP_201_CREATED, summary="Create an API key")
def create_key(body: KeyIn, installation: InstallationDep, principal: PrincipalDep) -> Any:
    """The key is in the answer once; only its hash is stored."""
    if body.user is None and body.service is None:
        raise Problem(422, "Invalid request", "a key belongs to a user or to a service: give one")
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        raise Problem(422, "Invalid request", "expires_at needs a time zone (e.g. ...Z)")
    workspace = body.workspace or principal.workspace
    if workspace != principal.workspace:
        _installation_admin(principal)
    user_id, warnings = None, []
    if body.user is not None:
        try:  # a person of another workspace is unknown here, as in /users
            person = _person(installation, principal, body.user)
        except NotFoundError as exc:
            raise _bad(ValueError(str(exc))) from None
        user_id, theirs = person.id, person.roles.get(workspace)
        if theirs is not None and ROLES.index(theirs) > ROLES.index(body.role):
            # a person's key never does more than the person: say so, not just "admin"
            warnings.append(
                f"{person.name} is {theirs} of {workspace}, so this {body.role} key acts "
                f"as {theirs}"
            )
    try:
        key = installation.tenancy.create_key(
            name=body.name,
            workspace=workspace,
            role=body.role,
            user_id=user_id,
            service=body.service,
            expires_at=expires,
        )
    except ValueError as exc:
        raise _bad(exc) from None
    except NotFoundError as exc:
        raise _bad(ValueError(str(exc))) from None
    key_id = key.split("_", 2)[1]
    record = next(k for k in installation.tenancy.list_keys() if k.key_id == key_id)
    return {**_key_json(record), "key": key, "warnings": warnings}


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a key")
def revoke_key(key_id: str, installation: InstallationDep, principal: PrincipalDep) -> Response:
    """Revokes a key of the caller's workspace for good."""
    installation.tenancy.revoke_key(key_id, workspace=principal.workspace)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", summary="The audit log: who changed what, and when")
def audit(
    installation: InstallationDep,
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[
        BodyTime | None, Query(description=f"entries at or after: {TIME_FORMS}", examples=["7d"])
    ] = None,
    until: Annotated[BodyTime | None, Query(description=f"entries before: {TIME_FORMS}")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, description="page: the last id seen")] = None,
) -> dict[str, Any]:
    """Entries of the caller's workspace, newest first; `next` pages to older ones."""
    # As everywhere in the API: '7d' is before now, and a time without offset is UTC.
    since, until = to_utc(since), to_utc(until)
    entries = installation.tenancy.audit(
        workspace=principal.workspace,
        kind=kind,
        actor=actor,
        since=since,
        until=until,
        limit=limit,
        before_id=before,
    )
    items = [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "actor_kind": e.actor_kind,
            "kind": e.kind,
            "action": e.action,
            "target": e.target,
        }
        for e in entries
    ]
    return {"items": items, "next": entries[-1].id if len(entries) == limit else None}


@router.get("/me", summary="Who am I: workspace, role and permissions")
def me(principal: PrincipalDep, installation: InstallationDep) -> dict[str, Any]:
    """The caller as the API sees it (the dashboard uses it to hide what it may not do,
    and offers a person's other workspaces in its picker)."""
    from services.core.permissions import ROLE_PERMISSIONS

    workspaces = [principal.workspace]
    if principal.user is not None and principal.key_id is None:  # a person, not their key
        with contextlib.suppress(NotFoundError):
            roles = installation.tenancy.get_user(principal.user).roles
            workspaces = sorted(live_workspaces(installation.tenancy, roles))
    return {
        "workspace": principal.workspace,
        "workspaces": workspaces,
        "role": principal.role,
        "actor": principal.actor,
        "actor_kind": principal.actor_kind,
        "permissions": sorted(ROLE_PERMISSIONS[principal.role]),
    }


@router.post(
    "/session",
    summary="Sign in with a name or email and a password",
    responses={429: {"description": "too many failed sign-ins: wait Retry-After seconds"}},
)
def sign_in(
    body: LoginIn, request: Request, response: Response, installation: InstallationDep
) -> Any:
    """Sets the session cookie (HttpOnly, SameSite=Strict) the dashboard then sends.
    After 5 failed sign-ins of one login (or 30 from one address) in 15 minutes, it
    answers 429 until the oldest is 15 minutes old, whatever the password."""
    tenancy = installation.tenancy
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    client = request.client.host if request.client else ""
    wait = throttle.wait(body.login, client)
    if wait is not None:
        minutes = math.ceil(wait / 60)
        refused = problem_response(
            request,
            429,
            "Too many sign-in attempts",
            f"too many failed sign-ins: try again in {minutes} minute{'s' * (minutes > 1)}",
            retry_after=math.ceil(wait),
        )
        refused.headers["Retry-After"] = str(math.ceil(wait))
        return refused
    user = tenancy.check_password(body.login, body.password)
    if user is None:
        throttle.failed(body.login, client)
        raise Problem(401, "Sign-in failed", "unknown name or email, or wrong password")
    throttle.succeeded(body.login, user.name, user.email or "")
    workspace = body.workspace or home_workspace(tenancy, user.roles)
    start_session(response, request, tenancy, user, workspace)
    return {"user": user.name, "workspace": workspace, "role": user.roles[workspace]}


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str = Field(min_length=1, max_length=64)


@router.put("/session/workspace", summary="Open the signed-in person's session elsewhere")
def switch_workspace(
    body: SwitchIn,
    request: Request,
    response: Response,
    installation: InstallationDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """The dashboard's workspace picker: a session opens one workspace, so this opens a
    new session of the same person in another where they hold a role, and ends this one."""
    token = request.cookies.get(SESSION_COOKIE)
    tenancy = installation.tenancy
    # The caller must be the cookie's own session: a key (which takes precedence over a
    # cookie, and may hold less than its person) or a provider's token beside any cookie
    # would otherwise open a session with the person's full role.
    session = tenancy.find_session(token) if token else None
    if (
        principal.key_id is not None
        or session is None
        or (session.user, session.workspace) != (principal.user, principal.workspace)
    ):
        raise Problem(400, "Not a session", "only a signed-in person's session can switch")
    user = tenancy.get_user(session.user)
    start_session(response, request, tenancy, user, body.workspace)
    tenancy.close_session(token or "")
    return {"user": user.name, "workspace": body.workspace, "role": user.roles[body.workspace]}


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
def sign_out(request: Request, installation: InstallationDep) -> Response:
    """Ends the session and clears its cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        installation.tenancy.close_session(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
