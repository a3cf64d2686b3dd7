"""`veille export mentions | stats NAME`: the API's exports from the command line.

Registered on `veille export` by importing this module (see the end of main.py). A file
is written beside its final name and renamed once complete, so an export that fails
(a query with a syntax error, an unknown saved search) leaves nothing behind.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.progress import Progress, TaskID

from services.cli.common import (
    DEFAULT_CONFIG,
    CliError,
    ConfigOpt,
    app,
    console,
    governed_workspace,
    progress_display,
    workspace_context,
)
from services.cli.viewer import AsOpt, can_read, check_viewer
from services.exports.formats import ExportFormat

export_app = typer.Typer(
    help="Export mentions or stats as CSV, XLSX or NDJSON (no cap).", no_args_is_help=True
)
app.add_typer(export_app, name="export")

FormatOpt = Annotated[ExportFormat, typer.Option("--format", "-f", help="csv, xlsx or ndjson")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="file to write (default: standard output; xlsx needs one)"),
]
QueryOpt = Annotated[str, typer.Option("--query", "-q", help="query language, as in the API")]
SinceOpt = Annotated[str | None, typer.Option(help="published at or after: 7d, 12h or ISO 8601")]
UntilOpt = Annotated[str | None, typer.Option(help="published before: 1d or ISO 8601")]
PER_WINDOW = 20_000  # mentions per worker task: about 25 MB of CSV held per task
SepOpt = Annotated[
    str,
    typer.Option("--sep", help="CSV separator: ',', ';' (a French Excel: decimal comma) or 'tab'"),
]


def _time(value: str | None, option: str) -> datetime | None:
    from services.alerting.saved_searches import resolve_time

    try:
        return resolve_time(value, now=datetime.now(UTC))
    except ValueError:
        raise CliError(
            f"{option} {value!r} is not an ISO 8601 date (2026-11-02) nor a relative time (7d)"
        ) from None


def _separator(sep: str) -> str:
    chosen = "\t" if sep == "tab" else sep
    if chosen not in {",", ";", "\t"}:
        raise CliError("--sep must be ',', ';' or 'tab'")
    return chosen


def _check_sink(output: Path | None, fmt: ExportFormat) -> None:
    """Refuses, before any work, an export that could not be written."""
    if output is None and fmt == ExportFormat.XLSX:
        raise CliError("an xlsx export needs --output FILE (a spreadsheet is not text)")


@contextmanager
def _sink(output: Path | None, fmt: ExportFormat) -> Iterator[IO[bytes]]:
    """Standard output, or a temporary file renamed to `output` when all went well."""
    if output is None:
        if fmt == ExportFormat.XLSX:
            raise CliError("an xlsx export needs --output FILE")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = output.with_name(output.name + ".part")
    try:
        with open(partial, "wb") as handle:
            yield handle
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _first_then_rest(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Makes the first chunk before the sink opens: a refused query fails with no file."""
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return _chain(first, chunks)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _refused(exc: Exception) -> CliError:
    """A query or window the API would answer with a 400, as one line."""
    detail = getattr(exc, "detail", None) or str(exc)
    return CliError(f"cannot export: {detail}", code=2)


@export_app.command("mentions")
def export_mentions(
    query: QueryOpt = "",
    saved_search: Annotated[
        str | None, typer.Option("--saved-search", "-s", help="a saved search's name")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: FormatOpt = ExportFormat.CSV,
    output: OutputOpt = None,
    sep: SepOpt = ",",
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=16, help="processes sharing a CSV or NDJSON export (large exports)"
        ),
    ] = 1,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_: AsOpt = None,
) -> None:
    """Every mention matching a query and/or saved search, oldest first, with its date,
    source, author, followers, url, language, text, brands, sentiment (overall and toward
    each brand), topics, story and engagement. Any saved search, private ones included
    (the command line acts as the installation), unless --as."""
    from services.alerting import saved_searches as ss
    from services.api.params import mention_filter
    from services.api.problems import Problem
    from services.api.routers.exports import watched_names
    from services.core.query import QuerySyntaxError, parse_query
    from services.core.query.ast import And, MatchAll
    from services.exports.mentions import index_chunks
    from services.exports.parallel import parallel_chunks, time_windows
    from services.runtime.app.query_hints import warnings_for
    from services.store.contracts import MentionFilter
    from services.store.state.contract import NotFoundError

    _check_sink(output, fmt)
    delimiter = _separator(sep)
    start, end = _time(since, "--since"), _time(until, "--until")
    with governed_workspace(config) as (installation, ctx):
        viewer = check_viewer(installation, as_, ctx.workspace_id)
        ctx.sync_workspace()  # the brands and competitors of the YAML: one column each
        try:
            flt = mention_filter(query, start, end)
            if saved_search is not None:
                search = ss.get_saved_search(ctx.state, saved_search)
                if not can_read(search, viewer):  # as the API answers: unknown, not forbidden
                    raise NotFoundError(saved_search)
                saved = ss.search_filter(search, now=datetime.now(UTC), since=start, until=end)
                extra = parse_query(query)
                both = saved.query if isinstance(extra, MatchAll) else And((saved.query, extra))
                flt = MentionFilter(query=both, since=saved.since, until=saved.until)
        except (QuerySyntaxError, Problem) as exc:
            raise _refused(exc) from None
        except NotFoundError:
            raise CliError(f"no saved search is named {saved_search!r}", code=2) from None
        for line in warnings_for(ctx, flt.query):
            console.print(f"warning: {line}", markup=False, highlight=False)
        total = ctx.index.count(flt)
        with progress_display() as progress:
            task = progress.add_task("exporting mentions", total=total)

            def counted(mentions: Iterator[Any]) -> Iterator[Any]:
                for n, mention in enumerate(mentions, 1):
                    yield mention
                    if n % 1000 == 0:
                        progress.update(task, completed=n)
                progress.update(task, completed=total)

            names = watched_names(ctx.state)
            if workers > 1 and fmt != ExportFormat.XLSX:
                windows = time_windows(ctx.index, flt, per_window=PER_WINDOW)
                chunks = parallel_chunks(
                    ctx.settings.store.index_url,
                    windows,
                    names=names,
                    fmt=fmt,
                    sep=delimiter,
                    workers=workers,
                )
                _write(_lines_counted(_first_then_rest(chunks), progress, task), output, fmt)
            else:
                chunks = index_chunks(
                    ctx.index, flt, names=names, fmt=fmt, sep=delimiter, each=counted
                )
                _write(_first_then_rest(chunks), output, fmt)


