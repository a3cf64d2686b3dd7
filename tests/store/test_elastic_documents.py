"""The bulk path's documents mean what the documents built before it was made fast meant.

`document_json` (orjson, the mention spliced in as pydantic's JSON, memoized content
words) must parse to the same document as the original construction, kept below as
`_reference_document`, for mentions of every shape. Pure: no Elasticsearch needed.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.core.communities import community_of
from services.core.function_words import content_words, is_function_word
from services.core.models import (
    AuthorDetails,
    Engagement,
    Mention,
    Sentiment,
    SentimentLabel,
    ThreadLink,
)
from services.core.query.ast import FILTER_FIELDS
from services.core.query.matcher import keyword_values
from services.core.text import MAX_TOKEN_LENGTH, tokenize
from services.store.contracts import Dimension
from services.store.elastic import mapping
from services.store.elastic.bulk import bulk_body
from services.store.elastic.documents import _site_suffixes, document_json, to_document
from services.store.embedded.keys import epoch_us
from services.store.embedded.words import _pieces, mention_words
from services.store.story_chain import story_hash, story_key
from tests.factories import make_mention

_WRITTEN_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]")


def _reference_content_words(*texts: str) -> list[str]:
    """services.core.function_words.content_words as it was before it was memoized."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _WRITTEN_WORD.finditer(text.lower()):
            word = _ELISION.sub("", match.group()).replace("’", "'")
            if len(word) < 2 or len(word) > MAX_TOKEN_LENGTH or is_function_word(word):
                continue
            seen.setdefault(word, None)
    return list(seen)


def _reference_document(
    mention: Mention, previous_us: int | None, full_text: bool
) -> dict[str, Any]:
    """The document as `to_document` built it before the bulk path was optimised (the
    Kibana full-text fields became opt-in since)."""
    published_us = epoch_us(mention.published_at)
    doc: dict[str, Any] = {
        mapping.ID: mention.id,
        mapping.STORY_HASH: story_hash(story_key(mention)),
        mapping.TITLE_WORDS: " ".join(tokenize(mention.title)),
        mapping.TEXT_WORDS: " ".join(tokenize(mention.text)),
        mapping.PUBLISHED_US: published_us,
        mapping.PUBLISHED_AT: published_us // 1000,
        mapping.MENTION: mention.model_dump(mode="json"),
    }
    if full_text:
        doc |= {"title": mention.title, "text": mention.text}
    if previous_us is not None:
        doc[mapping.STORY_PREVIOUS_US] = previous_us
    for name in FILTER_FIELDS:
        values = keyword_values(mention, name)
        if values:
            doc[mapping.filter_field(name)] = list(dict.fromkeys(values))
    displayed: dict[Dimension, list[str]] = {
        Dimension.BRAND: mention.brands,
        Dimension.COMPETITOR: mention.competitors,
        Dimension.SOURCE: [mention.source_name],
        Dimension.LANGUAGE: [mention.language] if mention.language else [],
        Dimension.TOPIC: mention.topics,
        Dimension.AUTHOR: [mention.author] if mention.author else [],
        Dimension.COMMUNITY: [place] if (place := community_of(mention)) else [],
    }
    for dimension, values in displayed.items():
        if values:
            doc[mapping.DIMENSION_FIELDS[dimension]] = list(dict.fromkeys(values))
    followers = mention.author_details.followers if mention.author_details else None
    if followers is not None:
        doc[mapping.FOLLOWERS] = followers
    words = _reference_content_words(mention.title, mention.text)
    if words:
        doc[mapping.TERMS] = words
    return doc


_WORDS = (
    "Vélo vélo VÉLO l'équipe L’équipe aujourd'hui don't rock-'n'-roll Déçu déçu "
    "très tres été 2026 10km x y a le la the and nul super-cher Straße ŒUVRE "
    "日本語 😀 emoji👍 ça Ça garçon naïve coöperate l'x qu'il jusqu'à "
    + "z"
    * (MAX_TOKEN_LENGTH + 3)
).split()


def _varied_mentions(rng: random.Random, count: int) -> list[Mention]:
    """Mentions of every shape: accents, elisions, emoji, numbers, overlong words, every
    optional field set or not, duplicate brands, fractional scores."""
    mentions = []
    labels = list(SentimentLabel)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(count):
        words = rng.choices(_WORDS, k=rng.randrange(0, 30))
        fields: dict[str, Any] = {
            "id": f"doc-{n}-{rng.choice(['', 'É', ' x'])}",
            "title": " ".join(rng.choices(_WORDS, k=rng.randrange(0, 6))),
            "text": " ".join(words) + rng.choice(["", "!", " …", "\n\t"]),
            "published_at": start + timedelta(microseconds=rng.randrange(10**14)),
            "language": rng.choice([None, "fr", "en", "FR"]),
            "brands": rng.sample(["Veloria", "Acme", "Vélo Cie", "veloria"], rng.randrange(3)),
            "competitors": rng.sample(["Rapido", "Nordbike"], rng.randrange(2)),
            "topics": rng.sample(["price", "Délai", "service"], rng.randrange(3)),
            "story_id": rng.choice([None, f"Story-{n % 5}", "Été"]),
            "author": rng.choice([None, "Jean Dupont", "@Émilie", " spaced  name "]),
            "url": rng.choice(
                [
                    None,
                    f"https://www.reddit.com/r/Velos/comments/{n}",
                    f"https://forum.example.fr/t/{n}",
                ]
            ),
            "source_name": rng.choice(["Le Monde", "forum", "r/velos"]),
            "sentiment": rng.choice(
                [None, Sentiment(label=rng.choice(labels), score=rng.random())]
            ),
            "brand_sentiments": {"Veloria": Sentiment(label=rng.choice(labels), score=0.1 + 0.2)}
            if rng.random() < 0.3
            else {},
            "engagement": Engagement(likes=rng.choice([None, 0, 12]), views=2**40),
            "author_details": rng.choice(
                [None, AuthorDetails(followers=rng.choice([None, 0, 1234])), AuthorDetails()]
            ),
            "thread": rng.choice([None, ThreadLink(item_kind="comment", parent_id="p1")]),
        }
        mentions.append(make_mention(**fields))
    return mentions


