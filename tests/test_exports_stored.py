"""The CSV export read from stored JSON (no `Mention` per row) writes the same bytes as
the export through the model, on mentions that vary in every field a row reads."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from services.core.evidence import Evidence, WeightedWord
from services.core.models import AuthorDetails, Engagement, Mention, Sentiment, SentimentLabel
from services.core.triage import Triage, TriageState
from services.exports.columns import MentionColumns
from services.exports.formats import ExportFormat
from services.exports.mentions import index_chunks, mention_chunks
from services.store.contracts import MentionFilter, MentionIndex
from services.store.embedded.index import EmbeddedIndex
from tests.factories import BASE_TIME, make_mention

NAMES = ["Veloria", "Trekko", "Vélo Cie", "Gone Brand"]
TEXTS = [
    '=HYPERLINK("x")',
    "+33 6 12",
    "-1 star",
    "@Veloria merci",
    "\tTab",
    "déçu, «vraiment»",
    'a "quoted"; b',
    "line\nbreak",
    "",
]
URLS = [
    None,
    "https://www.reddit.com/r/Velo/comments/1",
    "https://blog.example.fr/p/2",
    "=evil",
    "not a url",
]
KINDS = ["feed", "reddit", "mastodon", "web", "youtube"]


def _sentiment(rng: random.Random) -> Sentiment:
    words = [WeightedWord(text=w, weight=rng.uniform(-1, 1)) for w in ("retard", "ravi")]
    return Sentiment(
        label=rng.choice(list(SentimentLabel)),
        score=rng.choice([0.5, 1.0, 0.123456789, 2 / 3, 0.99995]),
        evidence=Evidence(sentences=["x"], words=words) if rng.random() < 0.5 else None,
    )


def varied(count: int, seed: int = 3) -> list[Mention]:
    rng = random.Random(seed)
    mentions = []
    for i in range(count):
        named = rng.sample(NAMES[:3], rng.randint(0, 2))
        brands, competitors = named[:1], named[1:]
        fields: dict[str, Any] = {
            "id": f"=v{i:04d}" if i % 17 == 0 else f"v{i:04d}",
            "source_kind": rng.choice(KINDS),
            "source_name": rng.choice(["Le Monde", "-minus feed", "r/velo"]),
            "url": rng.choice(URLS),
            "title": rng.choice(["", "Titre", "=SUM(A1)"]),
            "text": rng.choice(TEXTS),
            "author": rng.choice([None, "someone", "@handle", "+plus"]),
            # Naive, UTC, another offset, with microseconds: all stored as UTC.
            "published_at": rng.choice(
                [
                    BASE_TIME + timedelta(minutes=i),
                    (BASE_TIME + timedelta(minutes=i, microseconds=123)).replace(tzinfo=None),
                    (BASE_TIME + timedelta(minutes=i)).astimezone(timezone(timedelta(hours=2))),
                ]
            ),
            "language": rng.choice([None, "fr", "en"]),
            "brands": brands,
            "competitors": competitors,
            "sentiment": _sentiment(rng) if rng.random() < 0.8 else None,
            "brand_sentiments": {n: _sentiment(rng) for n in named if rng.random() < 0.6},
            "topics": rng.sample(["delivery", "price", "=fx"], rng.randint(0, 2)),
            "story_id": rng.choice([None, f"v{i:04d}", "v0000", "-story"]),
            "engagement": Engagement(
                likes=rng.choice([None, 0, 12]), replies=rng.choice([None, 3]), views=10**9
            ),
            "author_details": rng.choice(
                [
                    None,
                    AuthorDetails(followers=1200),
                    AuthorDetails(display_name="=Name", followers=None),
                    AuthorDetails(display_name="Zoé"),
                ]
            ),
        }
        if rng.random() < 0.5:  # triaged (the others are `new`, as stored before triage)
            fields["triage"] = Triage(
                state=rng.choice(list(TriageState)),
                assignee=rng.choice([None, "Ana", "=boss"]),
                tags=rng.sample(["legal", "vip", "+urgent"], rng.randint(0, 2)),
            )
        if i % 11 == 0:  # a judged name that is no longer watched
            fields["brand_sentiments"]["Old Name"] = _sentiment(rng)
        mentions.append(make_mention(**fields))
    return mentions


@pytest.fixture
def index(tmp_path: Path) -> EmbeddedIndex:
    opened = EmbeddedIndex(str(tmp_path / "index"))
    opened.upsert(varied(400))
    return opened


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_the_stored_json_path_writes_the_same_csv(index: EmbeddedIndex, sep: str) -> None:
    flt = MentionFilter(since=BASE_TIME - timedelta(days=1))
    through_models = b"".join(
        mention_chunks(index.iter_all(flt), names=NAMES, fmt=ExportFormat.CSV, sep=sep)
    )
    stored = b"".join(index_chunks(index, flt, names=NAMES, fmt=ExportFormat.CSV, sep=sep))
    assert stored == through_models
    # The sample exercised what it should: formulas made inert, several chunks, offsets.
    text = stored.decode("utf-8-sig")
    assert text.count("\r\n") == 401 and "'=HYPERLINK" in text and "'=v0017" in text
    assert "r/velo" in text and f"{sep}yes{sep}" in text and f"{sep}no{sep}" in text
    assert f"{sep}in_progress{sep}" in text and f"{sep}'=boss{sep}" in text
    assert f"{sep}new{sep}{sep}{sep}" in text and "'+urgent" in text
    index.close()


def test_the_default_iter_json_gives_the_same_rows(index: EmbeddedIndex) -> None:
    """A backend without stored JSON (the contract's default) yields the model's JSON."""
    flt = MentionFilter(since=datetime(2026, 1, 1, tzinfo=UTC))
    stored = list(index.iter_json(flt))
    dumped = list(MentionIndex.iter_json(index, flt))
    assert len(stored) == len(dumped) == 400
    columns = MentionColumns(NAMES)
    assert [columns.stored_text_row(s) for s in stored] == [
        columns.stored_text_row(d) for d in dumped
    ]
    index.close()


def test_ndjson_still_reads_models(index: EmbeddedIndex) -> None:
    flt = MentionFilter()
    ndjson = b"".join(index_chunks(index, flt, names=NAMES, fmt=ExportFormat.NDJSON))
    assert ndjson == b"".join(
        mention_chunks(index.iter_all(flt), names=NAMES, fmt=ExportFormat.NDJSON)
    )
    assert ndjson.count(b"\n") == 400
    index.close()


@pytest.mark.parametrize(
    "published", ["2026-11-01T14:30:00+02:00", "2026-11-01T12:30:00", "2026-11-01T12:30:00.5Z"]
)
def test_json_written_elsewhere_reads_as_the_model_does(published: str) -> None:
    """JSON not written by `Mention` (another offset, no zone) gives the model's cells."""
    fields = json.loads(make_mention(id="j1").model_dump_json())
    source = json.dumps({**fields, "published_at": published, "added_later": [1]})
    columns = MentionColumns(NAMES)
    row = columns.stored_text_row(source.encode())
    assert row == columns.text_row(Mention.model_validate_json(source))
    assert row[0] == "2026-11-01 12:30:00"
