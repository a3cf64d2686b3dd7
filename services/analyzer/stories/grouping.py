"""Near-duplicates: groups reposts, retweets and syndicated copies into one story.

A mention's story id is the id of the first mention seen with the same content, so
the first copy is the story's lead and every later copy points to it
(`Mention.is_duplicate`). Content is compared on folded words, without retweet
prefixes ("RT @user:"), links and handles, which copies change freely:
- exactly: a hash of the folded words (retweets, verbatim syndication);
- nearly: MinHash over word 3-shingles with LSH banding (16 bands of 4 rows: pairs
  above ~0.5 Jaccard become candidates), confirmed when the estimated Jaccard
  similarity reaches `NEAR_JACCARD` (an article re-published with another intro
  or signature, a quote with a word changed).
A short text ("Merci !") only joins an earlier story when it is an explicit retweet:
otherwise every "Bravo !" would be one story.

Memory: the keys of the last `capacity` mentions, in this process; at start the
service feeds it the stored mentions of the last days (`remember`), so a copy
collected after a restart still joins its story.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.core.text import tokenize

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 3
NEAR_JACCARD = 0.6
MIN_EXACT_WORDS = 5
MIN_NEAR_WORDS = 12
DEFAULT_CAPACITY = 100_000

_RETWEET = re.compile(
    r"^\s*(?:RT|MT|repost(?:ed)?|reblog(?:ged)?)\b\s*(?:@[\w.\-]+)?\s*:?\s*", re.I
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_HANDLE = re.compile(r"(?<!\w)@[\w.\-]+")
_VIA = re.compile(r"\s(?:via|by|par)\s+@[\w.\-]+\s*$", re.I)

_rng = np.random.default_rng(20261122)  # fixed: signatures must be stable across runs
_A = _rng.integers(1, 2**63 - 1, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63 - 1, size=NUM_PERM, dtype=np.uint64)


@dataclass(frozen=True)
class Fingerprint:
    """What a text is compared on: its exact hash and, when long enough, its MinHash."""

    exact: str | None
    signature: NDArray[np.uint64] | None
    may_join: bool = True  # long enough, or an explicit retweet

    def bands(self) -> list[bytes]:
        """The LSH band keys (band number included, so bands never collide)."""
        if self.signature is None:
            return []
        rows = self.signature.reshape(BANDS, ROWS)
        return [bytes([i]) + rows[i].tobytes() for i in range(BANDS)]


def story_words(text: str) -> tuple[list[str], bool]:
    """The folded words copies are compared on, and whether `text` was a retweet."""
    retweet = bool(_RETWEET.match(text))
    text = _RETWEET.sub("", text, count=1)
    text = _VIA.sub("", _HANDLE.sub(" ", _URL.sub(" ", text)))
    return tokenize(text), retweet


def _hash64(values: Sequence[str]) -> NDArray[np.uint64]:
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(v.encode(), digest_size=8).digest(), "big")
            for v in values
        ],
        dtype=np.uint64,
    )


def fingerprint(text: str) -> Fingerprint:
    """The exact hash and MinHash signature of `text` (None where it is too short)."""
    words, retweet = story_words(text)
    exact = None
    if words:
        exact = hashlib.blake2b(" ".join(words).encode(), digest_size=12).hexdigest()
    signature = None
    if len(words) >= MIN_NEAR_WORDS:
        shingles = {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
        hashed = _hash64(sorted(shingles))
        with np.errstate(over="ignore"):  # multiply-shift hashing wraps around on purpose
            permuted = hashed[:, None] * _A[None, :] + _B[None, :]
        signature = permuted.min(axis=0)
    return Fingerprint(exact, signature, may_join=retweet or len(words) >= MIN_EXACT_WORDS)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated Jaccard similarity of two texts' shingles (0 without signatures)."""
    if a.signature is None or b.signature is None:
        return 0.0
    return float(np.mean(a.signature == b.signature))


class StoryGrouper:
    """Remembers recent fingerprints and gives each new text its story id; thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._exact: OrderedDict[str, str] = OrderedDict()
        self._bands: OrderedDict[bytes, list[tuple[str, Fingerprint]]] = OrderedDict()
        self._lock = threading.Lock()

    def assign(self, ids: Sequence[str], texts: Sequence[str]) -> list[str | None]:
        """The story id of each text, in order; None for a text without words."""
        prints = [fingerprint(t) for t in texts]
        with self._lock:
            return [self._assign_one(i, fp) for i, fp in zip(ids, prints, strict=True)]

    def remember(self, texts: Sequence[str], stories: Sequence[str]) -> None:
        """Records texts already in known stories (stored mentions), oldest first."""
        prints = [fingerprint(t) for t in texts]
        with self._lock:
            for fp, story in zip(prints, stories, strict=True):
                self._remember(fp, story, fp.bands())

    def forget(self, stories: Collection[str]) -> None:
        """Forgets every text remembered under these story ids (their mentions were erased)."""
        wanted = set(stories)
        with self._lock:
            for exact in [k for k, story in self._exact.items() if story in wanted]:
                del self._exact[exact]
            for band in list(self._bands):
                bucket = [(story, fp) for story, fp in self._bands[band] if story not in wanted]
                if bucket:
                    self._bands[band] = bucket
                else:
                    del self._bands[band]

    def _assign_one(self, mention_id: str, fp: Fingerprint) -> str | None:
        if fp.exact is None and fp.signature is None:
            return None
        story = self._exact.get(fp.exact) if fp.exact is not None and fp.may_join else None
        bands = fp.bands()
        if story is None:
            best = 0.0
            for key in bands:
                for candidate_story, other in self._bands.get(key, ()):
                    score = similarity(fp, other)
                    if score >= NEAR_JACCARD and score > best:
                        story, best = candidate_story, score
        story = story or mention_id
        self._remember(fp, story, bands)
        return story

    def _remember(self, fp: Fingerprint, story: str, bands: list[bytes]) -> None:
        if fp.exact is not None:
            self._exact.setdefault(fp.exact, story)  # the first copy stays the lead
            self._exact.move_to_end(fp.exact)
            while len(self._exact) > self.capacity:
                self._exact.popitem(last=False)
        for key in bands:
            bucket = self._bands.setdefault(key, [])
            if not any(s == story for s, _ in bucket):
                bucket.append((story, fp))
            self._bands.move_to_end(key)
        while len(self._bands) > self.capacity * BANDS:
            self._bands.popitem(last=False)
