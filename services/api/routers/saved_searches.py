"""Saved searches: CRUD, and running one as a search or as stats.

A private saved search is its owner's: to anyone else it does not exist (404), except to
the workspace admins, who answer for what is sent from it: they may read and run it
(`inspect`, written to the audit log first), not change or delete it (403). Its name
is one of the workspace's, so a name held by a search the caller may not see is refused
with the same 422 as an unusable name (services/api/search_viewer.py), never a 409.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.alerting import saved_searches as ss
from services.alerting.saved_search_use import disable_rules_using, rules_using
from services.api.deps import ContextDep, IndexDep, OptionalPrincipalDep, StateDep
from services.api.params import Since, Until, to_utc
from services.api.patching import Changes, patched, stored_fields
from services.api.problems import Problem
from services.api.routers.mentions import MentionPage
from services.api.search_viewer import ViewerDep, record_inspection, unusable_name
from services.api.triage_view import mention_views
from services.core.reports import ReportDefinition, StoredReport
from services.reports.service import definitions
from services.reports.store import Definitions, ReadOnlyReport
from services.stats import aggregates
from services.stats.aggregates import Series
from services.store.contracts import MAX_PAGE_SIZE, Dimension, Interval, SearchRequest, SortOrder
from services.store.state.contract import (
    ConflictError,
    NameTakenError,
    NotFoundError,
    StateStore,
)

router = APIRouter(prefix="/saved-searches", tags=["saved searches"])
log = logging.getLogger("veille.api")


def _find(state: StateStore, name: str) -> ss.SavedSearch | None:
    try:
        return ss.get_saved_search(state, name)
    except NotFoundError:
        return None


def _not_found(name: str) -> Problem:
    return Problem(404, "Not found", f"no saved search is named {name!r}")


def readable(
    state: StateStore,
    name: str,
    viewer: ss.Viewer,
    request: Request,
    principal: OptionalPrincipalDep,
) -> ss.SavedSearch:
    """The saved search as its readers see it (to read, run or export it); a workspace
    admin also reads someone else's private one, once the audit log has recorded it;
    else 404."""
    search = _find(state, name)
    if search is None or not (ss.visible_to(search, viewer.name) or viewer.admin):
        raise _not_found(name)
    if not ss.visible_to(search, viewer.name):
        record_inspection(request, principal, name)
    return search


def _editable(state: StateStore, name: str, viewer: ss.Viewer) -> ss.SavedSearch:
    """The saved search when the viewer may change it: its owner (or anyone when keys are
    off, or it has no owner); 403 for others who see it, admins included; else 404."""
    search = _find(state, name)
    if search is None or not (ss.visible_to(search, viewer.name) or viewer.admin):
        raise _not_found(name)
    if viewer.name is not None and search.owner is not None and search.owner != viewer.name:
        raise Problem(403, "Forbidden", f"saved search {name!r} belongs to {search.owner!r}")
    return search


def _taken(state: StateStore, name: str, viewer: ss.Viewer) -> Exception:
    """What to answer when `name` is taken: the 409 when the viewer may see the search
    holding it (an admin may), else the 422 of an unusable name."""
    holder = _find(state, name)
    if holder is not None and not (ss.visible_to(holder, viewer.name) or viewer.admin):
        return unusable_name()
    return NameTakenError(f"a saved search named {name!r} already exists")


def _save(
    state: StateStore, search: ss.SavedSearchIn, owner: str | None, *, create_only: bool = False
) -> ss.SavedSearch:
    """Writes the search under its own name (ConflictError when `create_only` and the
    name is taken) and returns it as stored."""
    state.put_spec(
        ss.KIND,
        name=search.name,
        spec=ss.to_record_spec(search),
        owner=owner,
        visibility=search.visibility,
        create_only=create_only,
    )
    return ss.get_saved_search(state, search.name)


_utc = to_utc


@router.get("", summary="List saved searches")
def list_saved_searches(state: StateDep, viewer: ViewerDep) -> list[ss.SavedSearch]:
    """The shared saved searches and the caller's private ones, by name (an admin reads
    someone else's private one by its name: `GET /saved-searches/{name}`)."""
    return [s for s in ss.list_saved_searches(state) if ss.visible_to(s, viewer.name)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Save a search")
def create_saved_search(
    search: ss.SavedSearchIn, state: StateDep, viewer: ViewerDep
) -> ss.SavedSearch:
    """Saves a search owned by the caller; 400 (with the position) on a bad query; 409
    when the name is taken by a search the caller sees, 422 (`name`) when by one they do
    not."""
    ss.validate_query(search)
    try:
        return _save(state, search, viewer.name, create_only=True)
    except ConflictError:
        raise _taken(state, search.name, viewer) from None


@router.get("/{name}", summary="Get a saved search")
def get_saved_search(
    name: str, state: StateDep, viewer: ViewerDep, request: Request, principal: OptionalPrincipalDep
) -> ss.SavedSearch:
    """One saved search: shared, or the caller's own; a workspace admin may read someone
    else's private one (the audit log records it: `saved search`, `inspect`)."""
    return readable(state, name, viewer, request, principal)


@router.put("/{name}", summary="Replace a saved search")
def replace_saved_search(
    name: str, search: ss.SavedSearchIn, state: StateDep, viewer: ViewerDep
) -> ss.SavedSearch:
    """Replaces a saved search; only its owner may."""
    if search.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    current = _editable(state, name, viewer)
    ss.validate_query(search)
    return _save(state, search, current.owner)


@router.patch("/{name}", summary="Change or rename a saved search")
def update_saved_search(
    name: str, changes: Changes, ctx: ContextDep, viewer: ViewerDep
) -> ss.SavedSearch:
    """Changes the fields given (`name` renames it); only its owner may. A renamed
    search keeps its alert rules and reports: they follow the new name, all in one
    transaction (a failure leaves the search, its rules and reports as they were). 409
    when the new name is taken by a search the caller sees (422 on `name` when by one
    they do not), or when a report of the workspace YAML uses it (rename it there first)."""
    state = ctx.state
    current = _editable(state, name, viewer)
    search = patched(ss.SavedSearchIn, stored_fields(ss.SavedSearchIn, current), changes)
    ss.validate_query(search)
    if search.name == name:
        return _save(state, search, current.owner)
    store = definitions(ctx)
    reports = [r for r in store.list() if r.saved_search == name]
    fixed = [r.name for r in reports if r.origin == "config"]
    if fixed:
        raise Problem(
            409,
            "Saved search in use",
            f"saved search {name!r} is used by report(s) {', '.join(map(repr, fixed))} of the "
            "workspace YAML: change them there first",
            reports=fixed,
        )
    moved: list[StoredReport] = []
    try:
        state.rename_spec(
            ss.KIND,
            name,
            name=search.name,
            spec=ss.to_record_spec(search),
            owner=current.owner,
            visibility=search.visibility,
            before_delete=lambda: _point_reports(store, reports, search.name, moved),
        )
    except BaseException as exc:
        _point_back(store, moved)  # the transaction rolled back: so do the files
        if isinstance(exc, ConflictError):
            raise _taken(state, search.name, viewer) from None
        raise
    return ss.get_saved_search(state, search.name)


def _point_reports(
    store: Definitions, reports: list[StoredReport], name: str, moved: list[StoredReport]
) -> None:
    """Points the reports at the renamed search (each file replaced at once), noting each
    done in `moved` for `_point_back`."""
    for report in reports:
        fields = stored_fields(ReportDefinition, report)
        try:
            store.put(
                ReportDefinition.model_validate({**fields, "saved_search": name}), create_only=False
            )
        except ReadOnlyReport:  # listed as the API's a moment ago: nothing to follow
            continue
        moved.append(report)


def _point_back(store: Definitions, moved: list[StoredReport]) -> None:
    """Puts back the reports `_point_reports` changed before the rename failed."""
    for report in moved:
        try:
            store.put(
                ReportDefinition.model_validate(stored_fields(ReportDefinition, report)),
                create_only=False,
            )
        except (OSError, ReadOnlyReport) as exc:
            log.error(
                "report %r could not be pointed back at its saved search after a failed "
                "rename (%s): edit it",
                report.name,
                type(exc).__name__,
            )


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a saved search")
def delete_saved_search(
    name: str,
    ctx: ContextDep,
    viewer: ViewerDep,
    force: Annotated[
        bool,
        Query(
            description="delete it even if alert rules or reports use it: its rules are "
            "disabled, its reports refuse to render until edited"
        ),
    ] = False,
) -> Response:
    """Deletes a saved search; only its owner may. 409, listing them, while alert rules or
    reports use it, unless `force=true`."""
    state = ctx.state
    _editable(state, name, viewer)
    rules = rules_using(state, name)
    reports = [r.name for r in definitions(ctx).list() if r.saved_search == name]
    if (rules or reports) and not force:
        users = [f"alert rule {r!r}" for r in rules] + [f"report {r!r}" for r in reports]
        raise Problem(
            409,
            "Saved search in use",
            f"saved search {name!r} is used by {', '.join(users)}: change or delete them "
            "first, or delete with ?force=true (its alert rules are then disabled)",
            alert_rules=rules,
            reports=reports,
        )
    state.delete_spec(ss.KIND, name)
    disable_rules_using(state, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/mentions", summary="Run a saved search")
def run_saved_search(
    name: str,
    state: StateDep,
    index: IndexDep,
    viewer: ViewerDep,
    request: Request,
    principal: OptionalPrincipalDep,
    since: Since = None,
    until: Until = None,
    sort: SortOrder = SortOrder.NEWEST,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MentionPage:
    """The mentions the saved search matches (since/until override its own window)."""
    search = readable(state, name, viewer, request, principal)
    flt = ss.search_filter(search, now=datetime.now(UTC), since=_utc(since), until=_utc(until))
    try:
        page = index.search(SearchRequest(filter=flt, sort=sort, limit=limit, cursor=cursor))
    except ValueError as exc:
        raise Problem(400, "Invalid request", str(exc)) from exc
    return MentionPage(
        total=page.total, mentions=mention_views(state, page.mentions), next_cursor=page.next_cursor
    )


@router.get("/{name}/stats", summary="Saved search volume over time")
def saved_search_stats(
    name: str,
    state: StateDep,
    index: IndexDep,
    viewer: ViewerDep,
    request: Request,
    principal: OptionalPrincipalDep,
    since: Since = None,
    until: Until = None,
    interval: Interval = Interval.DAY,
    split_by: Dimension | None = None,
) -> Series:
    """Counts the saved search's mentions per hour, day or week, optionally split."""
    search = readable(state, name, viewer, request, principal)
    flt = ss.search_filter(search, now=datetime.now(UTC), since=_utc(since), until=_utc(until))
    if flt.since and flt.until and flt.since >= flt.until:
        raise Problem(400, "Invalid time window", "`since` must be before `until`")
    return aggregates.series(index, flt, interval, split_by)
