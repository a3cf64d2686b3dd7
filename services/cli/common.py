"""What every `veille` command module shares: the app, the consoles, the --config option,
and loading a workspace. Command modules import this, never `main.py` (which imports them).
"""

from __future__ import annotations

import inspect
import logging
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.cli.progress_lines import LineProgress
from services.core.workspace import ConfigError, LoadedWorkspace, load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.logs import setup_logging

if TYPE_CHECKING:
    from services.runtime.app.workspaces import Installation

app = typer.Typer(
    name="veille",
    help="Veille: self-hosted e-reputation monitoring and social listening.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
topics_app = typer.Typer(help="The topic taxonomy and emerging topics.", no_args_is_help=True)
alerts_app = typer.Typer(
    help="Alert rules: list them, evaluate and deliver them, or backtest them on history.",
    no_args_is_help=True,
)

#: the width of output that is piped or redirected: rich would cut tables at 80 columns
#: ('unreach…') though nobody reads them there; a script or a pager wants whole cells.
PIPED_WIDTH = 10_000


def _out_width() -> int | None:
    """None (the terminal's width) on a terminal or when COLUMNS sets one, else PIPED_WIDTH."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return PIPED_WIDTH


console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, width=_out_width())


def one_line_help(group: typer.Typer) -> None:
    """Gives each command of `group` (and its sub-groups) a short help: its docstring's
    first paragraph on one line. Rich help keeps that paragraph's line breaks in the
    command list, cutting sentences ('... (resumable: Ctrl-C, then the same command),' and
    the rest on lines of its own)."""
    for command in group.registered_commands:
        text = command.help or inspect.getdoc(command.callback) or ""
        if command.short_help is None and text:
            command.short_help = " ".join(text.split("\n\n", 1)[0].split())
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            one_line_help(sub.typer_instance)


log = logging.getLogger("veille.cli")

ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar="VEILLE_CONFIG",
        help="workspace folder (or one YAML file)",
        show_default=True,
    ),
]
DEFAULT_CONFIG = Path("config")


class CliError(Exception):
    """An error to print as one clear line, with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def load_config(config: Path, overrides: dict[str, Any] | None = None) -> LoadedWorkspace:
    """The workspace in `config`, its problems listed (exit code 2) if it has any."""
    try:
        loaded = load_workspace(config, overrides=overrides)
    except ConfigError as exc:
        console.print(f"[red]The workspace in {config} has {len(exc.problems)} problem(s):[/red]")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    setup_logging(level=loaded.settings.log_level, fmt=loaded.settings.log_format)
    return loaded


# The workspace commands act on: `veille --workspace acme ...` (or VEILLE_WORKSPACE).
selected_workspace = {"workspace": "default"}


@app.callback()
def _root(
    workspace: Annotated[
        str,
        typer.Option(
            "--workspace",
            "-w",
            envvar="VEILLE_WORKSPACE",
            help="the workspace the command acts on (see `veille workspaces list`)",
        ),
    ] = "default",
) -> None:
    """Veille: self-hosted e-reputation monitoring and social listening."""
    selected_workspace["workspace"] = workspace


@contextmanager
def workspace_context(
    config: Path, overrides: dict[str, Any] | None = None, *, allow_archived: bool = False
) -> Iterator[ServiceContext]:
    """The selected workspace's running services (the configured installation is
    `default`), closed on the way out; failures become one line. An archived workspace
    is refused unless `allow_archived` (erasure, GDPR export, retention: its personal
    data must stay erasable and exportable)."""
    with governed_workspace(config, overrides, allow_archived=allow_archived) as (_, ctx):
        yield ctx


@contextmanager
def governed_workspace(
    config: Path, overrides: dict[str, Any] | None = None, *, allow_archived: bool = False
) -> Iterator[tuple[Installation, ServiceContext]]:
    """`workspace_context` with the installation too (its register and audit log)."""
    from services.runtime.app.workspaces import Installation

    loaded = load_config(config, overrides)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    installation = Installation(ctx, config_dir=config)
    try:
        workspace = selected_workspace["workspace"]
        yield installation, _open_selected(installation, workspace, allow_archived)
    except (CliError, typer.Exit):
        raise
    except Exception as exc:
        fail(exc)
    finally:
        try:
            installation.close()
            ctx.close()
        except Exception:
            log.debug("error while closing", exc_info=True)


def _open_selected(
    installation: Installation, workspace: str, allow_archived: bool = False
) -> ServiceContext:
    from services.store.state.contract import NotFoundError

    if workspace == "default":
        return installation.default
    try:
        record = installation.tenancy.get_workspace(workspace)
    except NotFoundError:
        raise CliError(
            f"no workspace {workspace!r}: see `veille workspaces list`", code=2
        ) from None
    if record.archived_at is not None and not allow_archived:
        raise CliError(f"workspace {workspace!r} is archived", code=2)
    return installation.context(workspace)


def fail(exc: Exception) -> None:
    """Turns known failures into one readable line; logs the rest without a traceback."""
    log.debug("command failed", exc_info=exc)
    message = str(exc) or type(exc).__name__
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)


def this_command(extra: list[str] | None = None) -> str:
    """The command line being run, as `veille ...`, with the passwords of URLs masked."""
    return "veille " + shlex.join([*(_masked(arg) for arg in sys.argv[1:]), *(extra or [])])


def _masked(arg: str) -> str:
    """`scheme://user:***@host...` for a URL with a password (in `--to=URL` too)."""
    head, equals, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    try:
        password = urlsplit(value).password if "://" in value else None
    except ValueError:
        return arg
    if not password:
        return arg
    start = value.index("://") + 3
    ends = [i for i in (value.find(c, start) for c in "/?#") if i != -1]
    end = min(ends, default=len(value))
    userinfo, _, host = value[start:end].rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{head}{equals}{value[:start]}{user}:***@{host}{value[end:]}"


def interrupted(what: str, then: str, *, extra: list[str] | None = None) -> NoReturn:
    """Ctrl-C: says what state it left and the exact command to run next (this one, with
    `extra` arguments), exits 130."""
    command = this_command(extra)
    console.print(f"\n[yellow]interrupted:[/yellow] {what}", highlight=False)
    console.print(f"{then}:\n  {command}", highlight=False, markup=False)
    if "***" in command and "***" not in " ".join(sys.argv):
        console.print("(with the password in place of ***)")
    raise typer.Exit(INTERRUPTED)


def progress_display(unit: str = "items") -> Progress:
    """A progress display on stderr: description, bar, done/total, time; when stderr is a
    file or a pipe, a line per task start, tenth of the way (or 30 s) and end instead."""
    return LineProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        unit=unit,
        transient=False,
    )


def keep_whole(table: Table, *columns: int) -> Table:
    """`table` with these columns (ids, names) never cut or wrapped, however narrow the
    terminal: a cut id cannot be pasted into the next command. Call it after the rows
    are added; the other columns give way."""
    for index in columns:
        column = table.columns[index]
        column.no_wrap = True
        column.min_width = max((len(str(cell)) for cell in column.cells), default=0)
    return table
