"""Copies one mention index into another (`veille migrate`): in batches, resumable, verified.

Mentions are read oldest first and written with idempotent upserts (by mention id),
so copying a mention twice changes nothing. After every batch a checkpoint file records
the publication time the copy has reached; a re-run continues from there (re-copying
the mentions of that very instant, harmlessly) instead of starting over. The copy is
verified day by day (UTC): each index gives, per day, its count and a digest of its ids
(`id_digest`: read from doc values or fast fields, no document loaded), so a day holding
as many mentions but not the same ones (one lost, another only in the target) is caught
too. Only on a day whose digests differ are the ids listed, to tell a mention missing from
the target (a loss) from one the target holds and the source no longer does (erased or
past retention after it was copied; the copy only adds, so `prune` deletes those from the
target).

    result = copy_index(source, target, checkpoint=Path("data/migrate.json"),
                        source_url="embedded:data/index", target_url="https://es:9200")
    report = verify_days(source, target)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from services.core.models import Mention
from services.store.contracts import MentionFilter, MentionIndex
from services.store.id_digest import DayDigest

log = logging.getLogger("veille.store.copy")

Progress = Callable[[int], None]  # called with the number of mentions just copied


class CopyError(RuntimeError):
    """The copy stopped (the target refused mentions, or went away); re-run to resume."""


@dataclass(frozen=True)
class Checkpoint:
    """How far a copy from `source` to `target` got."""

    source: str
    target: str
    reached: datetime  # publication time of the last mention copied
    copied: int

    @classmethod
    def load(cls, path: Path, *, source: str, target: str) -> Checkpoint | None:
        """The checkpoint of this very copy, or None (none yet, or of another copy)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            found = cls(
                source=str(raw["source"]),
                target=str(raw["target"]),
                reached=datetime.fromisoformat(raw["reached"]),
                copied=int(raw["copied"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CopyError(
                f"unreadable checkpoint {path}: {error}; delete it to start over"
            ) from error
        if (found.source, found.target) != (source, target):
            log.warning(
                "checkpoint %s is of another copy (%s -> %s): starting over",
                path,
                found.source,
                found.target,
            )
            return None
        return found

    def save(self, path: Path) -> None:
        """Writes the checkpoint atomically (a crash leaves the old one or the new one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        body = {
            "source": self.source,
            "target": self.target,
            "reached": self.reached.isoformat(),
            "copied": self.copied,
        }
        scratch.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        os.replace(scratch, path)


@dataclass(frozen=True)
class CopyResult:
    """What a run copied."""

    copied: int  # by this run
    total_copied: int  # by this run and the runs it resumed
    resumed_from: datetime | None


def copy_index(
    source: MentionIndex,
    target: MentionIndex,
    *,
    checkpoint: Path,
    source_url: str,
    target_url: str,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> CopyResult:
    """Copies every mention of `source` into `target`, resuming from `checkpoint`.

    Raises CopyError when the target refuses mentions (they are in its dead-letter
    file) or fails; the checkpoint then holds the last batch written in full."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    start = Checkpoint.load(checkpoint, source=source_url, target=target_url)
    since = start.reached if start is not None else None
    total = start.copied if start is not None else 0
    copied = 0
    batch: list[Mention] = []

    def flush() -> None:
        nonlocal copied, total
        try:
            written = target.upsert(batch)
        except Exception as error:
            raise CopyError(f"the target failed after {copied} mentions: {error}") from error
        if written < len(batch):
            raise CopyError(
                f"the target refused {len(batch) - written} of {len(batch)} mentions "
                "(see its dead-letter file)"
            )
        copied += written
        total += written
        Checkpoint(source_url, target_url, batch[-1].published_at, total).save(checkpoint)
        if progress is not None:
            progress(written)
        batch.clear()

    for mention in source.iter_all(MentionFilter(since=since), batch_size=batch_size):
        batch.append(mention)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    refresh = getattr(target, "refresh", None)
    if callable(refresh):  # Elasticsearch: make the last writes countable now
        refresh()
    return CopyResult(copied=copied, total_copied=total, resumed_from=since)


@dataclass(frozen=True)
class DayCount:
    """Mentions published on one UTC day, in each index; on a day whose ids differ, the
    ids the target lacks (`missing`) and those only the target holds (`extra`)."""

    day: date
    source: int
    target: int
    missing: int = 0
    extra_ids: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        """True when both indices hold the same mentions that day."""
        return self.source == self.target and not self.missing and not self.extra_ids

    @property
    def extra(self) -> int:
        """Mentions the target holds and the source no longer does."""
        return len(self.extra_ids)

    @property
    def lost(self) -> bool:
        """True when the target lacks mentions the source holds."""
        return self.missing > 0


def verify_days(source: MentionIndex, target: MentionIndex) -> list[DayCount]:
    """Mentions per UTC day in both indices, every day either holds, oldest first; the
    days whose id digests differ (whatever their counts) are compared id by id."""
    everything = MentionFilter()
    in_source, in_target = source.day_digests(everything), target.day_digests(everything)
    empty = DayDigest(0, 0)
    days = []
    for day in sorted(in_source.keys() | in_target.keys()):
        s, t = in_source.get(day, empty), in_target.get(day, empty)
        if s == t:
            days.append(DayCount(day, s.count, t.count))
            continue
        source_ids, target_ids = _ids_of_day(source, day), _ids_of_day(target, day)
        extra = tuple(sorted(target_ids - source_ids))
        missing = len(source_ids - target_ids)
        days.append(DayCount(day, s.count, t.count, missing=missing, extra_ids=extra))
    return days


def _ids_of_day(index: MentionIndex, day: date) -> set[str]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    flt = MentionFilter(since=start, until=start + timedelta(days=1))
    return {m.id for m in index.iter_all(flt) if m.published_at.astimezone(UTC).date() == day}


def mismatches(days: Sequence[DayCount]) -> list[DayCount]:
    """The days the target lacks mentions on (a loss)."""
    return [d for d in days if d.lost]


def removed_since(days: Sequence[DayCount]) -> list[DayCount]:
    """The days the target holds mentions the source no longer has."""
    return [d for d in days if d.extra]


def prune(target: MentionIndex, days: Sequence[DayCount], *, batch_size: int = 1000) -> int:
    """Deletes from the target the mentions the source no longer holds; how many."""
    ids = [mention_id for day in removed_since(days) for mention_id in day.extra_ids]
    deleted = 0
    for start in range(0, len(ids), batch_size):
        deleted += target.delete(ids[start : start + batch_size])
    refresh = getattr(target, "refresh", None)
    if callable(refresh):
        refresh()
    return deleted


def describe(days: Sequence[DayCount]) -> dict[str, Any]:
    """Totals of a verification, for a summary line."""
    return {
        "days": len(days),
        "source": sum(d.source for d in days),
        "target": sum(d.target for d in days),
        "mismatched_days": len(mismatches(days)),
        "removed_since": sum(d.extra for d in removed_since(days)),
    }
