"""A rule's advanced settings and a report's sections and days, edited from the dashboard in
headless Chromium and checked over the API; and the API's refusals said in the page's
language from their codes: each refused field next to it (worded again on a language
switch), a name taken, something deleted meanwhile, in French and in English."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_dashboard import live_api  # noqa: F401  (the served API, seeded)
from tests.api.test_dashboard_edits import _fill, _post
from tests.api.test_dashboard_setup import BOARD, TIMEOUT, _done, _get, _item
from tests.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

RULE = {"target_type": "saved_search", "target": "sav", "kind": "volume_spike"}


def _errors(browser: Browser, form: str) -> dict[str, str]:
    """Each reason said in the form, by the name of the control it is next to."""
    found: dict[str, str] = browser.evaluate(
        f"Object.fromEntries([...{form}.querySelectorAll('[aria-invalid=true]')].map((c) =>"
        " [c.name || c.dataset.field,"
        " document.getElementById(c.getAttribute('aria-describedby')).textContent]))"
    )
    return found


def _rule(base: str, key: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _get(base, key, f"/alert-rules/{name}")
    return found


def test_a_rules_advanced_settings_edited_and_refused_in_french(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """In French: the rule's bucket, baseline, seasonality, minimum volume (typed "2,5"),
    smoothing and quiet time stored as the API takes them; then a negative volume and no
    smoothing refused, each next to its field (in English after a switch), and a bucket
    too long for its baseline, nothing stored; a number that is none refused before asking
    the API; a name taken said in French."""
    _post(live_api, api_key, "/saved-searches", {"name": "sav", "query": "sav"})
    _post(live_api, api_key, "/alert-rules", {**RULE, "name": "sav: pic"})
    _post(live_api, api_key, "/alert-rules", {**RULE, "name": "sav: autre"})
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('alert-rules', 'sav: pic', '.edit')}")
        browser.evaluate(f"{_item('alert-rules', 'sav: pic', '.edit')}.click()")
        form = _item("alert-rules", "sav: pic", "form")
        summary = browser.evaluate(f"{form}.querySelector('.advanced summary').textContent")
        assert summary == "Réglages avancés"
        # Shown for a spike, not a new mention's batching; the defaults as placeholders.
        shown = f"(n) => !{form}.querySelector(`[name=${{n}}]`).closest('label').hidden"
        assert browser.evaluate(f"['bucket', 'min_ratio', 'cooldown'].every({shown})")
        assert not browser.evaluate(f"({shown})('batch_size')")
        assert browser.evaluate(f"{form}.querySelector('[name=min_ratio]').placeholder") == "1,5"
        settings = {
            "bucket": "1",
            "bucket-unit": "h",
            "baseline_window": "7",
            "baseline_window-unit": "d",
            "seasonality": "weekly",
            "min_volume": "2,5",
            "smoothing": "3",
            "cooldown": "2",
            "cooldown-unit": "h",
        }
        browser.evaluate(_fill(form, settings))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("rules-note") == "Règle d'alerte «\u00a0sav: pic\u00a0» modifiée."
        rule = _rule(live_api, api_key, "sav: pic")
        assert rule["detector"] == {
            "sensitivity": "medium",
            "bucket": "1h",
            "baseline_window": "7d",
            "seasonality": "weekly",
            "min_volume": 2.5,
            "smoothing": 3,
        }
        assert (rule["cooldown"], rule["repeat_interval"]) == ("2h", None)

        # Opened again: what is stored, in French ("2,5"); refused settings said each
        # next to its field, the advanced settings unfolded, nothing stored.
        browser.evaluate(f"{_item('alert-rules', 'sav: pic', '.edit')}.click()")
        assert browser.evaluate(f"{form}.querySelector('[name=min_volume]').value") == "2,5"
        assert browser.evaluate(f"{form}.querySelector('[name=seasonality]').value") == "weekly"
        browser.evaluate(_fill(form, {"min_volume": "-1", "smoothing": "0"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("rules-note") == "Refusé\u00a0: voir les champs signalés"
        assert browser.evaluate(f"{form}.querySelector('.advanced').open")
        assert _errors(browser, form) == {
            "min_volume": "doit valoir 0 ou plus",
            "smoothing": "doit valoir 1 ou plus",
        }
        assert _rule(live_api, api_key, "sav: pic")["detector"]["min_volume"] == 2.5
        browser.select("lang", "en")
        assert _errors(browser, form)["min_volume"] == "must be 0 or more"
        assert browser.text("rules-note") == "Refused: see the fields marked"
        browser.select("lang", "fr")
        # A bucket longer than half the baseline: said at the bucket, the others cleared.
        settings = {"min_volume": "2,5", "smoothing": "3", "bucket": "8", "bucket-unit": "d"}
        browser.evaluate(_fill(form, settings))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert _errors(browser, form) == {
            "bucket": "trop long pour une référence sur 7d\u00a0: il en faut au moins deux"
        }
        assert _rule(live_api, api_key, "sav: pic")["detector"]["bucket"] == "1h"

        # Not a number: refused here, in French, before the API is asked.
        browser.evaluate(_fill(form, {"bucket": "1", "bucket-unit": "h", "smoothing": "trois"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert _errors(browser, form) == {"smoothing": "doit être un nombre entier"}

        # Another rule's name: the API's 409, in French.
        browser.evaluate(_fill(form, {"smoothing": "3", "name": "sav: autre"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("rules-note") == (
            "Refusé\u00a0: ce nom est déjà pris\u00a0: choisissez-en un autre"
        )
        assert _errors(browser, form) == {}


def test_a_reports_sections_and_days_edited_and_refused_in_english(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """In English: a report's sections cut down and its period made chosen days (each
    day said in English); no section, or a last day before the first, refused in the
    page's words; a report deleted meanwhile said so."""
    _post(live_api, api_key, "/reports", {"name": "hebdo", "brand": "Veloria"})
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('reports', 'hebdo', '.edit')}")
        browser.evaluate(f"{_item('reports', 'hebdo', '.edit')}.click()")
        form = _item("reports", "hebdo", "form")
        ticks = f"[...{form}.querySelectorAll('[name=section]')]"
        labels = browser.evaluate(f"{ticks}.map((t) => t.parentNode.textContent.trim())")
        assert labels[:3] == [
            "Key figures",
            "Volume and sentiment",
            "Share of voice against competitors",
        ]
        assert browser.evaluate(f"{ticks}.every((t) => t.checked)")
        keep = ["key_figures", "share_of_voice", "alerts"]
        browser.evaluate(
            f"{ticks}.forEach((t) => {{ t.checked = {json.dumps(keep)}.includes(t.value); }})"
        )
        day = f"{form}.querySelector('[name=since]')"
        assert browser.evaluate(f"{day}.closest('label').hidden")
        browser.evaluate(_fill(form, {"period": "custom"}))
        assert not browser.evaluate(f"{day}.closest('label').hidden")
        browser.evaluate(_fill(form, {"since": "2026-11-02", "until": "2026-11-29"}))
        assert browser.evaluate(f"{day}.previousElementSibling.textContent") == "Nov 2, 2026"
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("reports-note") == "Report “hebdo” changed."
        report = _get(live_api, api_key, "/reports/hebdo")
        assert report["sections"] == keep
        assert (report["period"], report["since"], report["until"]) == (
            "custom", "2026-11-02", "2026-11-29"
        )  # fmt: skip

        browser.evaluate(f"{_item('reports', 'hebdo', '.edit')}.click()")
        browser.evaluate(f"{ticks}.forEach((t) => {{ t.checked = false; }})")
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert _errors(browser, form) == {"sections": "choose at least one"}
        assert browser.text("reports-note") == "Refused: see the fields marked"
        # A last day before the first: the whole period's fault, said in the panel.
        browser.evaluate(f"{ticks}[0].checked = true")
        browser.evaluate(_fill(form, {"until": "2026-10-01"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert _errors(browser, form) == {}
        assert browser.text("reports-note") == "Refused: the last day comes before the first"
        assert _get(live_api, api_key, "/reports/hebdo")["sections"] == keep
        browser.select("lang", "fr")
        assert browser.text("reports-note") == "Refusé\u00a0: le dernier jour précède le premier"
        assert browser.evaluate(f"{day}.previousElementSibling.textContent") == "2 nov. 2026"
        browser.select("lang", "en")

        # Deleted meanwhile, elsewhere: said in English, not as the API's sentence.
        gone = httpx.delete(
            f"{live_api}/api/v1/reports/hebdo", headers={"X-API-Key": api_key}, timeout=TIMEOUT
        )
        assert gone.status_code == 204
        browser.evaluate(_fill(form, {"until": "2026-11-29"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("reports-note") == "Refused: it no longer exists (deleted meanwhile?)"
