"""Data governance: retention per source kind, erasures with receipts, and the export of
everything held about an author (right of access).

Permissions (wired by the roles at merge): reading retention needs `read`;
changing or applying it, erasures and author exports need `governance:admin`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, Field

from services.api.deps import ContextDep, InstallationDep, PrincipalDep, require_api_key
from services.api.problems import Problem
from services.core.permissions import Principal
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation
from services.runtime.governance.access import author_data
from services.runtime.governance.erasure import (
    ErasureInputError,
    lift_erasure,
    receipt,
    start_erasure,
)
from services.runtime.governance.retention import (
    RetentionError,
    apply_retention,
    check_configured,
    effective_policy,
    known_kinds,
    validate_changes,
)
from services.store.state.contract import ApiKeyInfo, NotFoundError
from services.store.state.governance import ErasureJob, RetentionRun

router = APIRouter(tags=["governance"])
log = logging.getLogger("veille.api.governance")

CallerDep = Annotated[ApiKeyInfo | None, Depends(require_api_key)]
# The permission each route needs, for the roles (see the module docstring).
READ = "read"  # the permission every GET needs (services/core/permissions.py)
ADMIN = "governance:admin"


class PolicyRow(BaseModel):
    kind: str
    days: int
    origin: str = Field(description="config (the YAML) or api (set here, wins)")


class RetentionOut(BaseModel):
    policy: list[PolicyRow]
    kinds: list[str] = Field(description="the source kinds a retention can name")
    daily_at: str = Field(description="when the service applies it each day (UTC)")


class RetentionChange(BaseModel):
    """Days kept per source kind; null puts a kind back to the YAML's value."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"days": {"x": 395, "feed": 1826, "reddit": None}}]},
    }

    days: dict[str, Any] = Field(description="source kind -> days (1..36600) or null")


class RetentionRunOut(BaseModel):
    id: int
    trigger: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    policy: dict[str, int]
    deleted: dict[str, int] = Field(description="counts per kind (and corrections, samples)")
    error: str | None


