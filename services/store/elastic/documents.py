"""Mentions to Elasticsearch documents and back, and the search cursor."""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import orjson
from pydantic_core import PydanticSerializationError

from services.core.communities import community_of
from services.core.models import Mention, site_of
from services.core.query.ast import FILTER_FIELDS
from services.core.query.matcher import (
    TRIAGE_FIELDS,
    keyword_values,
    site_suffixes,
    triage_keywords,
)
from services.core.text import fold_keyword
from services.core.triage import Triage
from services.store.contracts import Dimension
from services.store.elastic import mapping
from services.store.embedded.keys import epoch_us
from services.store.embedded.words import mention_words
from services.store.story_chain import story_hash, story_key

_CURSOR: Final = struct.Struct(">Bq")
_CURSOR_VERSION: Final = 1


def _unique(values: list[str]) -> list[str]:
    # A value listed twice would be counted twice by the terms aggregation.
    return list(dict.fromkeys(values)) if len(values) > 1 else values


# `scheme://host[:port]` and the rest of the URL, which starts with /, ? or # (no
# whitespace or control characters, which urlsplit would strip): the host, hence the
# site, depends on the first part only, which repeats from mention to mention.
_URL_HEAD: Final = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\x00-\x20\x7f]*)(?:[/?#]|$)")


_CACHED_HEAD_CHARS: Final = 300


@lru_cache(maxsize=4096)
def _site_values(head: str) -> tuple[str, ...]:
    return tuple(site_suffixes(site_of(head)))


def _site_suffixes(mention: Mention) -> list[str]:
    """`keyword_values(mention, "site")`, memoized by the URL's scheme and host."""
    url = mention.url
    found = _URL_HEAD.match(url) if url else None
    if url is None or found is None or not url.isprintable() or " " in url:
        return keyword_values(mention, "site")
    head = found.group(1)
    if len(head) > _CACHED_HEAD_CHARS:  # a hostile host is not kept
        return site_suffixes(site_of(head))
    return list(_site_values(head))


def to_document(
    mention: Mention, *, previous_us: int | None = None, full_text: bool = False
) -> dict[str, Any]:
    """Tokenizes and folds a mention into the fields of the mapping (`previous_us`: when
    the copy before it in its story was published, see story_chain.py; a document
    written without it counts as its story's first copy; `full_text`: with the Kibana
    full-text fields, see mapping.py)."""
    doc = _fields(mention, previous_us, full_text)
    doc[mapping.MENTION] = mention.model_dump(mode="json")
    return doc


def document_json(
    mention: Mention, *, previous_us: int | None = None, full_text: bool = False
) -> bytes:
    """`to_document` serialised as JSON, as a bulk body line takes it: the mention is
    serialised once, by pydantic in Rust, and spliced in (`orjson.Fragment`) instead of
    going through a dict of Python objects."""
    doc: dict[str, Any] = _fields(mention, previous_us, full_text)
    try:
        doc[mapping.MENTION] = orjson.Fragment(mention.model_dump_json())
        return orjson.dumps(doc)
    except (orjson.JSONEncodeError, PydanticSerializationError):
        # A lone surrogate (text cut mid-character): the standard library escapes it.
        document = to_document(mention, previous_us=previous_us, full_text=full_text)
        return json.dumps(document).encode("ascii")


def _fields(mention: Mention, previous_us: int | None, full_text: bool) -> dict[str, Any]:
    """Every field of the document but the mention itself."""
    published_us = epoch_us(mention.published_at)
    title_words, text_words, words = mention_words(mention.title, mention.text)
    doc: dict[str, Any] = {
        mapping.ID: mention.id,
        mapping.STORY_HASH: story_hash(story_key(mention)),
        mapping.TITLE_WORDS: title_words,
        mapping.TEXT_WORDS: text_words,
        mapping.PUBLISHED_US: published_us,
        mapping.PUBLISHED_AT: published_us // 1000,  # epoch milliseconds
    }
    if full_text:
        doc["title"], doc["text"] = mention.title, mention.text
    if previous_us is not None:
        doc[mapping.STORY_PREVIOUS_US] = previous_us
    place = community_of(mention)
    for name in FILTER_FIELDS:
        if name == "site":
            values = _site_suffixes(mention)
        elif name == "community":
            values = [fold_keyword(place)] if place else []
        else:
            values = keyword_values(mention, name)
        if values:
            doc[mapping.filter_field(name)] = _unique(values)
    displayed: dict[Dimension, list[str]] = {
        Dimension.BRAND: mention.brands,
        Dimension.COMPETITOR: mention.competitors,
        Dimension.SOURCE: [mention.source_name],
        Dimension.LANGUAGE: [mention.language] if mention.language else [],
        Dimension.TOPIC: mention.topics,
        Dimension.AUTHOR: [mention.author] if mention.author else [],
        Dimension.COMMUNITY: [place] if place else [],
    }
    for dimension, values in displayed.items():
        if values:
            doc[mapping.DIMENSION_FIELDS[dimension]] = _unique(values)
    followers = mention.author_details.followers if mention.author_details else None
    if followers is not None:
        doc[mapping.FOLLOWERS] = followers
    if words:
        doc[mapping.TERMS] = words
    return doc


def triage_update(triage: Triage) -> dict[str, Any]:
    """The partial document that gives a stored mention this triage (a bulk `update`)."""
    doc: dict[str, Any] = {
        mapping.filter_field(name): _unique(triage_keywords(triage, name)) or None
        for name in TRIAGE_FIELDS
    }
    doc[mapping.MENTION] = {"triage": triage.model_dump(mode="json")}
    return doc


def load(source: Mapping[str, Any]) -> Mention:
    """Rebuilds a mention from a hit's `_source`."""
    return Mention.model_validate(source[mapping.MENTION])


def encode_cursor(published_us: int, mention_id: str) -> str:
    """An opaque cursor pointing just past the mention at (`published_us`, `mention_id`)."""
    raw = _CURSOR.pack(_CURSOR_VERSION, published_us) + mention_id.encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The sort values a cursor points past; ValueError("invalid cursor") when not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii"))
        version, published_us = _CURSOR.unpack_from(raw)
        mention_id = raw[_CURSOR.size :].decode("utf-8")
    except (binascii.Error, struct.error, UnicodeError, ValueError):
        raise ValueError("invalid cursor") from None
    if version != _CURSOR_VERSION or not mention_id:
        raise ValueError("invalid cursor")
    return published_us, mention_id
