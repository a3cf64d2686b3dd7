"""The tantivy schema of the embedded mention index: one document per mention.

Words are tokenized in Python (`services.core.text.tokenize`) and indexed joined by
single spaces under a whitespace-only analyzer, so tantivy's terms and positions are
exactly the matcher's. Filter fields hold the folded values the matcher compares
(`keyword_values`); dimension fields hold the values as displayed, for counting.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

import tantivy

from services.core.query.ast import FILTER_FIELDS
from services.store.contracts import Dimension

WORDS_ANALYZER: Final = "veille_words"

ID: Final = "id"
TITLE: Final = "title"
TEXT: Final = "text"
WORD_FIELDS: Final = (TITLE, TEXT)
SORT_KEY: Final = "sort_key"  # see keys.py: unique, ordered like published_at
PUBLISHED_US: Final = "published_us"  # microseconds since the epoch, for windows and histograms
ID_HASH: Final = "id_hash"  # 64-bit hash of the id, readable from a fast field
STORY_HASH: Final = "story_hash"  # story_chain.story_hash of the mention's story
STORY_PREVIOUS_US: Final = "story_previous_us"  # see story_chain.py: distinct-story counts
SOURCE: Final = "mention"  # the mention as JSON bytes, to rebuild it on read
FOLLOWERS: Final = "followers"  # the author's followers, where the platform gives them
TERMS: Final = "terms"  # the content words as written (accents kept), for top terms


def filter_field(name: str) -> str:
    """The index field holding the folded values of query filter `name` (`brand:`)."""
    return "kw_" + name


# Sentiment labels are displayed as stored, so one field serves filters and counts.
DIMENSION_FIELDS: Final = MappingProxyType(
    {
        Dimension.SENTIMENT: filter_field("sentiment"),
        Dimension.BRAND: "dim_brand",
        Dimension.COMPETITOR: "dim_competitor",
        Dimension.SOURCE: "dim_source",
        Dimension.LANGUAGE: "dim_language",
        Dimension.TOPIC: "dim_topic",
        Dimension.STORY: filter_field("story"),  # ids are already folded
        Dimension.AUTHOR: "dim_author",
        Dimension.COMMUNITY: "dim_community",
        Dimension.STATE: filter_field("state"),  # states are stored as displayed ids
    }
)


def build_schema() -> tantivy.Schema:
    """Builds the schema; changing it needs a reindex (tantivy refuses a mismatch)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(ID, tokenizer_name="raw", index_option="basic")
    for name in WORD_FIELDS:
        builder.add_text_field(name, tokenizer_name=WORDS_ANALYZER, index_option="position")
    dimension_fields = set(DIMENSION_FIELDS.values())
    for name in FILTER_FIELDS:
        field = filter_field(name)
        builder.add_text_field(
            field, tokenizer_name="raw", index_option="basic", fast=field in dimension_fields
        )
    for field in sorted(dimension_fields - {filter_field(n) for n in FILTER_FIELDS}):
        builder.add_text_field(field, tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_integer_field(SORT_KEY, indexed=True, fast=True)
    builder.add_integer_field(PUBLISHED_US, fast=True)
    builder.add_integer_field(ID_HASH, fast=True)
    builder.add_integer_field(FOLLOWERS, fast=True)
    builder.add_text_field(TERMS, tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_integer_field(STORY_HASH, indexed=True, fast=True)
    builder.add_integer_field(STORY_PREVIOUS_US, indexed=True, fast=True)
    builder.add_bytes_field(SOURCE, stored=True)
    return builder.build()


def register_analyzers(index: tantivy.Index) -> None:
    """Registers the analyzers the schema names; needed each time an index is opened."""
    words = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    index.register_tokenizer(WORDS_ANALYZER, words)
