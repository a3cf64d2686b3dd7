"""`veille train` and `veille reanalyze`: the analyst's loop (correct, retrain, re-analyze).

Registered on the main `veille` app by importing this module (see the end of main.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID
from rich.table import Table

from services.cli.common import (
    DEFAULT_CONFIG,
    CliError,
    ConfigOpt,
    app,
    console,
    out,
    progress_display,
    workspace_context,
)

#: Where `veille train` looks for the base data when --base-data is not given, under the
#: configuration's data_dir.
BASE_DATA_IN_DATA_DIR = Path("base-data") / "umsab"


@app.command()
def train(
    config: ConfigOpt = DEFAULT_CONFIG,
    base_data: Annotated[
        Path | None,
        typer.Option(
            "--base-data",
            envvar="VEILLE_BASE_DATA",
            help="UMSAB folder (french/ and english/ train and val files); "
            "default: base-data/umsab under the configuration's data_dir",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="use the new head even if it scores worse")
    ] = False,
) -> None:
    """Retrain the sentiment head and the topic heads from analysts' corrections.

    Sentiment: corrections plus the base data; topics: corrections plus the taxonomy.
    Reports before/after figures on held-back corrections (and UMSAB val)."""
    from services.analyzer.sentiment.head import load_head
    from services.runtime.training.examples import TrainingError
    from services.runtime.training.sentiment_head import train_head

    with workspace_context(config) as ctx:
        corrections = ctx.state.current_corrections()
        skipped: list[str] = []
        with progress_display(unit="texts") as progress:
            tasks: dict[str, TaskID] = {}

            def advance(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done, total=total)

            topics_trained = _train_topics(ctx, corrections, force, advance, skipped)
            # French texts may have their own head (analyzer.french_sentiment: tuned).
            heads = [False, True] if ctx.analyzer.routes_french else [False]
            reports, refused = [], []
            for french in heads:
                reader = ctx.analyzer.reader("fr" if french else None)
                try:
                    reports.append(
                        train_head(
                            ctx.analyzer,
                            corrections,
                            # Retrain from the shipped (or configured) head, not the last result.
                            start_from=load_head(
                                None if french else ctx.settings.analyzer.sentiment_head,
                                embedding_name=reader.embedder.name,
                            ),
                            data_dir=Path(ctx.settings.data_dir),
                            base_data=base_data
                            or Path(ctx.settings.data_dir) / BASE_DATA_IN_DATA_DIR,
                            force=force,
                            progress=advance,
                            french=french,
                        )
                    )
                except TrainingError as exc:
                    refused.append(str(exc))
        refused = list(dict.fromkeys(refused))  # "only 3 corrections" once, not per head
        if not reports and not topics_trained:
            raise CliError("; ".join([*refused, *skipped]))
        for reason in skipped:
            out.print(f"[yellow]topic heads not trained[/yellow]: {reason}", highlight=False)
        for reason in refused:
            out.print(f"[yellow]sentiment head not trained[/yellow]: {reason}", highlight=False)
        for report in reports:
            _print_report(ctx, report)


def _print_report(ctx: Any, report: Any) -> None:
    """One head's figures, where it was written, and whether it is now in use."""
    table = Table(
        "", "examples", "macro-F1 before", "after", "accuracy before", "after", title=report.title
    )
    for name, before, after in (
        ("held-back corrections", report.held_back_before, report.held_back_after),
        ("UMSAB val (base)", report.base_val_before, report.base_val_after),
    ):
        table.add_row(
            name,
            str(before.count),
            f"{before.macro_f1:.3f}",
            f"{after.macro_f1:.3f}",
            f"{before.accuracy:.3f}",
            f"{after.accuracy:.3f}",
        )
    out.print(table)
    out.print(
        f"trained on {report.trained_on} corrections (weight {report.correction_weight:.1f} "
        f"each) and {report.base_examples} base examples; {report.held_back} held back"
    )
    out.print(f"wrote {report.head}.npz (previous head: {report.previous})", markup=False)
    if report.adopted:
        out.print(f"[green]in use from now on[/green]: {report.reason}")
        if ctx.settings.analyzer.sentiment_head is not None and not report.french:
            out.print(
                "[yellow]but analyzer.sentiment_head is set in the settings and wins: "
                "remove it to use the trained head[/yellow]"
            )
        out.print(
            "restart `veille up` to analyze with it, and run `veille reanalyze --since ...` "
            "to relabel stored mentions"
        )
    else:
        out.print(
            f"[yellow]not used[/yellow]: {report.reason} (--force uses it anyway)",
            highlight=False,
        )


