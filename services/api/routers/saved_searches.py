"""Saved searches: CRUD, and running one as a search or as stats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.alerting import saved_searches as ss
from services.alerting.saved_search_use import disable_rules_using, retarget_rules, rules_using
from services.api.deps import ContextDep, IndexDep, StateDep, require_api_key
from services.api.params import Since, Until, to_utc
from services.api.patching import Changes, patched, stored_fields
from services.api.problems import Problem
from services.api.routers.mentions import MentionPage
from services.api.triage_view import mention_views
from services.core.reports import ReportDefinition
from services.reports.service import definitions
from services.reports.store import ReadOnlyReport
from services.stats import aggregates
from services.stats.aggregates import Series
from services.store.contracts import MAX_PAGE_SIZE, Dimension, Interval, SearchRequest, SortOrder
from services.store.state.contract import ApiKeyInfo, NotFoundError, StateStore

router = APIRouter(prefix="/saved-searches", tags=["saved searches"])

CallerDep = Annotated[ApiKeyInfo | None, Depends(require_api_key)]


def _owner(caller: ApiKeyInfo | None) -> str | None:
    return caller.name if caller is not None else None


def _visible(state: StateStore, name: str, caller: ApiKeyInfo | None) -> ss.SavedSearch:
    """The saved search, or 404 when absent or private to someone else (no existence leak)."""
    try:
        search = ss.get_saved_search(state, name)
    except NotFoundError:
        search = None
    if search is None or not ss.visible_to(search, _owner(caller)):
        raise Problem(404, "Not found", f"no saved search is named {name!r}")
    return search


def _editable(state: StateStore, name: str, caller: ApiKeyInfo | None) -> ss.SavedSearch:
    search = _visible(state, name, caller)
    owner = _owner(caller)
    if owner is not None and search.owner is not None and search.owner != owner:
        raise Problem(403, "Forbidden", f"saved search {name!r} belongs to {search.owner!r}")
    return search


def _save(
    state: StateStore, search: ss.SavedSearchIn, owner: str | None, *, create_only: bool = False
) -> ss.SavedSearch:
    """Writes the search under its own name (ConflictError, a 409, when `create_only` and
    the name is taken) and returns it as stored."""
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
def list_saved_searches(state: StateDep, caller: CallerDep) -> list[ss.SavedSearch]:
    """The shared saved searches and the caller's private ones, by name."""
    owner = _owner(caller)
    return [s for s in ss.list_saved_searches(state) if ss.visible_to(s, owner)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Save a search")
def create_saved_search(
    search: ss.SavedSearchIn, state: StateDep, caller: CallerDep
) -> ss.SavedSearch:
    """Saves a search owned by the caller's API key; 400 (with the position) on a bad query."""
    ss.validate_query(search)
    return _save(state, search, _owner(caller), create_only=True)


@router.get("/{name}", summary="Get a saved search")
def get_saved_search(name: str, state: StateDep, caller: CallerDep) -> ss.SavedSearch:
    """One saved search (private ones only for their owner)."""
    return _visible(state, name, caller)


@router.put("/{name}", summary="Replace a saved search")
def replace_saved_search(
    name: str, search: ss.SavedSearchIn, state: StateDep, caller: CallerDep
) -> ss.SavedSearch:
    """Replaces a saved search; only its owner may."""
    if search.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    current = _editable(state, name, caller)
    ss.validate_query(search)
    return _save(state, search, current.owner)


@router.patch("/{name}", summary="Change or rename a saved search")
def update_saved_search(
    name: str, changes: Changes, ctx: ContextDep, caller: CallerDep
) -> ss.SavedSearch:
    """Changes the fields given (`name` renames it); only its owner may. A renamed
    search keeps its alert rules and reports: they follow the new name. 409 when the new
    name is taken, or when a report of the workspace YAML uses it (rename it there first)."""
    state = ctx.state
    current = _editable(state, name, caller)
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
    # No transaction spans the state store and the report store: this order (new name,
    # dependants, then delete) leaves a crash with the new name complete, nothing lost.
    renamed = _save(state, search, current.owner, create_only=True)
    retarget_rules(state, name, search.name)
    for report in reports:
        moved = ReportDefinition.model_validate(
            {**stored_fields(ReportDefinition, report), "saved_search": search.name}
        )
        try:
            store.put(moved, create_only=False)
        except ReadOnlyReport:  # listed as the API's a moment ago: nothing to follow
            continue
    state.delete_spec(ss.KIND, name)
    return renamed


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a saved search")
def delete_saved_search(
    name: str,
    ctx: ContextDep,
    caller: CallerDep,
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
    _editable(state, name, caller)
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
    caller: CallerDep,
    since: Since = None,
    until: Until = None,
    sort: SortOrder = SortOrder.NEWEST,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MentionPage:
    """The mentions the saved search matches (since/until override its own window)."""
    search = _visible(state, name, caller)
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
    caller: CallerDep,
    since: Since = None,
    until: Until = None,
    interval: Interval = Interval.DAY,
    split_by: Dimension | None = None,
) -> Series:
    """Counts the saved search's mentions per hour, day or week, optionally split."""
    search = _visible(state, name, caller)
    flt = ss.search_filter(search, now=datetime.now(UTC), since=_utc(since), until=_utc(until))
    if flt.since and flt.until and flt.since >= flt.until:
        raise Problem(400, "Invalid time window", "`since` must be before `until`")
    return aggregates.series(index, flt, interval, split_by)
