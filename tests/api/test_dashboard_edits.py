"""What a community manager changes after setting it up, in headless Chromium: a saved
search, an alert rule and a report renamed and edited from the dashboard (the rules and
reports of a renamed search follow it; a refusal names the field and keeps what was
typed); an alert rule sent to several channels at once; and the auto-refresh, which
redraws the board but leaves a form being filled in (its values, its focus) alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_dashboard import live_api  # noqa: F401  (the served API, seeded)
from tests.api.test_dashboard_setup import BOARD, TIMEOUT, _done, _get, _item, _status
from tests.api.test_dashboard_triage import _acted, _in_item
from tests.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

SECRETS = ("VEILLE_ALERT_EMAIL", "VEILLE_SLACK_WEBHOOK", "VEILLE_WEBHOOK_URL")


def _post(base: str, key: str, path: str, body: dict[str, Any]) -> None:
    made = httpx.post(
        f"{base}/api/v1{path}", json=body, headers={"X-API-Key": key}, timeout=TIMEOUT
    )
    assert made.status_code == 201, made.text


def _fill(form: str, values: dict[str, str]) -> str:
    """JavaScript that sets a form's fields by name, each with the change event a person's
    choice sends."""
    steps = [
        f"(() => {{ const e = {form}.querySelector('[name={name}]'); e.value = {json.dumps(v)};"
        " e.dispatchEvent(new Event('change')); })();"
        for name, v in values.items()
    ]
    return " ".join(steps)


def test_a_saved_search_a_rule_and_a_report_are_renamed_and_edited(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """In French: the search renamed (its rule and report follow it) with a new query;
        the rule renamed, made a volume spike, highly sensitive; the report renamed and made
        monthly, refused first for an address that is none (said next to the field, in French;
    the form kept)."""
    rule_name = "sav: nouvelles mentions"
    _post(live_api, api_key, "/saved-searches", {"name": "sav", "query": "sav"})
    rule = {
        "name": rule_name,
        "target_type": "saved_search",
        "target": "sav",
        "kind": "new_mention",
    }
    _post(live_api, api_key, "/alert-rules", rule)
    report = {"name": "sav-hebdo", "saved_search": "sav", "schedule": {"every": "week"}}
    _post(live_api, api_key, "/reports", report)
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('saved-searches', 'sav', '.edit')}")

        browser.evaluate(f"{_item('saved-searches', 'sav', '.edit')}.click()")
        form = _item("saved-searches", "sav", "form")
        assert browser.evaluate(f"{form}.querySelector('[name=query]').value") == "sav"
        query = 'sav OR "service client"'
        browser.evaluate(_fill(form, {"name": "service-client", "query": query}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("saved-note") == (
            "Recherche enregistrée «\u00a0sav\u00a0» renommée «\u00a0service-client\u00a0»\u00a0;"
            " ses règles d'alerte et rapports la suivent."
        )
        assert _get(live_api, api_key, "/saved-searches/service-client")["query"] == query
        assert _status(live_api, api_key, "/saved-searches/sav") == 404
        assert browser.evaluate(f"!!{_item('saved-searches', 'service-client')}")
        assert _get(live_api, api_key, f"/alert-rules/{rule_name}")["target"] == "service-client"
        assert _get(live_api, api_key, "/reports/sav-hebdo")["saved_search"] == "service-client"

        browser.evaluate(f"{_item('alert-rules', rule_name, '.edit')}.click()")
        form = _item("alert-rules", rule_name, "form")
        values = {"name": "service: pic", "kind": "volume_spike", "sensitivity": "high"}
        browser.evaluate(_fill(form, values))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("rules-note").startswith(
            f"Règle d'alerte «\u00a0{rule_name}\u00a0» renommée «\u00a0service: pic\u00a0»"
        )
        changed = _get(live_api, api_key, "/alert-rules/service: pic")
        # a detector made by the page sizes its bucket by the search's volume
        assert (changed["kind"], changed["detector"]) == (
            "volume_spike",
            {"sensitivity": "high", "bucket": "auto"},
        )
        assert changed["target"] == "service-client"
        assert _status(live_api, api_key, f"/alert-rules/{rule_name}") == 404

        browser.evaluate(f"{_item('reports', 'sav-hebdo', '.edit')}.click()")
        form = _item("reports", "sav-hebdo", "form")
        values = {"name": "sav-mensuel", "every": "month", "at": "07:30"}
        browser.evaluate(_fill(form, {**values, "recipients": "pas une adresse"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        # Said next to the field, in French (the API's code, worded by the page).
        assert browser.text("reports-note") == "Refusé\u00a0: voir les champs signalés"
        said = browser.evaluate(f"{form}.querySelector('.field-error').textContent")
        assert (
            said
            == "«\u00a0pas une adresse\u00a0» n'est ni une adresse e-mail ni le nom d'un secret"
        )
        field = f"{form}.querySelector('[name=recipients]')"
        assert browser.evaluate(f"{field}.getAttribute('aria-invalid')") == "true"
        assert browser.evaluate(f"{form}.querySelector('[name=name]').value") == "sav-mensuel"
        assert _get(live_api, api_key, "/reports/sav-hebdo")["schedule"]["every"] == "week"

        browser.evaluate(_fill(form, {"recipients": "direction@example.org"}))
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("reports-note") == (
            "Rapport «\u00a0sav-hebdo\u00a0» renommé «\u00a0sav-mensuel\u00a0»\u00a0;"
            " ses rendus passés le suivent."
        )
        moved = _get(live_api, api_key, "/reports/sav-mensuel")
        assert moved["schedule"] == {"every": "month", "at": "07:30"}
        assert moved["recipients"] == ["direction@example.org"]
        assert moved["saved_search"] == "service-client"
        shown = browser.evaluate(f"{_item('reports', 'sav-mensuel')}.textContent")
        assert "le 1er du mois à 07:30" in shown


def test_an_alert_rule_sends_to_several_channels(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In English: "Alert me…" with email, Slack and a webhook (a fourth row added, then
    removed); the rule lists the three, the page says they cannot send yet (no secret
    set); an edit drops Slack; a brand's default rule is turned off, its name kept."""
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("VEILLE_SECRETS_FILE", raising=False)
    _post(live_api, api_key, "/saved-searches", {"name": "colis", "query": "colis"})
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(f"{BOARD} && !!{_item('saved-searches', 'colis', '.new-rule')}")
        browser.evaluate(f"{_item('saved-searches', 'colis', '.new-rule')}.click()")
        form = _item("saved-searches", "colis", "form")
        rows = f"{form}.querySelectorAll('.channel-row')"
        for _ in range(3):
            browser.evaluate(f"{form}.querySelector('.add-channel').click()")
        assert browser.evaluate(f"{rows}.length") == 4
        browser.evaluate(f"{rows}[3].querySelector('.remove-channel').click()")
        assert browser.evaluate(f"{rows}.length") == 3
        for row, (kind, secret) in enumerate(
            zip(("email", "slack", "webhook"), SECRETS, strict=True)
        ):
            browser.evaluate(
                f"(() => {{ const row = {rows}[{row}]; const kind = row.querySelector('select');"
                f" kind.value = '{kind}'; kind.dispatchEvent(new Event('change'));"
                f" row.querySelector('input').value = '{secret}'; }})()"
            )
        rule_name = browser.evaluate(f"{form}.querySelector('input[name=name]').value")
        _done(browser, f"{form}.querySelector('.create-rule').click()")
        rule = _get(live_api, api_key, f"/alert-rules/{rule_name}")
        assert [(c["type"], c["target"]) for c in rule["channels"]] == [
            ("email", "VEILLE_ALERT_EMAIL"),
            ("slack", "VEILLE_SLACK_WEBHOOK"),
            ("webhook", "VEILLE_WEBHOOK_URL"),
        ]
        note = browser.text("rules-note")
        assert "but not all its channels can send yet" in note, note
        listed = browser.evaluate(f"{_item('alert-rules', rule_name, '.channels')}.textContent")
        assert listed == (
            "sent by email VEILLE_ALERT_EMAIL, Slack VEILLE_SLACK_WEBHOOK,"
            " webhook VEILLE_WEBHOOK_URL"
        )

        # Edited: the form shows the three; Slack's row removed.
        browser.evaluate(f"{_item('alert-rules', rule_name, '.edit')}.click()")
        form = _item("alert-rules", rule_name, "form")
        rows = f"{form}.querySelectorAll('.channel-row')"
        assert browser.evaluate(f"[...{rows}].map((r) => r.querySelector('select').value)") == [
            "email",
            "slack",
            "webhook",
        ]
        browser.evaluate(f"{rows}[1].querySelector('.remove-channel').click()")
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        rule = _get(live_api, api_key, f"/alert-rules/{rule_name}")
        assert [c["type"] for c in rule["channels"]] == ["email", "webhook"]

        # A brand's default rule: changed (turned off), never renamed.
        default = "Veloria: volume spike"
        browser.evaluate(f"{_item('alert-rules', default, '.edit')}.click()")
        form = _item("alert-rules", default, "form")
        assert browser.evaluate(f"{form}.querySelector('[name=name]').readOnly")
        browser.evaluate(f"{form}.querySelector('[name=enabled]').checked = false")
        _done(browser, f"{form}.querySelector('.save-edit').click()")
        assert browser.text("rules-note") == f"Alert rule “{default}” changed."
        assert _get(live_api, api_key, f"/alert-rules/{default}")["status"] == "disabled"
        assert "turned off" in browser.evaluate(f"{_item('alert-rules', default)}.textContent")


