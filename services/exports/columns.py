"""The columns of a mention export: what a spreadsheet user expects to sort and filter by.

One row per mention. Lists (brands, topics) are joined with "; " in CSV and XLSX and
stay lists in NDJSON. The sentiment toward each watched brand and competitor gets its
own column (`sentiment:Veloria`), empty where the mention does not name it. Followers
are the author's as the platform gave them, empty where it gives none. The triage
columns (`triage_state`, `assignee`, `tags`) are the workspace's workflow on the
mention, as the index holds it: `new`, unassigned and untagged until someone triages it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from services.core.communities import community_at, community_of
from services.core.models import Mention
from services.core.triage import TriageState
from services.exports.formats import spreadsheet_safe

Cell = str | int | float | datetime | list[str] | dict[str, str] | None

BASE_COLUMNS: Final = (
    "date",
    "source",
    "source_kind",
    "community",
    "author",
    "author_name",
    "followers",
    "url",
    "language",
    "title",
    "text",
    "brands",
    "competitors",
    "sentiment",
    "sentiment_score",
)
TAIL_COLUMNS: Final = (
    "topics",
    "story",
    "copy",
    "likes",
    "replies",
    "shares",
    "views",
    "triage_state",
    "assignee",
    "tags",
    "id",
)


class _Judged(TypedDict, total=False):
    label: str
    score: float


class _Engagement(TypedDict, total=False):
    likes: int | None
    replies: int | None
    shares: int | None
    views: int | None


class _Author(TypedDict, total=False):
    display_name: str | None
    followers: int | None


class _Triage(TypedDict, total=False):
    state: str
    assignee: str | None
    tags: list[str]


class StoredMention(TypedDict, total=False):
    """The fields of a stored mention's JSON that a CSV row reads (the rest, such as the
    words that weighed, are skipped while parsing)."""

    id: str
    source_kind: str
    source_name: str
    url: str | None
    title: str
    text: str
    author: str | None
    published_at: str
    language: str | None
    brands: list[str]
    competitors: list[str]
    sentiment: _Judged | None
    brand_sentiments: dict[str, _Judged]
    topics: list[str]
    story_id: str | None
    engagement: _Engagement
    author_details: _Author | None
    triage: _Triage


# Parsed in Rust straight into dicts of the fields above: a third of the cost of
# rebuilding the `Mention` (validators, nested models) for each row.
_STORED: Final = TypeAdapter(StoredMention)
_NONE: Final[dict[str, Any]] = {}
_UNTRIAGED: Final[_Triage] = {"state": TriageState.NEW.value}  # stored before triage existed


def _utc_text(published: str) -> str:
    """`2026-06-30T08:15:00Z` (as stored) as `2026-06-30 08:15:00`, as `text_row` writes it."""
    if published.endswith("Z") or len(published) == 19:  # UTC, as `Mention` stores it
        return f"{published[:10]} {published[11:19]}"
    return datetime.fromisoformat(published).astimezone(UTC).isoformat(sep=" ")[:19]


class MentionColumns:
    """Turns mentions into rows, with one sentiment column per watched name."""

    def __init__(self, names: Sequence[str], *, decimal: str = ".") -> None:
        self.names = list(dict.fromkeys(names))
        self.decimal = decimal  # of the CSV text rows: "," for a French Excel (sep=;)

    @property
    def header(self) -> list[str]:
        """The column names, in order."""
        toward = [f"sentiment:{name}" for name in self.names]
        return [*BASE_COLUMNS, *toward, *TAIL_COLUMNS]

    def row(self, mention: Mention) -> list[Cell]:
        """One mention's cells, in the order of `header`."""
        details = mention.author_details
        overall = mention.sentiment
        judged = mention.brand_sentiments
        named = set(mention.brands) | set(mention.competitors)
        toward: list[Cell] = []
        for name in self.names:
            label = judged.get(name, overall) if name in named else None
            toward.append(label.label.value if label is not None else None)
        engagement = mention.engagement
        triage = mention.triage
        return [
            mention.published_at,
            mention.source_name,
            mention.source_kind,
            community_of(mention),
            mention.author,
            details.display_name if details else None,
            details.followers if details else None,
            mention.url,
            mention.language,
            mention.title,
            mention.text,
            mention.brands,
            mention.competitors,
            overall.label.value if overall else None,
            round(overall.score, 4) if overall else None,
            *toward,
            mention.topics,
            mention.story_id,
            "yes" if mention.is_duplicate else "no",
            engagement.likes,
            engagement.replies,
            engagement.shares,
            engagement.views,
            triage.state.value,
            triage.assignee,
            triage.tags,
            mention.id,
        ]

    def record(self, mention: Mention) -> dict[str, Any]:
        """One mention as a JSON object (NDJSON): the same fields, lists kept as lists and
        the sentiment toward each name as one object."""
        cells = self.row(mention)
        header = self.header
        record: dict[str, Any] = {}
        toward: dict[str, str] = {}
        for column, cell in zip(header, cells, strict=True):
            if column.startswith("sentiment:"):
                if cell is not None:
                    toward[column.removeprefix("sentiment:")] = str(cell)
                continue
            record[column] = cell.isoformat() if isinstance(cell, datetime) else cell
        # Every name judged, also one no longer watched.
        for name, label in mention.brand_sentiments.items():
            toward.setdefault(name, label.label.value)
        record["sentiment_toward"] = toward
        return record

    def text_row(self, mention: Mention) -> list[str]:
        """The cells of `row` as CSV text, formula-looking text made inert; written out
        field by field because an export turns a million mentions into rows."""
        safe = spreadsheet_safe
        details = mention.author_details
        overall = mention.sentiment
        judged = mention.brand_sentiments
        named = set(mention.brands) | set(mention.competitors)
        toward = []
        for name in self.names:
            label = judged.get(name, overall) if name in named else None
            toward.append(label.label.value if label is not None else "")
        engagement = mention.engagement
        triage = mention.triage
        place = community_of(mention)
        return [
            mention.published_at.isoformat(sep=" ")[:19],  # UTC, as spreadsheets read it
            safe(mention.source_name),
            safe(mention.source_kind),
            safe(place) if place else "",
            safe(mention.author) if mention.author else "",
            safe(details.display_name) if details and details.display_name else "",
            _number(details.followers) if details else "",
            safe(mention.url) if mention.url else "",
            mention.language or "",
            safe(mention.title),
            safe(mention.text),
            safe("; ".join(mention.brands)),
            safe("; ".join(mention.competitors)),
            overall.label.value if overall else "",
            repr(round(overall.score, 4)).replace(".", self.decimal) if overall else "",
            *toward,
            safe("; ".join(mention.topics)),
            safe(mention.story_id) if mention.story_id else "",
            "yes" if mention.is_duplicate else "no",
            _number(engagement.likes),
            _number(engagement.replies),
            _number(engagement.shares),
            _number(engagement.views),
            triage.state.value,
            safe(triage.assignee) if triage.assignee else "",
            safe("; ".join(triage.tags)),
            safe(mention.id),
        ]

    def stored_text_row(self, source: bytes) -> list[str]:
        """`text_row` of a mention's stored JSON (`MentionIndex.iter_json`), the same
        cells read without building the `Mention`."""
        m = _STORED.validate_json(source)
        safe = spreadsheet_safe
        details = m.get("author_details")
        overall = m.get("sentiment")
        judged = m.get("brand_sentiments") or _NONE
        brands = m.get("brands") or []
        competitors = m.get("competitors") or []
        named = {*brands, *competitors}
        toward = []
        for name in self.names:
            label = judged.get(name, overall) if name in named else None
            toward.append(label["label"] if label is not None else "")
        engagement = m.get("engagement") or _NONE
        source_kind, source_name, url = m["source_kind"], m["source_name"], m.get("url")
        place = community_at(source_kind, url, source_name)
        author = m.get("author")
        display = details.get("display_name") if details else None
        story = m.get("story_id")
        mention_id = m["id"]
        triage = m.get("triage") or _UNTRIAGED
        assignee = triage.get("assignee")
        return [
            _utc_text(m["published_at"]),
            safe(source_name),
            safe(source_kind),
            safe(place) if place else "",
            safe(author) if author else "",
            safe(display) if display else "",
            _number(details.get("followers")) if details else "",
            safe(url) if url else "",
            m.get("language") or "",
            safe(m.get("title", "")),
            safe(m.get("text", "")),
            safe("; ".join(brands)),
            safe("; ".join(competitors)),
            overall["label"] if overall else "",
            repr(round(overall["score"], 4)).replace(".", self.decimal) if overall else "",
            *toward,
            safe("; ".join(m.get("topics") or [])),
            safe(story) if story else "",
            "yes" if story is not None and story != mention_id else "no",
            _number(engagement.get("likes")),
            _number(engagement.get("replies")),
            _number(engagement.get("shares")),
            _number(engagement.get("views")),
            triage.get("state") or TriageState.NEW.value,
            safe(assignee) if assignee else "",
            safe("; ".join(triage.get("tags") or [])),
            safe(mention_id),
        ]


def _number(value: int | None) -> str:
    return "" if value is None else str(value)
