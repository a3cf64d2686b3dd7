"""`veille searches list` and `veille alerts list`: saved searches and alert rules, as the
operator sees them (everything, private marked with its owner) or as one caller does
(`--as NAME`, see viewer.py). They are made over the API and the dashboard.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from services.cli.common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    alerts_app,
    app,
    governed_workspace,
    keep_whole,
    out,
)
from services.cli.viewer import (
    AsOpt,
    can_see,
    check_viewer,
    hidden_from,
    search_label,
    visibility,
)

searches_app = typer.Typer(
    help="Saved searches (made over the API and the dashboard): list them, private ones "
    "marked with their owner.",
    no_args_is_help=True,
)
app.add_typer(searches_app, name="searches")
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON document")]


@searches_app.command("list")
def searches_list(
    config: ConfigOpt = DEFAULT_CONFIG, as_: AsOpt = None, as_json: JsonOpt = False
) -> None:
    """The saved searches, by name: whose each is, shared or private, its query, and the
    alert rules and reports that use it. Every one, private ones included, unless --as."""
    from services.alerting import saved_searches as ss
    from services.alerting.saved_search_use import rules_using
    from services.reports.service import definitions

    with governed_workspace(config) as (installation, ctx):
        check_viewer(installation, as_, ctx.workspace_id)
        reports = definitions(ctx).list()
        rows: list[dict[str, Any]] = []
        for search in ss.list_saved_searches(ctx.state):
            if not can_see(search, as_):
                continue
            rows.append(
                {
                    "name": search.name,
                    "owner": search.owner,
                    "visibility": search.visibility,
                    "query": search.query,
                    "alert_rules": rules_using(ctx.state, search.name),
                    "reports": [r.name for r in reports if r.saved_search == search.name],
                    "shown": visibility(search),
                }
            )
    if as_json:
        out.print_json(json.dumps([{k: v for k, v in r.items() if k != "shown"} for r in rows]))
        return
    if not rows:
        out.print("no saved searches" + (f" visible to {as_}" if as_ else ""), highlight=False)
        return
    table = Table("name", "owner", "visibility", "query", "used by")
    for row in rows:
        users = [f"rule {n}" for n in row["alert_rules"]] + [f"report {n}" for n in row["reports"]]
        cells = (row["name"], row["owner"] or "-", row["shown"], row["query"])
        # Text, not markup: a query such as '"[/b]"' is the user's, and would raise
        # rich's MarkupError (or be drawn as a style)
        table.add_row(*map(Text, cells), Text(", ".join(users) or "-"))
    out.print(keep_whole(table, 0, 2))
    if as_ is None and any(r["visibility"] == "private" for r in rows):
        out.print(
            "private searches are listed because the command line acts as the installation; "
            "--as NAME shows what one person or key sees",
            highlight=False,
        )


@alerts_app.command("list")
def alerts_list(
    config: ConfigOpt = DEFAULT_CONFIG, as_: AsOpt = None, as_json: JsonOpt = False
) -> None:
    """The alert rules: those stored over the API, then the brands' default rules; each
    with its target (a private saved search marked with its owner), owner and status.
    With --as, a rule on a private search NAME may not see is left out, as the API does."""
    from services.alerting import saved_searches as ss
    from services.alerting.default_rules import brand_rules
    from services.alerting.rules import AlertRule
    from services.alerting.saved_search_use import missing_target

    with governed_workspace(config) as (installation, ctx):
        viewer = check_viewer(installation, as_, ctx.workspace_id)
        searches = {s.name: s for s in ss.list_saved_searches(ctx.state)}
        secret = hidden_from(searches, viewer)
        stored = [
            (r.owner, AlertRule.model_validate(r.spec)) for r in ctx.state.list_specs("alert_rule")
        ]
        stored = [
            (o, r)
            for o, r in stored
            if not (r.target_type == "saved_search" and r.target in secret)
        ]
        names = {rule.name for _, rule in stored}
        defaults = [
            r
            for r in brand_rules(ctx.state, ctx.index, ctx.settings.alerting.brand_rules)
            if r.name not in names
        ]
        rows: list[dict[str, Any]] = []
        for owner, rule, default in [(o, r, False) for o, r in stored] + [
            (None, r, True) for r in defaults
        ]:
            error = missing_target(ctx.state, rule)
            search = searches.get(rule.target) if rule.target_type == "saved_search" else None
            rows.append(
                {
                    "name": rule.name,
                    "target_type": rule.target_type,
                    "target": rule.target,
                    "target_visibility": search.visibility if search else None,
                    "target_owner": search.owner if search else None,
                    "owner": owner,
                    "default": default,
                    "status": "error" if error else "active" if rule.enabled else "disabled",
                    "error": error,
                    "shown_target": (
                        search_label(searches, rule.target)
                        if rule.target_type == "saved_search"
                        else f"brand {rule.target}"
                    ),
                }
            )
    if as_json:
        out.print_json(
            json.dumps([{k: v for k, v in r.items() if k != "shown_target"} for r in rows])
        )
        return
    table = Table("name", "target", "owner", "status")
    for row in rows:
        cells = (
            row["name"],
            row["shown_target"],
            "(default)" if row["default"] else row["owner"] or "-",
            row["status"] + (f": {row['error']}" if row["error"] else ""),
        )
        table.add_row(*map(Text, cells))  # Text, not markup, as above
    out.print(keep_whole(table, 0, 1))
