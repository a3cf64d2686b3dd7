"""`veille store dead-letters list|retry|drop`: the mentions Elasticsearch refused for good.

The dead-letter file is the installation's (every process appends to it, with the index
prefix, hence the workspace, each mention was written to): these commands act on every
workspace's lines at once, or on one workspace's with `--only`. Nothing here prints a
text, an author or a mention id: counts, workspaces, and the kind of refusal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from services.cli.common import DEFAULT_CONFIG, CliError, ConfigOpt, app, console, keep_whole, out
from services.cli.common import load_config as _load
from services.core.models import Mention
from services.store.elastic.dead_letters import (
    DeadLetter,
    DeadLettersBusy,
    drop_letters,
    read_letters,
    redrive_file,
    redrive_in_progress,
    summarize,
)
from services.store.elastic.settings import DeadLetterFile

if TYPE_CHECKING:
    from services.runtime.app.workspaces import Installation
    from services.store.elastic import EsIndex

store_app = typer.Typer(help="The mention store.", no_args_is_help=True)
dead_letters_app = typer.Typer(
    help="Mentions Elasticsearch refused for good (the dead-letter file, every workspace's): "
    "count them per workspace, write them again into their own workspace's index once the "
    "cause is fixed, or drop them.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")
store_app.add_typer(dead_letters_app, name="dead-letters")

FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="the dead-letter file [ELASTICSEARCH_DEAD_LETTER, else store.dead_letter_path, "
        "else elasticsearch-dead-letter.jsonl in the data_dir of --config]",
        show_default=False,
    ),
]
OnlyOpt = Annotated[
    str | None,
    typer.Option("--only", metavar="WORKSPACE", help="only the lines of this workspace"),
]
NOT_RECORDED = "(not recorded)"
_NOT_SELECTED = "not selected (--only)"


def dead_letter_file(given: Path | None, config: Path) -> DeadLetterFile:
    """The file the service's processes write: --file, else the installation's as its
    settings say (`dead_letter_file`), so every working directory finds the same one."""
    from services.store.elastic.settings import DEAD_LETTER_VARIABLE, dead_letter_file

    if given is not None:
        return DeadLetterFile(str(given.expanduser().absolute()), "--file")
    if os.environ.get(DEAD_LETTER_VARIABLE):  # needs no readable config
        return DeadLetterFile(
            str(Path(os.environ[DEAD_LETTER_VARIABLE]).expanduser().absolute()),
            DEAD_LETTER_VARIABLE,
        )
    found = dead_letter_file(_load(config).settings)
    return DeadLetterFile(found.path, f"{found.origin} in {config}")


def _where(file: DeadLetterFile) -> str:
    return f"{file.path} (from {file.origin})"


@dead_letters_app.command("list")
def list_(
    config: ConfigOpt = DEFAULT_CONFIG,
    file: FileOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """How many mentions are held, per workspace and index, and why they were refused;
    says which file it read, and which setting named it."""
    where = dead_letter_file(file, config)
    path = where.path
    rows = summarize(read_letters(path))
    total = sum(row.count for row in rows)
    moving = redrive_in_progress(path)
    if as_json:
        body = {
            "file": path,
            "file_from": where.origin,
            "mentions": total,
            "redrive_in_progress": moving,
            "workspaces": [
                {
                    "workspace": row.workspace,
                    "index": row.index,
                    "mentions": row.count,
                    "reasons": dict(row.reasons.most_common()),
                    "oldest": row.oldest,
                    "newest": row.newest,
                }
                for row in rows
            ],
        }
        out.print_json(json.dumps(body))
        return
    if not total:
        out.print(f"no mentions held in {_where(where)}", highlight=False)
        return
    table = Table("workspace", "index prefix", "mentions", "refused for", "first (UTC)", "last")
    for row in rows:
        table.add_row(
            row.workspace or NOT_RECORDED,
            row.index or NOT_RECORDED,
            str(row.count),
            "\n".join(f"{n} x {reason}" for reason, n in row.reasons.most_common()),
            (row.oldest or "")[:16].replace("T", " "),  # UTC, to the minute
            (row.newest or "")[:16].replace("T", " "),
        )
    table.columns[3].overflow = "fold"  # an error type is one long word: folded, never cut
    out.print(keep_whole(table, 0, 1, 2, 4, 5))
    out.print(f"{total} mention(s) held in {_where(where)}", highlight=False)
    if moving:
        out.print(
            "a re-drive is running, or was stopped: its lines are counted above, and the next "
            "`veille store dead-letters retry` takes them up"
        )
    if any(row.index is None for row in rows):
        out.print(
            f"lines marked {NOT_RECORDED} were written by an older Veille: `retry "
            "--unrecorded-into WORKSPACE` writes them into that workspace's index"
        )


@dead_letters_app.command()
def retry(
    config: ConfigOpt = DEFAULT_CONFIG,
    file: FileOpt = None,
    only: OnlyOpt = None,
    unrecorded_into: Annotated[
        str | None,
        typer.Option(
            "--unrecorded-into",
            metavar="WORKSPACE",
            help="the workspace whose index gets the lines an older Veille wrote without one",
        ),
    ] = None,
) -> None:
    """Write the held mentions again, each into its own workspace's index.

    Those refused again, or not sent (cluster down, workspace gone), stay in the file and
    the exit status is 1; those an erasure holds against are dropped."""
    from services.cli.tenancy_cli import installation

    loaded = _load(config)
    where = dead_letter_file(file, config)
    path = where.path
    if not loaded.settings.store.index_url.startswith(("http://", "https://")):
        raise CliError(
            f"the mention index is {loaded.settings.store.index_url!r}, not an Elasticsearch "
            "cluster: set store.index_url (or VEILLE_STORE__INDEX_URL) to it",
            code=2,
        )
    with installation(config) as inst:
        prefixes = _workspace_prefixes(inst)
        for name, given in (("--only", only), ("--unrecorded-into", unrecorded_into)):
            if given is not None and given not in prefixes.values():
                raise CliError(f"{name}: no workspace {given!r} (see `veille workspaces list`)", 2)
        opened: dict[str, EsIndex] = {}

        def workspace_for(prefix: str | None) -> str | None:
            return unrecorded_into if prefix is None else prefixes.get(prefix)

        def target(prefix: str | None) -> EsIndex | str:
            workspace = workspace_for(prefix)
            if prefix is None and workspace is None:
                return "no index recorded: --unrecorded-into WORKSPACE"
            if workspace is None:
                return "no workspace has this index prefix (deleted?): drop them"
            if only is not None and workspace != only:
                return _NOT_SELECTED
            if workspace not in opened:
                from services.store.elastic import EsIndex, EsSettings

                try:
                    opened[workspace] = EsIndex(EsSettings.from_env(_index_url(inst, workspace)))
                except Exception as error:  # the cluster down: this group is kept
                    return f"cannot open its index: {error}"
            return opened[workspace]

        def held(prefix: str | None, mentions: Sequence[Mention]) -> set[int]:
            from services.runtime.governance.erasure import erasure_key, held_indices

            workspace = workspace_for(prefix)
            if workspace is None:
                return set()
            ctx = inst.context(workspace)
            holds = ctx.governance.holds()
            return held_indices(holds, mentions, key=erasure_key(ctx) if holds else None)

        try:
            report = redrive_file(path, target, held=held)
        except DeadLettersBusy as exc:
            raise CliError(str(exc)) from None
        finally:
            for index in opened.values():
                index.close()
    if not report.groups and not report.unreadable:
        out.print(f"no mentions held in {_where(where)}", highlight=False)
        return
    table = Table("workspace", "index prefix", "held", "written", "refused again", "kept", "")
    for group in report.groups:
        table.add_row(
            group.workspace or NOT_RECORDED,
            group.index or NOT_RECORDED,
            str(group.held),
            str(group.written),
            str(group.failed),
            str(group.kept),
            (f"{group.erased} erased, dropped; " if group.erased else "") + group.note,
        )
    out.print(keep_whole(table, 0, 1))
    if report.unreadable:
        console.print(f"{report.unreadable} unreadable line(s) kept as they are in {path}")
    out.print(f"wrote {report.written} mention(s); {report.left} left in {path}", highlight=False)
    # The exit status is about what was asked: the lines --only leaves aside do not count.
    if report.left - sum(g.kept for g in report.groups if g.note == _NOT_SELECTED):
        raise typer.Exit(1)


@dead_letters_app.command()
def drop(
    config: ConfigOpt = DEFAULT_CONFIG,
    file: FileOpt = None,
    only: OnlyOpt = None,
    unrecorded: Annotated[
        bool, typer.Option("--unrecorded", help="the lines written without an index")
    ] = False,
    every: Annotated[bool, typer.Option("--all", help="every line of the file")] = False,
) -> None:
    """Delete held mentions for good (a workspace's, those without an index, or all)."""
    if sum((only is not None, unrecorded, every)) != 1:
        raise CliError("say which lines to drop: --only WORKSPACE, --unrecorded or --all", 2)
    path = dead_letter_file(file, config).path

    def chosen(letter: DeadLetter) -> bool:
        if every:
            return True
        if unrecorded:
            return letter.mention is not None and letter.index is None
        return letter.workspace == only

    try:
        dropped = drop_letters(path, chosen)
    except DeadLettersBusy as exc:
        raise CliError(str(exc)) from None
    what = "" if every else (f" of workspace {only}" if only else " without an index")
    out.print(f"dropped {dropped} mention(s){what} from {path}", highlight=False)


def _workspace_prefixes(inst: Installation) -> dict[str, str]:
    """{index prefix: workspace} of every registered workspace (archived ones too)."""
    from services.store.elastic import EsSettings

    return {
        EsSettings.from_env(_index_url(inst, w.id)).index_prefix: w.id
        for w in inst.tenancy.list_workspaces(include_archived=True)
    }


def _index_url(inst: Installation, workspace: str) -> str:
    from services.runtime.app.workspaces import workspace_settings

    return workspace_settings(inst.default.settings, workspace).store.index_url
