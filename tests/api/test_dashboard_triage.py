"""The dashboard's triage inbox in headless Chromium: a person sets a state, assigns a
mention to themself, tags it, adds a note and marks a whole story answered, with the
page's own controls; the API must then hold what the page shows. A refused action (an
empty tag) says why and changes nothing; a repost joining an answered story says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.models import Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.api.test_dashboard import live_api  # noqa: F401  (the served API, seeded)
from tests.browser import CHROMIUM, Browser
from tests.factories import make_mention

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

WATCH_POLICY = (
    "window.blocked = []; document.addEventListener('securitypolicyviolation',"
    " (e) => window.blocked.push(e.violatedDirective + ' ' + e.blockedURI));"
)
INBOX = "Number(document.body.dataset.inbox || 0)"
NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)


def _api(base: str, key: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{base}/api/v1{path}", params=params, headers={"X-API-Key": key})
    response.raise_for_status()
    return response.json()


def _listed(browser: Browser) -> list[str]:
    ids: list[str] = browser.evaluate(
        "[...document.querySelectorAll('#triage-mentions li[data-id]')].map((li) => li.dataset.id)"
    )
    return ids


def _in_item(mention_id: str, selector: str) -> str:
    """JavaScript for an element of one mention's inbox entry."""
    return (
        f"document.querySelector('#triage-mentions li[data-id={json.dumps(mention_id)}]"
        f" {selector}')"
    )


def _acted(browser: Browser, action: str) -> None:
    """Does `action` (JavaScript) and waits for the inbox to be shown again."""
    done = int(browser.evaluate(INBOX))
    browser.evaluate(action)
    browser.wait_for(f"{INBOX} > {done}")


