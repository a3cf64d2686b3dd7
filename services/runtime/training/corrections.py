"""Recording an analyst's correction and applying corrections where mentions are stored.

A correction applies at once to the mention and to its exact duplicates in the index
(same content fingerprint). Duplicates are found without a dedicated index field, so
both index backends work unchanged: a phrase search on the opening words of the text
finds the candidates, and their fingerprints decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.analyzer.mentions.corrections import apply_corrections
from services.analyzer.mentions.fingerprint import fingerprint, opening_phrase, overall_text
from services.core.models import Mention
from services.store.contracts import MentionFilter, MentionIndex, SearchRequest
from services.store.state.contract import NotFoundError, StateStore

log = logging.getLogger("veille.corrections")

MAX_DUPLICATES = 5000  # candidates examined per correction; beyond, later analysis catches up
_PAGE = 500


@dataclass(frozen=True)
class CorrectionOutcome:
    correction: dict[str, Any]
    updated: list[str]  # ids of the mentions now carrying the label (the mention first)


def record_correction(
    *,
    state: StateStore,
    index: MentionIndex,
    mention_id: str,
    field: str,
    label: Any,
    brand: str | None = None,
    author: str | None = None,
    names_brand: Callable[[str], bool] | None = None,
) -> CorrectionOutcome:
    """Stores a correction and applies it to the mention and its exact duplicates.

    Raises NotFoundError for an unknown mention, ValueError for a brand the mention
    does not name (a "brand" correction may add one: label `{"about_brand": true, ...}`).
    `names_brand(text)` says whether a text has the brand's name or an alias: a "not about
    the brand" verdict on an untagged mention whose text has it is kept, as a
    confirmation ("des vans de livraison" is not Vans), for the tagger to learn from."""
    mention = index.get(mention_id)
    if mention is None:
        raise NotFoundError(f"no mention has the id {mention_id!r}")
    named = (*mention.brands, *mention.competitors)
    listed = ", ".join(named) or "none"
    if field == "brand":
        confirms = names_brand is not None and names_brand(overall_text(mention))
        if not label["about_brand"] and brand not in named and not confirms:
            raise ValueError(
                f"this mention is not tagged with {brand!r} (it names: {listed}) and its "
                "text has neither the name nor an alias: there is nothing to reject"
            )
    elif brand is not None and brand not in named:
        raise ValueError(
            f"this mention does not name {brand!r} (it names: {listed}); "
            "leave brand out to correct the overall sentiment"
        )
    digest = fingerprint(mention)
    record = state.add_correction(
        mention_id=mention.id,
        fingerprint=digest,
        field=field,
        brand=brand,
        label=label,
        text=overall_text(mention),
        language=mention.language,
        author=author,
    )
    targets = [mention, *(m for m in find_duplicates(index, mention) if m.id != mention.id)]
    corrected = [apply_corrections(m, [record]) for m in targets]
    index.upsert(corrected)
    log.info(
        "correction %s of mention %s (%s) applied to %d mention(s)",
        record["id"],
        mention.id,
        field,
        len(corrected),
    )
    return CorrectionOutcome(correction=record, updated=[m.id for m in corrected])


def find_duplicates(index: MentionIndex, mention: Mention) -> list[Mention]:
    """Stored mentions with the same content fingerprint as `mention` (itself included)."""
    phrase = opening_phrase(mention)
    if phrase is None:
        return []
    wanted = fingerprint(mention)
    found: list[Mention] = []
    cursor: str | None = None
    seen = 0
    while seen < MAX_DUPLICATES:
        page = index.search(
            SearchRequest(filter=MentionFilter(query=phrase), limit=_PAGE, cursor=cursor)
        )
        seen += len(page.mentions)
        found.extend(m for m in page.mentions if fingerprint(m) == wanted)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found


def with_stored_corrections(state: StateStore, mentions: Sequence[Mention]) -> list[Mention]:
    """`mentions` with the stored corrections of their fingerprints applied (analysis
    output goes through this before it is stored, so analyst labels survive)."""
    if not mentions:
        return []
    digests = [fingerprint(m) for m in mentions]
    known = state.corrections_for(digests)
    if not known:
        return list(mentions)
    return [apply_corrections(m, known.get(d, ())) for m, d in zip(mentions, digests, strict=True)]
