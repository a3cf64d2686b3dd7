"""Reports: definitions (CRUD), renders on demand, and the kept renders at stable URLs
(`/reports/NAME/renders/latest.pdf`)."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from services.alerting import saved_searches as ss
from services.alerting.notifiers.base import DeliveryError
from services.alerting.secret_scope import context_scope
from services.api.deps import AuthDep, ContextDep
from services.api.patching import Changes, patched, stored_fields
from services.api.problems import Problem
from services.api.search_viewer import ViewerDep, hidden, unusable_name
from services.core.reports import ReportDefinition, StoredReport, recipient_warnings
from services.reports.period import PeriodError
from services.reports.service import ReportInputError, check_subject, definitions, run_report
from services.reports.store import (
    FORMATS,
    Definitions,
    InvalidDefinition,
    ReadOnlyReport,
    RenderInfo,
    Renders,
    ReportNotFound,
)
from services.store.state.contract import ConflictError, NameTakenError

router = APIRouter(prefix="/reports", tags=["reports"], dependencies=[AuthDep])

# A render holds its styles and charts (data: URIs) and runs no script.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


class FailureOut(BaseModel):
    recipient: str = Field(
        description="the entry as written: an address, or the name of the secret holding them"
    )
    index: int | None = Field(default=None, description="its place in the report's recipients")
    reason: str = Field(description="why, e.g. 'refused: 550 5.1.1' (the SMTP reply code)")


class RenderOut(BaseModel):
    report: str
    id: str
    since: datetime
    until: datetime
    seconds: float
    urls: dict[str, str]
    sent_to: int | None = Field(
        default=None, description="recipients it was emailed to (null: not emailed)"
    )
    failed: list[FailureOut] = Field(
        default_factory=list, description="recipients it could not be emailed to, and why"
    )
    sent_at: datetime | None = None


def _out(info: RenderInfo) -> RenderOut:
    base = f"/api/v1/reports/{info.report}/renders/{info.id}"
    return RenderOut(
        report=info.report,
        id=info.id,
        since=info.since,
        until=info.until,
        seconds=round(info.seconds, 3),
        urls={fmt: f"{base}.{fmt}" for fmt in info.formats},
        sent_to=info.sent_to,
        failed=[
            FailureOut(recipient=f.recipient, index=f.index, reason=f.reason) for f in info.failed
        ],
        sent_at=info.sent_at,
    )


def _definition(ctx: ContextDep, name: str, viewer: ss.Viewer) -> StoredReport:
    """A stored definition; a 422 problem when it no longer validates (a period out of
    range saved before the check, a file edited by hand); 404 when it is built on a
    private saved search the viewer may not see (no existence leak)."""
    try:
        report = definitions(ctx).get(name)
    except InvalidDefinition as exc:
        raise Problem(422, "Invalid report", str(exc)) from None
    if report.saved_search and report.saved_search in hidden(ctx.state, viewer):
        raise Problem(404, "Not found", f"no report is named {name!r}")
    return report


def _hidden_from(ctx: ContextDep, name: str, viewer: ss.Viewer) -> bool:
    """Whether a report named `name` exists, built on a saved search the viewer may not
    see: to them it does not exist, and its name cannot be given to theirs."""
    try:
        report = definitions(ctx).get(name)
    except (ReportNotFound, InvalidDefinition):
        return False
    return bool(report.saved_search) and report.saved_search in hidden(ctx.state, viewer)


def _taken(ctx: ContextDep, name: str, viewer: ss.Viewer) -> Exception:
    """What to answer when `name` is taken: the 409 when the viewer may see the report
    holding it, else the 422 of an unusable name."""
    if _hidden_from(ctx, name, viewer):
        return unusable_name()
    return NameTakenError(f"a report named {name!r} already exists")


def _checked(
    ctx: ContextDep,
    definition: ReportDefinition,
    viewer: ss.Viewer,
    current: ReportDefinition | None = None,
) -> None:
    """422 for an unknown subject or a secret not allowed. A private saved search of
    someone else is unknown, unless it is the report's current one (an admin changing
    the report); building a report on a private search takes being its owner."""
    try:
        check_subject(definition, ctx.state)
    except ReportInputError as exc:
        raise Problem(422, "Invalid report", str(exc)) from None
    name = definition.saved_search
    kept = current is not None and current.saved_search == name
    if name and not kept and viewer.name is not None:
        search = ss.get_saved_search(ctx.state, name)  # check_subject found it
        if not ss.visible_to(search, viewer.name):
            raise Problem(422, "Invalid report", f"no saved search is named {name!r}")
    scope = context_scope(ctx)
    for index, entry in enumerate(definition.recipients):
        reason = None if "@" in entry else scope.check(entry)
        if reason is not None:  # never says whether the variable is set
            raise Problem(422, "Secret not allowed", reason, field=f"recipients[{index}]")


@router.get("", summary="List reports")
def list_reports(ctx: ContextDep, viewer: ViewerDep) -> list[StoredReport]:
    """Every report: the workspace YAML's (`origin: config`) and the API's; one on someone
    else's private saved search only for its owner and the workspace admins."""
    secret = hidden(ctx.state, viewer)
    return [r for r in definitions(ctx).list() if r.saved_search not in secret]


