"""Per-day digests of mention ids: tell whether two indices hold the same mentions on a
day without listing them (`veille migrate`'s check).

A day's digest is its count and the sum, modulo 2**64, of its ids' 64-bit hashes
(`keys.id_hash`, which the embedded index keeps in a fast field). A sum does not depend on
the order the ids are read in, so each backend reads them in whatever order is cheapest,
and two days holding different ids, even as many, differ but for a 2**-64 chance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

_MASK: Final = (1 << 64) - 1
_DAY_US: Final = 86_400_000_000
_EPOCH_DAY: Final = date(1970, 1, 1)


@dataclass(frozen=True)
class DayDigest:
    """The mentions published on one UTC day: how many, and their ids' digest."""

    count: int
    digest: int  # sum of the ids' id_hash, modulo 2**64


def id_hash(mention_id: str) -> int:
    """A signed 64-bit hash of a mention id, stable across processes and versions (the
    embedded index keeps it in a fast field, and makes sort keys of it)."""
    digest = hashlib.blake2b(mention_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def fold_hashes(pairs: Iterable[tuple[int, int]]) -> dict[date, DayDigest]:
    """Digests per day of `(published_us, id_hash)` pairs."""
    counts: dict[int, int] = {}
    sums: dict[int, int] = {}
    for published_us, hashed in pairs:
        day = published_us // _DAY_US
        counts[day] = counts.get(day, 0) + 1
        sums[day] = sums.get(day, 0) + hashed
    return {
        _EPOCH_DAY + timedelta(days=day): DayDigest(counts[day], sums[day] & _MASK)
        for day in counts
    }


def fold_ids(pairs: Iterable[tuple[int, str]]) -> dict[date, DayDigest]:
    """Digests per day of `(published_us, mention id)` pairs."""
    return fold_hashes((published_us, id_hash(mention_id)) for published_us, mention_id in pairs)


def fold_dated(pairs: Iterable[tuple[datetime, str]]) -> dict[date, DayDigest]:
    """Digests per UTC day of `(published_at, mention id)` pairs."""
    counts: dict[date, int] = {}
    sums: dict[date, int] = {}
    for published_at, mention_id in pairs:
        day = published_at.astimezone(UTC).date()
        counts[day] = counts.get(day, 0) + 1
        sums[day] = sums.get(day, 0) + id_hash(mention_id)
    return {day: DayDigest(counts[day], sums[day] & _MASK) for day in counts}
