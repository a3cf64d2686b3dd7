"""Mentions to index documents and back: the only place that knows both shapes."""

from __future__ import annotations

from typing import Any, Final

from services.core.communities import community_of
from services.core.models import Mention
from services.core.query.ast import FILTER_FIELDS
from services.core.query.matcher import keyword_values
from services.store.contracts import Dimension
from services.store.embedded import schema
from services.store.embedded.words import mention_words
from services.store.story_chain import story_hash, story_key

_FILTER_FIELDS: Final = tuple((name, schema.filter_field(name)) for name in FILTER_FIELDS)
_BRAND, _COMPETITOR, _SOURCE, _LANGUAGE, _TOPIC, _AUTHOR, _COMMUNITY = (
    schema.DIMENSION_FIELDS[d]
    for d in (
        Dimension.BRAND,
        Dimension.COMPETITOR,
        Dimension.SOURCE,
        Dimension.LANGUAGE,
        Dimension.TOPIC,
        Dimension.AUTHOR,
        Dimension.COMMUNITY,
    )
)


def _unique(values: list[str]) -> list[str]:
    # A value listed twice would be counted twice by the terms aggregation.
    return values if len(values) < 2 else list(dict.fromkeys(values))


def to_fields(
    mention: Mention, *, sort_key: int, hashed_id: int, published_us: int, previous_us: int
) -> dict[str, Any]:
    """Tokenizes and folds a mention into the fields the schema declares (`previous_us`:
    when the copy before it in its story was published, see story_chain.py)."""
    title_words, text_words, words = mention_words(mention.title, mention.text)
    fields: dict[str, Any] = {
        schema.STORY_HASH: story_hash(story_key(mention)),
        schema.STORY_PREVIOUS_US: previous_us,
        schema.ID: mention.id,
        schema.TITLE: title_words,
        schema.TEXT: text_words,
        schema.SORT_KEY: sort_key,
        schema.PUBLISHED_US: published_us,
        schema.ID_HASH: hashed_id,
        # pydantic writes JSON in Rust: much cheaper than model_dump + json.dumps.
        schema.SOURCE: mention.model_dump_json().encode("utf-8"),
    }
    for name, field in _FILTER_FIELDS:
        values = keyword_values(mention, name)
        if values:
            fields[field] = _unique(values)
    fields[_SOURCE] = mention.source_name
    if mention.language:
        fields[_LANGUAGE] = mention.language
    for field, values in ((_BRAND, mention.brands), (_COMPETITOR, mention.competitors)):
        if values:
            fields[field] = _unique(values)
    if mention.topics:
        fields[_TOPIC] = _unique(mention.topics)
    if mention.author:
        fields[_AUTHOR] = mention.author
    place = community_of(mention)
    if place:
        fields[_COMMUNITY] = place
    followers = mention.author_details.followers if mention.author_details else None
    if followers is not None:
        fields[schema.FOLLOWERS] = followers
    if words:
        fields[schema.TERMS] = words
    return fields


def load(source: bytes) -> Mention:
    """Rebuilds a mention from the JSON stored with its document."""
    return Mention.model_validate_json(source)
