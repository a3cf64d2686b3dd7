"""The dead-letter file: mentions Elasticsearch refused for good, kept to write again.

One JSON line per mention: when, the HTTP status, Elasticsearch's error, the index prefix
the mention was written to (`index`) and the workspace of that prefix, and the mention.
Every process of an installation appends to the same file (`ELASTICSEARCH_DEAD_LETTER`,
on a shared volume), under an advisory lock (`flock` on `PATH.lock`), so lines of two
processes never interleave and a re-drive never misses a line appended meanwhile.

A re-drive (`veille store dead-letters retry`, `redrive_file`) moves the file aside
(`PATH.redriving`) and writes each mention into its own prefix's indices; the mentions
refused again go to a fresh file at PATH (with their prefix), and so do those it did not
try or could not send (cluster down, workspace gone, Ctrl-C). A re-drive killed midway
leaves the moved file, which the next one takes up first: re-writing a mention is an
idempotent upsert, and duplicate lines are read once. Lines written before the prefix was
recorded have none: they are re-driven only into a workspace named for them.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from services.core.models import Mention
from services.store.contracts import IndexUnavailable

if TYPE_CHECKING:
    from services.store.elastic.bulk import ItemFailure
    from services.store.elastic.index import EsIndex

log = logging.getLogger("veille.store.elastic")

WORKSPACE_MARK: Final = "-ws-"  # a workspace's prefix: `<installation prefix>-ws-<id>`
DEFAULT_WORKSPACE: Final = "default"
_thread_lock = threading.Lock()  # flock is per open file: threads of one process queue here
_FIELD: Final = re.compile(r"field \[([^\]]{1,100})\]")


class DeadLettersBusy(RuntimeError):
    """Another re-drive or drop of the same file is running."""


def workspace_of(prefix: str) -> str:
    """The workspace whose indices are under `prefix` (`veille-ws-acme` -> `acme`)."""
    _, mark, workspace = prefix.partition(WORKSPACE_MARK)
    return workspace if mark and workspace else DEFAULT_WORKSPACE


@dataclass(frozen=True)
class DeadLetter:
    """One line of the file, read."""

    line: str  # as written, given back as it is when kept
    index: str | None  # the prefix it was written to; None on lines of older versions
    workspace: str | None
    at: str | None
    status: int | None
    reason: str  # the kind of refusal, without any of the document's values
    mention: Mention | None  # None for a line that cannot be read (kept, never re-driven)

    @property
    def key(self) -> tuple[str | None, str] | None:
        """What makes two lines the same mention (the later one wins)."""
        return None if self.mention is None else (self.index, self.mention.id)


def short_reason(error: str) -> str:
    """Elasticsearch's error type and the field it names: its `reason` quotes the
    document's id and a preview of the value, which may be an author or a text."""
    try:
        data: Any = json.loads(error)
    except ValueError:
        return "error (cut)"
    if not isinstance(data, dict):
        return "error"
    kind = str(data.get("type") or "error")
    found = _FIELD.search(str(data.get("reason") or ""))
    return f"{kind} (field {found.group(1)})" if found else kind


def parse(line: str) -> DeadLetter:
    """A line of the file; one that cannot be read comes back with no mention."""
    try:
        record = json.loads(line)
        mention = Mention.model_validate(record["mention"])
    except (ValueError, KeyError, TypeError, ValidationError):
        return DeadLetter(line, None, None, None, None, "unreadable line", None)
    index = record.get("index") if isinstance(record.get("index"), str) else None
    status = record.get("status")
    return DeadLetter(
        line=line,
        index=index,
        workspace=record.get("workspace") or (workspace_of(index) if index else None),
        at=record.get("at"),
        status=status if isinstance(status, int) else None,
        reason=short_reason(str(record.get("error", ""))),
        mention=mention,
    )


def write_dead_letters(
    path: str, failures: Sequence[ItemFailure], *, index_prefix: str | None = None
) -> None:
    """Appends failures to the file (one mention per line), with the prefix they were
    written to."""
    now = datetime.now(UTC).isoformat()
    lines = []
    for failure in failures:
        if failure.mention is None:
            continue  # a refused delete: nothing to keep
        record: dict[str, Any] = {"at": now, "status": failure.status, "error": failure.error}
        if index_prefix is not None:
            record["index"] = index_prefix
            record["workspace"] = workspace_of(index_prefix)
        record["mention"] = failure.mention.model_dump(mode="json")
        lines.append(json.dumps(record, ensure_ascii=False))
    append_lines(path, lines)


