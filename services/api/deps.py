"""FastAPI dependencies, as typed aliases (`IndexDep`, `StateDep`, ...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.api.problems import Problem
from services.runtime.context import ServiceContext
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


ANONYMOUS = "anonymous"  # the caller when API keys are off (a single-user installation)


def caller_name(info: ApiKeyInfo | None) -> str:
    """Who is calling, as triage records it (`assignee:me`, who changed what, note authors).

    For now the API key's name; the one place to change when keys belong to users."""
    return info.name if info is not None else ANONYMOUS


def get_caller_name(info: Annotated[ApiKeyInfo | None, Depends(require_api_key)]) -> str:
    """The caller's name (see `caller_name`)."""
    return caller_name(info)


CallerNameDep = Annotated[str, Depends(get_caller_name)]
# For routes other code also calls as functions (reports call the stats routes).
CallerNameOptDep = Annotated[str | None, Depends(get_caller_name)]
