"""The `veille` command line.

Every command reads the workspace in `--config` (default: ./config) and layers
settings: defaults < config/*.yaml < VEILLE_* environment < command-line flags.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column, Table

from services.cli.common import (
    DEFAULT_CONFIG,
    CliError,
    ConfigOpt,
    alerts_app,
    app,
    console,
    governed_workspace,
    interrupted,
    keep_whole,
    one_line_help,
    out,
    topics_app,
)
from services.cli.common import fail as _fail
from services.cli.common import load_config as _load
from services.cli.common import progress_display as _progress
from services.cli.common import selected_workspace as _selected
from services.cli.common import workspace_context as _context
from services.cli.figures import run_figures
from services.cli.viewer import AsOpt
from services.core.models import utcnow
from services.core.workspace import ConfigError
from services.runtime.app.context import ServiceContext

if TYPE_CHECKING:
    from services.alerting.rule_file import RuleDocument
    from services.core.settings import Settings

config_app = typer.Typer(help="Check the workspace configuration.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
sources_app = typer.Typer(help="Inspect sources.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(sources_app, name="sources")
app.add_typer(topics_app, name="topics")
app.add_typer(alerts_app, name="alerts")

log = logging.getLogger("veille.cli")


def _drain_with_progress(ctx: ServiceContext, description: str) -> int:
    from services.runtime.workers.analysis import drain

    pending = ctx.state.inbox_counts().get("pending", 0)
    if not pending:
        return 0
    with _progress() as progress:
        task = progress.add_task(description, total=pending)
        outcome = drain(ctx, progress=lambda n: progress.advance(task, n))
    console.print(
        f"analyzed {outcome.claimed}: {outcome.stored} stored, "
        f"{outcome.dropped} not matching their source's filter"
        + (f", [red]{outcome.failed} failed (kept in the inbox)[/red]" if outcome.failed else "")
    )
    return outcome.failed


def _import_demo_if_empty(ctx: ServiceContext) -> None:
    from services.cli.demo_cli import demo_removed_marker
    from services.runtime.data.importer import demo_items
    from services.store.contracts import MentionFilter

    if (
        not ctx.settings.demo_data
        or demo_removed_marker(ctx).exists()
        or ctx.index.count(MentionFilter()) > 0
    ):
        return
    items = demo_items()
    queued = ctx.state.enqueue_items(items)
    console.print(f"importing {queued} demo mentions (settings.demo_data: false to skip)")
    _drain_with_progress(ctx, "analyzing demo mentions")


# -- commands ----------------------------------------------------------------------


@app.command()
def up(
    config: ConfigOpt = DEFAULT_CONFIG,
    host: Annotated[str | None, typer.Option(help="API host (settings.api.host)")] = None,
    port: Annotated[int | None, typer.Option(help="API port (settings.api.port)")] = None,
    demo: Annotated[
        bool | None, typer.Option("--demo/--no-demo", help="import demo data into an empty store")
    ] = None,
    no_api: Annotated[
        bool,
        typer.Option(
            "--no-api",
            help="run every workspace's collector, analyzer, alerts, reports and retention, "
            "without the API (the worker of a split deployment, beside `veille api`)",
        ),
    ] = False,
) -> None:
    """Start the whole service: collectors, analyzer and API, on one machine."""
    import uvicorn

    from services.api.app import create_app
    from services.runtime.app.workspaces import Installation
    from services.runtime.workers.workspace_loops import WorkspaceLoops

    overrides = {"api.host": host, "api.port": port, "demo_data": demo}
    _selected["workspace"] = "default"  # `up` runs them all
    with _context(config, overrides) as default:
        if not no_api:
            _check_port_free(default.settings.api.host, default.settings.api.port)
        installation = Installation(default, config_dir=config)
        # Every workspace not archived gets its own collector, analyzer, alerts, reports and
        # retention, over its own stores; one created or archived while `up` runs is
        # started or stopped by the same loops.
        loops = WorkspaceLoops(
            installation,
            prepare=lambda ctx: _import_demo_if_empty(ctx) if ctx is default else None,
        )
        try:
            # Inside the try: a Ctrl-C while the loops start (the collector may already be
            # fetching) still stops what runs, instead of leaving its threads behind.
            loops.start()
            if no_api:
                console.print(
                    f"Veille's loops are up ({len(installation.live_workspaces())} "
                    "workspace(s)), without the API; Ctrl-C stops them."
                )
                _wait_forever()
                return
            api = default.settings.api
            console.print(
                f"Veille is up ({len(installation.live_workspaces())} workspace(s)): dashboard "
                f"on http://{api.host}:{api.port}/dashboard/, API on "
                f"http://{api.host}:{api.port}/api/v1 (docs: http://{api.host}:{api.port}/docs)."
                " Ctrl-C stops it."
            )
            uvicorn.run(
                create_app(default, installation=installation),
                host=api.host,
                port=api.port,
                log_config=None,
                access_log=False,
            )
        finally:
            console.print("stopping: finishing the current collection and analysis…")
            loops.stop()
            installation.close()


def _check_port_free(host: str, port: int) -> None:
    """Refuses to start, before anything runs, when the API's port is taken (uvicorn
    would fail only after "Veille is up" was printed)."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OSError as exc:
        raise CliError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): another program (a "
            "Veille already running?) may hold it; stop it or choose another port: "
            "`veille up --port 8001`, `make up PORT=8001`, or settings.api.port"
        ) from None


