"""What a community manager sets up from the dashboard and takes down again, in headless
Chromium: save the search explored, make an alert rule on it, schedule a report, and
delete each after a confirmation (a saved search an alert rule uses is refused, naming the
rule, then deleted when asked again); the controls follow the caller's role; "mark all of
this story answered" changes only the copies the row stands for and says how many."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.evidence import Evidence, WeightedWord
from services.core.models import Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.api.test_dashboard import live_api  # noqa: F401  (the served API, seeded)
from tests.api.test_dashboard_triage import WATCH_POLICY, _acted, _in_item
from tests.browser import CHROMIUM, Browser
from tests.factories import make_mention

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

SETUP = "Number(document.body.dataset.setup || 0)"
# The first request of a fresh server can be slow on a loaded machine: httpx's 5 s is short.
TIMEOUT = 60.0
BOARD = "document.body.dataset.loaded === 'Veloria' && Number(document.body.dataset.inbox || 0) > 0"


def _get(base: str, key: str, path: str, **params: str) -> Any:
    response = httpx.get(
        f"{base}/api/v1{path}", params=params, headers={"X-API-Key": key}, timeout=TIMEOUT
    )
    response.raise_for_status()
    return response.json()


def _status(base: str, key: str, path: str) -> int:
    return httpx.get(
        f"{base}/api/v1{path}", headers={"X-API-Key": key}, timeout=TIMEOUT
    ).status_code


def _done(browser: Browser, action: str) -> None:
    """Does `action` (JavaScript), and waits for the panel's step to end."""
    before = int(browser.evaluate(SETUP))
    browser.evaluate(action)
    browser.wait_for(f"{SETUP} > {before}")


def _item(panel: str, name: str, selector: str = "") -> str:
    """JavaScript for an item of a list (#saved-searches, #alert-rules, #reports) by name."""
    return f"document.querySelector('#{panel} li[data-name={json.dumps(name)}] {selector}')"


def _click(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)}).click()"