# The auto-refresh's own timer, run when the test says rather than every minute: the
# callback the page gave setInterval is kept as window.refreshNow.
CATCH_TIMER = (
    "(() => { const every = window.setInterval;"
    " window.setInterval = (step, ms, ...rest) => { window.refreshNow = step;"
    " return every(step, 1e9, ...rest); }; })()"
)
DRAWN = "Number(document.body.dataset.setupDrawn || 0)"
INBOX = "Number(document.body.dataset.inbox || 0)"


def test_the_auto_refresh_leaves_an_open_form_alone(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """Reported: the periodic refresh wiped the "Alert me…" form being filled in. Now a
    refresh redraws what changed (a new saved search, a mention handled elsewhere) and
    leaves the open forms, their typed values, the focus and a note being typed as they
    were; once the note is added, its row is drawn again."""
    _post(live_api, api_key, "/saved-searches", {"name": "colis", "query": "colis"})
    _post(live_api, api_key, "/reports", {"name": "hebdo", "brand": "Veloria"})
    with Browser(tmp_path / "profile") as browser:
        browser.before_each_page(CATCH_TIMER)
        browser.open(f"{live_api}/dashboard/?lang=en&refresh=60#key={api_key}")
        browser.wait_for(f"{BOARD} && !!window.refreshNow && !!{_item('reports', 'hebdo')}")
        browser.evaluate(f"{_item('saved-searches', 'colis', '.new-rule')}.click()")
        rule_form = _item("saved-searches", "colis", "form")
        secret = f"{rule_form}.querySelector('input[name=channel-target]')"
        browser.evaluate(_fill(rule_form, {"name": "colis: mine", "channel": "email"}))
        browser.evaluate(f"{secret}.value = 'VEILLE_ALERT_'; {secret}.focus()")
        browser.evaluate(f"{_item('reports', 'hebdo', '.edit')}.click()")
        report_form = _item("reports", "hebdo", "form")
        browser.evaluate(_fill(report_form, {"name": "hebdo-direction"}))
        browser.evaluate(f"{secret}.focus()")
        typed = f"{_in_item('hostile', '.note-input')}"
        browser.evaluate(f"{typed}.value = 'appelé le client'")
        # Meanwhile, elsewhere: a new saved search, a mention of the inbox handled.
        _post(live_api, api_key, "/saved-searches", {"name": "nouvelle", "query": "nouvelle"})
        handled = httpx.patch(
            f"{live_api}/api/v1/triage/mentions/before0",
            json={"state": "ignored"},
            headers={"X-API-Key": api_key},
            timeout=TIMEOUT,
        )
        assert handled.status_code == 200, handled.text

        drawn, inbox = int(browser.evaluate(DRAWN)), int(browser.evaluate(INBOX))
        browser.evaluate("window.refreshNow()")
        browser.wait_for(f"{DRAWN} > {drawn} && {INBOX} > {inbox}")
        # The rest is new ...
        assert browser.evaluate(f"!!{_item('saved-searches', 'nouvelle')}")
        assert not browser.evaluate(f"!!{_in_item('before0', '')}")
        # ... the forms and what was typed are as they were, the cursor where it was.
        assert browser.evaluate(f"{rule_form}.querySelector('[name=name]').value") == "colis: mine"
        assert browser.evaluate(f"{secret}.value") == "VEILLE_ALERT_"
        assert browser.evaluate(f"document.activeElement === {secret}")
        assert browser.evaluate(f"{report_form}.querySelector('[name=name]').value") == (
            "hebdo-direction"
        )
        assert browser.evaluate(f"{typed}.value") == "appelé le client"

        # The note added: said, and its row drawn again (with the note counted).
        _acted(browser, f"{_in_item('hostile', '.add-note')}.click()")
        assert browser.text("triage-status") == "Note added."
        assert browser.evaluate(f"{typed}.value") == ""
        assert "1 note" in browser.evaluate(f"{_in_item('hostile', '')}.textContent")
