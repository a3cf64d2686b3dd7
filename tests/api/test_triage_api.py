"""Triage over the real API (SQLite state store, embedded index): one mention, notes,
bulk changes from a query or a story, counts by state, assignee:me, answered stories,
and bad input refused with a problem document and nothing changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.core.models import Sentiment, SentimentLabel
from services.core.triage import MAX_NOTE_CHARS
from services.runtime.app.context import ServiceContext
from tests.apps import app_for
from tests.factories import BASE_TIME, make_mention

API = "/api/v1"
NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)


def _ids(client: TestClient, q: str) -> set[str]:
    response = client.get(f"{API}/mentions", params={"q": q, "limit": 500})
    assert response.status_code == 200, response.text
    return {m["id"] for m in response.json()["mentions"]}


def _story(ctx: ServiceContext) -> None:
    """A story of three copies (s1 first), and two other negative mentions."""
    ctx.index.upsert(
        [
            make_mention(
                id=f"s{n}",
                story_id="s1",
                sentiment=NEG,
                text="Veloria a perdu ma commande",
                published_at=BASE_TIME + timedelta(hours=n),
            )
            for n in (1, 2, 3)
        ]
        + [make_mention(id=f"o{n}", sentiment=NEG, text=f"autre {n}") for n in (1, 2)]
    )


def test_set_state_assignee_tags_and_search_them(ctx: ServiceContext, client: TestClient) -> None:
    _story(ctx)
    response = client.patch(
        f"{API}/triage/mentions/o1",
        json={"state": "in progress", "assignee": "me", "add_tags": ["Légal", " vip "]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mention"]["triage"] == {
        "state": "in_progress",
        "assignee": "tests",  # the API key's name
        "tags": ["Légal", "vip"],
    }
    assert body["updated_by"] == "tests" and body["updated_at"]

    assert _ids(client, 'state:"in progress"') == {"o1"}
    assert _ids(client, "state:in_progress tag:legal") == {"o1"}
    assert _ids(client, "assignee:me") == {"o1"}
    assert _ids(client, "assignee:tests") == {"o1"}
    assert _ids(client, "state:new") == {"s1", "s2", "s3", "o2"}
    assert client.get(f"{API}/mentions/o1").json()["triage"]["tags"] == ["Légal", "vip"]

    # Removing a tag (any case) and unassigning.
    body = client.patch(
        f"{API}/triage/mentions/o1", json={"remove_tags": ["LÉGAL"], "assignee": ""}
    ).json()
    assert body["mention"]["triage"] == {"state": "in_progress", "assignee": None, "tags": ["vip"]}
    assert _ids(client, "assignee:me OR tag:legal") == set()


def test_french_states_and_fields_read_as_the_english_ones(
    ctx: ServiceContext, client: TestClient
) -> None:
    _story(ctx)
    for mention, french, english in (
        ("o1", "en cours", "in_progress"),
        ("o2", "Répondu", "answered"),
        ("s1", "escaladé", "escalated"),
        ("s2", "ignoré", "ignored"),
    ):
        response = client.patch(f"{API}/triage/mentions/{mention}", json={"state": french})
        assert response.status_code == 200, response.text
        assert response.json()["mention"]["triage"]["state"] == english
    client.patch(f"{API}/triage/mentions/s2", json={"state": "nouveau"})
    assert _ids(client, 'état:"en cours"') == {"o1"}
    assert _ids(client, "etat:nouveau") == {"s2", "s3"}
    assert _ids(client, "négatif:Veloria") == _ids(client, "negative:Veloria") != set()
    refused = client.patch(f"{API}/triage/mentions/o1", json={"state": "fini"})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "state" and "answered (répondu)" in error["message"]


def test_notes_have_author_time_and_text(ctx: ServiceContext, client: TestClient) -> None:
    _story(ctx)
    first = client.post(f"{API}/triage/mentions/o1/notes", json={"text": "Appelé le client"})
    assert first.status_code == 201, first.text
    client.post(f"{API}/triage/mentions/o1/notes", json={"text": "Rappel demain"})
    notes = client.get(f"{API}/triage/mentions/o1/notes").json()
    assert [(n["author"], n["text"]) for n in notes] == [
        ("tests", "Appelé le client"),
        ("tests", "Rappel demain"),
    ]
    assert notes[0]["created_at"] <= notes[1]["created_at"]
    assert client.get(f"{API}/mentions/o1").json()["notes"] == 2
    assert [n["text"] for n in client.get(f"{API}/triage/mentions/o1").json()["notes"]] == [
        "Appelé le client",
        "Rappel demain",
    ]


def test_bulk_marks_a_whole_story_answered(ctx: ServiceContext, client: TestClient) -> None:
    _story(ctx)
    dry = client.post(
        f"{API}/triage/bulk",
        json={"story": "s1", "state": "answered", "dry_run": True},
    )
    assert dry.json() == {"matched": 3, "changed": 0, "dry_run": True, "job_id": None}
    assert _ids(client, "state:answered") == set()

    response = client.post(f"{API}/triage/bulk", json={"story": "s1", "state": "answered"})
    assert response.status_code == 200, response.text
    assert response.json() == {"matched": 3, "changed": 3, "dry_run": False, "job_id": None}
    assert _ids(client, "state:answered") == {"s1", "s2", "s3"}
    # Again: they already are, nothing changes.
    again = client.post(f"{API}/triage/bulk", json={"story": "s1", "state": "answered"})
    assert again.json()["changed"] == 0

    # By query: tag every other new negative mention.
    by_query = client.post(
        f"{API}/triage/bulk", json={"q": "state:new sentiment:negative", "add_tags": ["legal"]}
    )
    assert by_query.json() == {"matched": 2, "changed": 2, "dry_run": False, "job_id": None}
    assert _ids(client, "tag:legal") == {"o1", "o2"}


def test_bulk_on_a_query_the_change_stops_matching(
    ctx: ServiceContext, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`state:new` marked answered: each page stops matching as it is changed, and the walk
    still reaches every mention (pages go by time, not by offset)."""
    from services.runtime.app import triage

    monkeypatch.setattr(triage, "SYNC_BULK", 5000)  # answered at once, not as a job
    ctx.index.upsert([make_mention(id=f"p{n:04d}", text="lot") for n in range(1100)])
    response = client.post(f"{API}/triage/bulk", json={"q": "lot state:new", "state": "ignored"})
    assert response.json()["changed"] == 1100
    counts = client.get(f"{API}/stats/triage", params={"q": "lot"}).json()
    assert counts["states"]["ignored"] == 1100 and counts["states"]["new"] == 0


