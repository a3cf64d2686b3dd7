"""Feeds the analyzer's story memory with recently stored mentions at start-up."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from services.analyzer.mentions.fingerprint import overall_text
from services.analyzer.stories.grouping import StoryGrouper
from services.store.contracts import MentionFilter, MentionIndex

log = logging.getLogger("veille.runtime")

DAYS = 7
MAX_MENTIONS = 20_000  # about 4 s of fingerprinting; older copies start new stories


def recall_stories(grouper: StoryGrouper, index: MentionIndex, *, days: int = DAYS) -> int:
    """Remembers the stories of the mentions stored in the last `days`; returns how many
    mentions were read (the newest `MAX_MENTIONS` at most)."""
    since = datetime.now(UTC) - timedelta(days=days)
    flt = MentionFilter(since=since)
    texts: list[str] = []
    stories: list[str] = []
    for mention in index.iter_all(flt):
        if mention.story_id:
            texts.append(overall_text(mention))
            stories.append(mention.story_id)
    texts, stories = texts[-MAX_MENTIONS:], stories[-MAX_MENTIONS:]
    grouper.remember(texts, stories)
    log.info("story memory: %d stored mentions of the last %d days", len(texts), days)
    return len(texts)
