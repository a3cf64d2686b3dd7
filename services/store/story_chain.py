"""Each copy of a story knows when the copy before it was published: the store keeps
this at write time so that counting distinct stories is a plain filtered count.

Order the copies of a story by (publication time, id hash). A story has a copy in the
window `[since, until)` exactly when one of its copies is the *first* in the window:
published in it, with the previous copy published before `since` (or no previous
copy). So "stories in the window" is the number of mentions with
`since <= published < until` and `previous_copy < since`, one range more on a plain
count, and a histogram with that range puts each story in the bucket of its first copy
in the window. Backends store `previous_us` (NO_PREVIOUS for a story's first copy and
a mention without copies) and keep it right when a copy arrives out of order, moves
to another story (reanalysis) or is deleted: `previous_times` recomputes a story's chain
from its members, and the backend rewrites the members whose value changed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from services.core.models import Mention
from services.core.text import fold_keyword

# Below every `since` (36,000 years before 1970), and a power of two: exact also where
# a JSON number is read as a double.
NO_PREVIOUS: Final = -(2**60)


def story_key(mention: Mention) -> str:
    """The story a mention counts under: its story id, or its own id without copies."""
    return fold_keyword(mention.story_id or mention.id)


def story_hash(key: str) -> int:
    """A signed 64-bit hash of a (folded) story key, for integer fields and sets."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Member:
    """One stored or incoming copy, as the chain needs it."""

    story: int  # story_hash
    published_us: int
    id_hash: int
    previous_us: int | None = None  # as stored; None for an incoming copy


def previous_times(members: Iterable[Member]) -> dict[int, int]:
    """`previous_us` of each member (by id hash), chaining each story's copies in order."""
    stories: dict[int, list[Member]] = defaultdict(list)
    for member in members:
        stories[member.story].append(member)
    previous: dict[int, int] = {}
    for copies in stories.values():
        copies.sort(key=lambda m: (m.published_us, m.id_hash))
        before = NO_PREVIOUS
        for copy in copies:
            previous[copy.id_hash] = before
            before = copy.published_us
    return previous


def changed(members: Iterable[Member], previous: dict[int, int]) -> list[Member]:
    """The stored members whose `previous_us` must be rewritten."""
    return [
        m
        for m in members
        if m.previous_us is not None and previous.get(m.id_hash, m.previous_us) != m.previous_us
    ]
