"""Index names, the index template, and the lifecycle policy of the mention indices.

Mentions live in time-based indices (`<prefix>-mentions-000001`, ...) behind one alias
(`<prefix>-mentions`) that reads all of them and writes to the newest (rollover).

Words are tokenized in Python (`services.core.text.tokenize`) and indexed joined by
single spaces under a whitespace analyzer (`title_words`, `text_words`), so terms and
positions are exactly the matcher's. `title` and `text`, the raw text under a French
analyzer (elision, folding, light stemming) for people searching from Kibana, are only
there when asked for (`full_text`, ELASTICSEARCH_KIBANA_FULL_TEXT): Veille's queries never
use them, and analysing them took about a third of a node's ingest work.

Indexing is most of a node's work on ingest, so the mapping indexes nothing Veille's
queries or that Kibana use do not need (docs/operations/elasticsearch.md has the figures):
no English (`title.en`) or keyword (`title.raw`) copies of the texts (each analysed the
text once more; a keyword copy of a text is dropped past 256 characters anyway), and
`terms` and the displayed values of the dimensions (`dim_*`, read only by aggregations;
filters use the folded `kw_*` fields) have doc values without an inverted index. No
`dense_vector` field either: Veille writes no vectors, and on 9.x a mapping with one makes
the node rewrite every document's source to strip vectors from it.
Indices made with an older template keep their fields and settings and go on working:
the documents are the same, and only fields an index lacks are ever added to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from services.core.query.ast import FILTER_FIELDS
from services.store.contracts import Dimension

ID: Final = "id"
TITLE_WORDS: Final = "title_words"
TEXT_WORDS: Final = "text_words"
WORD_FIELDS: Final = (TITLE_WORDS, TEXT_WORDS)
PUBLISHED_US: Final = "published_us"  # exact microseconds: windows, order, histograms
PUBLISHED_AT: Final = "published_at"  # a date, for Kibana and date_histogram users
MENTION: Final = "mention"  # the mention as JSON, stored and not indexed
STORY_HASH: Final = "story_hash"  # story_chain.story_hash of the mention's story
STORY_PREVIOUS_US: Final = "story_previous_us"  # see story_chain.py: distinct-story counts
FOLLOWERS: Final = "followers"  # the author's followers, where the platform gives them
TERMS: Final = "terms"  # the content words as written (accents kept), for top terms
# The mapping's `_meta` key listing the fields the index's documents were written with:
# a field added by a later version is missing from older documents (see backfill.py).
WRITTEN_FIELDS: Final = "veille_document_fields"


def filter_field(name: str) -> str:
    """The index field holding the folded values of query filter `name` (`brand:`)."""
    return "kw_" + name


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


@dataclass(frozen=True)
class IndexNames:
    """The names of one Veille installation's objects in a cluster."""

    prefix: str

    @property
    def alias(self) -> str:
        """Reads every mention index; writes go to its write index."""
        return f"{self.prefix}-mentions"

    @property
    def pattern(self) -> str:
        return f"{self.prefix}-mentions-*"

    @property
    def first_index(self) -> str:
        return f"{self.prefix}-mentions-000001"

    @property
    def template(self) -> str:
        return f"{self.prefix}-mentions"

    @property
    def policy(self) -> str:
        return f"{self.prefix}-mentions"


_ANALYSIS: Final[dict[str, Any]] = {
    "filter": {
        "veille_french_elision": {
            "type": "elision",
            "articles_case": True,
            "articles": [
                "l",
                "m",
                "t",
                "qu",
                "n",
                "s",
                "j",
                "d",
                "c",
                "jusqu",
                "quoiqu",
                "lorsqu",
                "puisqu",
            ],
        },
        "veille_french_stemmer": {"type": "stemmer", "language": "light_french"},
    },
    "analyzer": {
        "veille_words": {"type": "custom", "tokenizer": "whitespace"},
        "veille_french": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": [
                "veille_french_elision",
                "lowercase",
                "asciifolding",
                "veille_french_stemmer",
            ],
        },
    },
}


# The raw title and text under the French analyzer, for searches from Kibana (opt-in).
FULL_TEXT_FIELDS: Final = ("title", "text")


def _full_text() -> dict[str, Any]:
    return {"type": "text", "analyzer": "veille_french"}


def mappings(*, full_text: bool = False) -> dict[str, Any]:
    """The mapping of a mention index; `dynamic: strict` refuses unknown fields.

    `full_text`: with the Kibana full-text fields `title` and `text` (FULL_TEXT_FIELDS)."""
    words = {"type": "text", "analyzer": "veille_words", "norms": False}
    properties: dict[str, Any] = {
        ID: {"type": "keyword"},
        TITLE_WORDS: words,
        TEXT_WORDS: words,
        PUBLISHED_US: {"type": "long"},
        PUBLISHED_AT: {"type": "date"},
        STORY_HASH: {"type": "long"},
        STORY_PREVIOUS_US: {"type": "long"},
        MENTION: {"type": "object", "enabled": False},
        FOLLOWERS: {"type": "long"},
        TERMS: {"type": "keyword", "index": False},  # aggregated, never searched
    }
    if full_text:
        properties |= {name: _full_text() for name in FULL_TEXT_FIELDS}
    for name in FILTER_FIELDS:
        properties[filter_field(name)] = {"type": "keyword"}
    for dim_field in DIMENSION_FIELDS.values():
        # The displayed values are only aggregated (filters use the folded `kw_` fields):
        # doc values without an inverted index.
        properties.setdefault(dim_field, {"type": "keyword", "index": False})
    return {
        "dynamic": "strict",
        "_meta": {WRITTEN_FIELDS: sorted(properties)},
        "properties": properties,
    }


# Every Veille write ends with an explicit refresh (EsIndex(refresh=True), the default),
# so the periodic refresh only serves other writers. Under ingest the default (1 s) made
# about 9 refreshes per batch of 5,000 mentions besides the explicit one, and merges of
# their small segments (docs/operations/elasticsearch.md has the figures).
REFRESH_INTERVAL: Final = "30s"


def index_template(
    names: IndexNames, *, with_lifecycle: bool, full_text: bool = False
) -> dict[str, Any]:
    """The body of the composable index template for the mention indices."""
    settings: dict[str, Any] = {"analysis": _ANALYSIS, "index.refresh_interval": REFRESH_INTERVAL}
    if with_lifecycle:
        settings["index.lifecycle.name"] = names.policy
        settings["index.lifecycle.rollover_alias"] = names.alias
    return {
        "index_patterns": [names.pattern],
        "template": {"settings": settings, "mappings": mappings(full_text=full_text)},
        "priority": 200,
        "_meta": {"managed_by": "veille"},
    }


def lifecycle_policy(*, max_age: str = "30d", max_size: str = "50gb") -> dict[str, Any]:
    """ILM: roll the write index over monthly or at 50 GB per primary shard."""
    return {
        "phases": {
            "hot": {
                "actions": {"rollover": {"max_age": max_age, "max_primary_shard_size": max_size}}
            },
            "warm": {"min_age": "7d", "actions": {"forcemerge": {"max_num_segments": 1}}},
        }
    }