@pytest.mark.parametrize("full_text", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_documents_mean_what_they_meant(seed: int, full_text: bool) -> None:
    rng = random.Random(seed)
    for mention in _varied_mentions(rng, 150):
        previous = rng.choice([None, -(2**60), 1_700_000_000_000_000])
        # Through the standard library, as the client used to send it.
        expected = json.loads(json.dumps(_reference_document(mention, previous, full_text)))
        sent = document_json(mention, previous_us=previous, full_text=full_text)
        assert orjson.loads(sent) == expected
        built = to_document(mention, previous_us=previous, full_text=full_text)
        assert json.loads(json.dumps(built)) == expected


@pytest.mark.parametrize("full_text", [False, True])
def test_the_kibana_full_text_fields_are_sent_only_when_asked_for(full_text: bool) -> None:
    document = orjson.loads(
        document_json(make_mention(title="Titre", text="Le texte"), full_text=full_text)
    )
    assert ("title" in document, "text" in document) == (full_text, full_text)
    assert document["mention"]["text"] == "Le texte"  # always stored


def test_a_lone_surrogate_is_escaped_not_refused() -> None:
    mention = make_mention(text="broken \ud800 text")
    for full_text in (False, True):
        sent = json.loads(document_json(mention, full_text=full_text))
        assert sent["mention"]["text"] == "broken \ud800 text"
    assert sent["text"] == "broken \ud800 text"


def test_the_bulk_body_is_one_json_line_per_action_and_document() -> None:
    mention = make_mention(text="Déçu 😀")
    ops: list[tuple[dict[str, Any], Mention | None, dict[str, Any] | bytes | None]] = [
        ({"index": {"_index": "i", "_id": mention.id}}, mention, document_json(mention)),
        ({"update": {"_index": "i", "_id": "x"}}, None, {"doc": {"story_previous_us": -5}}),
        ({"delete": {"_index": "i", "_id": "y"}}, None, None),
    ]
    body = bulk_body(ops)
    assert body.endswith(b"\n")
    lines = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert lines[0] == {"index": {"_index": "i", "_id": mention.id}}
    assert lines[1]["text_words"] == "decu"
    assert lines[1]["mention"] == mention.model_dump(mode="json")
    assert lines[2:] == [
        {"update": {"_index": "i", "_id": "x"}},
        {"doc": {"story_previous_us": -5}},
        {"delete": {"_index": "i", "_id": "y"}},
    ]


# Characters where splitting at whitespace first could change the words: apostrophes and
# hyphens that join words, a final sigma (lower-cased by its context), combining marks,
# digits, and whitespace of every kind str.split() splits on.
_TRICKY = "aZé'’-_Σσ\u0301ǅ1٣ \t\n\xa0\u2028\u3000\x1c.,!"


def _whole_words(title: str, text: str) -> tuple[str, str, list[str]]:
    """What `mention_words` computes per piece, from the whole texts."""
    return " ".join(tokenize(title)), " ".join(tokenize(text)), content_words(title, text)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_words_per_piece_equal_words_of_the_whole(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2000):
        title = "".join(rng.choices(_TRICKY, k=rng.randrange(0, 12)))
        text = "".join(rng.choices(_TRICKY, k=rng.randrange(0, 40)))
        assert mention_words(title, text) == _whole_words(title, text), (title, text)
    assert mention_words("ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ.") == _whole_words("ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ.")


def test_long_pieces_are_read_whole_and_not_kept() -> None:
    # A URL-like run longer than the cache's limit: the same words, and no cache entry.
    piece = "https://exemple.fr/" + "déçu-" * 40 + "Σ"
    before = len(_pieces)
    assert mention_words(piece, f"{piece} {piece}") == _whole_words(piece, f"{piece} {piece}")
    assert len(_pieces) == before


_URL_CHARS = "aZ0.-:@[]/?#%é \t\n\x00\x7f_~"


@pytest.mark.parametrize("seed", [1, 2])
def test_sites_memoized_by_host_equal_the_sites_of_whole_urls(seed: int) -> None:
    rng = random.Random(seed)
    heads = ["https://", "HTTP://", "http://user:pw@", "ftp://", "//", "", " https://", "h1+x://"]
    hosts = ["www.Lemonde.fr", "forum.velo.fr:8080", "[::1]", "a.b.c", "", "WWW.", "xn--d-i.fr"]
    urls = ["https://www.lemonde.fr", "https://x.fr?q=1", "https://x.fr#a", "http://x.fr\n/p"]
    for _ in range(3000):
        tail = "".join(rng.choices(_URL_CHARS, k=rng.randrange(0, 12)))
        urls.append(rng.choice(heads) + rng.choice(hosts) + rng.choice(["", "/", "?", "#"]) + tail)
    for url in urls:
        mention = make_mention(url=url)
        try:
            expected = keyword_values(mention, "site")
        except ValueError:  # urlsplit refuses it (a bad port or bracket): so must we
            with pytest.raises(ValueError):
                _site_suffixes(mention)
            continue
        assert _site_suffixes(mention) == expected, url
