"""FastAPI dependencies, as typed aliases (`IndexDep`, `StateDep`, ...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.api.problems import Problem
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionIndex
from services.store.state.contract import ApiKeyInfo, StateStore

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")


def get_context(request: Request) -> ServiceContext:
    """The service context the app was created with."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_index(ctx: ContextDep) -> MentionIndex:
    """The mention index."""
    return ctx.index


def get_state(ctx: ContextDep) -> StateStore:
    """The state store."""
    return ctx.state


IndexDep = Annotated[MentionIndex, Depends(get_index)]
StateDep = Annotated[StateStore, Depends(get_state)]


def require_api_key(
    ctx: ContextDep,
    header_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> ApiKeyInfo | None:
    """Accepts `X-API-Key: KEY` or `Authorization: Bearer KEY`; None when keys are off."""
    if not ctx.settings.api.require_api_key:
        return None
    key = header_key or (bearer.credentials if bearer else None)
    if not key:
        raise Problem(
            401,
            "API key required",
            "send an API key in the X-API-Key header; create one with `veille keys create`",
        )
    info = ctx.state.verify_api_key(key)
    if info is None:
        raise Problem(401, "Invalid API key", "this API key is unknown or was revoked")
    return info


AuthDep = Depends(require_api_key)
