"""`veille triage list | set | note | notes | bulk`: the triage workflow without the dashboard.

Registered on `veille triage` by importing this module (see the end of main.py). Who
acts is `--as NAME` (default: $VEILLE_USER, else the login name): it is recorded as the
author of changes and notes, and is who `assignee:me` names.
"""

from __future__ import annotations

import getpass
import json
import os
from typing import Annotated

import typer
from rich.table import Table

from services.cli.common import DEFAULT_CONFIG, CliError, ConfigOpt, app, keep_whole, out
from services.cli.common import progress_display as _progress
from services.cli.common import workspace_context as _context
from services.core.query import QuerySyntaxError, parse_query
from services.core.query.ast import And, FieldFilter, Node, resolve_me
from services.core.text import fold_keyword
from services.core.triage import clean_assignee, clean_note, clean_tag, parse_state
from services.runtime.app.triage import TriageChange
from services.store.contracts import MentionFilter, SearchRequest
from services.store.state.contract import NotFoundError

triage_app = typer.Typer(
    help="Triage mentions: list, set state/assignee/tags, notes, bulk changes.",
    no_args_is_help=True,
)
app.add_typer(triage_app, name="triage")

AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="who acts (default: $VEILLE_USER or the login name)"),
]
StateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        "-s",
        help="new, 'in progress', answered, escalated, ignored (or nouveau, "
        "'en cours', répondu, escaladé, ignoré)",
    ),
]
AssignOpt = Annotated[
    str | None, typer.Option("--assign", "-a", help="assignee; 'me' for yourself, '' for nobody")
]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", "-t", help="add a tag (repeatable)")]
UntagOpt = Annotated[list[str] | None, typer.Option("--untag", help="remove a tag (repeatable)")]


def _who(name: str | None) -> str:
    chosen = name or os.environ.get("VEILLE_USER") or getpass.getuser()
    cleaned = clean_assignee(chosen)
    if cleaned is None:
        raise CliError("--as cannot be empty")
    return cleaned


def _query(text: str, me: str) -> Node:
    try:
        return resolve_me(parse_query(text), me)
    except QuerySyntaxError as exc:
        raise CliError(f"bad query: {exc}", code=2) from None


def _change(
    state: str | None,
    assign: str | None,
    tags: list[str] | None,
    untags: list[str] | None,
    me: str,
) -> TriageChange:
    try:
        assignee = me if assign is not None and assign.strip().casefold() == "me" else assign
        cleaned = clean_assignee(assignee)
        change = TriageChange(
            state=parse_state(state) if state is not None else None,
            assignee=cleaned,
            unassign=assign is not None and cleaned is None,
            add_tags=tuple(clean_tag(t) for t in tags or ()),
            remove_tags=tuple(clean_tag(t) for t in untags or ()),
        )
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    if change.empty:
        raise CliError("nothing to change: give --state, --assign, --tag or --untag", code=2)
    return change


