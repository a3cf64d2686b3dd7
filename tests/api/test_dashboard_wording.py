"""The dashboard says in the page's language what the server gives as data, in headless
Chromium: a brand's default rule names and an alert's baseline (worded from the parts the
API adds next to its English sentences), times of day ("08:00" in French, not the
browser's "8:00 AM"), the labels of a form left open across a language switch (typed
values and focus kept), and the brand a report is scheduled for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.alerting.explanation import english, rule_baseline
from services.alerting.rules import rule_from_yaml
from services.runtime.app.context import ServiceContext
from tests.api.test_dashboard import live_api  # noqa: F401  (the served API, seeded)
from tests.api.test_dashboard_setup import BOARD, TIMEOUT, _done, _get, _item
from tests.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

VOLUME = "Veloria: volume spike"
# A negative-share rule's explanation (weekly season), as the evaluator stores it.
POOLED_RULE = rule_from_yaml(
    "kind: negative_share_spike\nbucket: 1h\nseasonality: weekly\nbaseline_window: 28d\n"
    "sensitivity: low\n"
)
POOLED = (
    "pooled negative share (same hour of the same weekday, else all buckets) over the last "
    "28d; scale = binomial sd"
)
# An event of an older version whose sentence migration 0019 could not read: no parts.
OLDER = "seasonal median (hour of week) over 28 days"


def _labels(form: str) -> str:
    """JavaScript: the words of a form's labels, legends and buttons, in order (a rule's
    advanced settings apart: `_advanced`)."""
    found = "':is(label > span, legend, button):not(.advanced *)'"
    return f"[...{form}.querySelectorAll({found})].map((n) => n.textContent)"


# A duration's units, French to English.
UNITS = {"minutes": "minutes", "heures": "hours", "jours": "days", "semaines": "weeks"}


def _advanced(form: str) -> str:
    """JavaScript: a rule form's advanced settings, their fold's words then each shown
    setting's label and, for a duration, its unit."""
    shown = "label:not([hidden]) > span, label:not([hidden]) > select[name$=-unit]"
    return (
        f"[{form}.querySelector('.advanced summary').textContent,"
        f" ...[...{form}.querySelectorAll('.advanced :is({shown})')]"
        ".map((n) => n.tagName === 'SELECT' ? n.selectedOptions[0].textContent : n.textContent)]"
    )


def _switch(browser: Browser, lang: str) -> None:
    """The header's switcher: the page's words and the board drawn again at once."""
    browser.select("lang", lang)
    browser.wait_for(f"document.documentElement.lang === {json.dumps(lang)}")


def test_default_rule_names_and_an_alert_baseline_read_in_french(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    ctx.state.record_alert_event(
        rule_name="Veloria: negative share",
        kind="negative_share_spike",
        status="firing",
        dedupe_key="k-pooled",
        numbers={
            "kind": "negative_share_spike",
            "observed": 0.5,
            "expected": 0.2,
            "score": 3.5,
            "threshold": 3,
            "baseline_method": english(rule_baseline(POOLED_RULE)),
            "window_start": (now - timedelta(hours=2)).isoformat(),
            "window_end": now.isoformat(),
        },
        channels=[],
        baseline=rule_baseline(POOLED_RULE)
        .model_copy(update={"observed": 0.5, "expected": 0.2, "score": 3.5})
        .model_dump(mode="json", exclude_none=True),
    )
    ctx.state.record_alert_event(
        rule_name="Veloria: drop",
        kind="drop",
        status="resolved",
        dedupe_key="k-older",
        numbers={"baseline_method": OLDER},
        channels=[],
    )
    # API clients keep the English sentences; the parts come beside them.
    rules = {r["name"]: r for r in _get(live_api, api_key, "/alert-rules")}
    assert rules[VOLUME]["default_name"] == {"target": "Veloria", "kind": "volume_spike"}
    older, event = _get(live_api, api_key, "/alerts/events", brand="Veloria")["events"][:2]
    assert older["baseline"] is None
    assert event["rule"] == "Veloria: negative share"
    assert event["rule_default_name"] == {"target": "Veloria", "kind": "negative_share_spike"}
    assert event["numbers"]["baseline_method"] == POOLED
    assert event["baseline"] == {
        "method": "pooled_share",
        "season": "weekly",
        "window_seconds": 28 * 86400,
        "level_seconds": None,
        "percentile": None,
        "digest": None,
        "count": None,
        "kinds": None,
        "bucket_seconds": 3600,
        "sensitivity": "low",
        "threshold": POOLED_RULE.threshold,
        "observed": 0.5,
        "expected": 0.2,
        "score": 3.5,
    }

    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('alert-rules', VOLUME)}")
        names = browser.evaluate(
            "[...document.querySelectorAll('#alert-rules .rule-name')].map((n) => n.textContent)"
        )
        assert "Veloria\u00a0: pic de volume" in names
        assert "Veloria\u00a0: part négative" in names
        assert not any("spike" in n or "negative share" in n for n in names), names
        alerts = browser.text("alerts")
        assert "Veloria\u00a0: part négative\u00a0: Hausse de la part négative (en cours)" in alerts
        assert (
            "référence\u00a0: part négative cumulée (même heure du même jour de la semaine, "
            "sinon toutes les périodes) sur les 28 derniers jours\u00a0; échelle\u00a0: "
            "écart type binomial"
        ) in alerts
        assert "pooled" not in alerts and "negative share" not in alerts
        assert f"référence\u00a0: {OLDER}" in alerts  # no parts: shown as it is

        # The same in English, worded by the page too.
        _switch(browser, "en")
        browser.wait_for(
            f"{_item('alert-rules', VOLUME, '.rule-name')}.textContent === {json.dumps(VOLUME)}"
        )
        assert (
            "baseline: pooled negative share (same hour of the same weekday, else all buckets) "
            "over the last 28 days; scale = binomial sd"
        ) in browser.text("alerts")
        assert browser.evaluate("[...I18n.missing]") == []


