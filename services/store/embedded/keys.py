"""Sort keys and cursors: a total, stable order of mentions by publication time.

A sort key is one i64: the publication time in milliseconds in the high 43 bits and a
20-bit slot in the low bits. The slot starts at a hash of the id and is moved on when
another mention already holds the key (`assign_keys`), so keys are unique and a page
boundary can be a strict range (`key < last key`) that never skips nor repeats a
mention, even when thousands share one publication second.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

# Defined with the per-day digests that sum it (`veille migrate`'s check).
from services.store.id_digest import id_hash as id_hash

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
SLOT_BITS = 20
_SLOT_MASK = (1 << SLOT_BITS) - 1
# 43 signed bits of milliseconds (years 1831..2109) keep the key inside an i64.
_MS_MIN = -(1 << 42)
_MS_MAX = (1 << 42) - 1
_CURSOR = struct.Struct(">Bq")
_CURSOR_VERSION = 1


def epoch_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_US


def from_epoch_us(us: int) -> datetime:
    """The UTC datetime `us` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=us)


def base_key(published_us: int, hashed_id: int) -> int:
    """The sort key a mention gets unless another mention already holds it."""
    ms = min(max(published_us // 1000, _MS_MIN), _MS_MAX)
    return (ms << SLOT_BITS) | (hashed_id & _SLOT_MASK)


def _next_slot(key: int) -> int:
    # Stay inside the same millisecond so the order by time is kept.
    return (key & ~_SLOT_MASK) | ((key + 1) & _SLOT_MASK)


def assign_keys(
    wanted: Sequence[tuple[int, int]],
    holders: Callable[[Iterable[int]], Mapping[int, set[int]]],
) -> list[int]:
    """Gives each `(id_hash, base_key)` a key no other mention holds.

    `holders(keys)` returns, for keys already in the index, the id hashes of the
    mentions holding them. A key held by a mention of this batch is free: that
    mention is being replaced. Ids in `wanted` must be distinct.
    """
    replaced = {hashed for hashed, _ in wanted}
    keys = [key for _, key in wanted]
    claimed: set[int] = set()
    pending = list(range(len(wanted)))
    while pending:
        held = holders({keys[i] for i in pending})
        retry: list[int] = []
        for i in pending:
            key = keys[i]
            if key in claimed or not held.get(key, set()) <= replaced:
                keys[i] = _next_slot(key)
                retry.append(i)  # the new key must be checked against the index too
            else:
                claimed.add(key)
        pending = retry
    return keys


def encode_cursor(key: int) -> str:
    """An opaque cursor pointing just past the mention with sort key `key`."""
    return base64.urlsafe_b64encode(_CURSOR.pack(_CURSOR_VERSION, key)).decode("ascii")


def decode_cursor(cursor: str) -> int:
    """The sort key a cursor points past; ValueError("invalid cursor") when it is not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii"))
        version, key = _CURSOR.unpack(raw)
    except (binascii.Error, struct.error, UnicodeEncodeError, ValueError):
        raise ValueError("invalid cursor") from None
    if version != _CURSOR_VERSION:
        raise ValueError("invalid cursor")
    return int(key)
