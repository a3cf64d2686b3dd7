"""Alerting: rule model, streaming detectors, backtest (notifiers and outbox come later)."""

from services.alerting.detectors import Alert, Detector, make_detector
from services.alerting.rules import Rule, RuleError, load_rule

__all__ = ["Alert", "Detector", "Rule", "RuleError", "load_rule", "make_detector"]
