"""Whom `veille` shows saved searches, alert rules and reports as.

The command line is the operator's: whoever runs it holds the installation's files (its
databases, its keys' hashes), so hiding private saved searches from them would protect
nothing. The commands that list saved searches, alert rules and reports therefore show
everything, and mark what is private and whose it is. `--as NAME` shows what NAME (a
person, a service or a key, as the `owner` columns name them) sees over the API and the
dashboard instead: the shared saved searches and their own private ones; a private
saved search of someone else is unknown to it, as the API answers, and so are the alert
rules and reports built on it, unless NAME is an admin of the workspace (admins see and
manage those, and may read and export the search by its name, as the API lets them,
where the audit log records it; they neither list it nor build on it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.common import CliError

if TYPE_CHECKING:
    from services.alerting.saved_searches import SavedSearch, Viewer
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


def check_viewer(installation: Installation, name: str | None, workspace: str) -> Viewer:
    """Whom to show things as: `Viewer(None)` (everything) without `--as`, else NAME and
    whether they are an admin of `workspace` (a person's role there, or a live key's that
    is named NAME or serves them). CliError (exit 2) when no person, service or key has
    the name."""
    from services.alerting.saved_searches import Viewer

    if name is None:
        return Viewer(None)
    tenancy = installation.tenancy
    known: set[str] = set()
    roles: set[str] = set()
    for user in tenancy.list_users():
        known.add(user.name)
        if user.name == name and workspace in user.roles:
            roles.add(user.roles[workspace])
    for key in tenancy.list_keys():
        names = {n for n in (key.name, key.user, key.service) if n}
        known.update(names)
        if name in names and key.workspace == workspace and not key.revoked:
            owner_role = tenancy.key_owner_role(key)
            if owner_role is not None:  # the API takes the lesser of the key's and its owner's
                roles.add(key.role if key.user is None else _lesser(key.role, owner_role))
    if name not in known:
        raise CliError(
            f"--as {name!r}: no person, service or key has this name "
            "(see `veille users list` and `veille keys list`)",
            code=2,
        )
    return Viewer(name, admin="admin" in roles)


def _lesser(a: str, b: str) -> str:
    from services.core.permissions import ROLES

    return max(a, b, key=ROLES.index)  # ROLES goes from the most to the least powerful


def can_see(search: SavedSearch, viewer: str | None) -> bool:
    """Whether the viewer sees the saved search (everyone does without `--as`)."""
    from services.alerting.saved_searches import visible_to

    return viewer is None or visible_to(search, viewer)


def can_read(search: SavedSearch, viewer: Viewer) -> bool:
    """Whether the viewer may read (run, export) the saved search by its name: as
    `can_see`, and an admin anyone's (the API records it in the audit log)."""
    from services.alerting.saved_searches import visible_to

    return viewer.name is None or viewer.admin or visible_to(search, viewer.name)


def visibility(search: SavedSearch) -> str:
    """'shared', or 'private to OWNER' ('private' when API keys were off: no owner)."""
    if search.visibility == "shared":
        return "shared"
    return f"private to {search.owner}" if search.owner else "private"


def hidden_from(searches: dict[str, SavedSearch], viewer: Viewer) -> set[str]:
    """The saved searches whose rules and reports the viewer does not see (as the API)."""
    from services.alerting.saved_searches import hidden_searches

    return hidden_searches(searches.values(), viewer)


def search_label(searches: dict[str, SavedSearch], name: str) -> str:
    """A saved search as a rule or report names it: with its privacy when private."""
    search = searches.get(name)
    if search is None:
        return f"{name} (deleted)"
    if search.visibility == "shared":
        return name
    return f"{name} ({visibility(search)})"