def test_a_saved_search_an_alert_rule_uses_is_deleted_only_when_asked_again(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """In French: save the search explored, make a rule on it; deleting the search asks
    first, then is refused naming the rule (nothing deleted), then, asked again, deletes
    it and turns the rule off; the rule is deleted in turn; a brand's default rule offers
    no delete."""
    query = 'negative:"Veloria" AND sav'
    with Browser(tmp_path / "profile") as browser:
        browser.before_each_page(WATCH_POLICY)
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(BOARD)
        assert browser.text("saved-searches") == (
            "aucune pour l'instant\u00a0: cherchez plus haut, puis enregistrez la recherche"
        )
        # Save the query typed above the mentions.
        browser.evaluate(f"document.getElementById('q').value = {json.dumps(query)}")
        browser.evaluate(_click("#save-search"))
        assert browser.visible("save-form")
        browser.evaluate("document.getElementById('save-name').value = 'sav'")
        browser.evaluate("document.getElementById('save-description').value = 'le SAV'")
        _done(browser, _click("#save-form button[type=submit]"))
        assert browser.text("save-note") == "Recherche «\u00a0sav\u00a0» enregistrée."
        saved = _get(live_api, api_key, "/saved-searches/sav")
        assert (saved["query"], saved["description"], saved["owner"]) == (query, "le SAV", "tests")
        assert not browser.visible("save-form")

        # The same name again: the API's refusal (its code), in French, not a document.
        browser.evaluate(_click("#save-search"))
        browser.evaluate("document.getElementById('save-name').value = 'sav'")
        _done(browser, _click("#save-form button[type=submit]"))
        refused = browser.text("save-note")
        assert refused == "Refusé\u00a0: ce nom est déjà pris\u00a0: choisissez-en un autre"

        # A query that does not parse: shown with where it is wrong; nothing saved.
        browser.evaluate("document.getElementById('q').value = 'negative:(('")
        browser.evaluate("document.getElementById('save-name').value = 'cassée'")
        _done(browser, _click("#save-form button[type=submit]"))
        assert browser.visible("query-error") and not browser.visible("save-note")
        assert browser.text("query-error").endswith("negative:((\n         ^")
        assert _status(live_api, api_key, "/saved-searches/cassée") == 404

        # An alert rule on it: a negative share spike, highly sensitive.
        browser.evaluate(f"{_item('saved-searches', 'sav', '.new-rule')}.click()")
        form = _item("saved-searches", "sav", "form")
        browser.evaluate(
            f"(() => {{ const kind = {form}.querySelector('select[name=kind]');"
            " kind.value = 'negative_share_spike'; kind.dispatchEvent(new Event('change'));"
            f" {form}.querySelector('select[name=sensitivity]').value = 'high'; }})()"
        )
        rule_name = browser.evaluate(f"{form}.querySelector('input[name=name]').value")
        assert rule_name == "sav: hausse de la part négative"
        _done(browser, f"{form}.querySelector('.create-rule').click()")
        rule = _get(live_api, api_key, f"/alert-rules/{rule_name}")
        assert (rule["target_type"], rule["target"], rule["kind"]) == (
            "saved_search",
            "sav",
            "negative_share_spike",
        )
        assert rule["detector"] == {"sensitivity": "high", "bucket": "auto"}
        assert rule["status"] == "active"
        assert "sav" in browser.evaluate(f"{_item('alert-rules', rule_name)}.textContent")

        # Delete: asked first; Cancel keeps it.
        browser.evaluate(f"{_item('saved-searches', 'sav', '.delete')}.click()")
        asked = browser.evaluate(f"{_item('saved-searches', 'sav', '.confirm')}.textContent")
        assert "Supprimer la recherche enregistrée «\u00a0sav\u00a0»\u00a0?" in asked
        browser.evaluate(f"{_item('saved-searches', 'sav', '.confirm .cancel')}.click()")
        assert not browser.evaluate(f"!!{_item('saved-searches', 'sav', '.confirm')}")
        assert _status(live_api, api_key, "/saved-searches/sav") == 200

        # Confirmed: the API refuses (a rule uses it); the page names the rule, keeps it.
        browser.evaluate(f"{_item('saved-searches', 'sav', '.delete')}.click()")
        _done(browser, f"{_item('saved-searches', 'sav', '.confirm-delete')}.click()")
        in_use = browser.evaluate(f"{_item('saved-searches', 'sav', '.confirm')}.textContent")
        assert f"sert à la règle d'alerte «\u00a0{rule_name}\u00a0»" in in_use
        assert "désactive ces règles d'alerte" in in_use and "rapports" not in in_use
        assert _status(live_api, api_key, "/saved-searches/sav") == 200
        # The question, asked again in English on a switch, then in French again.
        browser.select("lang", "en")
        in_use = browser.evaluate(f"{_item('saved-searches', 'sav', '.confirm')}.textContent")
        assert f"is used by the alert rule “{rule_name}”" in in_use
        assert "Delete anyway" in in_use and "Supprimer" not in in_use
        browser.select("lang", "fr")
        in_use = browser.evaluate(f"{_item('saved-searches', 'sav', '.confirm')}.textContent")
        assert "Supprimer quand même" in in_use and "désactive ces règles" in in_use

        # Asked again: deleted, and its rule turned off.
        _done(browser, f"{_item('saved-searches', 'sav', '.force-delete')}.click()")
        assert _status(live_api, api_key, "/saved-searches/sav") == 404
        assert not browser.evaluate(f"!!{_item('saved-searches', 'sav')}")
        assert "supprimée" in browser.text("saved-note")
        assert _get(live_api, api_key, f"/alert-rules/{rule_name}")["status"] != "active"
        # Why it cannot run, in the page's words (the API codes the reason).
        listed = {r["name"]: r for r in _get(live_api, api_key, "/alert-rules")}[rule_name]
        assert listed["error_reason"] == "saved_search_deleted"
        assert browser.evaluate(f"{_item('alert-rules', rule_name, '.why')}.textContent") == (
            "sa recherche enregistrée «\u00a0sav\u00a0» a été supprimée\u00a0: dirigez la règle"
            " vers une autre recherche ou supprimez-la"
        )

        # The rule, deleted in turn (asked first).
        browser.evaluate(f"{_item('alert-rules', rule_name, '.delete')}.click()")
        _done(browser, f"{_item('alert-rules', rule_name, '.confirm-delete')}.click()")
        assert _status(live_api, api_key, f"/alert-rules/{rule_name}") == 404
        assert not browser.evaluate(f"!!{_item('alert-rules', rule_name)}")

        # A brand's default rule is listed, marked, and offers no delete.
        rules = _get(live_api, api_key, "/alert-rules")
        defaults = [r["name"] for r in rules if r["default"] and r["target"] == "Veloria"]
        assert defaults
        for name in defaults:
            shown = browser.evaluate(f"{_item('alert-rules', name)}.textContent")
            assert "règle par défaut" in shown
            assert not browser.evaluate(f"!!{_item('alert-rules', name, '.delete')}")
        assert browser.evaluate("window.blocked") == []


def test_an_alert_rule_sends_to_a_channel_named_by_its_secret(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The "Alert me…" form with an email channel: a target the workspace may not name (HOME) is
    refused in the API's words and nothing is made; the secret's name is taken (with a
    warning while that secret is not set), and the rules panel lists the channel by kind and
    name."""
    monkeypatch.delenv("VEILLE_ALERT_EMAIL", raising=False)
    monkeypatch.delenv("VEILLE_SECRETS_FILE", raising=False)
    made = httpx.post(
        f"{live_api}/api/v1/saved-searches",
        json={"name": "colis", "query": "colis"},
        headers={"X-API-Key": api_key},
        timeout=TIMEOUT,
    )
    assert made.status_code == 201, made.text
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('saved-searches', 'colis', '.new-rule')}")
        browser.evaluate(f"{_item('saved-searches', 'colis', '.new-rule')}.click()")
        form = _item("saved-searches", "colis", "form")
        target = f"{form}.querySelector('input[name=channel-target]')"
        assert not browser.evaluate(f"{target}.offsetParent !== null")  # no channel: hidden
        browser.evaluate(
            f"(() => {{ const channel = {form}.querySelector('select[name=channel]');"
            " channel.value = 'email'; channel.dispatchEvent(new Event('change')); })()"
        )
        assert browser.evaluate(f"{target}.offsetParent !== null")
        rule_name = browser.evaluate(f"{form}.querySelector('input[name=name]').value")

        browser.evaluate(f"{target}.value = 'HOME'")
        _done(browser, f"{form}.querySelector('.create-rule').click()")
        # Said next to the channel, in the API's words (a reason only it knows).
        assert browser.text("saved-note") == "Refused: see the fields marked"
        refused = browser.evaluate(
            f"{form}.querySelector('.channel-row + .field-error').textContent"
        )
        assert refused.startswith("'HOME' is not a Veille secret name")
        assert browser.evaluate(f"{target}.getAttribute('aria-invalid')") == "true"
        assert _status(live_api, api_key, f"/alert-rules/{rule_name}") == 404

        # An address pasted in place of the secret's name: said in the page's words.
        browser.evaluate(f"{target}.value = 'direction@example.org'")
        _done(browser, f"{form}.querySelector('.create-rule').click()")
        assert browser.text("saved-note").startswith("Refused: name the secret that holds")
        assert _status(live_api, api_key, f"/alert-rules/{rule_name}") == 404

        browser.evaluate(f"{target}.value = 'VEILLE_ALERT_EMAIL'")
        _done(browser, f"{form}.querySelector('.create-rule').click()")
        rule = _get(live_api, api_key, f"/alert-rules/{rule_name}")
        assert rule["channels"] == [
            {"type": "email", "target": "VEILLE_ALERT_EMAIL", "language": "en"}
        ]
        # Made, but the secret is not set: the page says the channel cannot send yet.
        note = browser.text("rules-note")
        assert "but its channel cannot send yet" in note, note
        assert "secret VEILLE_ALERT_EMAIL is not set" in note, note
        assert browser.evaluate("document.getElementById('rules-note').getAttribute('role')") == (
            "alert"
        )
        listed = browser.evaluate(f"{_item('alert-rules', rule_name, '.channels')}.textContent")
        assert listed == "sent by email VEILLE_ALERT_EMAIL"
        browser.select("lang", "fr")
        browser.wait_for(
            f"{_item('alert-rules', rule_name, '.channels')}.textContent"
            " === 'envoyée par e-mail VEILLE_ALERT_EMAIL'"
        )
        # ...and why it cannot send, in French too (the API's codes, worded by the page)
        note = browser.text("rules-note")
        assert "mais son canal ne peut pas encore envoyer" in note, note
        assert "le secret VEILLE_ALERT_EMAIL n'est pas défini" in note, note
        assert "is not set" not in note, note


def test_a_report_is_scheduled_refused_in_words_and_deleted(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    taken = {"name": "veloria-weekly", "brand": "Veloria"}
    made = httpx.post(
        f"{live_api}/api/v1/reports", json=taken, headers={"X-API-Key": api_key}, timeout=TIMEOUT
    )
    assert made.status_code == 201, made.text
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(BOARD)
        assert "on demand" in browser.text("reports")
        browser.evaluate(_click("#new-report"))
        # The name offered is free (seen in the demo: its YAML's report held the first).
        offered = browser.evaluate("document.getElementById('report-name').value")
        assert offered == "veloria-weekly-2"
        browser.evaluate(
            "document.getElementById('report-name').value = 'veloria-mensuel';"
            "document.getElementById('report-period').value = 'last_month';"
            "document.getElementById('report-every').value = 'month';"
            "document.getElementById('report-at').value = '07:30';"
            "document.getElementById('report-recipients').value = 'not an address'"
        )
        _done(browser, _click("#report-form button[type=submit]"))
        refused = browser.text("reports-note")
        assert refused.startswith("Refused: recipients: ") and "neither an email" in refused
        assert "{" not in refused and "Value error" not in refused
        assert _status(live_api, api_key, "/reports/veloria-mensuel") == 404

        browser.evaluate(
            "document.getElementById('report-recipients').value ="
            " 'direction@example.org, Zoé <zoe@example.org>'"
        )
        _done(browser, _click("#report-form button[type=submit]"))
        assert browser.text("reports-note") == "Report “veloria-mensuel” scheduled."
        report = _get(live_api, api_key, "/reports/veloria-mensuel")
        assert report["brand"] == "Veloria" and report["period"] == "last_month"
        assert report["language"] == "en"  # the page's language, by default
        assert report["schedule"] == {"every": "month", "at": "07:30"}
        assert report["recipients"] == ["direction@example.org", "Zoé <zoe@example.org>"]
        shown = browser.evaluate(f"{_item('reports', 'veloria-mensuel')}.textContent")
        # the time as the page's language writes it (Chromium's English: American)
        assert "on the 1st at 7:30\u202fAM (Europe/Paris)" in shown.replace(" AM", "\u202fAM")
        assert "last month" in shown

        browser.evaluate(f"{_item('reports', 'veloria-mensuel', '.delete')}.click()")
        _done(browser, f"{_item('reports', 'veloria-mensuel', '.confirm-delete')}.click()")
        assert _status(live_api, api_key, "/reports/veloria-mensuel") == 404
        assert browser.text("reports-note") == "Report “veloria-mensuel” deleted."


def test_the_setup_controls_follow_the_role(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    """A viewer sees the saved searches, rules and reports with no control to change
    them; a member saves and deletes their own searches, not a colleague's, and makes
    no alert rule or report."""
    from services.runtime.app.workspaces import Installation

    installation = Installation(ctx)
    keys = {
        role: installation.tenancy.create_key(
            name=f"{role}-key",
            workspace="default",
            role=role,
            service=role,  # the actor
        )
        for role in ("member", "viewer")
    }
    installation.close()
    with Browser(tmp_path / "profile-empty") as browser:  # nothing saved yet
        browser.open(f"{live_api}/dashboard/?lang=en#key={keys['viewer']}")
        browser.wait_for(BOARD)
        assert browser.text("saved-searches") == "none yet"  # not "save the search"
    shared = {"name": "colis", "query": "colis", "visibility": "shared"}
    made = httpx.post(
        f"{live_api}/api/v1/saved-searches",
        json=shared,
        headers={"X-API-Key": api_key},
        timeout=TIMEOUT,
    )
    assert made.status_code == 201, made.text
    report = {"name": "hebdo", "brand": "Veloria", "schedule": {"every": "week"}}
    made = httpx.post(
        f"{live_api}/api/v1/reports", json=report, headers={"X-API-Key": api_key}, timeout=TIMEOUT
    )
    assert made.status_code == 201, made.text

    with Browser(tmp_path / "profile-viewer") as browser:
        browser.open(f"{live_api}/dashboard/#key={keys['viewer']}")
        browser.wait_for(f"{BOARD} && !!{_item('saved-searches', 'colis')}")
        assert browser.evaluate(f"!!{_item('reports', 'hebdo')}")
        assert not browser.visible("save-search") and not browser.visible("new-report")
        assert (
            browser.evaluate(
                "document.querySelectorAll('#saved-searches button:not(.link), #alert-rules button,"
                " #reports button').length"
            )
            == 0
        )
        assert not browser.evaluate("!!document.querySelector('#triage-mentions .remove-tag')")

    with Browser(tmp_path / "profile-member") as browser:
        browser.open(f"{live_api}/dashboard/#key={keys['member']}")
        browser.wait_for(f"{BOARD} && !!{_item('saved-searches', 'colis')}")
        assert browser.visible("save-search") and not browser.visible("new-report")
        assert not browser.evaluate(f"!!{_item('saved-searches', 'colis', '.delete')}")
        assert not browser.evaluate(f"!!{_item('saved-searches', 'colis', '.new-rule')}")
        assert not browser.evaluate(f"!!{_item('reports', 'hebdo', '.delete')}")
        browser.evaluate(
            "document.getElementById('q').value = 'batterie';"
            "document.getElementById('save-search').click();"
            "document.getElementById('save-name').value = 'mes-batteries'"
        )
        _done(browser, _click("#save-form button[type=submit]"))
        assert _get(live_api, keys["member"], "/saved-searches/mes-batteries")["owner"] == "member"
        browser.evaluate(f"{_item('saved-searches', 'mes-batteries', '.delete')}.click()")
        _done(browser, f"{_item('saved-searches', 'mes-batteries', '.confirm-delete')}.click()")
        assert _status(live_api, keys["member"], "/saved-searches/mes-batteries") == 404


def _patch(base: str, key: str, mention_id: str, body: dict[str, Any]) -> None:
    response = httpx.patch(
        f"{base}/api/v1/triage/mentions/{mention_id}",
        json=body,
        headers={"X-API-Key": key},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def _states(base: str, key: str) -> dict[str, str]:
    return {
        f"mixed{i}": _get(base, key, f"/mentions/mixed{i}")["triage"]["state"] for i in range(4)
    }


def test_answering_a_story_leaves_the_copies_handled_otherwise(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """Reviewer finding: "mark all of this story answered" overwrote a copy a colleague
    had ignored and one escalated to legal. Grouped, it changes the copies the row counts;
    one row per copy, those in that copy's state; and the page says how many changed."""
    _patch(live_api, api_key, "mixed1", {"state": "ignored"})
    _patch(live_api, api_key, "mixed2", {"state": "escalated", "add_tags": ["juridique"]})
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_in_item('mixed3', '.story-answered')}")
        assert "2 copies" in browser.evaluate(f"{_in_item('mixed3', '.copies')}.textContent")
        assert browser.evaluate(f"{_in_item('mixed3', '.story-answered')}.title") == (
            "changes 2 copies"
        )
        _acted(browser, f"{_in_item('mixed3', '.story-answered')}.click()")
        assert _states(live_api, api_key) == {
            "mixed0": "answered",
            "mixed1": "ignored",
            "mixed2": "escalated",
            "mixed3": "answered",
        }
        assert browser.text("triage-status") == "2 copies of the story marked answered"
        assert browser.visible("triage-status")
        # Said again in the other language.
        browser.select("lang", "fr")
        browser.wait_for(
            "document.getElementById('triage-status').textContent"
            " === '2 copies de l\\'histoire marquées répondues'"
        )

        # One row per copy, the escalated ones: the button changes that state's copies.
        _acted(
            browser,
            "document.getElementById('triage-q').value = 'state:escalated';"
            "document.querySelector('#triage-form button').click()",
        )
        _acted(browser, "document.querySelector('#triage-one-per-copy').click()")
        assert browser.evaluate(f"{_in_item('mixed2', '.story-answered')}.title") == (
            "change les copies de cette histoire à l'état escaladé"
        )
        _acted(browser, f"{_in_item('mixed2', '.story-answered')}.click()")
        assert _states(live_api, api_key)["mixed1"] == "ignored"
        assert _states(live_api, api_key)["mixed2"] == "answered"
        assert browser.text("triage-status") == "1 copie de l'histoire marquée répondue"

        # A tag is removed with its ×.
        _acted(
            browser,
            "document.getElementById('triage-q').value = 'tag:juridique';"
            "document.querySelector('#triage-form button').click()",
        )
        assert browser.text("triage-status") == ""  # a new query: the last action's note goes
        _acted(browser, f"{_in_item('mixed2', '.remove-tag')}.click()")
        assert _get(live_api, api_key, "/mentions/mixed2")["triage"]["tags"] == []
        assert browser.text("triage-status") == "1 mention modifiée"

        # A state set, and a correction: each says what it did.
        _acted(
            browser,
            "document.getElementById('triage-q').value = 'negative:\"Veloria\"';"
            "document.querySelector('#triage-form button').click()",
        )
        _acted(
            browser,
            f"(() => {{ const s = {_in_item('before0', '.set-state')}; s.value = 'in_progress';"
            " s.dispatchEvent(new Event('change')); })()",
        )
        assert browser.text("triage-status") == "1 mention passée à l'état en cours"
        _acted(
            browser,
            f"(() => {{ const s = {_in_item('hostile', '.correct-sentiment')};"
            " s.value = 'neutral'; s.dispatchEvent(new Event('change')); })()",
        )
        assert browser.text("triage-status") == (
            "Sentiment envers Veloria corrigé en neutre sur 1 mention."
        )


def test_the_setup_forms_fit_a_phone(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    made = httpx.post(
        f"{live_api}/api/v1/saved-searches",
        json={"name": "une recherche au nom assez long pour un téléphone", "query": "colis"},
        headers={"X-API-Key": api_key},
        timeout=TIMEOUT,
    )
    assert made.status_code == 201, made.text
    with Browser(tmp_path / "profile") as browser:
        browser.resize(390, 844, mobile=True)
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{BOARD} && !!document.querySelector('#saved-searches .new-rule')")
        browser.evaluate(
            "document.getElementById('save-search').click();"
            "document.getElementById('new-report').click();"
            "document.querySelector('#saved-searches .new-rule').click();"
            "document.querySelector('#saved-searches .delete').click()"
        )
        assert browser.visible("save-form") and browser.visible("report-form")
        width = browser.evaluate("document.documentElement.clientWidth")
        assert browser.evaluate("document.documentElement.scrollWidth") <= width
        overflowing = browser.evaluate(
            "[...document.querySelectorAll('#save-form *, #report-form *, #saved-searches *')]"
            f".filter((e) => e.getBoundingClientRect().right > {width} + 0.5)"
            ".map((e) => e.id || e.className || e.tagName)"
        )
        assert overflowing == []


def test_a_word_that_weighed_in_two_forms_is_shown_once(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    """Seen in the demo: "why: ridiculous, getting, ridiculous .", the model having
    weighed the word with and without the full stop after it."""
    weighed = [("ridiculous", 1.4), ("Ridiculous .", 1.1), ("le", 1.0), ("prices", 0.6)]
    why = Sentiment(
        label=SentimentLabel.NEGATIVE,
        score=0.9,
        evidence=Evidence(words=[WeightedWord(text=w, weight=x) for w, x in weighed]),
    )
    ctx.index.upsert(
        [
            make_mention(
                id="twice",
                text="Veloria raised prices again, this is getting ridiculous.",
                brands=["Veloria"],
                sentiment=why,
                brand_sentiments={"Veloria": why},
                published_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        ]
    )
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(BOARD)
        shown = browser.evaluate(
            "document.querySelector('#negative-mentions li[data-id=twice] .why').textContent"
        )
        assert shown == "why: ridiculous, prices"


def test_an_alert_opens_the_mentions_it_counted(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    """An alert's explanation (observed against expected) and, a click away, the
    mentions its window held: as many as the API counts there."""
    until = datetime.now(UTC).replace(microsecond=0)
    since = until - timedelta(days=2)
    ctx.state.record_alert_event(
        rule_name="Veloria: negative share",
        kind="negative_share_spike",
        status="firing",
        dedupe_key="k-window",
        numbers={
            "kind": "negative_share_spike",
            "observed": 0.8,
            "expected": 0.2,
            "score": 4.5,
            "threshold": 3,
            "target": {"type": "brand", "name": "Veloria"},
            "window_start": since.isoformat(),
            "window_end": until.isoformat(),
        },
        channels=[],
    )
    window = {"since": since.isoformat(), "until": until.isoformat()}
    expected = _get(live_api, api_key, "/mentions", q='negative:"Veloria"', limit="1", **window)
    assert expected["total"] > 0
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{BOARD} && !!document.querySelector('#alerts .alert-mentions')")
        item = "document.querySelector('#alerts .alert-mentions').closest('li')"
        assert "observé 80\u00a0% contre 20\u00a0% attendu" in browser.evaluate(
            f"{item}.textContent"
        ).replace("\u202f", "\u00a0")
        searched = int(browser.evaluate("Number(document.body.dataset.searches || 0)"))
        browser.evaluate("document.querySelector('#alerts .alert-mentions').click()")
        browser.wait_for(f"Number(document.body.dataset.searches || 0) > {searched}")
        assert browser.evaluate("document.getElementById('q').value") == 'negative:"Veloria"'
        assert browser.evaluate("document.getElementById('explore-total').dataset.count") == str(
            expected["total"]
        )
        assert browser.text("explore-note") == (
            "mentions comptées par l'alerte «\u00a0Veloria\u00a0: part négative\u00a0»"
        )
