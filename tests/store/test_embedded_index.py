"""What only the embedded backend has: the writer lock, sort keys, NEAR windows."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.text import tokenize
from services.store.contracts import IndexUnavailable, MentionFilter
from services.store.embedded import keys
from services.store.embedded.compile import near_windows
from services.store.embedded.index import EmbeddedIndex
from services.store.embedded.words import mention_words
from tests.factories import make_mention


def test_a_held_writer_lock_makes_writes_unavailable(tmp_path: Path) -> None:
    holder = EmbeddedIndex(str(tmp_path), writer_idle_seconds=60)
    other = EmbeddedIndex(str(tmp_path), lock_timeout=0.3)
    try:
        holder.upsert([make_mention(id="first")])  # keeps the writer: it is not idle yet
        with pytest.raises(IndexUnavailable, match="locked by another writer"):
            other.upsert([make_mention(id="second")])
        assert other.get("first") is not None  # reading needs no lock
        holder.close()  # gives the lock back
        assert other.upsert([make_mention(id="second")]) == 1
        assert other.count(MentionFilter()) == 2
    finally:
        holder.close()
        other.close()


def test_the_writer_is_released_when_idle(tmp_path: Path) -> None:
    first = EmbeddedIndex(str(tmp_path), writer_idle_seconds=0.1)
    second = EmbeddedIndex(str(tmp_path), lock_timeout=10)
    try:
        first.upsert([make_mention(id="a")])
        assert second.upsert([make_mention(id="b")]) == 1  # waits for the idle release
        assert first.count(MentionFilter()) == 2
    finally:
        first.close()
        second.close()


def test_another_process_holding_the_lock(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from services.store.embedded.index import EmbeddedIndex
        from tests.factories import make_mention
        index = EmbeddedIndex({str(tmp_path)!r}, writer_idle_seconds=600)
        index.upsert([make_mention(id="theirs")])
        print("holding", flush=True)
        sys.stdin.readline()
        index.close()
        """
    )
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    ours = EmbeddedIndex(str(tmp_path), lock_timeout=0.3)
    try:
        assert process.stdout.readline().strip() == "holding"
        assert ours.get("theirs") is not None  # their commit is visible here at once
        with pytest.raises(IndexUnavailable, match="locked"):
            ours.upsert([make_mention(id="ours")])
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
        assert ours.upsert([make_mention(id="ours")]) == 1
        assert ours.count(MentionFilter()) == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
        process.stdout.close()
        ours.close()


def test_a_closed_index_refuses_work(tmp_path: Path) -> None:
    index = EmbeddedIndex(str(tmp_path))
    index.close()
    index.close()  # twice is fine
    with pytest.raises(IndexUnavailable, match="closed"):
        index.count(MentionFilter())


def test_an_unusable_path_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(IndexUnavailable):
        EmbeddedIndex(str(blocker))


# -- sort keys ----------------------------------------------------------------------------------
def _holders(index: Mapping[int, int]) -> Callable[[Iterable[int]], dict[int, set[int]]]:
    def holders(wanted: Iterable[int]) -> dict[int, set[int]]:
        return {k: {index[k]} for k in wanted if k in index}

    return holders


def test_assign_keys_moves_past_other_mentions_in_the_same_millisecond() -> None:
    key = keys.base_key(1_000_000, 5)
    in_index = {key: 99, key + 1: 98}
    assigned = keys.assign_keys([(5, key), (6, key), (98, key + 1)], _holders(in_index))
    # 5 and 6 collide with 99 (another mention); 98 is being replaced, so keeps its key.
    assert len(set(assigned)) == 3
    assert assigned[2] == key + 1
    assert all(k >> keys.SLOT_BITS == key >> keys.SLOT_BITS for k in assigned)
    assert key not in assigned


def test_assign_keys_reuses_the_key_of_the_mention_it_replaces() -> None:
    key = keys.base_key(42_000, 7)
    assert keys.assign_keys([(7, key)], _holders({key: 7})) == [key]


def test_keys_order_like_time() -> None:
    times = [-5_000_000, -1, 0, 999, 1_000, 1_700_000_000_000_000]
    ordered = [keys.base_key(t, -1) for t in times]
    assert ordered == sorted(ordered)
    assert keys.base_key(1_000, -1) < keys.base_key(2_000, 0)


def test_cursor_round_trips() -> None:
    for key in (0, -1, 2**62, -(2**62)):
        assert keys.decode_cursor(keys.encode_cursor(key)) == key


@pytest.mark.parametrize("distance", range(0, 101))
def test_near_windows_cover_exactly_one_to_distance_plus_one(distance: int) -> None:
    windows = near_windows(distance)
    covered = {gap for offset, slop in windows for gap in range(offset - slop, offset + slop + 1)}
    assert covered == set(range(1, distance + 2))


# -- words ------------------------------------------------------------------------------------
TRICKY = [*"aZé É\u0301\u00a0\u2003\u3000\t\n'’-_.œßﬁİΣ²①", "Straße", "l'Oréal", "x" * 70]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=5)), max_size=30).map("".join))
def test_index_words_are_tokenize(text: str) -> None:
    assert mention_words(text, text)[:2] == (" ".join(tokenize(text)),) * 2
