"""`veille triage`, run as a user runs it (a subprocess) on a real workspace and index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.models import Sentiment, SentimentLabel
from services.store.embedded.index import EmbeddedIndex
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import make_mention

NOW = datetime.now(UTC)
NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
pytestmark = pytest.mark.slow  # several `veille` processes


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = write_workspace(tmp_path, sources=[])
    index = EmbeddedIndex(str(tmp_path / "data" / "index"))
    index.upsert(
        [
            make_mention(
                id=f"k{i}",
                text=f"Veloria en retard {i}",
                sentiment=NEG,
                story_id="k0" if i < 3 else None,
                published_at=NOW - timedelta(hours=i + 1),
            )
            for i in range(5)
        ]
    )
    index.close()
    return folder


def test_list_set_note_and_bulk(config: Path) -> None:
    c = ("--config", str(config))
    listed = veille("triage", "list", *c)
    assert listed.returncode == 0, listed.stderr
    # One line per story (k0, k1, k2 are one), its copies counted; --no-group: each.
    assert "3 of 3 stories" in listed.stdout and "k4" in listed.stdout, listed.stdout
    assert "[3 copies]" in listed.stdout and "k1" not in listed.stdout
    every = veille("triage", "list", "--no-group", *c)
    assert "5 of 5" in every.stdout and "k1" in every.stdout

    done = veille(
        "triage", "set", "k4", "-s", "in progress", "-a", "me", "-t", "legal", "--as", "zoé", *c
    )
    assert done.returncode == 0, done.stderr
    assert "k4: in progress, assignee zoé, tags legal" in done.stdout
    mine = veille("triage", "list", "-q", "assignee:me tag:legal", "--as", "Zoé", *c)
    assert "1 of 1" in mine.stdout and "in progress" in mine.stdout

    assert veille("triage", "note", "k4", "Rappeler lundi", "--as", "zoé", *c).returncode == 0
    notes = veille("triage", "notes", "k4", *c)
    assert "zoé: Rappeler lundi" in notes.stdout

    dry = veille("triage", "bulk", "--story", "k0", "-s", "answered", "--dry-run", *c)
    assert "3 matched (dry run" in dry.stdout, dry.stderr
    bulk = veille("triage", "bulk", "--story", "k0", "-s", "answered", "--as", "zoé", *c)
    assert bulk.returncode == 0, bulk.stderr
    assert "3 matched, 3 changed" in bulk.stdout
    assert "1 of 1 stories" in veille("triage", "list", "-q", "state:answered", *c).stdout
    assert "3 of 3" in veille("triage", "list", "-q", "state:answered", "--no-group", *c).stdout

    # A change on a story's line, for every copy.
    whole = veille("triage", "set", "k0", "--story", "-s", "escalated", "-a", "me", *c)
    assert whole.returncode == 0, whole.stderr
    escalated = veille("triage", "list", "-q", "state:escalated", "--no-group", "--json", *c)
    assert len(escalated.stdout.splitlines()) == 3


def test_set_story_leaves_the_copies_its_line_did_not_count(config: Path) -> None:
    """Reviewer finding: `set ID --story` overwrote a copy zoé had already answered."""
    c = ("--config", str(config))
    zoe = veille("triage", "set", "k2", "-s", "answered", "-a", "me", "--as", "zoé", *c)
    assert zoe.returncode == 0, zoe.stderr
    # Default: the copies in the same state as k0 (new), so k0 and k1 only.
    ignored = veille("triage", "set", "k0", "--story", "-s", "ignored", *c)
    assert ignored.returncode == 0, ignored.stderr
    assert "2 copies changed" in ignored.stdout
    # With the query of the list line: the copies it matches.
    mine = veille("triage", "set", "k0", "--story", "-q", "state:ignored", "-a", "me", *c)
    assert "2 copies changed" in mine.stdout, mine.stderr
    rows = veille("triage", "list", "-q", "retard", "--no-group", "--json", *c).stdout
    triage = {json.loads(r)["id"]: json.loads(r)["triage"] for r in rows.splitlines()}
    assert triage["k2"] == {"state": "answered", "assignee": "zoé", "tags": []}
    assert {triage[k]["state"] for k in ("k0", "k1")} == {"ignored"}
    assert triage["k0"]["assignee"] == triage["k1"]["assignee"] != "zoé"
    lone = veille("triage", "set", "k0", "-q", "state:new", "-s", "new", *c)
    assert lone.returncode == 2 and "--query goes with --story" in lone.stderr


def test_bad_input_is_an_error_and_changes_nothing(config: Path) -> None:
    c = ("--config", str(config))
    for args, words in [
        (("set", "k1", "-s", "done"), "unknown triage state"),
        (("set", "k1", "-t", "  "), "a tag cannot be empty"),
        (("set", "k1"), "nothing to change"),
        (("set", "nope", "-s", "answered"), "no mention has the id"),
        (("note", "k1", "x" * 5000), "at most 4000"),
        (("bulk", "-q", "retard AND (", "-s", "answered"), "bad query"),
        (("bulk", "-s", "answered"), "give --query or --story"),
        (("list", "-q", "state:fini"), "unknown triage state"),
    ]:
        bad = veille("triage", *args, *c)
        assert bad.returncode != 0, args
        assert words in bad.stderr, (args, bad.stderr)
        assert "Traceback" not in bad.stderr
    assert "5 of 5" in veille("triage", "list", "-q", "state:new", "--no-group", *c).stdout
    assert veille("triage", "notes", "k1", *c).stdout.strip() == ""
    # French states, and a hint for a filter that names nothing known.
    french = veille("triage", "list", "-q", "état:nouveau marque:Velorya", *c)
    assert french.returncode == 0, french.stderr
    assert "warning: brand:velorya: no brand is named 'velorya'" in french.stderr
    refused = veille("triage", "set", "k1", "-s", "fini", *c)
    assert "answered (répondu)" in refused.stderr


def test_ids_are_listed_whole_on_a_narrow_terminal_and_as_json(tmp_path: Path) -> None:
    """Ids as long as real ones, 80 columns (what a pipe gets): each can be pasted back."""
    import json

    folder = write_workspace(tmp_path, sources=[])
    index = EmbeddedIndex(str(tmp_path / "data" / "index"))
    ids = [f"{i}5de6ac624486375d9f0c2b7e1a4d3c8b9e0f1a2b3c4d" for i in range(3)]
    index.upsert(
        [
            make_mention(
                id=mention_id,
                text="Ça fait trois semaines que j'attends la livraison de mon Veloria " * 3,
                sentiment=NEG,
                published_at=NOW - timedelta(hours=1),
            )
            for mention_id in ids
        ]
    )
    index.close()
    c = ("--config", str(folder))
    listed = veille("triage", "list", "--as", "zoé", *c)
    assert listed.returncode == 0, listed.stderr
    assert all(mention_id in listed.stdout for mention_id in ids), listed.stdout
    assert veille("triage", "set", ids[0], "-s", "ignored", "--as", "zoé", *c).returncode == 0
    rows = [json.loads(line) for line in veille("triage", "list", "--json", *c).stdout.splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(ids[1:])
    assert rows[0]["triage"]["state"] == "new" and "livraison" in rows[0]["text"]
