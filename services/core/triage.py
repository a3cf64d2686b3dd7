"""The triage workflow on mentions: a state, an assignee and free tags (notes live in the
state store only). Pure data and validation: the API, the CLI and the stores share it.

A mention nobody triaged is `new`. The state store holds the record; the mention index
holds a copy of state, assignee and tags (`Mention.triage`) so that queries such as
`state:new AND tag:legal` combine them with text and counts.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from services.core.text import fold as _fold

MAX_TAG_CHARS: Final = 50
MAX_TAGS: Final = 20
MAX_NOTE_CHARS: Final = 4000
MAX_ASSIGNEE_CHARS: Final = 200


class TriageState(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"  # shown "in progress"
    ANSWERED = "answered"
    ESCALATED = "escalated"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        """The state as people read it: `in progress`."""
        return self.value.replace("_", " ")

    @property
    def french(self) -> str:
        """The state in French: `en cours`."""
        return FRENCH_LABELS[self]


FRENCH_LABELS: Final = {
    TriageState.NEW: "nouveau",
    TriageState.IN_PROGRESS: "en cours",
    TriageState.ANSWERED: "répondu",
    TriageState.ESCALATED: "escaladé",
    TriageState.IGNORED: "ignoré",
}
# Folded French forms (and their feminine, as in "mention répondue") -> the state.
_FRENCH: Final = {
    **{_fold(label).replace(" ", "_"): state for state, label in FRENCH_LABELS.items()},
    "nouvelle": TriageState.NEW,
    "repondue": TriageState.ANSWERED,
    "escaladee": TriageState.ESCALATED,
    "ignoree": TriageState.IGNORED,
}
STATE_CHOICES: Final = ", ".join(f"{s.label} ({s.french})" for s in TriageState)
"""Every state in English and French, for error messages."""


class Triage(BaseModel):
    """A mention's place in the triage workflow, as the index holds it."""

    model_config = ConfigDict(frozen=True)

    state: TriageState = TriageState.NEW
    assignee: str | None = Field(default=None, description="who handles it")
    tags: list[str] = Field(default_factory=list, description="free tags, such as 'legal'")


def parse_state(text: str) -> TriageState:
    """`in progress`, `In_Progress`, `answered`, `en cours`, `répondu` -> the state;
    ValueError naming the choices in both languages."""
    key = "_".join(_fold(text).replace("_", " ").split())
    try:
        return TriageState(key)
    except ValueError:
        if key in _FRENCH:
            return _FRENCH[key]
        raise ValueError(f"unknown triage state {text!r}: use one of {STATE_CHOICES}") from None


def _printable(text: str) -> str:
    # Control characters would reach logs, CSV exports and the dashboard.
    return "".join(c for c in text if unicodedata.category(c)[0] != "C" or c in "\n\t")


def clean_tag(tag: str) -> str:
    """A tag as stored (trimmed, inner spaces collapsed); ValueError when empty or long."""
    cleaned = " ".join(_printable(tag).split())
    if not cleaned:
        raise ValueError("a tag cannot be empty")
    if len(cleaned) > MAX_TAG_CHARS:
        raise ValueError(f"a tag has at most {MAX_TAG_CHARS} characters, not {len(cleaned)}")
    return cleaned


def clean_assignee(name: str | None) -> str | None:
    """An assignee as stored; None or blank unassigns; ValueError when too long."""
    if name is None:
        return None
    cleaned = " ".join(_printable(name).split())
    if len(cleaned) > MAX_ASSIGNEE_CHARS:
        raise ValueError(f"an assignee has at most {MAX_ASSIGNEE_CHARS} characters")
    return cleaned or None


def clean_note(text: str) -> str:
    """A note as stored; ValueError when empty or longer than MAX_NOTE_CHARS."""
    cleaned = _printable(text).strip()
    if not cleaned:
        raise ValueError("a note cannot be empty")
    if len(cleaned) > MAX_NOTE_CHARS:
        raise ValueError(f"a note has at most {MAX_NOTE_CHARS} characters, not {len(cleaned)}")
    return cleaned


def with_tags(current: list[str], *, add: list[str], remove: list[str]) -> list[str]:
    """`current` with tags added and removed (case-blind, first spelling kept)."""
    gone = {t.casefold() for t in remove}
    tags = [t for t in current if t.casefold() not in gone]
    seen = {t.casefold() for t in tags}
    for tag in add:
        if tag.casefold() not in seen:
            tags.append(tag)
            seen.add(tag.casefold())
    if len(tags) > MAX_TAGS:
        raise ValueError(f"a mention has at most {MAX_TAGS} tags")
    return tags
