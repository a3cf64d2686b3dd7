"""The caller as saved searches' privacy sees it: a name, and whether a workspace admin.

What is built on a private saved search (alert rules, their alerts, reports) is hidden
from whoever may not see the search (services.alerting.saved_searches.hidden_searches).

Names are one namespace per kind in a workspace (rules, reports, URLs and the evaluator
name a saved search by its name alone), so a name held by something hidden from the
caller cannot be given to theirs: it is refused as `unusable_name` says, the same 422
whatever holds it, never the 409 that confirms a saved search, rule or report of that
name exists (as people's names taken in another workspace, `POST /users`).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request

from services.alerting import saved_searches as ss
from services.api.deps import (
    OptionalPrincipalDep,
    current_principal,
    get_installation,
    require_api_key,
)
from services.api.problems import Problem
from services.store.state.contract import StateStore


def get_viewer(request: Request, principal: OptionalPrincipalDep) -> ss.Viewer:
    """The caller; `Viewer(None)` when API keys are off (everything is visible)."""
    info = require_api_key(request, principal)
    if info is None:
        return ss.Viewer(None)
    role = current_principal(request, principal).role
    return ss.Viewer(info.name, admin=role == "admin")


ViewerDep = Annotated[ss.Viewer, Depends(get_viewer)]
log = logging.getLogger("veille.api")


def hidden(state: StateStore, viewer: ss.Viewer) -> set[str]:
    """The saved searches whose rules, alerts and reports the viewer may not see."""
    if viewer.admin or viewer.name is None:
        return set()
    return ss.hidden_searches(ss.list_saved_searches(state), viewer)


UNUSABLE = "this name cannot be used here: choose another"


def unusable_name(field: str = "name") -> Problem:
    """The answer to a name held by something the caller may not see: a 422 naming the
    field, saying neither that the name is held nor by what or whom."""
    return Problem(
        422,
        "Invalid request",
        f"{field}: {UNUSABLE}",
        errors=[{"field": field, "code": "name_unusable", "message": UNUSABLE}],
    )


def record_inspection(request: Request, principal: OptionalPrincipalDep, name: str) -> None:
    """Writes the audit line of an admin reading someone else's private saved search
    (`kind: saved search`, `action: inspect`, its name) before it is shown: when the line
    cannot be written, a 503 and nothing shown (such a read is never unrecorded)."""
    who = current_principal(request, principal)
    try:
        get_installation(request).tenancy.record(
            workspace=who.workspace,
            actor=who.actor,
            actor_kind=who.actor_kind,
            kind="saved search",
            action="inspect",
            target=name,
        )
    except Exception as exc:
        log.error("could not write the audit log of an inspection (%s)", type(exc).__name__)
        log.debug("audit write failure", exc_info=True)
        raise Problem(
            503,
            "Audit log unavailable",
            "someone else's private saved search is shown only once the audit log records "
            "it, and the audit log cannot be written now: try again",
        ) from None
