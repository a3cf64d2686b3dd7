"""`veille report list | run | preview`: render reports from the command line.

Registered on `veille report` by importing this module (see the end of main.py).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from services.alerting.secret_scope import context_scope
from services.cli.common import (
    DEFAULT_CONFIG,
    CliError,
    ConfigOpt,
    app,
    console,
    governed_workspace,
    keep_whole,
    out,
    workspace_context,
)
from services.cli.viewer import AsOpt, check_viewer, hidden_from, search_label

report_app = typer.Typer(
    help="Reports: render them to PDF or HTML, preview them, list them.", no_args_is_help=True
)
app.add_typer(report_app, name="report")


@report_app.command("list")
def report_list(config: ConfigOpt = DEFAULT_CONFIG, as_: AsOpt = None) -> None:
    """Show the reports: the workspace YAML's and those defined over the API; a report on
    a private saved search says whose; with --as, one NAME may not see is left out."""
    from services.alerting import saved_searches as ss
    from services.reports.service import definitions

    with governed_workspace(config) as (installation, ctx):
        viewer = check_viewer(installation, as_, ctx.workspace_id)
        ctx.sync_workspace()
        searches = {s.name: s for s in ss.list_saved_searches(ctx.state)}
        secret = hidden_from(searches, viewer)
        table = Table("name", "subject", "period", "language", "schedule", "origin")
        for d in definitions(ctx).list():
            if d.saved_search in secret:
                continue
            subject = d.brand or ""
            if d.saved_search:
                search = search_label(searches, d.saved_search)
                subject = f"{subject} + {search}" if subject else search
            schedule = f"{d.schedule.every} {d.schedule.at} {d.timezone}" if d.schedule else "-"
            table.add_row(d.name, subject, d.period, d.language, schedule, d.origin)
        out.print(keep_whole(table, 0))


def _render(
    config: Path, name: str, *, output: Path | None, pdf: bool, keep: bool, send: bool
) -> Path | None:
    from services.alerting.notifiers.base import DeliveryError
    from services.reports.delivery import send_report
    from services.reports.period import PeriodError
    from services.reports.service import ReportInputError, definitions, run_report
    from services.reports.store import InvalidDefinition, ReportNotFound

    with workspace_context(config) as ctx:
        ctx.sync_workspace()
        store = definitions(ctx)
        try:
            definition = store.get(name)
        except ReportNotFound:
            known = ", ".join(d.name for d in store.list()) or "none yet"
            raise CliError(f"no report is named {name!r} (reports: {known})", code=2) from None
        except InvalidDefinition as exc:
            raise CliError(str(exc), code=2) from None
        started = time.perf_counter()
        try:
            run = run_report(ctx, definition, now=datetime.now(UTC), pdf=pdf, keep=keep)
        except (ReportInputError, PeriodError) as exc:
            raise CliError(f"report {name!r}: {exc}", code=2) from None
        total = time.perf_counter() - started
        if output is not None:
            if pdf:
                assert run.rendered.pdf is not None
                output.write_bytes(run.rendered.pdf)
            else:
                output.write_text(run.rendered.html, encoding="utf-8")
        console.print(
            f"rendered {name!r} ({run.figures.window.first_day} to "
            f"{run.figures.window.last_day}) in {total:.2f} s "
            f"(figures {total - run.rendered.seconds:.2f} s, HTML and charts "
            f"{run.rendered.html_seconds:.2f} s"
            + (
                f", PDF {run.rendered.pdf_seconds:.2f} s, {run.rendered.pages} pages)"
                if pdf
                else ")"
            )
        )
        if run.kept is not None:
            console.print(
                f"kept as {run.kept.id}: /api/v1/reports/{name}/renders/{run.kept.id}."
                + ("pdf" if pdf else "html")
            )
        if send:
            assert run.kept is not None
            try:
                delivery = send_report(
                    ctx.settings, run.figures, run.rendered, run.kept, context_scope(ctx)
                )
            except DeliveryError as exc:
                raise CliError(f"report {name!r} was rendered but not sent: {exc}") from None
            console.print(f"sent to {len(delivery.sent)} recipient(s)")
            for failure in delivery.failed:
                console.print(f"not sent to {failure.recipient}: {failure.reason}", markup=False)
    return output


@report_app.command("run")
def report_run(
    name: Annotated[str, typer.Argument(help="the report's name (veille report list)")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write it here: report.pdf or report.html"),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep/--no-keep", help="also keep it under the data directory (served by the API)"
        ),
    ] = True,
    send: Annotated[bool, typer.Option("--send", help="email it to its recipients")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Render a report for its period: the last complete week, month or quarter, or its
    custom dates."""
    pdf = True
    if output is not None:
        suffix = output.suffix.lower()
        if suffix not in {".pdf", ".html", ".htm"}:
            raise CliError(f"--output {output}: name a .pdf or .html file", code=2)
        pdf = suffix == ".pdf"
        if not output.parent.is_dir():
            raise CliError(f"--output {output}: folder {output.parent} does not exist", code=2)
    _render(config, name, output=output, pdf=pdf or send, keep=keep or send, send=send)
    if output is not None:
        out.print(str(output))


@report_app.command("preview")
def report_preview(
    name: Annotated[str, typer.Argument(help="the report's name (veille report list)")],
    port: Annotated[
        int | None,
        typer.Option(help="serve the HTML on http://127.0.0.1:PORT/ until Ctrl-C"),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Render a report's HTML to a temporary file (nothing kept), or serve it locally."""
    folder = Path(tempfile.mkdtemp(prefix="veille-report-"))
    target = folder / "index.html"
    _render(config, name, output=target, pdf=False, keep=False, send=False)
    if port is None:
        out.print(str(target))
        return
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        console.print(f"preview on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


@report_app.command("renders")
def report_renders(
    name: Annotated[str, typer.Argument(help="the report's name (veille report list)")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Show a report's kept renders, newest first: its period, and who it was emailed to
    (and who it could not be sent to, and why)."""
    from services.reports.service import definitions
    from services.reports.store import Renders, ReportNotFound

    with workspace_context(config) as ctx:
        try:
            definitions(ctx).get(name)
        except ReportNotFound:
            raise CliError(f"no report is named {name!r}", code=2) from None
        table = Table("id", "since", "until", "sent to", "not sent to")
        infos = Renders(ctx.settings.data_dir).list(name)
        for info in infos:
            sent = "-" if info.sent_to is None else str(info.sent_to)
            table.add_row(
                info.id, info.since.isoformat(), info.until.isoformat(), sent, str(len(info.failed))
            )
        out.print(keep_whole(table, 0))
        for info in infos:  # one line each, whole: an address is never wrapped
            for failure in info.failed:
                out.print(
                    f"{info.id}: not sent to {failure.recipient}: {failure.reason}",
                    markup=False,
                    soft_wrap=True,
                )