@triage_app.command("list")
def list_(
    query: Annotated[
        str, typer.Option("--query", "-q", help="query language")
    ] = "state:new AND sentiment:negative",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_: AsOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per mention, for scripts")
    ] = False,
    group: Annotated[
        bool,
        typer.Option(
            "--group/--no-group",
            help="one line per story (its copies counted) or one per mention",
        ),
    ] = True,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Lists the mentions to triage, newest first (default: new negative ones); the
    copies of a story are one line, its first copy, with how many there are."""
    from services.cli.common import console
    from services.runtime.app.query_hints import warnings_for
    from services.runtime.app.triage import story_answers
    from services.runtime.app.triage_inbox import story_page

    me = _who(as_)
    node = _query(query, me)
    with _context(config) as ctx:
        for line in warnings_for(ctx, node):  # on stderr: --json output stays clean
            console.print(f"warning: {line}", markup=False, highlight=False)
        flt = MentionFilter(query=node)
        if group:
            stories = story_page(ctx.index, flt, limit=limit)
            mentions = [row.mention for row in stories.rows]
            copies = {row.mention.id: row.copies for row in stories.rows}
            total = stories.total
        else:
            page = ctx.index.search(SearchRequest(filter=flt, limit=limit))
            mentions, copies, total = page.mentions, {}, page.total
        answered = story_answers(ctx.state, mentions)
        if as_json:
            for mention in mentions:
                row = {
                    "id": mention.id,
                    "copies": copies.get(mention.id, 1),
                    "published_at": mention.published_at.isoformat(),
                    "triage": mention.triage.model_dump(mode="json"),
                    "title": mention.title,
                    "text": mention.text,
                    "story_answered_by": answered[mention.id].answered_by
                    if mention.id in answered
                    else None,
                }
                typer.echo(json.dumps(row, ensure_ascii=False))
            return
        table = Table("id", "published", "state", "assignee", "tags", "text", box=None)
        for mention in mentions:
            text = " ".join(f"{mention.title} {mention.text}".split())[:70]
            if mention.id in answered:
                text = f"[story answered by {answered[mention.id].answered_by}] {text}"
            if copies.get(mention.id, 1) > 1:
                text = f"[{copies[mention.id]} copies] {text}"
            table.add_row(
                mention.id,
                mention.published_at.strftime("%Y-%m-%d %H:%M"),
                mention.triage.state.label,
                mention.triage.assignee or "",
                ", ".join(mention.triage.tags),
                text,
            )
        # id, state, assignee and tags whole; the date and the text wrap (a text kept on
        # one line squeezes whole columns out of a narrow terminal)
        out.print(keep_whole(table, 0, 2, 3, 4))
        unit = " stories (`set ID --story -q QUERY` changes the copies counted)" if group else ""
        out.print(f"{len(mentions)} of {total}{unit}", highlight=False)


@triage_app.command("set")
def set_(
    mention_id: Annotated[str, typer.Argument(help="the mention's id")],
    state: StateOpt = None,
    assign: AssignOpt = None,
    tag: TagOpt = None,
    untag: UntagOpt = None,
    story: Annotated[
        bool,
        typer.Option(
            "--story",
            help="change the copies of the mention's story too: those --query matches, "
            "else those in the same state as this mention",
        ),
    ] = False,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            "-q",
            help="with --story: the query of the `triage list` line (default there: "
            "'state:new AND sentiment:negative')",
        ),
    ] = None,
    as_: AsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Changes one mention's state, assignee or tags (`--story`: of the copies of its
    story a line of `triage list` stands for; a copy already handled otherwise is left)."""
    from services.runtime.app.triage import change_one

    me = _who(as_)
    change = _change(state, assign, tag, untag, me)
    if query is not None and not story:
        raise CliError("--query goes with --story (the copies to change)", code=2)
    within = MentionFilter(query=_query(query, me)) if query is not None else None
    with _context(config) as ctx:
        try:
            done = change_one(
                state=ctx.state,
                index=ctx.index,
                mention_id=mention_id,
                change=change,
                by=me,
                whole_story=story,
                within=within,
            )
        except NotFoundError:
            raise CliError(f"no mention has the id {mention_id!r}") from None
        except ValueError as exc:
            raise CliError(str(exc), code=2) from None
        mention, t = done.mention, done.mention.triage
        out.print(
            f"{mention.id}: {t.state.label}, assignee {t.assignee or '-'}, "
            f"tags {', '.join(t.tags) or '-'}",
            highlight=False,
        )
        if story:
            out.print(f"{done.changed} copies changed", highlight=False)


@triage_app.command("note")
def note(
    mention_id: Annotated[str, typer.Argument(help="the mention's id")],
    text: Annotated[str, typer.Argument(help="the note")],
    as_: AsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Adds a note to a mention."""
    me = _who(as_)
    try:
        cleaned = clean_note(text)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    with _context(config) as ctx:
        if ctx.index.get(mention_id) is None:
            raise CliError(f"no mention has the id {mention_id!r}")
        ctx.state.add_triage_note(mention_id=mention_id, author=me, text=cleaned)
        out.print(f"note added to {mention_id}", highlight=False)


@triage_app.command("notes")
def notes(
    mention_id: Annotated[str, typer.Argument(help="the mention's id")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Prints a mention's notes, oldest first."""
    with _context(config) as ctx:
        for n in ctx.state.triage_notes(mention_id):
            when = n["created_at"].strftime("%Y-%m-%d %H:%M")
            out.print(f"{when} {n['author'] or '-'}: {n['text']}", highlight=False, markup=False)


@triage_app.command("bulk")
def bulk(
    query: Annotated[str, typer.Option("--query", "-q", help="query language")] = "",
    story: Annotated[str | None, typer.Option(help="a story id: every copy of it")] = None,
    state: StateOpt = None,
    assign: AssignOpt = None,
    tag: TagOpt = None,
    untag: UntagOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, change nothing")] = False,
    as_: AsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Changes every mention a query (or a story) matches: at most 10,000 at once."""
    from services.runtime.app.triage import TooManyMentions, bulk_change

    me = _who(as_)
    if not query.strip() and story is None:
        raise CliError("give --query or --story (every mention at once is refused)", code=2)
    node = _query(query, me)
    if story is not None:
        if not story.strip():
            raise CliError("--story cannot be empty", code=2)
        node = And((node, FieldFilter("story", fold_keyword(story))))
    change = _change(state, assign, tag, untag, me)
    with _context(config) as ctx, _progress() as progress:
        task = progress.add_task("triage", total=None)
        try:
            outcome = bulk_change(
                state=ctx.state,
                index=ctx.index,
                flt=MentionFilter(query=node),
                change=change,
                by=me,
                dry_run=dry_run,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except TooManyMentions as exc:
            raise CliError(str(exc), code=2) from None
        except ValueError as exc:
            raise CliError(str(exc), code=2) from None
    if dry_run:
        out.print(f"{outcome.matched} matched (dry run: nothing changed)", highlight=False)
    else:
        out.print(f"{outcome.matched} matched, {outcome.changed} changed", highlight=False)