def test_counts_by_state(ctx: ServiceContext, client: TestClient) -> None:
    _story(ctx)
    client.post(f"{API}/triage/bulk", json={"story": "s1", "state": "answered"})
    client.patch(f"{API}/triage/mentions/o1", json={"state": "escalated"})
    counts = client.get(f"{API}/stats/triage").json()
    assert counts["total"] == 5
    assert counts["states"] == {
        "new": 1,
        "in_progress": 0,
        "answered": 3,
        "escalated": 1,
        "ignored": 0,
    }
    window = {"dimension": "state", "since": (BASE_TIME - timedelta(days=1)).isoformat()}
    breakdown = client.get(f"{API}/stats/breakdown", params=window).json()
    assert {c["key"]: c["count"] for c in breakdown["counts"]} == {
        "answered": 3,
        "escalated": 1,
        "new": 1,
    }
    deduped = client.get(f"{API}/stats/breakdown", params={**window, "dedup": "true"})
    assert deduped.status_code == 200, deduped.text
    assert {c["key"]: c["count"] for c in deduped.json()["counts"]}["answered"] == 1  # story s1


def test_a_repost_of_an_answered_story_says_so(ctx: ServiceContext, client: TestClient) -> None:
    _story(ctx)
    client.patch(f"{API}/triage/mentions/s1", json={"state": "answered"})
    # A repost arriving later joins the story.
    ctx.index.upsert([make_mention(id="s9", story_id="s1", sentiment=NEG, text="Veloria RT")])

    repost = client.get(f"{API}/mentions/s9").json()
    assert repost["triage"]["state"] == "new"
    assert repost["story_answered"]["mention_id"] == "s1"
    assert repost["story_answered"]["answered_by"] == "tests"
    assert repost["story_answered"]["answered_at"]
    assert client.get(f"{API}/mentions/s1").json()["story_answered"] is None  # itself
    assert client.get(f"{API}/mentions/o1").json()["story_answered"] is None

    inbox = client.get(f"{API}/triage/inbox", params={"group": "none"}).json()
    shown = {m["id"]: m["story_answered"] for m in inbox["mentions"]}
    assert "s1" not in shown  # answered: out of the default inbox
    assert shown["s9"]["mention_id"] == "s1"
    assert shown["o1"] is None


