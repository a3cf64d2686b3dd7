"""Running a report: check its definition against the workspace, compute its figures,
render it, keep it under the data directory. Shared by the API, the CLI and the scheduler."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from services.alerting import saved_searches as ss
from services.core.reports import ReportDefinition
from services.reports.figures import ReportFigures, compute
from services.reports.period import windows
from services.reports.store import Definitions, RenderInfo, Renders, render_id
from services.store.state.contract import NotFoundError, StateStore

if TYPE_CHECKING:
    from services.core.settings import Settings
    from services.core.workspace import Workspace
    from services.reports.render import Rendered
    from services.store.contracts import MentionIndex

log = logging.getLogger("veille.reports")


class ReportServices(Protocol):
    """What running a report needs of the service (the runtime's ServiceContext is one):
    reports sit below the runtime and never import it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def workspace(self) -> Workspace: ...
    @property
    def state(self) -> StateStore: ...
    @property
    def index(self) -> MentionIndex: ...


class ReportInputError(ValueError):
    """The definition names something the workspace does not hold."""


def check_subject(definition: ReportDefinition, state: StateStore) -> None:
    """Raises ReportInputError when the brand or the saved search is unknown."""
    if definition.brand:
        known = [b.name for b in state.list_brands()]
        if definition.brand not in known:  # written as the workspace writes it
            raise ReportInputError(
                f"no brand is named {definition.brand!r} (known: {', '.join(known) or 'none'})"
            )
    if definition.saved_search:
        try:
            ss.get_saved_search(state, definition.saved_search)
        except NotFoundError:
            raise ReportInputError(
                f"no saved search is named {definition.saved_search!r}"
            ) from None


def definitions(ctx: ReportServices) -> Definitions:
    """The report definitions of this workspace."""
    return Definitions(ctx.settings.data_dir, ctx.workspace.reports)


@dataclass(frozen=True)
class ReportRun:
    figures: ReportFigures
    rendered: Rendered
    kept: RenderInfo | None


def run_report(
    ctx: ReportServices,
    definition: ReportDefinition,
    *,
    now: datetime,
    pdf: bool = True,
    keep: bool = True,
) -> ReportRun:
    """Computes and renders a report for the period ending before `now`; keeps it under
    `<data_dir>/reports/` when `keep`."""
    from services.reports.render import render  # matplotlib and Jinja2: only when rendering

    check_subject(definition, ctx.state)
    window, previous = windows(definition, now=now)
    figures = compute(
        definition, index=ctx.index, state=ctx.state, window=window, previous=previous, now=now
    )
    rendered = render(figures, pdf=pdf)
    kept = None
    if keep:
        info = RenderInfo(
            report=definition.name,
            id=render_id(now),
            since=window.since,
            until=window.until,
            formats=["html", "pdf"] if pdf else ["html"],
            seconds=rendered.seconds,
        )
        kept = Renders(ctx.settings.data_dir).save(info, html=rendered.html, pdf=rendered.pdf)
        log.info("report %s rendered in %.2f s (%s)", definition.name, rendered.seconds, info.id)
    return ReportRun(figures, rendered, kept)
