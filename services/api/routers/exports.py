"""Exports without caps: mentions and every stats answer as CSV, XLSX or NDJSON.

Mentions stream as they are read (constant memory, any number); a large CSV or NDJSON
export is split over worker processes (`export_chunks`). A request that cannot be
served (a query with a syntax error, a bad window, an unknown saved search) gets a
problem document before anything is streamed: the first chunk is made before answering.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.alerting import saved_searches as ss
from services.api.deps import AuthDep, ContextDep, IndexDep, OptionalPrincipalDep, StateDep
from services.api.known_params import known_query_params
from services.api.params import QueryText, Since, Until, mention_filter
from services.api.problems import Problem
from services.api.routers import authors, stats
from services.api.routers.saved_searches import readable
from services.api.search_viewer import ViewerDep
from services.core.query import parse_query
from services.core.query.ast import And, MatchAll
from services.exports import tables
from services.exports.columns import Cell
from services.exports.formats import ExportFormat
from services.exports.mentions import export_chunks
from services.exports.writers import stream
from services.store.contracts import MentionFilter
from services.store.state.contract import StateStore

# A mistyped parameter (`saved=` for `saved_search=`) would export everything: refused.
router = APIRouter(
    prefix="/export", tags=["exports"], dependencies=[AuthDep, Depends(known_query_params)]
)

FormatParam = Annotated[
    ExportFormat,
    Query(description="csv (UTF-8, opens in Excel and LibreOffice), xlsx, or ndjson"),
]
Separator = Literal[",", ";", "\t"]
SeparatorParam = Annotated[
    Separator,
    Query(
        description="CSV column separator: ';' suits a French Excel (decimals then take a comma)",
        examples=[";"],
    ),
]
_FILE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "the file, streamed (Content-Disposition: attachment)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            ExportFormat.XLSX.media_type: {"schema": {"type": "string", "format": "binary"}},
            ExportFormat.NDJSON.media_type: {"schema": {"type": "string"}},
        },
    },
    400: {"description": "a query with a syntax error or a bad window: nothing is streamed"},
}


def watched_names(state: StateStore) -> list[str]:
    """Brands then competitors: one sentiment column each."""
    return [b.name for b in state.list_brands()] + [c.name for c in state.list_competitors()]


def primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Makes the first chunk now, so a request that fails does so before streaming."""
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    except ValueError as exc:  # refused by the index: a bad cursor, a too broad wildcard
        raise Problem(400, "Invalid request", str(exc)) from exc
    return itertools.chain([first], chunks)


def file_response(chunks: Iterator[bytes], fmt: ExportFormat, name: str) -> StreamingResponse:
    """A streamed download named `veille-NAME-<UTC time>.<format>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        primed(chunks),
        media_type=fmt.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="veille-{name}-{stamp}.{fmt.value}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/mentions",
    summary="Export mentions (CSV, XLSX, NDJSON)",
    response_class=StreamingResponse,
    responses=_FILE_RESPONSES,
)
def export_mentions(
    index: IndexDep,
    state: StateDep,
    ctx: ContextDep,
    viewer: ViewerDep,
    request: Request,
    principal: OptionalPrincipalDep,
    q: QueryText = "",
    saved_search: Annotated[
        str | None,
        Query(max_length=200, description="a saved search's name: its query and filters"),
    ] = None,
    since: Since = None,
    until: Until = None,
    format: FormatParam = ExportFormat.CSV,
    sep: SeparatorParam = ",",
) -> StreamingResponse:
    """Every mention matching the query and/or saved search (no cap), oldest first: date
    (UTC), source, community, author, followers, url, language, title, text, brands,
    competitors, sentiment overall and toward each brand and competitor, topics, story,
    engagement. Text that a spreadsheet would run as a formula starts with an apostrophe
    in CSV; XLSX cells are text. A large CSV or NDJSON export (100,000 mentions or more)
    is written by two worker processes, about twice as fast, in the same order."""
    if saved_search is not None:
        search = readable(state, saved_search, viewer, request, principal)
        window = mention_filter("", since, until)
        flt = ss.search_filter(
            search, now=datetime.now(UTC), since=window.since, until=window.until
        )
        if flt.since and flt.until and flt.since >= flt.until:
            raise Problem(400, "Invalid time window", "`since` must be before `until`")
        extra = parse_query(q)
        if not isinstance(extra, MatchAll):
            flt = MentionFilter(query=And((flt.query, extra)), since=flt.since, until=flt.until)
    else:
        flt = mention_filter(q, since, until)
    chunks = export_chunks(
        index,
        flt,
        index_url=ctx.settings.store.index_url,
        names=watched_names(state),
        fmt=format,
        sep=sep,
    )
    return file_response(chunks, format, "mentions")


def stats_chunks(answer: BaseModel, fmt: ExportFormat, *, sheet: str, sep: str) -> Iterator[bytes]:
    """A stats answer's main list as chunks of the format."""
    header, rows = tables.table(answer)
    pairs: list[tuple[list[Cell], dict[str, Any]]] = list(
        zip(rows, tables.records(answer), strict=True)
    )
    return stream(
        fmt,
        header=header,
        items=pairs,
        row=lambda pair: pair[0],
        record=lambda pair: pair[1],
        sheet=sheet,
        delimiter=sep,
    )


def _exporting(name: str, endpoint: Callable[..., BaseModel], summary: str) -> None:
    """Adds GET /export/stats/NAME: the endpoint's parameters, plus format and sep."""
    signature = inspect.signature(endpoint, eval_str=True)
    extra = [
        inspect.Parameter(
            "format",
            inspect.Parameter.KEYWORD_ONLY,
            default=ExportFormat.CSV,
            annotation=FormatParam,
        ),
        inspect.Parameter(
            "sep", inspect.Parameter.KEYWORD_ONLY, default=",", annotation=SeparatorParam
        ),
    ]

    def export(**kwargs: Any) -> StreamingResponse:
        fmt = ExportFormat(kwargs.pop("format"))
        sep = kwargs.pop("sep")
        answer = endpoint(**kwargs)
        return file_response(stats_chunks(answer, fmt, sheet=name, sep=sep), fmt, name)

    export.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra],
        return_annotation=StreamingResponse,
    )
    export.__name__ = f"export_{endpoint.__name__}"
    export.__doc__ = (
        f"The rows of GET {name} (same parameters) as a file: one row per item, nested "
        "counts as columns (`by:negative`)."
    )
    router.add_api_route(
        f"/stats/{name}",
        export,
        methods=["GET"],
        summary=f"Export {summary}",
        response_class=StreamingResponse,
        response_model=None,
        responses=_FILE_RESPONSES,
    )


STATS_EXPORTS: Final[dict[str, tuple[Callable[..., BaseModel], str]]] = {
    "volume": (stats.volume, "volume over time"),
    "sentiment": (stats.sentiment, "sentiment over time"),
    "share-of-voice": (stats.share_of_voice, "share of voice"),
    "breakdown": (stats.breakdown, "a breakdown"),
    "top-terms": (stats.top_terms, "top terms"),
    "authors": (authors.top_authors, "top authors"),
    "communities": (authors.communities, "communities"),
}
for _name, (_endpoint, _summary) in STATS_EXPORTS.items():
    _exporting(_name, _endpoint, _summary)