@app.command()
def collect(
    config: ConfigOpt = DEFAULT_CONFIG,
    once: Annotated[bool, typer.Option("--once", help="poll each source once, then exit")] = False,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="only this source (repeatable)")
    ] = None,
    lease_seconds: Annotated[
        float,
        typer.Option(min=5, help="scheduled mode: a dead collector's sources move after this long"),
    ] = 90.0,
) -> None:
    """Poll sources: once (`--once`), or on their intervals until Ctrl-C.

    Sources are shared with every other `veille collect` on the same state store."""
    from services.collector.scheduler import CollectorScheduler

    with _context(config) as ctx:
        ctx.sync_workspace()
        scheduler = CollectorScheduler(
            ctx.state, ctx.settings.collector, sources_provider=ctx.state.list_sources
        )
        if not once:
            from services.runtime.app.shared_collector import shared_scheduler

            scheduler = shared_scheduler(ctx, lease_seconds=lease_seconds)
            scheduler.start()
            console.print(
                f"collecting {len(scheduler.scheduled_sources())} source(s) on their intervals, "
                "shared with other collectors; Ctrl-C stops"
            )
            try:
                _wait_forever()
            finally:
                scheduler.shutdown()
            return
        known = {s.name for s in ctx.state.list_sources()}
        unknown = [name for name in source or [] if name not in known]
        if unknown:
            raise CliError(f"unknown source(s): {', '.join(unknown)}")
        runs = scheduler.run_once(source or None)
        table = Table("source", "status", "items", "new", "error")
        for run in runs:
            table.add_row(
                run.source_name,
                run.status.value,
                str(run.items_found),
                str(run.items_new),
                run.error or "",
            )
        out.print(table)


def _wait_forever() -> None:
    """Blocks until Ctrl-C or SIGTERM (docker stop, Kubernetes), so callers stop cleanly:
    a collector then finishes its runs and hands its sources over at once."""
    import signal
    import threading
    from contextlib import suppress

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def analyze(
    config: ConfigOpt = DEFAULT_CONFIG,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input", "-i", help="analyze this JSONL file (id, text) instead of the inbox"
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="where to write results (default: stdout)")
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="keep analyzing new items until Ctrl-C (a worker)"),
    ] = False,
) -> None:
    """Analyze what waits in the inbox, or (with --input) tag a JSONL file of texts."""
    if input_file is not None:
        _analyze_file(config, input_file, output)
        return
    if follow:
        _analysis_worker(config)
        return
    with _context(config) as ctx:
        before = ctx.state.inbox_counts()
        if not before.get("pending"):
            console.print("the inbox is empty: nothing to analyze")
            return
        _drain_with_progress(ctx, "analyzing")


def _analysis_worker(config: Path) -> None:
    from services.runtime.workers.analysis import AnalysisWorker

    with _context(config) as ctx:
        ctx.sync_workspace()
        worker = AnalysisWorker(ctx)
        worker.start()
        console.print("analyzing new items as they arrive; Ctrl-C stops")
        try:
            _wait_forever()
        finally:
            worker.stop()


def _batch_analyzer(config: Path) -> Any:
    from services.analyzer.pipeline import Analyzer
    from services.analyzer.sentiment.head_store import analyzer_french_head, analyzer_head
    from services.runtime.app.topic_store import WorkspaceTaxonomy

    loaded = _load(config)
    try:
        return Analyzer(
            loaded.settings.analyzer,
            brands=loaded.workspace.brands,
            competitors=loaded.workspace.competitors,
            taxonomy=WorkspaceTaxonomy(
                loaded.workspace.topics,
                data_dir=loaded.settings.data_dir,
                embedding=loaded.settings.analyzer.embedding,
            ),
            head=analyzer_head(loaded.settings.analyzer, loaded.settings.data_dir),
            french_head=analyzer_french_head(loaded.settings.data_dir),
        )
    except Exception as exc:
        _fail(exc)


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _analyze_file(config: Path, source: Path, output: Path | None) -> None:
    from services.runtime.data.batch import analyze_file

    if not source.is_file():
        raise CliError(f"{source}: no such file")
    analyzer = _batch_analyzer(config)
    target = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with _progress() as progress:
            task = progress.add_task("analyzing", total=_count_lines(source))
            report = analyze_file(
                analyzer, source, target, progress=lambda n: progress.advance(task, n)
            )
    finally:
        if output:
            target.close()
    for error in report.errors:
        console.print(f"  skipped {error}", highlight=False, markup=False)
    console.print(
        f"{source}: {report.read} lines read, {report.written} analyzed, {report.skipped} skipped"
        + (f"; results in {output}" if output else "")
    )