class ErasureRequest(BaseModel):
    """One of `author` (a handle) or `text` (a free-text identifier)."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"author": "@jdupont"}]}}

    author: str | None = Field(default=None, max_length=500)
    text: str | None = Field(default=None, max_length=500)


def _retention(ctx: ServiceContext) -> RetentionOut:
    return RetentionOut(
        policy=[
            PolicyRow(kind=e.kind, days=e.days, origin=e.origin) for e in effective_policy(ctx)
        ],
        kinds=known_kinds(),
        daily_at=ctx.settings.retention.daily_at,
    )


def _run_out(run: RetentionRun) -> RetentionRunOut:
    return RetentionRunOut(**run.__dict__)


def _bad_retention(exc: RetentionError) -> Problem:
    return Problem(
        422,
        "Invalid retention",
        f"{exc.field}: {exc.message}; nothing was changed",
        field=exc.field,
    )


@router.get("/retention", response_model=RetentionOut, summary=f"Retention ({READ})")
def get_retention(ctx: ContextDep, caller: CallerDep) -> RetentionOut:
    """The days kept per source kind, and where each is set."""
    return _retention(ctx)


@router.put("/retention", response_model=RetentionOut, summary=f"Change retention ({ADMIN})")
def put_retention(ctx: ContextDep, caller: CallerDep, body: RetentionChange) -> RetentionOut:
    """Sets the days kept for some kinds (null: back to the YAML's); all or nothing."""
    try:
        changes = validate_changes(body.days)
    except RetentionError as exc:
        raise _bad_retention(exc) from None
    ctx.governance.set_retention(changes)
    return _retention(ctx)


@router.get(
    "/retention/runs", response_model=list[RetentionRunOut], summary=f"Retention runs ({READ})"
)
def list_retention_runs(
    ctx: ContextDep, caller: CallerDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[RetentionRunOut]:
    """The latest retention runs with what each deleted (counts only), newest first."""
    return [_run_out(run) for run in ctx.governance.retention_runs(limit=limit)]


@router.post(
    "/retention/runs",
    response_model=RetentionRunOut,
    status_code=status.HTTP_201_CREATED,
    summary=f"Apply retention now ({ADMIN})",
)
def run_retention(
    ctx: ContextDep,
    caller: CallerDep,
    dry_run: Annotated[bool, Query(description="count, delete nothing")] = False,
) -> RetentionRunOut:
    """Applies the retention now (the service does it daily); returns the run."""
    try:
        check_configured(ctx)
        return _run_out(apply_retention(ctx, dry_run=dry_run, trigger="api"))
    except RetentionError as exc:
        raise _bad_retention(exc) from None


@router.post(
    "/erasures",
    status_code=status.HTTP_201_CREATED,
    summary=f"Erase an author or an identifier ({ADMIN})",
)
def create_erasure(
    request: Request, ctx: ContextDep, caller: CallerDep, body: ErasureRequest
) -> dict[str, Any]:
    """Erases everything by or about an author handle, or quoting a free-text identifier,
    and returns the receipt: counts per kind, the report renders deleted. New posts by or
    about it are dropped while the erasure holds."""
    job = _erase(ctx, body, caller.name if caller is not None else None)
    request.state.audit_target = job.id  # the audit line names the receipt, not the person
    return receipt(job)


def _erase(ctx: ServiceContext, body: ErasureRequest, requested_by: str | None) -> ErasureJob:
    asked = [(k, v) for k, v in (("author", body.author), ("text", body.text)) if v is not None]
    if len(asked) != 1:
        raise Problem(422, "Invalid erasure", "give exactly one of author or text")
    kind, identifier = asked[0]
    try:
        return start_erasure(ctx, kind=kind, identifier=identifier, requested_by=requested_by)
    except ErasureInputError as exc:
        raise Problem(422, "Invalid erasure", f"{exc}; nothing was changed", field=kind) from None


@router.get("/erasures", summary=f"Erasure receipts ({ADMIN})")
def list_erasures(
    ctx: ContextDep, caller: CallerDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """Every erasure's receipt, newest first."""
    return [receipt(job) for job in ctx.governance.erasures(limit=limit)]


@router.get("/erasures/{erasure_id}", summary=f"One erasure receipt ({ADMIN})")
def get_erasure(
    ctx: ContextDep, caller: CallerDep, erasure_id: Annotated[str, Path(max_length=32)]
) -> dict[str, Any]:
    """One erasure's receipt."""
    try:
        return receipt(ctx.governance.erasure(erasure_id))
    except NotFoundError:
        raise Problem(404, "Not found", f"no erasure has the id {erasure_id!r}") from None


@router.post("/erasures/{erasure_id}/lift", summary=f"Stop an erasure holding ({ADMIN})")
def lift(
    ctx: ContextDep, caller: CallerDep, erasure_id: Annotated[str, Path(max_length=32)]
) -> dict[str, Any]:
    """New posts by or about the erased author or identifier are accepted again from now
    on; what was erased stays erased. 409 while the erasure runs or once lifted."""
    try:
        return receipt(lift_erasure(ctx, erasure_id))
    except NotFoundError:
        raise Problem(404, "Not found", f"no erasure has the id {erasure_id!r}") from None
    except ErasureInputError as exc:
        raise Problem(409, "Cannot lift this erasure", str(exc)) from None


@router.get("/authors/{handle}/data-export", summary=f"Everything held about an author ({ADMIN})")
def export_author(
    ctx: ContextDep, caller: CallerDep, handle: Annotated[str, Path(max_length=500)]
) -> dict[str, Any]:
    """Everything held by or about an author, as JSON (the GDPR right of access): their
    mentions, mentions naming them, the stories of those, corrections, alert samples."""
    try:
        return author_data(ctx, handle)
    except ErasureInputError as exc:
        raise Problem(422, "Invalid author", str(exc)) from None


# An archived workspace's keys no longer work, but the personal data it holds must stay
# erasable, exportable and expiring: the installation's admins (admins of `default`) do
# it for any workspace, archived or not, here. The audit line goes to that workspace.
WorkspaceId = Annotated[str, Path(max_length=40)]


def _installation_ctx(
    installation: Installation, principal: Principal, workspace_id: str
) -> ServiceContext:
    if not principal.is_installation_admin:
        raise Problem(
            403,
            "Forbidden",
            "only admins of the default workspace act on another workspace's data",
            permission="workspaces:admin",
        )
    try:
        return installation.context(workspace_id)
    except (NotFoundError, KeyError, ValueError):
        raise Problem(404, "Not found", f"no workspace {workspace_id!r}") from None


def _record(
    installation: Installation,
    principal: Principal,
    workspace: str,
    kind: str,
    target: str,
    action: str = "create",
) -> None:
    try:
        installation.tenancy.record(
            workspace=workspace,
            actor=principal.actor,
            actor_kind=principal.actor_kind,
            kind=kind,
            action=action,
            target=target,
        )
    except Exception as exc:  # the change is made: a lost audit line must not make it a 500
        # The error's text may quote the row (actor names): its class only, above debug.
        log.error(
            "could not write the audit log for %s %s in workspace %s (%s)",
            kind,
            action,
            workspace,
            type(exc).__name__,
        )
        log.debug("audit write failure", exc_info=True)


@router.post(
    "/workspaces/{workspace_id}/erasures",
    status_code=status.HTTP_201_CREATED,
    summary="Erase an author or an identifier in any workspace, archived ones too "
    "(admins of default)",
)
def create_workspace_erasure(
    workspace_id: WorkspaceId,
    body: ErasureRequest,
    installation: InstallationDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """`POST /erasures` for the workspace `workspace_id`; returns its receipt."""
    ctx = _installation_ctx(installation, principal, workspace_id)
    job = _erase(ctx, body, principal.actor)
    _record(installation, principal, workspace_id, "erasure", job.id)
    return receipt(job)


@router.get(
    "/workspaces/{workspace_id}/authors/{handle}/data-export",
    summary="Everything an archived (or any) workspace holds about an author (admins of default)",
)
def export_workspace_author(
    workspace_id: WorkspaceId,
    handle: Annotated[str, Path(max_length=500)],
    installation: InstallationDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """`GET /authors/{handle}/data-export` for the workspace `workspace_id`, plus a
    `receipt`: the audit log of that workspace records the export under it (never the
    handle, as for erasures)."""
    ctx = _installation_ctx(installation, principal, workspace_id)
    try:
        data = author_data(ctx, handle)
    except ErasureInputError as exc:
        raise Problem(422, "Invalid author", str(exc)) from None
    receipt_id = f"export-{uuid.uuid4().hex[:16]}"
    _record(installation, principal, workspace_id, "data-export", receipt_id, action="export")
    return {**data, "receipt": receipt_id}


@router.post(
    "/workspaces/{workspace_id}/retention/runs",
    response_model=RetentionRunOut,
    status_code=status.HTTP_201_CREATED,
    summary="Apply a workspace's retention now, archived ones too (admins of default)",
)
def run_workspace_retention(
    workspace_id: WorkspaceId,
    installation: InstallationDep,
    principal: PrincipalDep,
    dry_run: Annotated[bool, Query(description="count, delete nothing")] = False,
) -> RetentionRunOut:
    """`POST /retention/runs` for the workspace `workspace_id`."""
    ctx = _installation_ctx(installation, principal, workspace_id)
    try:
        check_configured(ctx)
        run = apply_retention(ctx, dry_run=dry_run, trigger="api")
    except RetentionError as exc:
        raise _bad_retention(exc) from None
    if not dry_run:
        _record(installation, principal, workspace_id, "retention", str(run.id))
    return _run_out(run)