def test_the_answer_keeps_its_first_time_and_author(
    ctx: ServiceContext, client: TestClient
) -> None:
    _story(ctx)
    first = client.patch(f"{API}/triage/mentions/s1", json={"state": "answered"}).json()
    later = client.patch(f"{API}/triage/mentions/s1", json={"add_tags": ["vip"]}).json()
    assert later["answered_at"] == first["answered_at"]
    reopened = client.patch(f"{API}/triage/mentions/s1", json={"state": "in progress"}).json()
    assert reopened["answered_at"] is None
    assert client.get(f"{API}/mentions/s2").json()["story_answered"] is None


def _problem(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        # A bad value is a 422 naming its field; nothing to change at all, a 400.
        ({"state": "done"}, 422, "state: unknown triage state"),
        ({"add_tags": ["   "]}, 422, "add_tags: a tag cannot be empty"),
        ({"remove_tags": ["x" * 60]}, 422, "remove_tags: a tag has at most 50 characters"),
        ({}, 400, "give a state"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    ctx: ServiceContext, client: TestClient, body: dict[str, Any], status: int, words: str
) -> None:
    _story(ctx)
    _problem(client.patch(f"{API}/triage/mentions/o1", json=body), status, words)
    _problem(client.post(f"{API}/triage/bulk", json={"q": "", **body}), status, words)
    assert _ids(client, "state:new") == {"s1", "s2", "s3", "o1", "o2"}
    assert ctx.state.triage_records(["o1", "s1"]) == {}


def test_a_misspelt_field_is_refused_not_dropped(ctx: ServiceContext, client: TestClient) -> None:
    """`query` for `q` would otherwise bulk-change every mention; `tags` for `add_tags`
    would answer 200 with nothing tagged."""
    _story(ctx)
    refused = client.post(
        f"{API}/triage/bulk", json={"query": "autre", "state": "ignored", "dry_run": True}
    )
    _problem(refused, 422, "query")
    assert [e["field"] for e in refused.json()["errors"]] == ["query"]
    _problem(client.patch(f"{API}/triage/mentions/o1", json={"tags": ["vip"]}), 422, "tags")
    _problem(client.post(f"{API}/triage/bulk", json={"q": "autre", "tags": ["vip"]}), 422, "tags")
    assert ctx.state.triage_records(["o1", "o2", "s1"]) == {}


def test_bad_notes_queries_and_ids(ctx: ServiceContext, client: TestClient) -> None:
    _story(ctx)
    huge = "x" * (MAX_NOTE_CHARS + 1)
    _problem(client.post(f"{API}/triage/mentions/o1/notes", json={"text": huge}), 422, "text: a")
    _problem(client.post(f"{API}/triage/mentions/o1/notes", json={"text": " \n "}), 422, "empty")
    too_huge = client.post(f"{API}/triage/mentions/o1/notes", json={"text": "x" * 100_000})
    assert too_huge.status_code == 422
    assert client.get(f"{API}/triage/mentions/o1/notes").json() == []

    _problem(client.post(f"{API}/triage/bulk", json={"q": "state:", "state": "ignored"}), 400, "")
    _problem(client.post(f"{API}/triage/bulk", json={"q": "(a", "state": "ignored"}), 400, "")
    _problem(client.post(f"{API}/triage/bulk", json={"q": "state:fini"}), 400, "triage state")
    _problem(client.patch(f"{API}/triage/mentions/nope", json={"state": "answered"}), 404, "")
    _problem(client.post(f"{API}/triage/mentions/nope/notes", json={"text": "x"}), 404, "")
    _problem(client.get(f"{API}/mentions", params={"q": "state:finished"}), 400, "triage state")
    assert _ids(client, "state:new") == {"s1", "s2", "s3", "o1", "o2"}


def test_a_bulk_beyond_the_limit_is_refused_up_front(
    ctx: ServiceContext, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.runtime.app import triage

    _story(ctx)
    monkeypatch.setattr(triage, "MAX_BULK", 4)
    _problem(client.post(f"{API}/triage/bulk", json={"state": "ignored"}), 400, "at most 4")
    assert _ids(client, "state:ignored") == set()


def test_assignee_me_without_api_keys_is_the_anonymous_caller(ctx: ServiceContext) -> None:
    ctx.settings.api.require_api_key = False
    _story(ctx)
    with TestClient(app_for(ctx)) as open_client:
        open_client.patch(f"{API}/triage/mentions/o2", json={"assignee": "me"})
        assert _ids(open_client, "assignee:me") == {"o2"}
        assert _ids(open_client, "assignee:anonymous") == {"o2"}


def test_a_long_bulk_runs_as_a_job_with_progress(
    ctx: ServiceContext, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from services.runtime.app import triage

    monkeypatch.setattr(triage, "SYNC_BULK", 10)
    monkeypatch.setattr(triage, "BATCH", 7)
    ctx.index.upsert([make_mention(id=f"j{n:03d}", text="longue") for n in range(30)])
    started = client.post(f"{API}/triage/bulk", json={"q": "longue", "add_tags": ["lot"]})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["matched"] == 30 and body["job_id"]
    assert started.headers["location"] == f"{API}/triage/bulk/{body['job_id']}"

    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(started.headers["location"]).json()
        seen.append(job["done"])
        if job["status"] != "running":
            break
        time.sleep(0.05)
    assert job == {
        "job_id": body["job_id"],
        "status": "done",
        "matched": 30,
        "done": 30,
        "changed": 30,
        "error": None,
    }
    assert seen == sorted(seen)
    assert len(_ids(client, "tag:lot")) == 30
    assert client.get(f"{API}/triage/bulk/unknown").status_code == 404


def test_a_change_sent_again_repairs_an_index_that_missed_it(
    ctx: ServiceContext, client: TestClient
) -> None:
    """The state store took the change but the index write failed: sending it again
    writes the index, though the record already holds it."""
    from services.core.triage import Triage, TriageState
    from services.runtime.app.triage import TriageChange, apply_change

    _story(ctx)
    mention = ctx.index.get("o2")
    assert mention is not None
    answered = TriageChange(state=TriageState.ANSWERED)
    apply_change(state=ctx.state, index=ctx.index, mentions=[mention], change=answered, by="x")
    ctx.index.set_triage({"o2": Triage()})  # as if that index write had been lost
    assert _ids(client, "state:answered") == set()

    response = client.patch(f"{API}/triage/mentions/o2", json={"state": "answered"})
    assert response.status_code == 200
    assert _ids(client, "state:answered") == {"o2"}


def _delivery_complaint(ctx: ServiceContext, copies: int = 17) -> None:
    """One story of `copies` identical copies (c00 first), and two other mentions."""
    ctx.index.upsert(
        [
            make_mention(
                id=f"c{n:02}",
                story_id="c00",
                sentiment=NEG,
                text="Veloria : livraison en retard, trois semaines sans nouvelles",
                published_at=BASE_TIME + timedelta(minutes=n),
            )
            for n in range(copies)
        ]
        + [
            make_mention(id=f"o{n}", sentiment=NEG, text=f"autre {n}", published_at=BASE_TIME)
            for n in (1, 2)
        ]
    )


def test_the_inbox_shows_a_story_once_with_its_copies(
    ctx: ServiceContext, client: TestClient
) -> None:
    """Newcomer test: the demo's delivery complaint was listed 17 times."""
    _delivery_complaint(ctx)
    inbox = client.get(f"{API}/triage/inbox").json()
    assert inbox["group"] == "story" and inbox["total"] == 3
    rows = {m["id"]: m["copies"] for m in inbox["mentions"]}
    assert rows == {"c00": 17, "o1": 1, "o2": 1}  # the story's first copy stands for it

    # Paging counts stories: one a page, each once, then no cursor.
    seen, cursor = [], None
    for _ in range(3):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/triage/inbox", params=params).json()
        assert page["total"] == 3
        seen += [m["id"] for m in page["mentions"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == ["c00", "o1", "o2"] and cursor is None

    every = client.get(f"{API}/triage/inbox", params={"group": "none", "limit": 50}).json()
    assert every["total"] == 19 and len(every["mentions"]) == 19
    assert {m["copies"] for m in every["mentions"]} == {1}
    bad = client.get(f"{API}/triage/inbox", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


def test_a_change_on_a_story_row_applies_to_every_copy(
    ctx: ServiceContext, client: TestClient
) -> None:
    _delivery_complaint(ctx)
    response = client.patch(
        f"{API}/triage/mentions/c00",
        json={"state": "answered", "assignee": "me", "whole_story": True},
    )
    assert response.status_code == 200, response.text
    assert response.json()["mention"]["triage"]["state"] == "answered"
    assert response.json()["changed"] == 17
    assert _ids(client, "state:answered assignee:tests") == {f"c{n:02}" for n in range(17)}
    inbox = client.get(f"{API}/triage/inbox").json()
    assert inbox["total"] == 2 and {m["id"] for m in inbox["mentions"]} == {"o1", "o2"}

    # Without it, one copy only.
    _delivery_complaint(ctx, copies=1)  # c00 again, as new
    client.patch(f"{API}/triage/mentions/c00", json={"state": "escalated"})
    assert _ids(client, "state:escalated") == {"c00"}


def test_a_story_row_change_leaves_the_copies_the_row_did_not_count(
    ctx: ServiceContext, client: TestClient
) -> None:
    """Reviewer finding: a grouped row counting the 2 new copies turned a third copy,
    answered by zoe, into "ignored", and erased who answered it."""
    _delivery_complaint(ctx, copies=3)
    zoe_key = ctx.state.create_api_key("zoe")
    answered = client.patch(
        f"{API}/triage/mentions/c02",
        json={"state": "answered", "assignee": "me"},
        headers={"X-API-Key": zoe_key},
    )
    assert answered.status_code == 200, answered.text
    zoe = {k: answered.json()[k] for k in ("answered_at", "answered_by")}
    assert zoe["answered_by"] == "zoe"
    row = client.get(f"{API}/triage/inbox").json()["mentions"][0]
    assert (row["id"], row["copies"]) == ("c00", 2)

    for change in ({"state": "ignored"}, {"assignee": "me"}):
        response = client.patch(
            f"{API}/triage/mentions/c00",
            json={**change, "whole_story": True, "q": "state:new AND sentiment:negative"},
        )
        assert response.status_code == 200, response.text
    kept = client.get(f"{API}/triage/mentions/c02").json()
    assert kept["mention"]["triage"] == {"state": "answered", "assignee": "zoe", "tags": []}
    assert {k: kept[k] for k in zoe} == zoe
    assert _ids(client, "state:ignored") == {"c00", "c01"}
    # The first change took both copies out of the inbox query: the second one changes
    # the mention itself only (the row's representative), never the copies it left.
    assert _ids(client, "assignee:tests") == {"c00"}


def test_a_story_change_without_a_query_changes_the_copies_in_the_same_state(
    ctx: ServiceContext, client: TestClient
) -> None:
    _delivery_complaint(ctx, copies=3)
    client.patch(f"{API}/triage/mentions/c02", json={"state": "answered", "assignee": "zoe"})
    response = client.patch(
        f"{API}/triage/mentions/c00", json={"state": "ignored", "whole_story": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == 2
    assert _ids(client, "state:ignored") == {"c00", "c01"}
    assert client.get(f"{API}/triage/mentions/c02").json()["mention"]["triage"]["state"] == (
        "answered"
    )
    bad = client.patch(
        f"{API}/triage/mentions/c00", json={"state": "new", "whole_story": True, "q": "state:("}
    )
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert _ids(client, "state:ignored") == {"c00", "c01"}
