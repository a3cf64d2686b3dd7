"""An alert's explanation (how 'expected' was computed) reads in the message's language."""

from __future__ import annotations

import re

import pytest

from services.alerting.notifiers.email_message import email_html, email_text
from services.alerting.notifiers.slack_message import build_slack_payload
from services.alerting.notifiers.wording import baseline_text
from services.alerting.rules import rule_from_yaml
from tests.alerting.notifiers import make_message

ENGLISH = re.compile(r"\b(median|over|last|score unit|percentile|buckets|pooled|same|else)\b")


def _method(kind: str, seasonality: str, window: str, level: str) -> str:
    rule = rule_from_yaml(
        f"name: r\nkind: {kind}\nseasonality: {seasonality}\nbucket: 1h\n"
        f"baseline_window: {window}\nlevel_window: {level}\n"
    )
    return rule.baseline_method()


@pytest.mark.parametrize("kind", ["volume_spike", "drop", "negative_share_spike"])
@pytest.mark.parametrize("seasonality", ["none", "daily", "weekly"])
def test_every_rule_explanation_has_a_french_wording(kind: str, seasonality: str) -> None:
    method = _method(kind, seasonality, "14d", "1d")
    french = baseline_text(method, "fr")
    assert not ENGLISH.search(french), french
    assert "les 14 derniers jours" in french
    assert baseline_text(method, "en") == method
    if kind == "negative_share_spike":
        assert french.startswith("part négative cumulée")
        assert ("sinon toutes les périodes" in french) == (seasonality != "none")
    else:
        assert french.startswith("médiane")
        assert ("la dernière" in french or "le dernier jour" in french) == (seasonality != "none")


def test_durations_and_other_explanations() -> None:
    assert "les 3 dernières heures" in baseline_text(_method("drop", "none", "3h", "1d"), "fr")
    digest = baseline_text("daily digest of 3 alert(s) (drop, volume_spike)", "fr")
    assert digest == "résumé quotidien de 3 alertes (baisse inhabituelle, pic de volume)"
    assert baseline_text("weekly digest of 1 alert(s) (drop)", "fr").endswith(
        "1 alerte (baisse inhabituelle)"
    )
    assert baseline_text("new matching mentions (by time stored)", "fr").startswith("nouvelles")
    assert baseline_text("something else", "fr") == "something else"  # shown as it is


def test_email_and_slack_show_it_in_french() -> None:
    method = _method("volume_spike", "weekly", "28d", "7d")
    message = make_message(baseline=method)
    french = baseline_text(method, "fr")
    plain = email_text(message, language="fr")
    assert french in plain and method not in plain
    html = email_html(message, language="fr", with_chart=False)
    assert "même jour de la semaine" in html and "median of" not in html
    slack = str(build_slack_payload(message, language="fr"))
    assert "même jour de la semaine" in slack and "median of" not in slack
