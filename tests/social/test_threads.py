"""The watched threads saved in a cursor: read defensively, pruned, visited in turn."""

from __future__ import annotations

from typing import Any

import pytest

from services.collector.social.threads import MAX_THREADS, ThreadWatch

NOW = 1_700_000_000.0
DAY = 86400


def watch(saved: Any, window: int = 2 * DAY) -> ThreadWatch:
    return ThreadWatch.from_cursor(saved, window_seconds=window, now=NOW)


@pytest.mark.parametrize(
    "saved",
    [None, [], "t3_a", {"t3_a": "soon"}, {"t3_a": [1]}, {"t3_a": [True, 0]}, {"t3_a": [1.5, 0]}],
)
def test_an_unreadable_saved_watch_is_dropped_not_crashed_on(saved: Any) -> None:
    assert watch(saved).to_cursor() == {}


def test_threads_older_than_the_window_are_forgotten() -> None:
    kept = watch({"young": [int(NOW) - DAY, 0], "old": [int(NOW) - 3 * DAY, 0]})
    assert kept.to_cursor() == {"young": [int(NOW) - DAY, 0]}


def test_never_visited_threads_come_first_then_the_least_recently_visited() -> None:
    threads = watch(
        {
            "seen-long-ago": [int(NOW) - 100, int(NOW) - 3000],
            "seen-lately": [int(NOW) - 50, int(NOW) - 10],
            "never": [int(NOW) - 200, 0],
        }
    )
    threads.add("found-now", posted_at=int(NOW))  # fetched (or not) by this run: not due
    threads.add("too-old", posted_at=int(NOW) - 3 * DAY)
    assert threads.due(limit=5, exclude=set()) == ["never", "seen-long-ago", "seen-lately"]
    assert threads.due(limit=1, exclude={"never"}) == ["seen-long-ago"]
    assert "too-old" not in threads.to_cursor()
    threads.visited("never")
    assert threads.to_cursor()["never"] == [int(NOW) - 200, int(NOW)]


def test_at_most_max_threads_are_kept_the_newest() -> None:
    threads = watch({})
    for n in range(MAX_THREADS + 5):  # all within the window
        threads.add(f"t{n}", posted_at=int(NOW) - n)
    saved = threads.to_cursor()
    assert len(saved) == MAX_THREADS and "t0" in saved and f"t{MAX_THREADS}" not in saved


def test_a_stub_offset_is_saved_only_when_set() -> None:
    threads = watch({"big": [int(NOW), int(NOW), 6], "small": [int(NOW), 0]})
    assert threads.offset("big") == 6 and threads.offset("small") == 0
    threads.set_offset("big", 0)  # every stub expanded: start from the first next time
    threads.set_offset("small", 3)
    threads.set_offset("unknown", 3)
    assert threads.to_cursor() == {"big": [int(NOW), int(NOW)], "small": [int(NOW), 0, 3]}
