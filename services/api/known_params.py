"""Refuses query parameters a route does not take, naming the close one.

FastAPI ignores an unknown query parameter, so a typo (`?saved=delivery` for
`saved_search`) silently widens the answer: an export of every mention instead of one
search's. `known_query_params` is a dependency that answers 422 instead, with difflib's
closest accepted name. The accepted names are read from the matched route's own
dependency tree, so they never drift from the route's signature.
"""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.api.problems import Problem

# Names that are a filter elsewhere but not on every route: how to ask for it instead.
HINTS = {"brand": "filter with q=brand:NAME (or toward=NAME where the route takes it)"}

# Names every route takes although no route declares them: `?workspace=` names the
# caller's workspace, read by authentication (services/api/deps.py), which refuses
# another one with a 403 before this check runs.
EVERYWHERE = frozenset({"workspace"})

_accepted: dict[int, frozenset[str]] = {}


def accepted_params(route: APIRoute) -> frozenset[str]:
    """The query parameter names (aliases) a route reads, its dependencies' included,
    and `EVERYWHERE`."""
    found = _accepted.get(id(route))
    if found is None:
        names: set[str] = set(EVERYWHERE)
        pending: list[Dependant] = [route.dependant]
        while pending:  # the dependency tree (a route's own params are its root's)
            dependant = pending.pop()
            names.update(p.alias for p in dependant.query_params)
            pending.extend(dependant.dependencies)
        found = _accepted[id(route)] = frozenset(names)
    return found


def unknown_params_message(unknown: list[str], accepted: frozenset[str]) -> str:
    """'unknown query parameter 'saved' (did you mean 'saved_search'?)' and the like."""
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(accepted), n=1, cutoff=0.5)
        if not close:  # a prefix typo ('saved' for 'saved_search') scores low in difflib
            close = [a for a in sorted(accepted) if a.startswith(name) or name.startswith(a)]
        if close:
            parts.append(f"{name!r} (did you mean {close[0]!r}?)")
        elif name in HINTS:
            parts.append(f"{name!r} ({HINTS[name]})")
        else:
            parts.append(repr(name))
    known = ", ".join(sorted(accepted)) or "none"
    noun = "parameter" if len(unknown) == 1 else "parameters"
    return f"unknown query {noun} {', '.join(parts)}; this route takes: {known}"


def known_query_params(request: Request) -> None:
    """422 (a problem document) when the request has a query parameter its route does
    not take."""
    route: Any = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = accepted_params(route)
    unknown = sorted({k for k in request.query_params if k not in accepted})
    if unknown:
        raise Problem(
            422,
            "Unknown query parameter",
            unknown_params_message(unknown, accepted),
            errors=[{"field": name, "message": "unknown query parameter"} for name in unknown],
        )