@app.command("eval")
def eval_(
    file: Annotated[
        Path, typer.Argument(help="labelled JSONL: id, text, label (negative/neutral/positive)")
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Score the sentiment analysis on a labelled file: precision, recall, macro-F1."""
    import json
    from dataclasses import asdict

    from services.runtime.data.batch import evaluate_file

    if not file.is_file():
        raise CliError(f"{file}: no such file")
    analyzer = _batch_analyzer(config)
    with _progress() as progress:
        task = progress.add_task("evaluating", total=_count_lines(file))
        evaluation, report = evaluate_file(
            analyzer, file, progress=lambda n: progress.advance(task, n)
        )
    for error in report.errors:
        console.print(f"  skipped {error}", highlight=False, markup=False)
    if not evaluation.count:
        raise CliError(f"{file}: no labelled line to evaluate")
    if as_json:
        out.print_json(json.dumps(asdict(evaluation)))
        return
    table = Table("label", "precision", "recall", "F1", "support")
    for label, scores in evaluation.per_class.items():
        table.add_row(
            label,
            f"{scores['precision']:.3f}",
            f"{scores['recall']:.3f}",
            f"{scores['f1']:.3f}",
            str(int(scores["support"])),
        )
    out.print(table)
    out.print(
        f"macro-F1 {evaluation.macro_f1:.3f}, accuracy {evaluation.accuracy:.3f} "
        f"on {evaluation.count} texts"
    )
    for language, f1 in evaluation.per_language.items():
        out.print(f"  {language}: macro-F1 {f1:.3f}")


@app.command()
def api(
    config: ConfigOpt = DEFAULT_CONFIG,
    host: Annotated[str | None, typer.Option(help="API host")] = None,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
) -> None:
    """Serve the REST API only (no collection or analysis)."""
    import uvicorn

    from services.api.app import create_app
    from services.runtime.app.workspaces import Installation

    _selected["workspace"] = "default"  # the API serves every workspace, by key
    with _context(config, {"api.host": host, "api.port": port}) as ctx:
        _check_port_free(ctx.settings.api.host, ctx.settings.api.port)
        installation = Installation(ctx, config_dir=config)
        for workspace in installation.live_workspaces():
            installation.context(workspace).sync_workspace()
        settings = ctx.settings.api
        try:
            uvicorn.run(
                create_app(ctx, installation=installation),
                host=settings.host,
                port=settings.port,
                log_config=None,
            )
        finally:
            installation.close()


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON Lines export: one mention per line")],
    config: ConfigOpt = DEFAULT_CONFIG,
    source: Annotated[
        str | None, typer.Option(help="source name for lines that have none (default: file name)")
    ] = None,
) -> None:
    """Backfill mentions from a JSONL export; they are analyzed like collected ones."""
    from services.runtime.data.importer import enqueue_file

    if not file.is_file():
        raise CliError(f"{file}: no such file")
    with _context(config) as ctx:
        ctx.sync_workspace()
        report = enqueue_file(file, ctx.state.enqueue_items, default_source=source)
        for error in report.errors:
            console.print(f"  skipped {error}", highlight=False, markup=False)
        console.print(
            f"{file}: {report.read} lines read, {report.queued} new or changed mentions queued, "
            f"{report.skipped} skipped"
        )
        failed = _drain_with_progress(ctx, "analyzing imported mentions")
    if failed:
        raise CliError(
            f"{failed} mention(s) could not be analyzed or stored; they are kept in the inbox "
            "and retried (up to 5 tries) by the next `veille import`, `veille analyze` "
            "or `veille up`"
        )


@app.command()
def migrate(
    to: Annotated[str, typer.Option("--to", help="the Elasticsearch cluster, https://HOST:9200")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="the index to copy (default: store.index_url)"),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="where progress is kept for a re-run to resume [DATA_DIR/migrate.json]"),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    all_workspaces: Annotated[
        bool,
        typer.Option(
            "--all-workspaces",
            help="every workspace, each into indices of its own [default: the selected one]",
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="delete from the target the mentions the source no longer holds (erased or "
            "past retention there since they were copied)",
        ),
    ] = False,
) -> None:
    """Copy the embedded store into a cluster (resumable: Ctrl-C, then the same command),
    then check every day's mentions by count and by a digest of their ids (exit 1 when the
    target lacks mentions, or holds some the source no longer has: see --prune)."""
    from services.cli.migrate_index import MigrationFailed, migrate
    from services.store.elastic.settings import dead_letter_file

    if all_workspaces and (from_ or checkpoint):
        raise CliError("--all-workspaces takes each workspace's own index and checkpoint", code=2)
    loaded = _load(config)
    failed = []
    for workspace, settings in _workspaces_settings(loaded.settings, config, all_workspaces):
        if all_workspaces:
            out.print(f"workspace {workspace}:")
        target = _workspace_index_url(loaded.settings, to, workspace)
        at = checkpoint or Path(settings.data_dir) / "migrate.json"
        try:
            migrate(
                source_url=from_ or settings.store.index_url,
                target_url=target,
                checkpoint=at,
                batch_size=batch_size,
                progress=_progress(),
                out=out,
                prune_removed=prune,
                dead_letter_path=dead_letter_file(loaded.settings).path,
            )
        except KeyboardInterrupt:
            where = (
                f"the copy so far is kept (checkpoint {at})" if at.exists() else "nothing copied"
            )
            interrupted(f"{where}; copying again is harmless", "resume it with the same command")
        except MigrationFailed as exc:
            if not all_workspaces:
                raise CliError(str(exc)) from None
            console.print(f"[red]workspace {workspace}: {exc}[/red]", highlight=False)
            failed.append(workspace)
        except Exception as exc:
            if at.exists():
                console.print(f"re-run the same command to resume from {at}")
            _fail(exc)
    if failed:
        raise CliError(f"the copy of {len(failed)} workspace(s) failed: {', '.join(failed)}")


@app.command("migrate-state")
def migrate_state(
    to: Annotated[
        str,
        typer.Option("--to", help="the PostgreSQL database, postgresql+psycopg://USER:PW@HOST/DB"),
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
    force: Annotated[
        bool, typer.Option("--force", help="delete the rows the target already holds first")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    all_workspaces: Annotated[
        bool,
        typer.Option(
            "--all-workspaces",
            help="every workspace, each into a schema of its own [default: the selected one]",
        ),
    ] = False,
) -> None:
    """Copy the state store (keys, searches, alerts, corrections, triage, audit...) into
    PostgreSQL, then check the rows per table. The source is never changed; the copy is one
    transaction (stopped midway, the target keeps none of it: run the same command again)."""
    from services.cli.migrate_state import StateMigrationFailed, migrate_state
    from services.runtime.app.workspaces import create_pg_schema
    from services.store.state.engine import parse_url, store_errors
    from services.store.state.tenancy import DEFAULT_WORKSPACE

    loaded = _load(config)
    failed: list[str] = []
    copied: list[str] = []
    for workspace, settings in _workspaces_settings(loaded.settings, config, all_workspaces):
        if all_workspaces:
            out.print(f"workspace {workspace}:")
        try:
            target = _workspace_settings_with_state(loaded.settings, to, workspace)
            if workspace != DEFAULT_WORKSPACE:
                with store_errors(parse_url(to), doing="create the workspace's schema in"):
                    create_pg_schema(target, workspace)
            migrate_state(
                source_url=settings.store.state_url,
                target_url=target.store.state_url,
                force=force,
                batch_size=batch_size,
                progress=_progress(),
                out=out,
            )
            copied.append(workspace)
        except KeyboardInterrupt:
            again = bool(copied) and not force  # their targets now hold rows: refused
            interrupted(
                f"the copy is one transaction: the target keeps none of workspace {workspace}'s"
                + (f" (copied before it: {', '.join(copied)})" if copied else ""),
                "start it over with the same command"
                + (" and --force, which copies those again" if again else ""),
                extra=["--force"] if again else None,
            )
        except StateMigrationFailed as exc:
            if not all_workspaces:
                raise CliError(str(exc)) from None
            console.print(f"[red]workspace {workspace}: {exc}[/red]", highlight=False)
            failed.append(workspace)
        except Exception as exc:
            _fail(exc)
    if failed:
        raise CliError(f"the copy of {len(failed)} workspace(s) failed: {', '.join(failed)}")


def _workspace_settings_with_state(settings: Settings, url: str, workspace: str) -> Settings:
    """The settings of `workspace` once its state store is at `url` (its own schema)."""
    from services.runtime.app.workspaces import workspace_settings
    from services.store.state.engine import parse_url

    parse_url(url)  # a malformed --to: the state store's own message, before anything else
    store = settings.store.model_copy(update={"state_url": url})
    return workspace_settings(settings.model_copy(update={"store": store}), workspace)


def _workspaces_settings(
    settings: Settings, config: Path, every: bool
) -> list[tuple[str, Settings]]:
    """(workspace, its settings): the selected workspace's, or every registered one's."""
    from services.cli.tenancy_cli import installation
    from services.runtime.app.workspaces import workspace_settings

    if not every:
        chosen = _selected["workspace"]
        return [(chosen, workspace_settings(settings, chosen))]
    with installation(config) as inst:
        ids = [w.id for w in inst.tenancy.list_workspaces(include_archived=True)]
    return [(w, workspace_settings(settings, w)) for w in ids]


def _workspace_index_url(settings: Settings, url: str, workspace: str) -> str:
    """`url` as the index of `workspace` (its own prefix on a cluster)."""
    from services.runtime.app.workspaces import workspace_settings

    store = settings.store.model_copy(update={"index_url": url})
    return workspace_settings(
        settings.model_copy(update={"store": store}), workspace
    ).store.index_url


@app.command()
def reindex(
    config: ConfigOpt = DEFAULT_CONFIG,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    all_workspaces: Annotated[
        bool,
        typer.Option("--all-workspaces", help="every workspace [default: the selected one]"),
    ] = False,
) -> None:
    """Rewrite Elasticsearch documents an older version wrote, for fields added since."""
    from services.cli.reindex_index import ReindexFailed, reindex

    loaded = _load(config)
    for workspace, settings in _workspaces_settings(loaded.settings, config, all_workspaces):
        if all_workspaces:
            out.print(f"workspace {workspace}:")
        try:
            reindex(
                index_url=settings.store.index_url,
                batch_size=batch_size,
                progress=_progress(),
                out=out,
            )
        except ReindexFailed as exc:
            raise CliError(
                f"workspace {workspace}: {exc}" if all_workspaces else str(exc)
            ) from None
        except Exception as exc:
            _fail(exc)


@app.command()
def health(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Check that the state store and the mention index answer (exit 1 when not)."""
    import json

    from services.runtime.app.health import store_health

    with _context(config) as ctx:
        healthy, details = store_health(ctx)
    status = ("warning" if details.get("warnings") else "ok") if healthy else "degraded"
    out.print_json(json.dumps({"status": status, **details}))  # a warning still exits 0
    if not healthy:
        raise typer.Exit(1)


@config_app.command("check")
def config_check(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Validate the workspace (and every one under CONFIG/workspaces/) and report every
    mistake with file, line and field."""
    from services.runtime.governance.retention import RetentionError, check_settings

    loaded = _load(config)
    ws = loaded.workspace
    try:
        check_settings(loaded.settings)
    except RetentionError as exc:
        raise CliError(str(exc), code=2) from None
    if loaded.settings.api.oidc is not None:
        from services.api.oidc import check_settings as check_oidc

        oidc_problems = check_oidc(loaded.settings.api.oidc)
        if oidc_problems:
            raise CliError("; ".join(oidc_problems), code=2)
    out.print(
        f"OK: {', '.join(loaded.files)}: {len(ws.brands)} brand(s), "
        f"{len(ws.competitors)} competitor(s), {len(ws.sources)} source(s), "
        f"{len(ws.topics)} topic(s)"
    )
    from rich.markup import escape

    from services.alerting.channels import brand_rule_warnings
    from services.core.reports import recipient_warnings

    for warning in brand_rule_warnings(loaded.settings.alerting):  # a secret may come later
        console.print(f"[yellow]Warning:[/yellow] {escape(warning)}", highlight=False)
    for report in ws.reports:
        for warning in recipient_warnings(report):
            console.print(f"[yellow]Warning:[/yellow] {escape(warning)}", highlight=False)
    from services.alerting.secret_scope import workspace_secret_problems
    from services.runtime.app.workspaces import WORKSPACES_DIR, load_workspace_definition

    failed = _print_secret_problems(
        "default", workspace_secret_problems("default", ws, loaded.settings)
    )

    root = (config.parent if config.is_file() else config) / WORKSPACES_DIR
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        try:
            w = load_workspace_definition(config, folder.name)
        except ConfigError as exc:
            failed += 1
            console.print(f"[red]Workspace {folder.name} has {len(exc.problems)} problem(s):[/red]")
            for problem in exc.problems:
                console.print(f"  {problem}", markup=False, highlight=False)
            continue
        problems = workspace_secret_problems(folder.name, w, loaded.settings)
        if _print_secret_problems(folder.name, problems):
            failed += 1
            continue
        out.print(
            f"OK: workspace {folder.name}: {len(w.brands)} brand(s), "
            f"{len(w.competitors)} competitor(s), {len(w.sources)} source(s), "
            f"{len(w.topics)} topic(s)"
        )
    if failed:
        raise typer.Exit(2)


def _print_secret_problems(workspace: str, problems: list[str]) -> int:
    """Prints the secret names a workspace may not use; 1 when there are some."""
    if not problems:
        return 0
    console.print(f"[red]Workspace {workspace} names secrets it may not use:[/red]")
    for problem in problems:
        console.print(f"  {problem}", markup=False, highlight=False)
    return 1


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="what the key is for (shown in lists and the audit)")],
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: Annotated[
        str | None, typer.Option(help="its workspace [default: the selected one]")
    ] = None,
    role: Annotated[str, typer.Option(help="admin, analyst, member or viewer")] = "admin",
    user: Annotated[str | None, typer.Option(help="the person it belongs to")] = None,
    service: Annotated[
        str | None, typer.Option(help="or the service it belongs to [default: --name]")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="expiry: 90d, 12h or an ISO date (default: never)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the key")] = False,
) -> None:
    """Create an API key; it is shown once and only its hash is stored."""
    from services.cli.tenancy_cli import installation, parse_expiry, record_audit

    target = workspace or _selected["workspace"]
    expires_at = parse_expiry(expires) if expires else None
    with installation(config) as inst:
        try:
            key = inst.tenancy.create_key(
                name=name,
                workspace=target,
                role=role,
                user=user,
                service=service if service or user else name,
                expires_at=expires_at,
            )
        except (ValueError, KeyError) as exc:
            raise CliError(str(exc.args[0] if exc.args else exc), code=2) from None
        record_audit(inst, workspace=target, kind="key", action="create", target=name)
        acts_as = _key_acts_as(inst.tenancy.get_user(user).roles[target], role) if user else role
    if acts_as != role:  # a person's key never does more than the person
        console.print(
            f"note: {user} is {acts_as} of {target}, so this {role} key acts as {acts_as}",
            markup=False,
            highlight=False,
        )
    if quiet:
        out.print(key, highlight=False)
    else:
        out.print(
            f"API key for {name} ({role} of {target}; shown once, keep it secret):\n{key}",
            highlight=False,
        )


def _key_acts_as(person_role: str, key_role: str) -> str:
    """The lesser of a person's role and their key's (ROLES runs from most to least)."""
    from services.core.permissions import ROLES

    return max(person_role, key_role, key=ROLES.index)


@keys_app.command("list")
def keys_list(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """List API keys (never their secret)."""
    from services.cli.tenancy_cli import installation

    with installation(config) as inst:
        table = Table(
            Column("id", no_wrap=True),
            Column("name", no_wrap=True),
            "workspace",
            "role",
            "owner",
            "state",
        )
        for info in inst.tenancy.list_keys():
            expired = info.expires_at is not None and info.expires_at <= utcnow()
            state = "revoked" if info.revoked else "expired" if expired else ""
            if not state and info.expires_at is not None:
                state = f"until {info.expires_at:%Y-%m-%d}"
            table.add_row(
                info.key_id,
                info.name,
                info.workspace,
                info.role,
                info.user or info.service or "-",
                state,
            )
        out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Revoke an API key by its id."""
    from services.cli.tenancy_cli import installation, record_audit

    with installation(config) as inst:
        try:
            inst.tenancy.revoke_key(key_id)
        except KeyError as exc:
            raise CliError(str(exc.args[0]), code=2) from None
        record_audit(inst, workspace="default", kind="key", action="revoke", target=key_id)
    out.print(f"revoked {key_id}")


@sources_app.command("kinds")
def sources_kinds() -> None:
    """List the kinds of source this installation can collect, and which are configured."""
    from services.collector.social.registry import available_kinds

    table = Table("kind", "origin", "state")
    table.add_row("feed", "builtin", "enabled")
    table.add_row("web", "builtin", "enabled")
    for info in available_kinds():
        table.add_row(
            info.kind, info.origin, "enabled" if info.enabled else f"disabled: {info.reason}"
        )
    out.print(table)


@sources_app.command("preview")
def sources_preview(
    url: Annotated[str, typer.Argument(help="the page, thread or feed to look at")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="print the preview as JSON: each item's `names` (the brands and competitors "
            "it names, null when the workspace has none) and `would_keep`, as the table",
        ),
    ] = False,
    selectors: Annotated[
        Path | None, typer.Option("--selectors", help="YAML forum selectors (post, text, ...)")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Show what a source on URL would collect: its detected kind and items."""
    import json

    from services.collector.web.forums import load_selectors
    from services.collector.web.preview import PreviewError, preview

    loaded = _load(config)
    try:
        chosen = load_selectors(selectors.read_text(encoding="utf-8")) if selectors else None
        result = preview(url, loaded.settings.collector, selectors=chosen)
    except (PreviewError, ValueError, OSError) as exc:
        raise CliError(str(exc)) from None
    names = _names_in(config, result.items) if loaded.workspace.brands else None
    source = next((s for s in loaded.workspace.sources if _same_url(s.url, url)), None)
    # keep: matching (the default) stores only the items naming a brand or competitor.
    keeps_matching = not (source and (source.query or source.keep == "all"))
    if as_json:
        body = result.to_json()
        # The table's names column: null when the workspace watches no names.
        for position, item in enumerate(body["items"]):
            item["names"] = names[position] if names is not None else None
        body["would_keep"] = (
            sum(1 for found in names if found) if names is not None and keeps_matching else None
        )
        out.print_json(json.dumps(body))
        return
    engine = f" ({result.engine})" if result.engine else ""
    out.print(f"{result.kind}{engine}: {result.title or result.final_url}", highlight=False)
    for label, urls in (("feed", result.feeds), ("sitemap", result.sitemaps)):
        for found in urls:
            out.print(f"{label}: {found}", highlight=False)
    if result.articles:
        out.print(f"{len(result.articles)} articles, newest: {result.articles[0]}", highlight=False)
    table = Table("#", "kind", "author", "date", *(["names"] if names is not None else []), "text")
    for index, item in enumerate(result.items, start=1):
        table.add_row(
            str(index),
            item.thread.item_kind if item.thread else "",
            item.author or "",
            f"{item.published_at:%Y-%m-%d %H:%M}" if item.published_at else "",
            *([", ".join(names[index - 1])] if names is not None else []),
            " ".join(item.text.split())[:100],
        )
    out.print(table)
    if names is not None and result.items and keeps_matching:
        named = sum(1 for found in names if found)
        out.print(
            f"{named} of {len(result.items)} items name a brand and would be kept "
            f"(keep: matching{'' if source else ', the default'})",
            highlight=False,
        )


def _names_in(config: Path, items: list[Any]) -> list[list[str]]:
    """The brands and competitors each item names, by the analyzer's own tagger (with the
    brand corrections it learned), on the text it judges (title and text)."""
    from services.analyzer.mentions.fingerprint import overall_text

    with _context(config) as ctx:
        ctx.sync_workspace()
        tags = ctx.analyzer.tagger.tag_many(overall_text(item.to_mention()) for item in items)
    return [tag.names for tag in tags]


def _same_url(configured: object, url: str) -> bool:
    return configured is not None and str(configured).rstrip("/") == url.rstrip("/")


@sources_app.command("status")
def sources_status(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Show each source's last run, items and errors."""
    from services.runtime.app.source_figures import with_stored_counts

    with _context(config) as ctx:
        ctx.sync_workspace()
        # queued: sent to the analyzer; stored: what it kept (keep: matching drops items
        # naming no brand), read from the index.
        table = Table(
            "source", "state", "last run", "queued", "stored", "last run figures", "error"
        )
        for status in with_stored_counts(ctx.index, ctx.state.list_source_statuses()):
            table.add_row(
                status.name,
                status.state,
                f"{status.last_run_at:%Y-%m-%d %H:%M}" if status.last_run_at else "-",
                str(status.total_items),
                str(status.mentions_stored),
                run_figures(status.last_run),
                status.last_error or "",
            )
        out.print(keep_whole(table, 0))


@alerts_app.command("run")
def alerts_run(
    config: ConfigOpt = DEFAULT_CONFIG,
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
) -> None:
    """Evaluate the alert rules and deliver due alerts (Slack, email, webhook); also
    applies the daily retention (a lease keeps it to one process a day)."""
    from services.runtime.governance.retention_loop import RetentionScheduler
    from services.runtime.workers.alert_loop import AlertLoop, run_alerts_once

    with _context(config) as ctx:
        if once:
            console.print(run_alerts_once(ctx).summary())
            return
        loop = AlertLoop(ctx)
        retention = RetentionScheduler(ctx)
        loop.start()
        retention.start()
        console.print("evaluating alert rules; Ctrl-C stops")
        try:
            _wait_forever()
        finally:
            loop.stop()
            retention.shutdown()


@alerts_app.command("backtest")
def alerts_backtest(
    rule: Annotated[
        Path | None,
        typer.Option(
            "--rule", help="rule file: the API's rule shape (YAML or JSON), or a bare detector"
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="a stored alert rule (or a brand's default one), by name"),
    ] = None,
    series: Annotated[
        Path | None,
        typer.Option("--series", help="CSV of timestamp,value rows, one per time bucket"),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="a saved search: use its stored history")
    ] = None,
    since: Annotated[
        str, typer.Option("--since", help="stored history: how far back (30d, 12h, or ISO date)")
    ] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="show the series and its baseline around each alert")
    ] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_: AsOpt = None,
) -> None:
    """Show the alerts a rule would have raised over a history (a CSV, a saved search, or
    the rule's own target), and the near misses: the highest-scoring buckets that raised
    none, with the score each sensitivity needs. With --as, a saved search or rule NAME
    may not see over the API is unknown, as the API answers."""
    from services.alerting.backtest import SeriesError, print_report, read_series, series_for
    from services.alerting.backtest_report import run_backtest
    from services.alerting.rule_file import load_rule_document
    from services.alerting.rules import RuleError

    if (rule is None) == (name is None):
        raise CliError("give either --rule FILE or --name RULE", code=2)
    if series is not None and search is not None:
        raise CliError("give --series FILE or --search NAME, not both", code=2)
    document = None
    if rule is not None:
        try:
            document = load_rule_document(rule)
        except RuleError as exc:
            raise CliError(str(exc), code=2) from None
        if series is None and search is None and document.alert_rule is None:
            raise CliError(
                f"{rule}: this rule has no target: give --series FILE or --search NAME", code=2
            )
    if series is not None and document is not None:
        det = document.detector
        try:
            rows = read_series(series, columns=3 if det.kind == "negative_share_spike" else 2)
        except SeriesError as exc:
            raise CliError(str(exc), code=2) from None
        print_report(run_backtest(series_for(rows, det), det, explain=explain), as_json=as_json)
        return
    _backtest_stored(config, document, name, series, search, since, as_json, explain, as_)