class SavedReport(StoredReport):
    """A definition as saved, with what may keep it from some recipients."""

    warnings: list[str] = Field(
        default_factory=list,
        description="e.g. a non-ASCII address that needs an SMTP server with SMTPUTF8",
    )


def _saved(store: Definitions, definition: ReportDefinition) -> SavedReport:
    return SavedReport.model_validate(
        {
            **store.get(definition.name).model_dump(),
            "warnings": recipient_warnings(definition),
        }
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Define a report")
def create_report(definition: ReportDefinition, ctx: ContextDep, viewer: ViewerDep) -> SavedReport:
    """Saves a report definition; 422 for an unknown brand, saved search or section, or a
    period that ends before it starts (nothing is stored then); 409 when the name is taken
    by a report the caller sees, 422 (`name`) when by one they do not."""
    _checked(ctx, definition, viewer)
    store = definitions(ctx)
    try:
        store.put(definition, create_only=True)
    except ReadOnlyReport as exc:
        if _hidden_from(ctx, definition.name, viewer):  # a YAML report out of sight
            raise unusable_name() from None
        raise Problem(409, "Conflict", str(exc)) from None
    except ConflictError:
        raise _taken(ctx, definition.name, viewer) from None
    return _saved(store, definition)


@router.get("/{name}", summary="Get a report definition")
def get_report(name: str, ctx: ContextDep, viewer: ViewerDep) -> StoredReport:
    """One report definition."""
    return _definition(ctx, name, viewer)


@router.put("/{name}", summary="Replace a report definition")
def replace_report(
    name: str, definition: ReportDefinition, ctx: ContextDep, viewer: ViewerDep
) -> SavedReport:
    """Replaces (or creates) an API-made report; the YAML's are read-only (409). A name
    held by a report the caller may not see is refused as for a create (422 on `name`)."""
    if definition.name != name:
        raise Problem(422, "Invalid report", f"the body names {definition.name!r}, not {name!r}")
    if _hidden_from(ctx, name, viewer):
        raise unusable_name()
    try:
        current: StoredReport | None = _definition(ctx, name, viewer)
    except ReportNotFound:
        current = None
    _checked(ctx, definition, viewer, current)
    store = definitions(ctx)
    try:
        store.put(definition, create_only=False)
    except ReadOnlyReport as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    return _saved(store, definition)


@router.patch("/{name}", summary="Change or rename a report")
def update_report(name: str, changes: Changes, ctx: ContextDep, viewer: ViewerDep) -> SavedReport:
    """Changes the fields given of an API-made report (`name` renames it, its kept renders
    with it); the YAML's are read-only (409), as is a new name already taken (422 on
    `name` when by a report the caller may not see). A rename that fails leaves the report
    and its renders under the old name. A period other than `custom` drops the custom days
    unless they are given."""
    current = _definition(ctx, name, viewer)
    if current.origin == "config":
        raise Problem(409, "Conflict", f"report {name!r} is defined in the workspace YAML")
    fields = stored_fields(ReportDefinition, current)
    if changes.get("period", "custom") != "custom":
        fields.update(since=None, until=None)
    definition = patched(ReportDefinition, fields, changes)
    _checked(ctx, definition, viewer, current)
    store = definitions(ctx)
    renamed = definition.name != name
    try:
        store.put(definition, create_only=renamed)
    except ReadOnlyReport as exc:
        if _hidden_from(ctx, definition.name, viewer):  # a YAML report out of sight
            raise unusable_name() from None
        raise Problem(409, "Conflict", str(exc)) from None
    except ConflictError:
        raise _taken(ctx, definition.name, viewer) from None
    if renamed:
        _move(ctx, store, name, definition.name)
    return _saved(store, definition)


def _move(ctx: ContextDep, store: Definitions, old: str, new: str) -> None:
    """Ends a rename once the new definition is written: the renders follow, then the old
    definition goes. Files have no transaction: a failure undoes what was done (renders
    moved back, the new definition deleted), so the report stays under its old name; a
    crash midway leaves both names, nothing lost."""
    renders = Renders(ctx.settings.data_dir)
    moved = False
    try:
        moved = renders.rename(old, new)
        store.delete(old)
    except BaseException:
        if moved:
            renders.rename(new, old)
        store.delete(new)
        raise


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a report")
def delete_report(name: str, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """Deletes an API-made report definition; its kept renders stay."""
    with suppress(ReportNotFound):  # nothing by that name: the delete answers
        _definition(ctx, name, viewer)
    try:
        definitions(ctx).delete(name)
    except ReadOnlyReport as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/renders", status_code=status.HTTP_201_CREATED, summary="Render a report now")
def render_report(
    name: str,
    ctx: ContextDep,
    viewer: ViewerDep,
    send: Annotated[bool, Query(description="also email it to the report's recipients")] = False,
) -> RenderOut:
    """Renders the report for its period (the last complete week, month or quarter, or
    its custom range), keeps it, and returns where to fetch it."""
    definition = _definition(ctx, name, viewer)
    try:
        run = run_report(ctx, definition, now=datetime.now(UTC))
    except (ReportInputError, PeriodError) as exc:  # a subject deleted since
        raise Problem(422, "Invalid report", str(exc)) from None
    assert run.kept is not None
    kept = run.kept
    if send:
        from services.reports.delivery import send_report

        try:
            send_report(ctx.settings, run.figures, run.rendered, run.kept, context_scope(ctx))
        except DeliveryError as exc:
            raise Problem(
                502, "Report not sent", f"rendered as {run.kept.id}, but not sent: {exc}"
            ) from None
        kept = next((i for i in Renders(ctx.settings.data_dir).list(name) if i.id == kept.id), kept)
    return _out(kept)


@router.get("/{name}/renders", summary="List a report's kept renders")
def list_renders(name: str, ctx: ContextDep, viewer: ViewerDep) -> list[RenderOut]:
    """The kept renders, newest first."""
    _definition(ctx, name, viewer)
    return [_out(info) for info in Renders(ctx.settings.data_dir).list(name)]


@router.get(
    "/{name}/renders/{file}",
    summary="Fetch a kept render",
    response_class=FileResponse,
    responses={200: {"content": {MEDIA["pdf"]: {}, MEDIA["html"]: {}}}},
)
def get_render(name: str, file: str, ctx: ContextDep, viewer: ViewerDep) -> FileResponse:
    """`latest.pdf`, `latest.html`, or a render by id (`20261207T070000Z.pdf`)."""
    _definition(ctx, name, viewer)
    render, _, fmt = file.rpartition(".")
    if fmt not in FORMATS:
        raise Problem(404, "Not found", f"ask for {render or 'latest'}.pdf or .html")
    path = Renders(ctx.settings.data_dir).path(name, render, fmt)
    if path is None:
        raise Problem(404, "Not found", f"report {name!r} has no render {file!r}")
    return FileResponse(
        path,
        media_type=MEDIA[fmt],
        filename=f"{name}-{path.parent.name}.{fmt}",
        content_disposition_type="inline",
        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"},
    )
