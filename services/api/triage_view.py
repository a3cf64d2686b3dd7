"""Mentions as the API shows them with their triage context: how many notes, and whether
another copy of their story was already answered (a repost joining an answered story)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from services.core.models import Mention
from services.runtime.app.triage import story_answers
from services.store.state.contract import StateStore


class StoryAnswered(BaseModel):
    """Another copy of the mention's story was marked answered."""

    mention_id: str = Field(description="the copy that was answered")
    answered_at: datetime | None
    answered_by: str | None


class MentionView(Mention):
    """A mention with its triage context."""

    notes: int = Field(default=0, description="how many triage notes it has")
    story_answered: StoryAnswered | None = Field(
        default=None,
        description="set when another copy of its story (the original, a repost) was "
        "answered: when and by whom",
    )


def mention_views(state: StateStore, mentions: Sequence[Mention]) -> list[MentionView]:
    """The mentions with their notes count and story answer (two queries per page)."""
    if not mentions:
        return []
    answers = story_answers(state, mentions)
    notes = state.triage_note_counts([m.id for m in mentions])
    views = []
    for mention in mentions:
        answer = answers.get(mention.id)
        views.append(
            MentionView(
                **dict(mention),
                notes=notes.get(mention.id, 0),
                story_answered=StoryAnswered(
                    mention_id=answer.mention_id,
                    answered_at=answer.answered_at,
                    answered_by=answer.answered_by,
                )
                if answer
                else None,
            )
        )
    return views
