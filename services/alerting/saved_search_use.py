"""Which alert rules watch a saved search, and what becomes of them when it is deleted.

Deleting a saved search that rules or reports use is refused by the API unless forced;
forced, its rules are disabled. A rule whose saved search is missing anyway (deleted before
that check existed, or forced) is not evaluated: `missing_target` says why, for the rule
listing and for one log line (see `Evaluator.run_once`).
"""

from __future__ import annotations

from typing import Any

from services.alerting import saved_searches as ss
from services.alerting.rules import AlertRule
from services.store.state.contract import NotFoundError, StateStore

RULE_KIND = "alert_rule"


def rules_using(state: StateStore, name: str) -> list[str]:
    """The names of the stored alert rules whose target is the saved search `name`."""
    return [
        r.name
        for r in state.list_specs(RULE_KIND)
        if r.spec.get("target_type") == "saved_search" and r.spec.get("target") == name
    ]


def disable_rules_using(state: StateStore, name: str) -> list[str]:
    """Switches off the stored rules watching saved search `name`; returns their names."""
    return _change_rules_using(state, name, {"enabled": False})


def retarget_rules(state: StateStore, old: str, new: str) -> list[str]:
    """Points the stored rules watching saved search `old` at `new` (it was renamed)."""
    return _change_rules_using(state, old, {"target": new})


def _change_rules_using(state: StateStore, name: str, change: dict[str, Any]) -> list[str]:
    """Applies `change` to each stored rule watching saved search `name`; their names."""
    names = rules_using(state, name)
    for rule_name in names:
        record = state.get_spec(RULE_KIND, rule_name)
        state.put_spec(
            RULE_KIND,
            name=rule_name,
            spec={**record.spec, **change},
            owner=record.owner,
            visibility=record.visibility,
        )
    return names


def missing_target(state: StateStore, rule: AlertRule) -> str | None:
    """Why the rule cannot run when its saved search is gone, else None."""
    if rule.target_type != "saved_search":
        return None
    try:
        ss.get_saved_search(state, rule.target)
    except NotFoundError:
        return (
            f"its saved search {rule.target!r} was deleted: point the rule at another "
            "search or delete it"
        )
    return None