def test_times_of_day_follow_the_page_not_the_browser(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    chosen = "document.getElementById('report-at').selectedOptions[0].textContent"
    with Browser(tmp_path / "profile") as browser:
        assert browser.evaluate("navigator.language") == "en-US"  # a 12-hour clock
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(BOARD)
        browser.evaluate("document.getElementById('new-report').click()")
        assert browser.evaluate("document.getElementById('report-at').value") == "08:00"
        assert browser.evaluate(chosen) == "08:00"
        shown = browser.evaluate(
            "[...document.getElementById('report-at').options].map((o) => o.textContent)"
        )
        assert "14:30" in shown and "23:30" in shown
        assert not any("AM" in s or "PM" in s for s in shown), shown

        # A language switch writes the open form's times again, its choice kept.
        browser.select("report-at", "14:30")
        _switch(browser, "en")
        assert browser.evaluate(chosen).replace("\u202f", " ") == "2:30 PM"
        assert browser.evaluate("document.getElementById('report-at').value") == "14:30"


def test_an_open_form_is_relabelled_on_a_language_switch(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """A default rule's edit form and a saved search's, open and typed into, in French;
    switched to English, their labels and choices read in English, the values typed and
    the field with the cursor unchanged."""
    made = httpx.post(
        f"{live_api}/api/v1/saved-searches",
        json={"name": "sav", "query": "sav"},
        headers={"X-API-Key": api_key},
        timeout=TIMEOUT,
    )
    assert made.status_code == 201, made.text
    rule_form = _item("alert-rules", VOLUME, "form")
    search_form = _item("saved-searches", "sav", "form")
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('saved-searches', 'sav', '.edit')}")
        browser.evaluate(f"{_item('alert-rules', VOLUME, '.edit')}.click()")
        assert browser.evaluate(_labels(rule_form)) == [
            "Nom de la règle", "Alerter sur", "Sensibilité", "Envoyer aussi par",
            "Ajouter un canal", "active", "Enregistrer les modifications", "Annuler",
        ]  # fmt: skip
        # (the bucket is the one the default rule chose for the brand's volume: its unit varies)
        fold, bucket, bucket_unit, baseline, baseline_unit = browser.evaluate(_advanced(rule_form))[
            :5
        ]
        assert (fold, bucket, baseline) == ("Réglages avancés", "Intervalle", "Référence sur")
        assert {bucket_unit, baseline_unit} <= set(UNITS)
        name = f"{rule_form}.querySelector('[name=name]')"
        assert browser.evaluate(f"{name}.value") == "Veloria\u00a0: pic de volume"
        browser.evaluate(
            f"{rule_form}.querySelector('[name=sensitivity]').value = 'high';"
            f"{rule_form}.querySelector('[name=channel]').value = 'slack';"
            f"{rule_form}.querySelector('[name=channel]').dispatchEvent(new Event('change'))"
        )
        secret = f"{rule_form}.querySelector('[name=channel-target]')"
        assert browser.evaluate(f"{secret}.placeholder") == "p. ex. VEILLE_SLACK_WEBHOOK"

        browser.evaluate(f"{_item('saved-searches', 'sav', '.edit')}.click()")
        query = f"{search_form}.querySelector('[name=query]')"
        browser.evaluate(f"{query}.value = 'sav OR retour'; {query}.focus()")
        assert browser.evaluate(_labels(search_form))[:3] == ["Nom", "Requête", "Description"]

        _switch(browser, "en")
        assert browser.evaluate(_labels(search_form)) == [
            "Name", "Query", "Description", "shared with the workspace",
            "Save the changes", "Cancel",
        ]  # fmt: skip
        assert browser.evaluate(f"{query}.value") == "sav OR retour"
        assert browser.evaluate(f"document.activeElement === {query}")
        assert browser.evaluate(_labels(rule_form)) == [
            "Rule name", "Alert on", "Sensitivity", "Also send to",
            "Add a channel", "active", "Save the changes", "Cancel",
        ]  # fmt: skip
        kinds = f"[...{rule_form}.querySelector('[name=kind]').options].map((o) => o.textContent)"
        assert browser.evaluate(kinds) == [
            "New mentions", "Volume spike", "Negative share spike", "Unusual drop"
        ]  # fmt: skip
        assert browser.evaluate(f"{rule_form}.querySelector('[name=sensitivity]').value") == "high"
        assert browser.evaluate(_advanced(rule_form))[:5] == [
            "Advanced settings", "Bucket", UNITS[bucket_unit],
            "Baseline over", UNITS[baseline_unit],
        ]  # fmt: skip
        assert browser.evaluate(f"{secret}.placeholder") == "e.g. VEILLE_SLACK_WEBHOOK"
        assert browser.evaluate(f"{secret}.getAttribute('aria-label')") == (
            "Secret holding the address or URL"
        )
        assert browser.evaluate(f"{name}.value") == VOLUME
        # The item's own lines follow the language too; its form is the same node.
        meta = browser.evaluate(f"{_item('alert-rules', VOLUME, '.meta')}.textContent")
        assert meta.startswith("Volume spike · brand Veloria"), meta

        # Saved from English: the default rule keeps the name the server gave it.
        browser.evaluate(
            f"{rule_form}.querySelector('[name=channel]').value = '';"
            f"{rule_form}.querySelector('[name=channel]').dispatchEvent(new Event('change'))"
        )
        _done(browser, f"{rule_form}.querySelector('.save-edit').click()")
        assert browser.text("rules-note") == f"Alert rule “{VOLUME}” changed."
        assert _get(live_api, api_key, f"/alert-rules/{VOLUME}")["detector"]["sensitivity"] == (
            "high"
        )
        assert browser.evaluate("[...I18n.missing]") == []


def test_a_report_names_its_brand_and_another_can_be_chosen(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    made = httpx.post(
        f"{live_api}/api/v1/brands",
        json={"name": "Zéphyr"},
        headers={"X-API-Key": api_key},
        timeout=TIMEOUT,
    )
    assert made.status_code == 201, made.text
    brand = "document.getElementById('report-brand')"
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr&brand=Veloria#key={api_key}")
        browser.wait_for(BOARD)
        browser.evaluate("document.getElementById('new-report').click()")
        assert browser.visible("report-brand")
        label = browser.evaluate(f"{brand}.closest('label').querySelector('span').textContent")
        assert label == "Marque"
        assert browser.evaluate(f"{brand}.value") == "Veloria"  # the brand shown
        assert browser.evaluate(f"[...{brand}.options].map((o) => o.value)") == [
            "Veloria",
            "Zéphyr",
        ]
        assert browser.evaluate("document.getElementById('report-name').value") == (
            "veloria-weekly"
        )
        browser.select("report-brand", "Zéphyr")  # the name offered follows
        assert browser.evaluate("document.getElementById('report-name').value") == ("zephyr-weekly")
        _done(browser, "document.querySelector('#report-form button[type=submit]').click()")
        assert browser.text("reports-note") == "Rapport «\u00a0zephyr-weekly\u00a0» programmé."
        assert _get(live_api, api_key, "/reports/zephyr-weekly")["brand"] == "Zéphyr"


def test_the_period_s_days_follow_the_page_not_the_browser(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """A browser's date field writes its locale's days (11/01/2026, read in French as
    11 January): the page says each day in its own words, and the field opens from it."""
    with Browser(tmp_path / "profile") as browser:
        browser.open(
            f"{live_api}/dashboard/?lang=fr&period=custom&from=2026-11-01&to=2026-12-07"
            f"#key={api_key}"
        )
        browser.wait_for(BOARD)
        assert browser.text("from-shown") == "1 nov. 2026"
        assert browser.text("to-shown") == "7 déc. 2026"
        # the browser's own field is out of sight, and out of the tab order
        assert browser.evaluate("getComputedStyle(document.getElementById('from')).opacity") == "0"
        assert browser.evaluate("document.getElementById('from').tabIndex") == -1
        label = browser.evaluate(
            "document.getElementById('from-shown').getAttribute('aria-labelledby')"
        )
        assert label == "from-label from-shown"

        browser.select("from", "2026-11-15")  # as the calendar sets it
        browser.wait_for(
            f"{BOARD} && document.getElementById('from-shown').textContent === '15 nov. 2026'"
        )
        assert "from=2026-11-15" in browser.evaluate("location.search")
        _switch(browser, "en")
        assert browser.text("from-shown") == "Nov 15, 2026"
        assert browser.text("to-shown") == "Dec 7, 2026"