def _train_topics(
    ctx: Any, corrections: list[dict[str, Any]], force: bool, advance: Any, skipped: list[str]
) -> bool:
    """Trains and reports the topic heads; a reason to `skipped` when it cannot."""
    from services.runtime.training.examples import TrainingError
    from services.runtime.training.topic_heads import train_topic_heads

    try:
        report = train_topic_heads(
            ctx.analyzer,
            corrections,
            topics=ctx.taxonomy.load()[0],
            data_dir=Path(ctx.settings.data_dir),
            force=force,
            progress=advance,
        )
    except TrainingError as exc:
        skipped.append(str(exc))
        return False
    out.print("topics, micro-averaged on the held-back topic corrections:")
    table = Table("examples", "P before", "after", "R before", "after", "F1 before", "after")
    before, after = report.before, report.after
    table.add_row(
        str(before.count),
        *(f"{x:.3f}" for x in (before.precision, after.precision, before.recall, after.recall)),
        f"{before.f1:.3f}",
        f"{after.f1:.3f}",
    )
    out.print(table)
    out.print(
        f"topic heads trained on {report.trained_on} corrections and the taxonomy; "
        f"{report.held_back} held back; wrote {report.heads}.npz (previous: {report.previous})",
        markup=False,
    )
    if report.adopted:
        out.print(
            f"[green]topic heads in use from the analyzer's next batch[/green]: {report.reason}; "
            "`veille reanalyze --since ...` relabels stored mentions"
        )
    else:
        out.print(f"[yellow]topic heads not used[/yellow]: {report.reason} (--force uses them)")
    return True


@app.command()
def reanalyze(
    config: ConfigOpt = DEFAULT_CONFIG,
    since: Annotated[
        str | None,
        typer.Option(help="mentions published at or after: 30d, 12h, or an ISO 8601 date"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="published before (same forms)")] = None,
    query: Annotated[str, typer.Option("--query", "-q", help="only mentions matching")] = "",
    resume: Annotated[
        str | None, typer.Option(help="resume the job with this id where it stopped")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="mentions per batch")] = 32,
    nice: Annotated[
        int, typer.Option(min=0, max=19, help="lower this process's CPU priority by this much")
    ] = 10,
) -> None:
    """Re-run the analyzer over stored mentions (after a new head, brand or topic change).

    Small resumable batches, in its own low-priority process; analyst corrections stay."""
    from services.alerting.saved_searches import resolve_time
    from services.core.models import utcnow
    from services.runtime.workers.reanalyze import job_spec, run_job

    if (since is None) == (resume is None):
        raise CliError("give --since (a new job) or --resume JOB (a stopped one)", code=2)
    if nice and hasattr(os, "nice"):
        os.nice(nice)  # collection and the API, in other processes, come first
    with workspace_context(config) as ctx:
        if resume is not None:
            job = ctx.state.get_reanalysis_job(resume)
        else:
            now = utcnow()
            try:
                start, end = resolve_time(since, now=now), resolve_time(until, now=now)
            except ValueError:
                raise CliError(
                    "--since/--until: use 30d, 12h, or an ISO 8601 date", code=2
                ) from None
            assert start is not None
            try:
                spec = job_spec(since=start, until=end, query=query)
            except ValueError as exc:
                raise CliError(str(exc), code=2) from None
            job = ctx.state.create_reanalysis_job(spec)
        console.print(f"re-analysis job {job['id']}: {job['spec']}", highlight=False)
        with progress_display() as progress:
            task = progress.add_task("re-analyzing", total=job["total"])
            try:
                job = run_job(
                    ctx,
                    job["id"],
                    batch_size=batch_size,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except KeyboardInterrupt:
                ctx.state.update_reanalysis_job(job["id"], status="pending")
                console.print(f"stopped; resume with: veille reanalyze --resume {job['id']}")
                raise typer.Exit(130) from None
        console.print(f"re-analyzed {job['done']} mention(s); job {job['id']} is {job['status']}")
