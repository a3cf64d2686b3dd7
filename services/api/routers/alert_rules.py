"""Alert rules: CRUD. Channels name where their secret lives, never the secret itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from services.alerting import saved_searches as ss
from services.alerting.rules import AlertRule
from services.api.deps import StateDep, require_api_key
from services.api.problems import Problem
from services.store.state.contract import ApiKeyInfo, NotFoundError, StateStore

router = APIRouter(prefix="/alert-rules", tags=["alerts"])

KIND = "alert_rule"
CallerDep = Annotated[ApiKeyInfo | None, Depends(require_api_key)]


def _rule(state: StateStore, name: str) -> AlertRule:
    return AlertRule.model_validate(state.get_spec(KIND, name).spec)


def _check_target(state: StateStore, rule: AlertRule, caller: ApiKeyInfo | None) -> None:
    try:
        if rule.target_type == "brand":
            state.get_brand(rule.target)
            return
        search = ss.get_saved_search(state, rule.target)
    except NotFoundError:
        search = None
    owner = caller.name if caller is not None else None
    if search is None or not ss.visible_to(search, owner):
        raise Problem(
            422,
            "Unknown target",
            f"no {rule.target_type.replace('_', ' ')} is named {rule.target!r}",
        )


def _save(state: StateStore, rule: AlertRule, caller: ApiKeyInfo | None, *, create: bool) -> None:
    state.put_spec(
        KIND,
        name=rule.name,
        spec=rule.model_dump(mode="json"),
        owner=caller.name if caller is not None else None,
        visibility="shared",
        create_only=create,
    )


@router.get("", summary="List alert rules")
def list_rules(state: StateDep, caller: CallerDep) -> list[AlertRule]:
    """Every alert rule, by name."""
    return [AlertRule.model_validate(r.spec) for r in state.list_specs(KIND)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an alert rule")
def create_rule(rule: AlertRule, state: StateDep, caller: CallerDep) -> AlertRule:
    """Adds a rule on a saved search or a brand."""
    _check_target(state, rule, caller)
    _save(state, rule, caller, create=True)
    return _rule(state, rule.name)


@router.get("/{name}", summary="Get an alert rule")
def get_rule(name: str, state: StateDep, caller: CallerDep) -> AlertRule:
    """One alert rule by name."""
    return _rule(state, name)


@router.put("/{name}", summary="Replace an alert rule")
def replace_rule(name: str, rule: AlertRule, state: StateDep, caller: CallerDep) -> AlertRule:
    """Replaces an alert rule."""
    if rule.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    state.get_spec(KIND, name)
    _check_target(state, rule, caller)
    _save(state, rule, caller, create=False)
    return _rule(state, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an alert rule")
def delete_rule(name: str, state: StateDep, caller: CallerDep) -> Response:
    """Deletes an alert rule; its past events stay listed."""
    state.delete_spec(KIND, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