def append_lines(path: str, lines: Sequence[str]) -> None:
    """Appends whole lines under the file's lock, and syncs them to disk."""
    if not lines:
        return
    with _locked(path), open(path, "a", encoding="utf-8") as out:
        out.write("".join(line.rstrip("\n") + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())


def read_letters(path: str) -> list[DeadLetter]:
    """The lines of the file and of a re-drive in progress (or stopped), each mention once."""
    return _unique(_read(_taken(path)) + _read(path))


def read_dead_letters(path: str) -> list[Mention]:
    """The mentions recorded in the file."""
    return [letter.mention for letter in read_letters(path) if letter.mention is not None]


def redrive_in_progress(path: str) -> bool:
    """True while a re-drive runs, or when one was killed (its lines wait in PATH.redriving)."""
    return os.path.exists(_taken(path))


@dataclass
class GroupOutcome:
    """What a re-drive did with one prefix's mentions."""

    workspace: str | None
    index: str | None
    held: int
    written: int = 0
    failed: int = 0  # refused again: back in the file
    kept: int = 0  # not tried, or not sent: back in the file as they were
    erased: int = 0  # an erasure holds against them: dropped, not written
    note: str = ""


@dataclass
class RedriveReport:
    groups: list[GroupOutcome] = field(default_factory=list)
    unreadable: int = 0  # lines kept as they are

    @property
    def written(self) -> int:
        return sum(g.written for g in self.groups)

    @property
    def left(self) -> int:
        return sum(g.failed + g.kept for g in self.groups) + self.unreadable


Target = Callable[[str | None], "EsIndex | str"]
"""The index to re-drive a prefix's mentions into (None: lines without a prefix), or why
they are kept."""
Held = Callable[[str | None, Sequence[Mention]], set[int]]
"""The positions of the mentions an erasure holds against, in a prefix's workspace."""


def redrive_file(path: str, target: Target, *, held: Held | None = None) -> RedriveReport:
    """Writes the file's mentions again, each prefix into the index `target` gives;
    those `held` names (erased since they were refused) are dropped instead.

    Refused again, not sent, or not tried: back in the file. Never loses a line, even when
    interrupted (see the module's docstring). DeadLettersBusy when another re-drive runs."""
    report = RedriveReport()
    with _exclusive(path):
        letters = _take(path)
        kept = [letter.line for letter in letters if letter.mention is None]
        report.unreadable = len(kept)
        pending: dict[str | None, list[DeadLetter]] = {}
        for letter in letters:
            if letter.mention is not None:
                pending.setdefault(letter.index, []).append(letter)
        stopped = ""
        try:
            for prefix in list(pending):
                group = pending[prefix]
                outcome = GroupOutcome(group[0].workspace, prefix, held=len(group))
                report.groups.append(outcome)
                chosen = stopped or target(prefix)
                if isinstance(chosen, str):
                    outcome.kept, outcome.note = len(group), chosen
                    kept += [letter.line for letter in pending.pop(prefix)]
                    continue
                mentions = [letter.mention for letter in group if letter.mention is not None]
                try:
                    gone = held(prefix, mentions) if held is not None else set()
                    if gone:
                        mentions = [m for n, m in enumerate(mentions) if n not in gone]
                    written = chosen.upsert(mentions, dead_letter_path=path) if mentions else 0
                except Exception as error:
                    note = str(error) or type(error).__name__
                    if isinstance(error, IndexUnavailable):
                        stopped = f"not tried: {note}"  # the cluster: no use trying the rest
                    log.debug("re-driving %s failed", prefix, exc_info=True)
                    outcome.kept, outcome.note = len(group), note
                    kept += [letter.line for letter in pending.pop(prefix)]
                    continue
                del pending[prefix]  # written, or refused again and recorded anew by upsert
                outcome.erased = len(gone)
                outcome.written, outcome.failed = written, len(mentions) - written
        finally:
            # Ctrl-C or a crash midway: what was not done is given back as it was.
            kept += [letter.line for group in pending.values() for letter in group]
            append_lines(path, kept)
            os.remove(_taken(path))
    return report


def drop_letters(path: str, chosen: Callable[[DeadLetter], bool]) -> int:
    """Deletes the lines `chosen` picks for good; returns how many."""
    with _exclusive(path), _locked(path):
        letters = _merge_taken(path)
        keep = [letter.line for letter in letters if not chosen(letter)]
        dropped = len(letters) - len(keep)
        if dropped:
            scratch = f"{path}.dropping"
            with open(scratch, "w", encoding="utf-8") as out:
                out.write("".join(line.rstrip("\n") + "\n" for line in keep))
                out.flush()
                os.fsync(out.fileno())
            os.replace(scratch, path)
    return dropped


def redrive(path: str, index: EsIndex | None = None) -> tuple[int, int]:
    """Writes the file's mentions again, each into its own prefix's indices (with `index`,
    only those of its prefix); returns (written, left in the file from this run)."""
    from dataclasses import replace

    from services.store.elastic.index import EsIndex
    from services.store.elastic.settings import EsSettings

    opened: dict[str, EsIndex] = {}

    def target(prefix: str | None) -> EsIndex | str:
        if prefix is None:
            return "no index recorded: `veille store dead-letters retry --unrecorded-into`"
        if index is not None:
            return index if prefix == index.names.prefix else "another index"
        if prefix not in opened:
            opened[prefix] = EsIndex(replace(EsSettings.from_env(), index_prefix=prefix))
        return opened[prefix]

    try:
        report = redrive_file(path, target)
    finally:
        for each in opened.values():
            each.close()
    return report.written, report.left


@dataclass(frozen=True)
class HeldSummary:
    """The lines of one workspace and prefix, as `veille store dead-letters list` shows them."""

    workspace: str | None
    index: str | None
    count: int
    reasons: Counter[str]
    oldest: str | None
    newest: str | None


def summarize(letters: Sequence[DeadLetter]) -> list[HeldSummary]:
    """Counts per workspace and prefix (no texts, authors or ids)."""
    groups: dict[tuple[str | None, str | None], list[DeadLetter]] = {}
    for letter in letters:
        groups.setdefault((letter.workspace, letter.index), []).append(letter)
    rows = []
    for (workspace, index), group in groups.items():
        times = sorted(letter.at for letter in group if letter.at)
        reasons = Counter(
            f"{letter.status} {letter.reason}" if letter.status else letter.reason
            for letter in group
        )
        rows.append(
            HeldSummary(
                workspace,
                index,
                len(group),
                reasons,
                times[0] if times else None,
                times[-1] if times else None,
            )
        )
    return sorted(rows, key=lambda r: (r.workspace is None, r.workspace or "", r.index or ""))


# -- the file and its locks -----------------------------------------------------------


def _taken(path: str) -> str:
    return f"{path}.redriving"


@contextmanager
def _locked(path: str) -> Iterator[None]:
    """Appends and moves of the file, one at a time across processes."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock, open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _exclusive(path: str) -> Iterator[None]:
    """One re-drive or drop at a time (appends go on meanwhile)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.redrive.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeadLettersBusy(
                f"another re-drive or drop of {path} is running: wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _take(path: str) -> list[DeadLetter]:
    """Moves the file aside (after the lines a killed re-drive left there); its lines."""
    taken = _taken(path)
    with _locked(path):
        if os.path.exists(path):
            if os.path.exists(taken):
                with open(path, encoding="utf-8") as src, open(taken, "a", encoding="utf-8") as out:
                    out.write(src.read())
                    out.flush()
                    os.fsync(out.fileno())
                os.remove(path)
            else:
                os.replace(path, taken)
        elif not os.path.exists(taken):
            Path(taken).touch()
    return _unique(_read(taken))


def _merge_taken(path: str) -> list[DeadLetter]:
    """The lines of the file, after those a killed re-drive left aside (moved back first).
    Called under both locks."""
    taken = _taken(path)
    if os.path.exists(taken):
        if os.path.exists(path):
            with open(path, encoding="utf-8") as src, open(taken, "a", encoding="utf-8") as out:
                out.write(src.read())
                out.flush()
                os.fsync(out.fileno())
        os.replace(taken, path)
    return _unique(_read(path))


def _read(path: str) -> list[DeadLetter]:
    try:
        with open(path, encoding="utf-8") as source:
            return [parse(line.rstrip("\n")) for line in source if line.strip()]
    except FileNotFoundError:
        return []


def _unique(letters: list[DeadLetter]) -> list[DeadLetter]:
    """Each mention once, its latest line (a re-drive killed after giving lines back
    leaves them twice); unreadable lines all kept."""
    last = {letter.key: n for n, letter in enumerate(letters) if letter.key is not None}
    return [
        letter for n, letter in enumerate(letters) if letter.key is None or last[letter.key] == n
    ]
