"""Sources: CRUD and collection status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from services.api.deps import AuthDep, ContextDep, IndexDep, StateDep
from services.api.problems import Problem
from services.core.models import Source, SourceStatus
from services.core.query import parse_query
from services.core.settings import CollectorSettings
from services.net.guard import AddressGuard, FetchError, RefusedError
from services.runtime.app.source_figures import with_stored_counts
from services.store.state.contract import StateStore

router = APIRouter(prefix="/sources", tags=["sources"], dependencies=[AuthDep])


def _check_editable(state: StateStore, name: str) -> None:
    if state.source_origin(name) == "config":
        raise Problem(
            409,
            "Defined in the config files",
            f"source '{name}' comes from the workspace YAML; edit it there "
            "(then `veille config check`)",
        )


def _validate_query(source: Source) -> None:
    if source.query:
        parse_query(source.query)  # a QuerySyntaxError becomes a 400 with the position


def _check_addresses(source: Source) -> None:
    """A social connector sends the installation's credentials (VEILLE_MASTODON_TOKEN, the
    Reddit and Bluesky logins...) to the address it calls: a source added here may not
    choose that address, or whoever may add a source in any workspace would receive them.
    The operator still can, in the workspace YAML or VEILLE_<KIND>_BASE_URL."""
    if source.kind in ("feed", "web"):
        return
    for option in source.options:
        if option == "instance" or option.endswith("url"):
            raise Problem(
                422,
                "Invalid request",
                f"options.{option}: a {source.kind} source added through the API uses the "
                "platform's address the installation set (its credentials are sent there); "
                "another address is set in the workspace YAML or in "
                f"VEILLE_{source.kind.upper()}_BASE_URL",
                field=f"options.{option}",
            )


#: seconds a save waits for the URL's host to resolve (the run resolves it again anyway).
RESOLVE_SECONDS = 2.0


def _check_allowed(source: Source, settings: CollectorSettings) -> None:
    """422 naming `url` when the collector's address guard would refuse it (a loopback or
    private address outside `collector.allowed_networks`), as a preview of it is: every run
    would fail. A host that does not resolve now is left to the run to report; the run
    checks the address again whatever this says (DNS answers change)."""
    if source.url is None or not source.url.host:
        return
    hint = "allow it with collector.allowed_networks in the settings, then restart the service"
    try:
        AddressGuard.from_settings(settings, hint=hint).check_host(
            source.url.host, source.url.port or 443, timeout=RESOLVE_SECONDS
        )
    except RefusedError as exc:
        raise Problem(
            422,
            "Invalid request",
            f"url: {exc}",
            errors=[{"field": "url", "message": str(exc)}],
        ) from None
    except FetchError:
        return


@router.get("", summary="List sources")
def list_sources(state: StateDep) -> list[Source]:
    """Every configured source."""
    return state.list_sources()


@router.get("/status", summary="Collection status of every source")
def list_statuses(state: StateDep, index: IndexDep) -> list[SourceStatus]:
    """Last run, items and errors of each source; `mentions_stored`: what the analyzer
    kept of its items."""
    return with_stored_counts(index, state.list_source_statuses())


@router.get("/kinds", summary="Kinds of source this installation can collect")
def list_kinds() -> list[dict[str, object]]:
    """`feed`, `web` and every social connector (built in or plugin), enabled or not, with why."""
    from dataclasses import asdict

    from services.collector.social.registry import available_kinds

    builtin = [
        {"kind": kind, "origin": "builtin", "enabled": True, "reason": None}
        for kind in ("feed", "web")
    ]
    return [*builtin, *(asdict(info) for info in available_kinds())]


class PreviewRequest(BaseModel):
    """A URL to preview, with optional forum selectors (as in a source's options)."""

    url: str = Field(min_length=1, max_length=2000, examples=["https://forum.example.org/t/42"])
    selectors: dict[str, Any] | None = None


@router.post("/preview", summary="Preview what a source on a URL would collect")
def preview_source(body: PreviewRequest, ctx: ContextDep) -> dict[str, Any]:
    """Detected kind (feed, forum and its engine, article) and the extracted items."""
    from services.collector.web.forums import load_selectors
    from services.collector.web.preview import PreviewError, preview

    try:
        selectors = load_selectors(body.selectors) if body.selectors else None
    except ValueError as exc:
        raise Problem(400, "Invalid selectors", str(exc)) from None
    try:
        return preview(body.url, ctx.settings.collector, selectors=selectors).to_json()
    except PreviewError as exc:
        raise Problem(422, "Cannot preview this URL", str(exc)) from None


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a source")
def create_source(source: Source, state: StateDep, ctx: ContextDep) -> Source:
    """Adds a source; it is polled from its next interval on. A URL on a loopback or
    private address is a 422 unless `collector.allowed_networks` allows it."""
    _validate_query(source)
    _check_addresses(source)

    _check_allowed(source, ctx.settings.collector)
    state.put_source(source, origin="api", create_only=True)
    ctx.notify_sources_changed()
    return state.get_source(source.name)


@router.get("/{name}", summary="Get a source")
def get_source(name: str, state: StateDep) -> Source:
    """One source by name (409 when its stored form no longer validates)."""
    return state.get_source(name)


@router.get("/{name}/status", summary="Collection status of a source")
def get_status(name: str, state: StateDep, index: IndexDep) -> SourceStatus:
    """Last run, items and errors of one source; `mentions_stored`: what the analyzer
    kept of its items."""
    return with_stored_counts(index, [state.source_status(name)])[0]


@router.put("/{name}", summary="Replace a source")
def replace_source(name: str, source: Source, state: StateDep, ctx: ContextDep) -> Source:
    """Replaces a source added through the API."""
    if source.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    _check_editable(state, name)  # NotFoundError when absent; an unreadable row is replaced
    _validate_query(source)
    _check_addresses(source)

    _check_allowed(source, ctx.settings.collector)
    state.put_source(source, origin="api")
    ctx.notify_sources_changed()
    return state.get_source(name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a source")
def delete_source(name: str, state: StateDep, ctx: ContextDep) -> Response:
    """Deletes a source added through the API; its mentions stay."""
    _check_editable(state, name)  # NotFoundError when absent; an unreadable row can go
    state.delete_source(name)
    ctx.notify_sources_changed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
