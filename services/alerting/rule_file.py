"""Rule files for backtests: the API's rule shape (a nested `detector`), or a bare detector.

The same document works both ways: `GET /api/v1/alert-rules/NAME` saved as rule.json (or
rewritten as YAML) backtests as it is. The older flat form (`kind`, `sensitivity`,
`bucket`, ... at the top) is still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.alerting.rules import (
    AlertRule,
    Rule,
    RuleError,
    check_detector_fields,
    validation_summary,
)

#: keys only the API's rule shape has: a document with any of them is read as one.
_ALERT_RULE_KEYS = frozenset(AlertRule.model_fields) - {"name", "kind"}


@dataclass(frozen=True)
class RuleDocument:
    """A rule read from a file: its detector, and the API rule when the file has a target."""

    detector: Rule
    alert_rule: AlertRule | None


def load_rule_document(path: str | Path) -> RuleDocument:
    """Reads a rule file (YAML or JSON); raises RuleError naming the file and the field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read rule: {exc.strerror or exc}") from exc
    return rule_document(text, source=str(path))


def rule_document(text: str, *, source: str = "<rule>") -> RuleDocument:
    """Parses a rule document; raises RuleError with a readable message."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleError(f"{source}: a rule must be a mapping of fields, got {type(data).__name__}")
    try:
        if _ALERT_RULE_KEYS & data.keys():
            return _alert_rule_document(data)
        check_detector_fields(data)
        return RuleDocument(Rule.model_validate(data), None)
    except ValidationError as exc:
        raise RuleError(f"{source}: invalid rule: {validation_summary(exc)}") from None
    except ValueError as exc:
        raise RuleError(f"{source}: invalid rule: {exc}") from None


def _alert_rule_document(data: dict[str, Any]) -> RuleDocument:
    has_target = "target" in data
    # A backtest over a CSV needs no target: stand-ins let the rest be validated as the
    # API would, and `alert_rule` stays None so nothing reads them.
    filled = {"name": "rule", "target_type": "saved_search", "target": "-", **data}
    rule = AlertRule.model_validate(filled)
    if rule.kind == "new_mention":
        raise ValueError("kind: a new_mention rule has no detector to backtest")
    return RuleDocument(rule.detector_rule(), rule if has_target else None)
