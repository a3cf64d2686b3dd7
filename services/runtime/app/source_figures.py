"""Source statuses with what the index holds of each source.

The state store counts what a run found and queued for the analyzer; the analyzer may
drop items (`keep: matching` drops those naming no brand), so what was stored is read
from the index: its mentions per source.
"""

from __future__ import annotations

from services.core.models import SourceStatus
from services.core.query.ast import FieldFilter, MatchAll, Or
from services.core.text import fold_keyword
from services.store.contracts import Dimension, IndexUnavailable, MentionFilter, MentionIndex

MAX_SOURCES_COUNTED = 10_000
FILTERED_UP_TO = 200


def with_stored_counts(index: MentionIndex, statuses: list[SourceStatus]) -> list[SourceStatus]:
    """`statuses` with `mentions_stored` filled in, in one aggregation over their sources
    only (left empty when the index does not answer: the state's figures still show)."""
    if not statuses:
        return statuses
    # A few sources: only theirs are counted (one source's status must not depend on the
    # index's top sources); many: every source, as a query of hundreds of terms costs more.
    wanted = [FieldFilter("source", fold_keyword(s.name)) for s in statuses]
    query = (
        MatchAll()
        if len(wanted) > FILTERED_UP_TO
        else wanted[0]
        if len(wanted) == 1
        else Or(tuple(wanted))
    )
    try:
        counts = {
            bucket.key: bucket.count
            for bucket in index.terms(
                MentionFilter(query=query),
                dimension=Dimension.SOURCE,
                size=min(len(statuses) + 100, MAX_SOURCES_COUNTED),
            )
        }
    except IndexUnavailable:
        return statuses
    return [s.model_copy(update={"mentions_stored": counts.get(s.name, 0)}) for s in statuses]
