"""Source statuses with what the index holds of each source.

The state store counts what a run found and queued for the analyzer; the analyzer may
drop items (`keep: matching` drops those naming no brand), so what was stored is read
from the index: its mentions per source.
"""

from __future__ import annotations

from services.core.models import SourceStatus
from services.store.contracts import Dimension, MentionFilter, MentionIndex

MAX_SOURCES_COUNTED = 10_000


def with_stored_counts(index: MentionIndex, statuses: list[SourceStatus]) -> list[SourceStatus]:
    """`statuses` with `mentions_stored` filled in, in one aggregation."""
    if not statuses:
        return statuses
    counts = {
        bucket.key: bucket.count
        for bucket in index.terms(
            MentionFilter(),
            dimension=Dimension.SOURCE,
            size=min(len(statuses) + 100, MAX_SOURCES_COUNTED),
        )
    }
    return [s.model_copy(update={"mentions_stored": counts.get(s.name, 0)}) for s in statuses]
