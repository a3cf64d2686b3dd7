"""The threads a source keeps watching for new replies, saved in its cursor.

A thread (a Reddit post's comments, a YouTube video's comment threads) is
remembered when a run first fetches it, or would have but ran out of calls. Later
runs fetch it again while the thread's first post is younger than the connector's
`revisit_seconds`, least recently visited first, so replies written days after a
post was found are collected, and a thread a failed run could not fetch is not lost.
The store drops the replies it already holds. At most `MAX_THREADS` are kept.

Saved as `{"threads": {thread_id: [posted_at, visited_at]}}` (Unix seconds;
visited_at 0 when never fetched), with a third number when a visit ran out of calls
before expanding all of a thread's "more" stubs: how many to skip next time, so a
large thread is covered over a few runs instead of its first stubs over and over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_THREADS = 200


@dataclass
class ThreadWatch:
    """The watched threads of one source, as of `now`."""

    window_seconds: int
    now: float
    threads: dict[str, tuple[int, int]] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    found_now: set[str] = field(default_factory=set)  # added by this run: not revisited in it

    @classmethod
    def from_cursor(cls, saved: Any, *, window_seconds: int, now: float) -> ThreadWatch:
        """The watch saved in a cursor; entries that are unreadable or too old are dropped."""
        watch = cls(window_seconds=window_seconds, now=now)
        if isinstance(saved, dict):
            for thread_id, times in saved.items():
                if (
                    isinstance(thread_id, str)
                    and isinstance(times, list)
                    and len(times) in (2, 3)
                    and all(isinstance(t, int) and not isinstance(t, bool) for t in times)
                ):
                    watch.threads[thread_id] = (times[0], times[1])
                    if len(times) == 3 and times[2] > 0:
                        watch.offsets[thread_id] = times[2]
        watch._prune()
        return watch

    def add(self, thread_id: str, *, posted_at: int) -> None:
        """Starts watching a thread found now (fetched now or not), if young enough."""
        if thread_id not in self.threads and posted_at >= self.now - self.window_seconds:
            self.threads[thread_id] = (posted_at, 0)
            self.found_now.add(thread_id)

    def visited(self, thread_id: str) -> None:
        """Notes that the thread was fetched now."""
        if thread_id in self.threads:
            self.threads[thread_id] = (self.threads[thread_id][0], int(self.now))

    def offset(self, thread_id: str) -> int:
        """How many of the thread's "more" stubs the next visit skips first."""
        return self.offsets.get(thread_id, 0)

    def set_offset(self, thread_id: str, offset: int) -> None:
        """Sets where the next visit of the thread starts expanding its stubs."""
        if offset > 0 and thread_id in self.threads:
            self.offsets[thread_id] = offset
        else:
            self.offsets.pop(thread_id, None)

    def due(self, *, limit: int, exclude: set[str]) -> list[str]:
        """Up to `limit` threads found by earlier runs, least recently visited first."""
        candidates = sorted(
            (visited, -posted, thread_id)
            for thread_id, (posted, visited) in self.threads.items()
            if thread_id not in exclude and thread_id not in self.found_now
        )
        return [thread_id for _visited, _posted, thread_id in candidates[: max(0, limit)]]

    def to_cursor(self) -> dict[str, list[int]]:
        """The watch as saved in the cursor."""
        self._prune()
        return {
            thread: [posted, visited, *([self.offsets[thread]] if thread in self.offsets else [])]
            for thread, (posted, visited) in self.threads.items()
        }

    def _prune(self) -> None:
        oldest = self.now - self.window_seconds
        kept = {k: v for k, v in self.threads.items() if v[0] >= oldest}
        newest_first = sorted(kept.items(), key=lambda entry: entry[1][0], reverse=True)
        self.threads = dict(newest_first[:MAX_THREADS])
        self.offsets = {k: v for k, v in self.offsets.items() if k in self.threads}