def _backtest_stored(
    config: Path,
    document: RuleDocument | None,
    name: str | None,
    series: Path | None,
    search: str | None,
    since: str,
    as_json: bool,
    explain: bool,
    as_: str | None = None,
) -> None:
    from services.alerting.backtest import SeriesError, print_report, read_series, series_for
    from services.alerting.backtest_report import run_backtest
    from services.alerting.default_rules import sized_detector
    from services.alerting.evaluator import target_query
    from services.alerting.history import backtest_stored, find_rule
    from services.alerting.saved_searches import list_saved_searches, resolve_time
    from services.cli.viewer import can_see, check_viewer, hidden_from
    from services.core.models import utcnow
    from services.store.state.contract import NotFoundError

    now = utcnow()
    try:
        start = resolve_time(since, now=now)
    except ValueError:
        raise CliError(f"--since {since!r}: use 30d, 12h, or an ISO 8601 date", code=2) from None
    assert start is not None
    with governed_workspace(config) as (installation, ctx):
        viewer = check_viewer(installation, as_, ctx.workspace_id)
        searches = {s.name: s for s in list_saved_searches(ctx.state)}
        if search is not None and search in searches and not can_see(searches[search], as_):
            raise CliError(f"no saved search is named {search!r}", code=2)  # as the API
        if document is not None:
            det, stored = document.detector, document.alert_rule
        else:
            assert name is not None
            try:
                stored = find_rule(ctx.state, ctx.index, name, ctx.settings.alerting.brand_rules)
            except NotFoundError:
                stored = None
            secret = hidden_from(searches, viewer)
            if stored is None or (stored.target_type == "saved_search" and stored.target in secret):
                raise CliError(f"no alert rule is named {name!r}", code=2) from None
            if stored.kind == "new_mention":
                raise CliError(f"{name!r} is a new_mention rule: it has no detector", code=2)
            try:
                det = (
                    sized_detector(stored, ctx.index, target_query(ctx.state, stored))
                    if stored.auto_bucket
                    else stored.detector_rule()
                )
            except NotFoundError as exc:
                raise CliError(str(exc.args[0] if exc.args else exc), code=2) from None
        if series is not None:
            try:
                rows = read_series(series, columns=3 if det.kind == "negative_share_spike" else 2)
            except SeriesError as exc:
                raise CliError(str(exc), code=2) from None
            report = run_backtest(series_for(rows, det), det, explain=explain)
        else:
            target_type, target = ("saved_search", search) if search else ("brand", "")
            if search is None:
                assert stored is not None
                target_type, target = stored.target_type, stored.target
            assert target is not None
            try:
                report = backtest_stored(
                    ctx.state,
                    ctx.index,
                    det,
                    target_type=target_type,
                    target=target,
                    since=start,
                    until=now,
                    explain=explain,
                )
            except NotFoundError as exc:
                raise CliError(str(exc.args[0] if exc.args else exc), code=2) from None
    print_report(report, as_json=as_json)


