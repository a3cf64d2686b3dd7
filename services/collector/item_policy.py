"""What a run may hand to the inbox: no dates from the future, at most so many items.

Both are decided once for every kind of source, after parsing and before storing:

- A publication date beyond `collector.future_skew_minutes` from the collection time
  (a `pubDate` in 2100, a clock or time zone gone wrong) would sort first forever; the
  item is dated at its collection instead.
- A run keeps at most `collector.max_items_per_run` items, the newest (undated items
  count as new), so one 100,000-item feed cannot queue everything ahead of every
  other source. What was left out is not remembered: a feed's older items are gone.

Each correction comes back as a note for the run's stats, shown in the source status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.core.models import RawItem
from services.core.settings import CollectorSettings


@dataclass(frozen=True)
class Screened:
    """The items to store and what was changed or left out, in sentences."""

    items: list[RawItem]
    notes: list[str] = field(default_factory=list)
    future_dated: int = 0
    left_out: int = 0


def screen_items(
    items: Sequence[RawItem],
    *,
    now: datetime,
    settings: CollectorSettings,
    cap: bool = True,
) -> Screened:
    """Dates future items at `now` and, with `cap`, keeps the newest
    `max_items_per_run`; see the module docstring."""
    limit = now + timedelta(minutes=settings.future_skew_minutes)
    kept: list[RawItem] = []
    future = 0
    latest: datetime | None = None
    for item in items:
        published = _aware(item.published_at)
        if published is not None and published > limit:
            future += 1
            latest = published if latest is None else max(latest, published)
            item = item.model_copy(update={"published_at": now})
        kept.append(item)
    notes = []
    if future:
        notes.append(
            f"{future} item(s) dated in the future (up to {latest:%Y-%m-%d %H:%M} UTC, more "
            f"than {settings.future_skew_minutes:g} min ahead) were dated at collection"
        )
    left_out = 0
    if cap and len(kept) > settings.max_items_per_run:
        left_out = len(kept) - settings.max_items_per_run
        newest = sorted(
            range(len(kept)), key=lambda i: _aware(kept[i].published_at) or now, reverse=True
        )[: settings.max_items_per_run]
        kept = [kept[i] for i in sorted(newest)]  # the feed's order, for readers
        notes.append(
            f"{left_out} older item(s) left out: a run keeps at most "
            f"{settings.max_items_per_run} (collector.max_items_per_run)"
        )
    return Screened(kept, notes, future, left_out)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # RawItem dates are UTC; a naive one means UTC
