"""The caller as saved searches' privacy sees it: a name, and whether a workspace admin.

What is built on a private saved search (alert rules, their alerts, reports) is hidden
from whoever may not see the search (services.alerting.saved_searches.hidden_searches).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.alerting import saved_searches as ss
from services.api.deps import OptionalPrincipalDep, current_principal, require_api_key
from services.store.state.contract import StateStore


def get_viewer(request: Request, principal: OptionalPrincipalDep) -> ss.Viewer:
    """The caller; `Viewer(None)` when API keys are off (everything is visible)."""
    info = require_api_key(request, principal)
    if info is None:
        return ss.Viewer(None)
    role = current_principal(request, principal).role
    return ss.Viewer(info.name, admin=role == "admin")


ViewerDep = Annotated[ss.Viewer, Depends(get_viewer)]


def hidden(state: StateStore, viewer: ss.Viewer) -> set[str]:
    """The saved searches whose rules, alerts and reports the viewer may not see."""
    if viewer.admin or viewer.name is None:
        return set()
    return ss.hidden_searches(ss.list_saved_searches(state), viewer)