def main(argv: list[str] | None = None) -> None:
    """Entry point that prints known errors as one line instead of a traceback."""
    one_line_help(app)
    try:
        app(args=argv)
    except CliError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(exc.code)


@topics_app.command("emerging")
def topics_emerging(
    since: Annotated[
        str | None,
        typer.Option(help="published at or after: 7d, 12h or ISO 8601 (default: 7 days ago)"),
    ] = None,
    limit: Annotated[int, typer.Option(help="newest mentions without a topic to cluster")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Group recent mentions that fit no topic, with their top terms and examples."""
    from datetime import UTC, datetime

    from services.alerting.saved_searches import resolve_time
    from services.runtime.topics.emerging import MAX_LIMIT, emerging_topics

    try:
        start = resolve_time(since, now=datetime.now(UTC))
    except ValueError:
        raise CliError(
            f"--since {since!r} is not an ISO 8601 date (2026-11-02) nor a relative time (7d, 12h)"
        ) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise CliError(f"--limit must be between 1 and {MAX_LIMIT}")
    with _context(config) as ctx:
        report = emerging_topics(ctx, since=start, limit=limit, progress=console.print)
    if as_json:
        out.print_json(report.model_dump_json())
        return
    out.print(f"{report.considered} mentions without a topic since {report.since:%Y-%m-%d %H:%M}")
    if not report.topics:
        out.print("no group of 3 or more similar mentions")
    for n, topic in enumerate(report.topics, 1):
        out.print(f"\n{n}. {', '.join(topic.terms)}  ({topic.size} mentions)")
        for example in topic.examples:
            out.print(f"   - {example.text[:160]}", markup=False)
    if report.topics:
        out.print("\npromote one: veille topics add NAME -d DESCRIPTION -e EXAMPLE -e EXAMPLE")


# `veille train`, `veille reanalyze` and `veille topics add` live in their own modules.
from services.cli import analyst as _analyst  # noqa: E402, F401
from services.cli import brands_cli as _brands_cli  # noqa: E402, F401
from services.cli import demo_cli as _demo_cli  # noqa: E402, F401
from services.cli import export_cli as _export_cli  # noqa: E402, F401
from services.cli import governance_cli as _governance_cli  # noqa: E402, F401
from services.cli import reports_cli as _reports_cli  # noqa: E402, F401
from services.cli import searches_cli as _searches_cli  # noqa: E402, F401
from services.cli import store_cli as _store_cli  # noqa: E402, F401
from services.cli import tenancy_cli as _tenancy_cli  # noqa: E402, F401
from services.cli import topics_cli as _topics_cli  # noqa: E402, F401
from services.cli import triage_cli as _triage_cli  # noqa: E402, F401