def _lines_counted(chunks: Iterator[bytes], progress: Progress, task: TaskID) -> Iterator[bytes]:
    """Advances the progress bar by the lines of each chunk (about one per mention)."""
    for chunk in chunks:
        yield chunk
        progress.advance(task, chunk.count(b"\n"))


def _write(chunks: Iterator[bytes], output: Path | None, fmt: ExportFormat) -> None:
    with _sink(output, fmt) as sink:
        for chunk in chunks:
            sink.write(chunk)


def _stats_endpoints() -> dict[str, Callable[..., BaseModel]]:
    from services.api.routers.exports import STATS_EXPORTS

    return {name: endpoint for name, (endpoint, _) in STATS_EXPORTS.items()}


def _flag(parameter: str) -> str:
    """The command-line option of an endpoint's parameter (`q` is --query)."""
    return "--query" if parameter == "q" else f"--{parameter.replace('_', '-')}"


def _arguments(endpoint: Callable[..., BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    """The options the endpoint takes, checked against its parameters' types and limits."""
    signature = inspect.signature(endpoint, eval_str=True)
    arguments: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        parameter = signature.parameters.get(name)
        if parameter is None:
            takes = ", ".join(_flag(n) for n in given if n in signature.parameters)
            raise CliError(
                f"{_flag(name)} does not apply to this export (it takes {takes})", code=2
            )
        try:
            arguments[name] = TypeAdapter(parameter.annotation).validate_python(value)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]["msg"]
            raise CliError(f"{_flag(name)}: {problem}", code=2) from None
    for name, parameter in signature.parameters.items():
        if name not in arguments and name not in {"index", "state", "ctx"}:  # given below
            if parameter.default is inspect.Parameter.empty:
                raise CliError(f"this export needs {_flag(name)}", code=2)
            arguments[name] = parameter.default
    return arguments


@export_app.command("stats")
def export_stats(
    name: Annotated[
        str,
        typer.Argument(
            help="volume, sentiment, share-of-voice, breakdown, top-terms, authors, communities"
        ),
    ],
    query: QueryOpt = "",
    since: SinceOpt = None,
    until: UntilOpt = None,
    brand: Annotated[str | None, typer.Option(help="share-of-voice, authors, communities")] = None,
    toward: Annotated[str | None, typer.Option(help="sentiment toward a brand")] = None,
    dimension: Annotated[str | None, typer.Option(help="breakdown: author, source...")] = None,
    interval: Annotated[str | None, typer.Option(help="volume, sentiment: hour, day, week")] = None,
    by: Annotated[
        str | None,
        typer.Option(help="authors: mentions, reach, negative; communities: volume, growth"),
    ] = None,
    size: Annotated[int | None, typer.Option(help="how many rows (1-100)")] = None,
    fmt: FormatOpt = ExportFormat.CSV,
    output: OutputOpt = None,
    sep: SepOpt = ",",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """One stats answer's rows, with the API's parameters (default: the last 30 days)."""
    from services.api.problems import Problem
    from services.api.routers.exports import stats_chunks
    from services.core.query import QuerySyntaxError

    endpoints = _stats_endpoints()
    if name not in endpoints:
        raise CliError(f"no stats export is named {name!r}: use one of {', '.join(endpoints)}")
    endpoint = endpoints[name]
    _check_sink(output, fmt)
    delimiter = _separator(sep)
    given = {
        "q": query or None,
        "since": _time(since, "--since"),
        "until": _time(until, "--until"),
        "brand": brand,
        "toward": toward,
        "dimension": dimension,
        "interval": interval,
        "by": by,
        "size": size,
    }
    arguments = _arguments(endpoint, given)
    with workspace_context(config) as ctx:
        ctx.sync_workspace()
        parameters = inspect.signature(endpoint).parameters
        if "index" in parameters:
            arguments["index"] = ctx.index
        if "state" in parameters:
            arguments["state"] = ctx.state
        if "ctx" in parameters:
            arguments["ctx"] = ctx
        try:
            answer = endpoint(**arguments)
        except (QuerySyntaxError, Problem) as exc:
            raise _refused(exc) from None
        for line in getattr(answer, "warnings", None) or ():  # a typo's empty rows say why
            console.print(f"warning: {line}", markup=False, highlight=False)
        chunks = stats_chunks(answer, fmt, sheet=name, sep=delimiter)
        _write(_first_then_rest(chunks), output, fmt)