def test_a_community_manager_triages_the_inbox(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.before_each_page(WATCH_POLICY)
        browser.open(f"{live_api}/dashboard/#key={api_key}")
        browser.wait_for(f"{INBOX} > 0 && !!document.querySelector('#triage-mentions li')")
        negative = _api(live_api, api_key, "/mentions", q='negative:"Veloria"', limit="100")
        every = sorted(m["id"] for m in negative["mentions"])
        # The four copies of one story are one row, its first copy's, saying how many.
        assert sorted(_listed(browser)) == [
            i for i in every if i not in {"mixed0", "mixed1", "mixed2"}
        ]
        assert "4 copies" in browser.evaluate(f"{_in_item('mixed3', '.copies')}.textContent")
        assert f"{negative['total']} new" in browser.text("triage-counts")
        _acted(browser, "document.querySelector('#triage-one-per-copy').click()")
        assert sorted(_listed(browser)) == every  # each copy on its own row
        _acted(browser, "document.querySelector('#triage-one-per-copy').click()")

        # An action on the story's row changes every copy.
        _acted(browser, f"{_in_item('mixed3', '.assign-me')}.click()")
        assigned = _api(live_api, api_key, "/mentions", q="assignee:tests", limit="100")
        assert sorted(m["id"] for m in assigned["mentions"]) == [f"mixed{i}" for i in range(4)]

        # Sets a state: the mention leaves the inbox of new ones.
        _acted(
            browser,
            f"(() => {{ const s = {_in_item('hostile', '.set-state')}; s.value = 'escalated';"
            " s.dispatchEvent(new Event('change')); })()",
        )
        assert "hostile" not in _listed(browser)
        assert _api(live_api, api_key, "/mentions/hostile")["triage"]["state"] == "escalated"
        assert "1 escalated" in browser.text("triage-counts")

        # Assigns to me, tags, adds a note.
        _acted(browser, f"{_in_item('before0', '.assign-me')}.click()")
        _acted(
            browser,
            f"{_in_item('before0', '.tag-input')}.value = 'juridique';"
            f"{_in_item('before0', '.add-tag')}.click()",
        )
        _acted(
            browser,
            f"{_in_item('before0', '.note-input')}.value = 'Rappelé, attend un geste';"
            f"{_in_item('before0', '.add-note')}.click()",
        )
        held = _api(live_api, api_key, "/triage/mentions/before0")
        assert held["mention"]["triage"] == {
            "state": "new",
            "assignee": "tests",
            "tags": ["juridique"],
        }
        assert [n["text"] for n in held["notes"]] == ["Rappelé, attend un geste"]
        shown = browser.evaluate(f"{_in_item('before0', '.triage')}.textContent")
        assert "tests" in shown and "juridique" in shown and "1 note" in shown

        # An empty tag is refused with the API's reason, and changes nothing.
        refused = browser.evaluate("document.body.dataset.triageRefused || ''")
        browser.evaluate(
            f"{_in_item('before0', '.tag-input')}.value = '   ';"
            f"{_in_item('before0', '.add-tag')}.click()"
        )
        browser.wait_for(f"(document.body.dataset.triageRefused || '') !== {json.dumps(refused)}")
        assert "empty" in browser.text("triage-error")
        tags = _api(live_api, api_key, "/mentions/before0")["triage"]["tags"]
        assert tags == ["juridique"]

        # Marks every copy of the story answered, from one of them.
        _acted(browser, f"{_in_item('mixed3', '.story-answered')}.click()")
        answered = _api(live_api, api_key, "/mentions", q="state:answered", limit="100")
        assert sorted(m["id"] for m in answered["mentions"]) == [f"mixed{i}" for i in range(4)]
        assert not any(i.startswith("mixed") for i in _listed(browser))

        # A repost arrives later: the inbox says its story was answered, and by whom.
        ctx.index.upsert(
            [
                make_mention(
                    id="mixed9",
                    text="RT J'adore mon Trekko mais le SAV de Veloria est une catastrophe",
                    brands=["Veloria"],
                    sentiment=NEG,
                    brand_sentiments={"Veloria": NEG},
                    story_id="story-sav",
                    published_at=datetime.now(UTC) - timedelta(minutes=5),
                )
            ]
        )
        _acted(browser, "document.querySelector('#triage-form button').click()")
        note = browser.evaluate(f"{_in_item('mixed9', '.answered-story')}.textContent")
        assert "answered" in note and "by tests" in note

        # Another view of the inbox, typed by the person: what is assigned to me.
        _acted(
            browser,
            "document.getElementById('triage-q').value = 'assignee:me';"
            "document.querySelector('#triage-form button').click()",
        )
        assert sorted(_listed(browser)) == ["before0", "mixed3"]  # the story's row, once
        assert browser.evaluate("window.blocked") == []


def test_a_community_manager_corrects_the_analyzer_from_the_inbox(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """Sentiment toward the brand set to neutral, and "not about Veloria": each mention
    leaves the inbox of negative ones, and the API holds the analyst's verdict."""
    with Browser(tmp_path / "profile") as browser:
        browser.before_each_page(WATCH_POLICY)
        browser.open(f"{live_api}/dashboard/#key={api_key}")
        browser.wait_for(f"{INBOX} > 0 && !!document.querySelector('#triage-mentions li')")
        assert {"before0", "hostile"} <= set(_listed(browser))

        _acted(
            browser,
            f"(() => {{ const s = {_in_item('before0', '.correct-sentiment')};"
            " s.value = 'neutral'; s.dispatchEvent(new Event('change')); })()",
        )
        assert "before0" not in _listed(browser)
        toward = _api(live_api, api_key, "/mentions/before0")["brand_sentiments"]["Veloria"]
        assert (toward["label"], toward["source"]) == ("neutral", "analyst")

        _acted(browser, f"{_in_item('hostile', '.not-about')}.click()")
        assert "hostile" not in _listed(browser)
        mention = _api(live_api, api_key, "/mentions/hostile")
        assert mention["brands"] == [] and mention["brand_sentiments"] == {}
        assert browser.evaluate("window.blocked") == []


def test_the_inbox_offers_what_the_person_may_do(
    live_api: str,  # noqa: F811
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    """A member triages but does not correct the analyzer: no correction controls. A
    viewer sees no triage actions, and a refused change says which permission it needs,
    without signing them out."""
    from services.runtime.app.workspaces import Installation

    installation = Installation(ctx)
    keys = {
        role: installation.tenancy.create_key(
            name=f"{role}-key", workspace="default", role=role, service="tests"
        )
        for role in ("member", "viewer")
    }
    installation.close()
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/#key={keys['member']}")
        browser.wait_for(f"{INBOX} > 0 && !!document.querySelector('#triage-mentions li')")
        assert browser.evaluate(f"!!{_in_item('hostile', '.set-state')}")
        assert not browser.evaluate(f"!!{_in_item('hostile', '.not-about')}")
        assert not browser.evaluate(f"!!{_in_item('hostile', '.correct-sentiment')}")

    with Browser(tmp_path / "profile-viewer") as browser:
        browser.open(f"{live_api}/dashboard/#key={keys['viewer']}")
        browser.wait_for(f"{INBOX} > 0 && !!document.querySelector('#triage-mentions li')")
        # A viewer sees the inbox and its states, without the actions it may not take.
        assert browser.evaluate(f"!!{_in_item('hostile', '.state')}")
        assert not browser.evaluate(f"!!{_in_item('hostile', '.set-state')}")
        assert not browser.evaluate(f"!!{_in_item('hostile', '.assign-me')}")
        # A change refused all the same (a role lowered since the page loaded) says why.
        browser.evaluate("changeTriage('hostile', { state: 'escalated' })")
        browser.wait_for("!!document.body.dataset.triageRefused")
        assert "triage:write" in browser.text("triage-error")
        assert browser.visible("board") and not browser.visible("login")
        assert _api(live_api, keys["member"], "/mentions/hostile")["triage"]["state"] == "new"


def test_a_story_row_changes_only_the_copies_it_counts(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    """Reviewer finding: "assign to me" on a story's row took over a copy zoe had already
    answered and erased her answer; and the checkbox said the opposite of what it did."""
    zoe = ctx.state.create_api_key("zoe")
    answered = httpx.patch(
        f"{live_api}/api/v1/triage/mentions/mixed1",
        json={"state": "answered", "assignee": "me"},
        headers={"X-API-Key": zoe},
    )
    assert answered.status_code == 200, answered.text
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/#key={api_key}")
        browser.wait_for(f"{INBOX} > 0 && !!document.querySelector('#triage-mentions li')")
        assert browser.evaluate(
            "document.querySelector('#triage-one-per-copy').parentNode.textContent"
        ).strip() == ("one row per copy")
        # The row counts the three copies still new, and its actions say they change them.
        assert "3 copies" in browser.evaluate(f"{_in_item('mixed3', '.copies')}.textContent")
        assert browser.evaluate(f"{_in_item('mixed3', '.set-state')}.title") == "changes 3 copies"
        assert "changes 3 copies" in browser.evaluate(
            f"{_in_item('mixed3', '.set-state')}.getAttribute('aria-label')"
        )
        assert browser.evaluate(f"{_in_item('mixed3', '.assign-me')}.title") == "changes 3 copies"
        _acted(browser, f"{_in_item('mixed3', '.assign-me')}.click()")
    assigned = _api(live_api, api_key, "/mentions", q="assignee:tests", limit="100")
    assert sorted(m["id"] for m in assigned["mentions"]) == ["mixed0", "mixed2", "mixed3"]
    kept = _api(live_api, api_key, "/triage/mentions/mixed1")
    assert kept["mention"]["triage"]["assignee"] == "zoe"
    assert (kept["mention"]["triage"]["state"], kept["answered_by"]) == ("answered", "zoe")
