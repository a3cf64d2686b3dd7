"""Alert rules: CRUD and backtests. Channels name where their secret lives, never the secret.

Every brand and competitor has default rules (`services/alerting/default_rules.py`): they are
listed and read like the others; a PUT of one stores a replacement (with channels, or
`"enabled": false`), and deleting that replacement brings the default back.

Creating or replacing a rule answers with `warnings`: the channels whose secret is not set
yet. They do not refuse the rule (a secret may be set after it), but until it is set its
deliveries fail, naming the variable.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from services.alerting import saved_searches as ss
from services.alerting.channels import WarningCode, channel_warnings, refused_targets
from services.alerting.default_rules import DefaultName, brand_rules, default_name_parts
from services.alerting.evaluator import brand_query
from services.alerting.history import backtest_rule, find_rule
from services.alerting.rules import AlertRule
from services.alerting.saved_search_use import missing_target
from services.alerting.secret_scope import context_scope
from services.api.deps import ContextDep, require_api_key
from services.api.patching import Changes, patched
from services.api.problems import Problem
from services.api.search_viewer import ViewerDep, hidden, unusable_name
from services.core.models import utcnow
from services.runtime.app.context import ServiceContext
from services.store.state.contract import (
    ApiKeyInfo,
    ConflictError,
    NameTakenError,
    NotFoundError,
    StateStore,
)

router = APIRouter(prefix="/alert-rules", tags=["alerts"])

KIND = "alert_rule"
CallerDep = Annotated[ApiKeyInfo | None, Depends(require_api_key)]


class WarningDetail(BaseModel):
    """Why a channel cannot deliver yet, as a code (`warnings` has it in English)."""

    channel: str = Field(description="the channel: its type and secret's name")
    code: WarningCode
    name: str = Field(description="the secret or setting not set (never its value)")


class SavedAlertRule(AlertRule):
    """A rule as saved, with what will stop it delivering (e.g. a secret not set yet)."""

    warnings: list[str] = Field(default_factory=list)
    warning_codes: list[WarningDetail] = Field(
        default_factory=list,
        description="each warning's code and the secret or setting it names, in the same "
        "order as `warnings`, for a client to word it in its own language",
    )


def _saved(ctx: ServiceContext, name: str) -> SavedAlertRule:
    rule = _rule(ctx, name)
    found = [w for c in rule.channels for w in channel_warnings(c, ctx.settings.alerting)]
    return SavedAlertRule.model_validate(
        {
            **rule.model_dump(mode="json"),
            "warnings": [w.text for w in found],
            "warning_codes": [
                {"channel": w.channel, "code": w.code, "name": w.name} for w in found
            ],
        }
    )


def _rule(ctx: ServiceContext, name: str) -> AlertRule:
    return find_rule(ctx.state, ctx.index, name, ctx.settings.alerting.brand_rules)


def _hidden(rule: AlertRule, secret: set[str]) -> bool:
    return rule.target_type == "saved_search" and rule.target in secret


def _seen(ctx: ServiceContext, name: str, viewer: ss.Viewer) -> AlertRule:
    """The rule, or 404 when absent or built on a private saved search the viewer may not
    see (as for the search itself: no existence leak)."""
    rule = _rule(ctx, name)
    if _hidden(rule, hidden(ctx.state, viewer)):
        raise Problem(404, "Not found", f"no alert rule is named {name!r}")
    return rule


def _taken(ctx: ServiceContext, name: str, viewer: ss.Viewer) -> Exception:
    """What to answer when `name` is taken: the 409 when the viewer may see the rule
    holding it, else the 422 of an unusable name (it watches a private saved search the
    viewer may not see: to them it does not exist)."""
    try:
        holder = AlertRule.model_validate(ctx.state.get_spec(KIND, name).spec)
    except (NotFoundError, ValueError):
        holder = None
    if holder is not None and _hidden(holder, hidden(ctx.state, viewer)):
        return unusable_name()
    return NameTakenError(f"an alert rule named {name!r} already exists")


def _defaults(ctx: ServiceContext) -> list[AlertRule]:
    return brand_rules(ctx.state, ctx.index, ctx.settings.alerting.brand_rules)


def _check_target(
    state: StateStore,
    rule: AlertRule,
    caller: ApiKeyInfo | None,
    current: AlertRule | None = None,
) -> None:
    """422 when the target is unknown to the caller. A rule's current saved search stays
    usable by whoever may change the rule (an admin disabling a rule on someone's private
    search); pointing a rule at a private search takes being its owner."""
    same = current is not None and (current.target_type, current.target) == (
        rule.target_type,
        rule.target,
    )
    if same and rule.target_type == "saved_search":
        return
    try:
        if rule.target_type == "brand":
            brand_query(state, rule.target)  # a brand or a competitor
            return
        search = ss.get_saved_search(state, rule.target)
    except NotFoundError as exc:
        if rule.target_type == "brand":  # the brand resolver's sentence, naming the known
            raise Problem(422, "Unknown target", str(exc)) from None
        search = None
    owner = caller.name if caller is not None else None
    if search is None or not ss.visible_to(search, owner):
        raise Problem(
            422,
            "Unknown target",
            f"no {rule.target_type.replace('_', ' ')} is named {rule.target!r}",
        )


def _check_channels(ctx: ServiceContext, rule: AlertRule) -> None:
    """422 naming the channel when its secret is not one the workspace may use
    (services/alerting/secret_scope.py); says nothing of whether a variable is set."""
    refused = refused_targets(rule.channels, context_scope(ctx))
    if refused:
        index, reason = refused[0]
        raise Problem(422, "Secret not allowed", reason, field=f"channels[{index}].target")


def _save(state: StateStore, rule: AlertRule, caller: ApiKeyInfo | None, *, create: bool) -> None:
    state.put_spec(
        KIND,
        name=rule.name,
        spec=rule.model_dump(mode="json"),
        owner=caller.name if caller is not None else None,
        visibility="shared",
        create_only=create,
    )


class ListedRule(AlertRule):
    """A rule as listed: whether it runs, and why not when it cannot."""

    status: Literal["active", "disabled", "error"] = "active"
    error: str | None = None
    default: bool = Field(
        default=False,
        description="a brand's default rule, not replaced: it cannot be deleted (PUT it "
        'with "enabled": false)',
    )
    error_reason: Literal["saved_search_deleted"] | None = Field(
        default=None,
        description="why the rule cannot run, as a code (`error` says it in English): "
        "saved_search_deleted, its saved search (`target`) was deleted",
    )
    default_name: DefaultName | None = Field(
        default=None,
        description="when the rule has a default rule's name ('Veloria: volume spike'): its "
        "brand and kind, for a client to word the name in its own language",
    )


def _listed(state: StateStore, rule: AlertRule, *, default: bool = False) -> ListedRule:
    error = missing_target(state, rule)
    status = "error" if error else "active" if rule.enabled else "disabled"
    parts = default_name_parts(rule.name)
    if parts is not None and (
        rule.target_type != "brand" or (parts.target, parts.kind) != (rule.target, rule.kind)
    ):
        parts = None  # the name of a default rule, given to another rule: a name as any
    listed = {
        "status": status,
        "error": error,
        "error_reason": "saved_search_deleted" if error else None,  # missing_target's one case
        "default": default,
        "default_name": parts,
    }
    return ListedRule.model_validate({**rule.model_dump(mode="json"), **listed})


@router.get("", summary="List alert rules")
def list_rules(ctx: ContextDep, caller: CallerDep, viewer: ViewerDep) -> list[ListedRule]:
    """Every alert rule by name, then the brands' default rules not replaced; `status`
    is `error` (with `error` saying why) for a rule that cannot run, e.g. on a saved
    search since deleted. A rule on someone else's private saved search is listed to its
    owner and the workspace admins only."""
    secret = hidden(ctx.state, viewer)
    stored = [
        rule
        for rule in (AlertRule.model_validate(r.spec) for r in ctx.state.list_specs(KIND))
        if not _hidden(rule, secret)
    ]
    names = {r.name for r in stored}
    defaults = [r for r in _defaults(ctx) if r.name not in names]
    return [_listed(ctx.state, r) for r in stored] + [
        _listed(ctx.state, r, default=True) for r in defaults
    ]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an alert rule")
def create_rule(
    rule: AlertRule, ctx: ContextDep, caller: CallerDep, viewer: ViewerDep
) -> SavedAlertRule:
    """Adds a rule on a saved search, a brand or a competitor; `warnings` lists its
    channels whose secret is not set yet (the rule is saved all the same). 409 when the
    name is taken by a rule the caller sees, 422 (`name`) when by one they do not."""
    if any(r.name == rule.name for r in _defaults(ctx)):
        raise Problem(409, "Conflict", f"{rule.name!r} is a default rule: PUT it to change it")
    _check_target(ctx.state, rule, caller)
    _check_channels(ctx, rule)
    try:
        _save(ctx.state, rule, caller, create=True)
    except ConflictError:
        raise _taken(ctx, rule.name, viewer) from None
    return _saved(ctx, rule.name)


Since = Annotated[
    str, Query(description="history to replay: 30d, 12h or an ISO 8601 date", examples=["30d"])
]
Explain = Annotated[bool, Query(description="add the buckets around each alert")]


@router.post("/backtest", summary="Backtest a rule before saving it")
def backtest_new_rule(
    rule: AlertRule,
    ctx: ContextDep,
    caller: CallerDep,
    since: Since = "30d",
    explain: Explain = False,
) -> dict[str, Any]:
    """The alerts the rule would have raised on its target's stored mentions, and the near
    misses: the highest-scoring buckets that raised none, with the score each sensitivity
    needs."""
    _check_target(ctx.state, rule, caller)
    return _backtest(ctx, rule, since, explain)


@router.get("/{name}", summary="Get an alert rule")
def get_rule(name: str, ctx: ContextDep, caller: CallerDep, viewer: ViewerDep) -> ListedRule:
    """One alert rule (or a brand's default rule) by name, with its status."""
    rule = _seen(ctx, name, viewer)
    stored = any(r.name == name for r in ctx.state.list_specs(KIND))
    return _listed(ctx.state, rule, default=not stored)


@router.post("/{name}/backtest", summary="Backtest a stored rule")
def backtest_stored_rule(
    name: str,
    ctx: ContextDep,
    caller: CallerDep,
    viewer: ViewerDep,
    since: Since = "30d",
    explain: Explain = False,
) -> dict[str, Any]:
    """Replays a stored (or default) rule on its target's stored mentions: its alerts and
    near misses, as `veille alerts backtest --name` prints them."""
    return _backtest(ctx, _seen(ctx, name, viewer), since, explain)


def _backtest(ctx: ServiceContext, rule: AlertRule, since: str, explain: bool) -> dict[str, Any]:
    if rule.kind == "new_mention":
        raise Problem(422, "Nothing to backtest", "a new_mention rule has no detector")
    now = utcnow()
    try:
        start = ss.resolve_time(since, now=now)
    except ValueError:
        start = None
    if start is None or start >= now:
        raise Problem(
            422,
            "Invalid request",
            f"since: {since!r} is not a past time (use 30d, 12h or an ISO 8601 date)",
            errors=[{"field": "since", "message": "use 30d, 12h or an ISO 8601 date"}],
        )
    if now - start > MAX_BACKTEST:
        start = now - MAX_BACKTEST
    report = backtest_rule(ctx.state, ctx.index, rule, since=start, until=now, explain=explain)
    return report.to_json()


#: the longest history a backtest replays over the API.
MAX_BACKTEST = timedelta(days=400)


@router.put("/{name}", summary="Replace an alert rule")
def replace_rule(
    name: str, rule: AlertRule, ctx: ContextDep, caller: CallerDep, viewer: ViewerDep
) -> SavedAlertRule:
    """Replaces an alert rule, or stores a replacement for a brand's default rule;
    `warnings` lists its channels whose secret is not set yet."""
    if rule.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    current = _seen(ctx, name, viewer)  # 404 when neither stored nor default (or hidden)
    _check_target(ctx.state, rule, caller, current)
    _check_channels(ctx, rule)
    _save(ctx.state, rule, caller, create=False)
    return _saved(ctx, name)


@router.patch("/{name}", summary="Change or rename an alert rule")
def update_rule(
    name: str, changes: Changes, ctx: ContextDep, caller: CallerDep, viewer: ViewerDep
) -> SavedAlertRule:
    """Changes the fields given (`name` renames it: its past alerts stay listed under the
    old name); a brand's default rule can be changed (a replacement is stored) but keeps
    its name. 409 when the new name is taken by a rule the caller sees (422 on `name` when
    by one they do not); the rename is one transaction. `warnings` as for a create."""
    current = _seen(ctx, name, viewer)  # 404 when neither stored nor default (or hidden)
    rule = patched(AlertRule, current.model_dump(mode="json"), changes)
    stored = any(r.name == name for r in ctx.state.list_specs(KIND))
    if rule.name != name:
        if not stored:
            raise Problem(
                422,
                "Invalid request",
                f"name: {name!r} is a brand's default rule and keeps its name",
                errors=[{"field": "name", "message": "a brand's default rule keeps its name"}],
            )
        if any(r.name == rule.name for r in _defaults(ctx)):
            raise Problem(409, "Conflict", f"{rule.name!r} is a brand's default rule")
    _check_target(ctx.state, rule, caller, current)
    _check_channels(ctx, rule)
    if rule.name == name:
        _save(ctx.state, rule, caller, create=False)
        return _saved(ctx, name)
    try:
        ctx.state.rename_spec(
            KIND,
            name,
            name=rule.name,
            spec=rule.model_dump(mode="json"),
            owner=caller.name if caller is not None else None,
            visibility="shared",
        )
    except ConflictError:
        raise _taken(ctx, rule.name, viewer) from None
    return _saved(ctx, rule.name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an alert rule")
def delete_rule(name: str, ctx: ContextDep, caller: CallerDep, viewer: ViewerDep) -> Response:
    """Deletes an alert rule; its past events stay listed. A default rule cannot be deleted
    (PUT it with `"enabled": false`), but its stored replacement can."""
    with suppress(NotFoundError):  # nothing by that name: the delete answers
        _seen(ctx, name, viewer)
    try:
        ctx.state.delete_spec(KIND, name)
    except NotFoundError:
        if any(r.name == name for r in _defaults(ctx)):
            raise Problem(
                409,
                "Conflict",
                f'{name!r} is a brand\'s default rule: PUT it with "enabled": false to turn '
                "it off, or set alerting.brand_rules.enabled: false for all of them",
            ) from None
        raise
    return Response(status_code=status.HTTP_204_NO_CONTENT)
