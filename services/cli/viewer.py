"""Whom `veille` shows saved searches, alert rules and reports as.

The command line is the operator's: whoever runs it holds the installation's files (its
databases, its keys' hashes), so hiding private saved searches from them would protect
nothing. The commands that list saved searches, alert rules and reports therefore show
everything, and mark what is private and whose it is. `--as NAME` shows what NAME (a
person, a service or a key, as the `owner` columns name them) sees over the API and the
dashboard instead: the shared saved searches and their own private ones, and a private
saved search of someone else is unknown to it, as the API answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.common import CliError

if TYPE_CHECKING:
    from services.alerting.saved_searches import SavedSearch
    from services.runtime.app.workspaces import Installation

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="NAME",
        help="show what NAME (a person, service or key) sees over the API: shared saved "
        "searches and NAME's own private ones [default: everything, as the installation, "
        "private ones marked with their owner]",
        show_default=False,
    ),
]


def check_viewer(installation: Installation, name: str | None) -> None:
    """CliError (exit 2) when `--as` names no person, service or key of the installation."""
    if name is None:
        return
    tenancy = installation.tenancy
    known = {u.name for u in tenancy.list_users()}
    for key in tenancy.list_keys():
        known.update(n for n in (key.name, key.user, key.service) if n)
    if name not in known:
        raise CliError(
            f"--as {name!r}: no person, service or key has this name "
            "(see `veille users list` and `veille keys list`)",
            code=2,
        )


def can_see(search: SavedSearch, viewer: str | None) -> bool:
    """Whether the viewer sees the saved search (everyone does without `--as`)."""
    from services.alerting.saved_searches import visible_to

    return viewer is None or visible_to(search, viewer)


def visibility(search: SavedSearch) -> str:
    """'shared', or 'private to OWNER' ('private' when API keys were off: no owner)."""
    if search.visibility == "shared":
        return "shared"
    return f"private to {search.owner}" if search.owner else "private"


def search_label(searches: dict[str, SavedSearch], name: str, viewer: str | None) -> str:
    """A saved search as a rule or report names it: with its privacy when private, and
    whether the viewer may see it (the API lists rules and reports on any search)."""
    search = searches.get(name)
    if search is None:
        return f"{name} (deleted)"
    if search.visibility == "shared":
        return name
    hidden = "" if can_see(search, viewer) else f", not visible to {viewer}"
    return f"{name} ({visibility(search)}{hidden})"
