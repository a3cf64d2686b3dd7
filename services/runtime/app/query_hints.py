"""The hints of `services.core.query.hints` for one workspace: its brands, competitors
and topics, as the API's search and stats and the CLI's `--query` options show them."""

from __future__ import annotations

from services.core.brand_names import BrandNames
from services.core.query.ast import Node
from services.core.query.hints import (
    CHECKED_FIELDS,
    Known,
    field_filters,
    name_warning,
    query_warnings,
)
from services.runtime.app.context import ServiceContext


def known_names(ctx: ServiceContext) -> Known:
    """The names a query's filters can match in this workspace."""
    return Known(
        names=BrandNames.of(ctx.state),
        topics=[t.name for t in ctx.taxonomy.topics()],
    )


def warnings_for(ctx: ServiceContext, query: Node, *, toward: str | None = None) -> list[str]:
    """Lines for the filters of `query` (and `toward`) that name nothing known."""
    if toward is None and not any(f.field in CHECKED_FIELDS for f in field_filters(query)):
        return []  # most searches: no store read
    known = known_names(ctx)
    lines = query_warnings(query, known)
    if toward is not None and (line := name_warning(toward, known, label=f"toward={toward}")):
        lines.append(line)
    return lines
