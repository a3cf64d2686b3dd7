"""`veille retention ...`, `veille erase`, `veille gdpr export`: data governance.

Registered by importing this module (see the end of main.py). Output names counts and
job ids, never an erased identifier.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from services.cli.common import (
    DEFAULT_CONFIG,
    CliError,
    ConfigOpt,
    app,
    console,
    governed_workspace,
    out,
    selected_workspace,
)
from services.cli.common import workspace_context as _context
from services.cli.tenancy_cli import record_audit

# allow_archived=True below: an archived workspace's personal data must stay erasable,
# exportable and expiring.

retention_app = typer.Typer(
    help="Retention: how long mentions are kept per kind of source.", no_args_is_help=True
)
erasure_app = typer.Typer(help="Erasures: lift one that holds.", no_args_is_help=True)
gdpr_app = typer.Typer(help="Personal data: exports for the right of access.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(erasure_app, name="erasure")


@retention_app.command("show")
def retention_show(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Show the days kept per source kind, and the last runs."""
    from services.runtime.governance.retention import check_configured, effective_policy

    with _context(config, allow_archived=True) as ctx:
        check_configured(ctx)
        table = Table("kind", "days kept", "set in")
        for entry in effective_policy(ctx):
            table.add_row(entry.kind, str(entry.days), entry.origin)
        out.print(table)
        runs = Table("run", "when", "trigger", "deleted")
        for run in ctx.governance.retention_runs(limit=5):
            counts = ", ".join(f"{k} {n}" for k, n in run.deleted.items()) or "-"
            label = f"{run.trigger}{' (dry run)' if run.dry_run else ''}"
            runs.add_row(str(run.id), f"{run.started_at:%Y-%m-%d %H:%M}", label, counts)
        out.print(runs)


@retention_app.command("apply")
def retention_apply(
    config: ConfigOpt = DEFAULT_CONFIG,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be deleted, delete nothing")
    ] = False,
) -> None:
    """Delete the mentions older than their kind's retention (as `veille up` does daily)."""
    from services.runtime.governance.retention import RetentionError, apply_retention

    with _context(config, allow_archived=True) as ctx:
        try:
            run = apply_retention(ctx, dry_run=dry_run, trigger="cli")
        except RetentionError as exc:
            raise CliError(str(exc), code=2) from None
        verb = "would delete" if dry_run else "deleted"
        if not run.policy:
            console.print("no retention is set (settings.retention.days): nothing deleted")
        for kind, count in run.deleted.items():
            out.print(f"{kind}: {verb} {count}")


@app.command("erase")
def erase(
    config: ConfigOpt = DEFAULT_CONFIG,
    author: Annotated[
        str | None, typer.Option(help="an author handle: their posts and posts naming them")
    ] = None,
    text: Annotated[
        str | None, typer.Option(help="a free-text identifier: posts whose text has it")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="only finish the erasures a stopped process left")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=500, help="mentions deleted per step recorded")
    ] = 200,
) -> None:
    """Erase everything by or about an author or an identifier; print the receipt (JSON).

    Mentions, their corrections, triage and alert samples, the notes quoting them, and
    the report renders quoting them go; new posts by or about it are dropped while the
    erasure holds."""
    from services.runtime.governance.erasure import (
        LEASE_SECONDS,
        ErasureInputError,
        receipt,
        resume_erasures,
        start_erasure,
    )

    asked = [name for name, value in (("--author", author), ("--text", text)) if value is not None]
    if resume and asked:
        raise CliError("--resume takes no --author or --text", code=2)
    if not resume and len(asked) != 1:
        raise CliError("give one of --author HANDLE or --text IDENTIFIER", code=2)
    workspace = selected_workspace["workspace"]
    with governed_workspace(config, allow_archived=True) as (inst, ctx):
        # With --resume, wait for the lease of a killed process's job to lapse.
        wait = LEASE_SECONDS + 5 if resume else 0.0
        for job in resume_erasures(ctx, batch_size=batch_size, wait=wait):
            if job.status != "running":
                console.print(f"finished the interrupted erasure {job.id}")
                out.print_json(json.dumps(receipt(job), default=str))
            else:
                console.print(f"erasure {job.id} is being run by another process")
        if resume:
            return
        kind, identifier = ("author", author) if author is not None else ("text", text)
        assert identifier is not None
        try:
            job = start_erasure(
                ctx, kind=kind, identifier=identifier, batch_size=batch_size, requested_by="cli"
            )
        except ErasureInputError as exc:
            raise CliError(str(exc), code=2) from None
        # The receipt's id links the audit line to the receipt; the identifier stays out.
        record_audit(inst, workspace=workspace, kind="erasure", action="create", target=job.id)
        out.print_json(json.dumps(receipt(job), default=str))


@erasure_app.command("lift")
def erasure_lift(
    erasure_id: Annotated[str, typer.Argument(help="the erasure's id (its receipt's `id`)")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Stop an erasure holding: new posts by or about it are accepted again (what it
    erased stays erased); recorded in the audit log. Prints the receipt."""
    from services.runtime.governance.erasure import ErasureInputError, lift_erasure, receipt
    from services.store.state.contract import NotFoundError

    workspace = selected_workspace["workspace"]
    with governed_workspace(config, allow_archived=True) as (inst, ctx):
        try:
            job = lift_erasure(ctx, erasure_id)
        except NotFoundError:
            raise CliError(f"no erasure has the id {erasure_id!r}", code=2) from None
        except ErasureInputError as exc:
            raise CliError(str(exc), code=2) from None
        record_audit(inst, workspace=workspace, kind="erasure", action="lift", target=job.id)
        out.print_json(json.dumps(receipt(job), default=str))


@gdpr_app.command("export")
def gdpr_export(
    author: Annotated[str, typer.Option(help="the author handle")],
    config: ConfigOpt = DEFAULT_CONFIG,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """Export everything held by or about an author, as JSON (right of access)."""
    from services.runtime.governance.access import author_data
    from services.runtime.governance.erasure import ErasureInputError

    with _context(config, allow_archived=True) as ctx:
        try:
            data = author_data(ctx, author)
        except ErasureInputError as exc:
            raise CliError(str(exc), code=2) from None
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if output is None:
            sys.stdout.write(text + "\n")
        else:
            output.write_text(text + "\n", encoding="utf-8")
            console.print(
                f"wrote {len(data['mentions_by_author'])} mentions by the author and "
                f"{len(data['mentions_about_author'])} about them to {output}"
            )
