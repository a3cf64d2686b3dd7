"""What every `veille` command module shares: the app, the consoles, the --config option,
and loading a workspace. Command modules import this, never `main.py` (which imports them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.core.workspace import ConfigError, LoadedWorkspace, load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.logs import setup_logging

app = typer.Typer(
    name="veille",
    help="Veille: self-hosted e-reputation monitoring and social listening.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
topics_app = typer.Typer(help="The topic taxonomy and emerging topics.", no_args_is_help=True)

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
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


@contextmanager
def workspace_context(
    config: Path, overrides: dict[str, Any] | None = None
) -> Iterator[ServiceContext]:
    """The running services of a workspace, closed on the way out; failures become one line."""
    loaded = load_config(config, overrides)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    try:
        yield ctx
    except (CliError, typer.Exit):
        raise
    except Exception as exc:
        fail(exc)
    finally:
        try:
            ctx.close()
        except Exception:
            log.debug("error while closing", exc_info=True)


def fail(exc: Exception) -> None:
    """Turns known failures into one readable line; logs the rest without a traceback."""
    log.debug("command failed", exc_info=exc)
    message = str(exc) or type(exc).__name__
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def progress_display() -> Progress:
    """A progress display on stderr: description, bar, done/total, time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
