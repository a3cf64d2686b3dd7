"""An alert's explanation (how 'expected' was computed) reads in the message's language,
worded from the parts stored with the event (services/alerting/explanation.py)."""

from __future__ import annotations

import re

import pytest

from services.alerting.explanation import (
    NEW_MENTIONS,
    Baseline,
    digest_baseline,
    english,
    rule_baseline,
)
from services.alerting.notifiers.email_message import email_html, email_text
from services.alerting.notifiers.slack_message import build_slack_payload
from services.alerting.notifiers.wording import baseline_text
from services.alerting.rules import rule_from_yaml
from tests.alerting.notifiers import make_message

ENGLISH = re.compile(r"\b(median|over|last|score unit|percentile|buckets|pooled|same|else)\b")


def _parts(kind: str, seasonality: str, window: str, level: str) -> Baseline:
    rule = rule_from_yaml(
        f"name: r\nkind: {kind}\nseasonality: {seasonality}\nbucket: 1h\n"
        f"baseline_window: {window}\nlevel_window: {level}\nsensitivity: high\n"
    )
    return rule_baseline(rule)


def _text(parts: Baseline, language: str) -> str:
    message = make_message(baseline=english(parts), baseline_parts=parts)
    return baseline_text(message, "fr" if language == "fr" else "en")


@pytest.mark.parametrize("kind", ["volume_spike", "drop", "negative_share_spike"])
@pytest.mark.parametrize("seasonality", ["none", "daily", "weekly"])
def test_every_rule_explanation_has_a_french_wording(kind: str, seasonality: str) -> None:
    parts = _parts(kind, seasonality, "14d", "1d")
    assert parts.bucket_seconds == 3600 and parts.sensitivity == "high"
    assert parts.threshold is not None and parts.threshold > 0
    french = _text(parts, "fr")
    assert not ENGLISH.search(french), french
    assert "les 14 derniers jours" in french
    assert _text(parts, "en") == english(parts)
    assert "over the last 14d" in english(parts)
    if kind == "negative_share_spike":
        assert french.startswith("part négative cumulée")
        assert ("sinon toutes les périodes" in french) == (seasonality != "none")
        assert ("else all buckets" in english(parts)) == (seasonality != "none")
    else:
        assert french.startswith("médiane")
        assert ("la dernière" in french or "le dernier jour" in french) == (seasonality != "none")


def test_durations_and_other_explanations() -> None:
    assert "les 3 dernières heures" in _text(_parts("drop", "none", "3h", "1d"), "fr")
    digest = digest_baseline("daily", ["volume_spike", "drop", "drop"])
    assert english(digest) == "daily digest of 3 alert(s) (drop, volume_spike)"
    assert (
        _text(digest, "fr") == "résumé quotidien de 3 alertes (baisse inhabituelle, pic de volume)"
    )
    assert _text(digest_baseline("weekly", ["drop"]), "fr").endswith(
        "1 alerte (baisse inhabituelle)"
    )
    assert _text(NEW_MENTIONS, "fr").startswith("nouvelles")
    assert english(NEW_MENTIONS) == "new matching mentions (by time stored)"


def test_an_older_sentence_of_no_known_shape_is_shown_as_it_is() -> None:
    # an event of an older version whose sentence migration 0019 could not read
    message = make_message(baseline="something else", baseline_parts=None)
    assert baseline_text(message, "fr") == "something else"
    assert baseline_text(message, "en") == "something else"


def test_email_and_slack_show_it_in_french() -> None:
    parts = _parts("volume_spike", "weekly", "28d", "7d")
    message = make_message(baseline=english(parts), baseline_parts=parts)
    french = baseline_text(message, "fr")
    plain = email_text(message, language="fr")
    assert french in plain and english(parts) not in plain
    html = email_html(message, language="fr", with_chart=False)
    assert "même jour de la semaine" in html and "median of" not in html
    slack = str(build_slack_payload(message, language="fr"))
    assert "même jour de la semaine" in slack and "median of" not in slack
    # in English, the sentence the event keeps in numbers.baseline_method
    assert english(parts) in email_text(message, language="en")
