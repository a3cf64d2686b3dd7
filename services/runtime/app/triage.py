"""Changing the triage of mentions: the state store first (the record), then the copy in
the mention index (`MentionIndex.set_triage`), one batch at a time.

Analysis output goes through `with_stored_triage` before it is stored, as it goes through
the analysts' corrections, so a re-collected or re-analyzed mention keeps its triage.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice

from services.core.models import Mention, utcnow
from services.core.query.ast import FieldFilter
from services.core.triage import Triage, TriageState, with_tags
from services.store.contracts import MAX_PAGE_SIZE, MentionFilter, MentionIndex, SearchRequest
from services.store.contracts import SortOrder as Sort
from services.store.state.contract import NotFoundError, StateStore, TriageRecord
from services.store.story_chain import story_hash
from services.store.story_chain import story_key as story_chain_key

log = logging.getLogger("veille.triage")

MAX_BULK = 10_000  # mentions one bulk change may touch; a larger one is refused up front
BATCH = 2000  # mentions per state transaction and index commit in a bulk change
SYNC_BULK = 1000  # the API answers a bulk change this small at once, a larger one as a job


class TooManyMentions(ValueError):
    """A bulk change matching more than MAX_BULK mentions; the message says what to do."""


@dataclass(frozen=True)
class TriageChange:
    """What to change; what is left None or empty stays as it is."""

    state: TriageState | None = None
    assignee: str | None = None
    unassign: bool = False
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when it changes nothing."""
        return (
            self.state is None
            and self.assignee is None
            and not self.unassign
            and not self.add_tags
            and not self.remove_tags
        )

    def applied(self, current: Triage) -> Triage:
        """`current` with this change; ValueError for too many tags."""
        assignee = None if self.unassign else (self.assignee or current.assignee)
        return Triage(
            state=self.state or current.state,
            assignee=assignee,
            tags=with_tags(current.tags, add=list(self.add_tags), remove=list(self.remove_tags)),
        )


def story_key(mention: Mention) -> str:
    """The story a mention belongs to: its story id, or itself when it has none."""
    return mention.story_id or mention.id


def _record(
    mention: Mention,
    old: TriageRecord | None,
    triage: Triage,
    *,
    by: str | None,
    now: datetime,
) -> TriageRecord:
    answered = triage.state == TriageState.ANSWERED
    was_answered = old is not None and old.triage.state == TriageState.ANSWERED
    return TriageRecord(
        mention_id=mention.id,
        story_id=story_key(mention),
        triage=triage,
        updated_at=now,
        updated_by=by,
        answered_at=(old.answered_at if was_answered and old else now) if answered else None,
        answered_by=(old.answered_by if was_answered and old else by) if answered else None,
    )


def apply_change(
    *,
    state: StateStore,
    index: MentionIndex,
    mentions: Sequence[Mention],
    change: TriageChange,
    by: str | None,
) -> list[TriageRecord]:
    """Applies `change` to these mentions; returns the records that changed (a mention
    already as asked is left alone). ValueError (too many tags) before anything is written."""
    if not mentions:
        return []
    now = utcnow()
    old = state.triage_records([m.id for m in mentions])
    changed: list[TriageRecord] = []
    for mention in mentions:
        record = old.get(mention.id)
        current = record.triage if record else Triage()
        triage = change.applied(current)
        # A copy in the index that differs (an earlier index write failed) is written
        # again, so sending the change once more repairs it.
        if triage != current or mention.triage != triage:
            changed.append(_record(mention, record, triage, by=by, now=now))
    if changed:
        state.put_triage(changed)
        index.set_triage({r.mention_id: r.triage for r in changed})
    return changed


def story_copies(
    index: MentionIndex, mention: Mention, within: MentionFilter | None = None
) -> list[Mention]:
    """The stored copies of the mention's story (itself included) that `within` matches,
    at most MAX_BULK: what an inbox row grouping a story stands for (its copies matching
    the inbox query), as a correction stands for the mention's exact duplicates
    (services/runtime/training/corrections.py). `within` None: the copies in the same
    triage state as `mention`, so a copy someone else already answered, assigned or
    ignored is never overwritten by a change aimed at the new ones."""
    if mention.story_id is None:
        return [mention]
    if within is None:
        within = MentionFilter(query=FieldFilter("state", mention.triage.state.value))
    story = frozenset({story_hash(story_chain_key(mention))})
    copies = list(islice(index.iter_all(replace(within, stories=story)), MAX_BULK))
    return copies if any(c.id == mention.id for c in copies) else [mention, *copies]


@dataclass(frozen=True)
class OneChange:
    """A change of one mention (or of its story's copies): the mention as stored now,
    and how many mentions the change changed (0: all already were as asked)."""

    mention: Mention
    changed: int


def change_one(
    *,
    state: StateStore,
    index: MentionIndex,
    mention_id: str,
    change: TriageChange,
    by: str | None,
    whole_story: bool = False,
    within: MentionFilter | None = None,
) -> OneChange:
    """Changes one mention's triage (`whole_story`: and the copies of its story that
    `within` matches, see `story_copies`); returns the mention as stored now and how
    many mentions changed (NotFoundError)."""
    mention = index.get(mention_id)
    if mention is None:
        raise NotFoundError(f"no mention has the id {mention_id!r}")
    targets = story_copies(index, mention, within) if whole_story else [mention]
    changed = apply_change(state=state, index=index, mentions=targets, change=change, by=by)
    own = next((r for r in changed if r.mention_id == mention_id), None)
    if changed:
        log.info(
            "triage of mention %s and %d other copies: %s",
            mention_id,
            len(changed) - (own is not None),
            changed[0].triage.state.value,
        )
    if own is not None:
        mention = mention.model_copy(update={"triage": own.triage})
    return OneChange(mention=mention, changed=len(changed))


@dataclass
class BulkOutcome:
    matched: int
    changed: int = 0
    changed_ids: list[str] = field(default_factory=list)


Progress = Callable[[int, int], None]  # (done, total)


def bulk_change(
    *,
    state: StateStore,
    index: MentionIndex,
    flt: MentionFilter,
    change: TriageChange,
    by: str | None,
    limit: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> BulkOutcome:
    """Applies `change` to every mention `flt` matches, `BATCH` at a time.

    Refuses (TooManyMentions) before writing anything when more than `limit` (default
    MAX_BULK) match. The
    walk goes by publication time with a cursor: a mention the change makes stop
    matching (`state:new` marked answered) does not shift the pages."""
    limit = MAX_BULK if limit is None else limit
    total = index.count(flt)
    if total > limit:
        raise TooManyMentions(
            f"the query matches {total} mentions; a bulk change handles at most {limit}: "
            "narrow it (a shorter window, a story, a brand)"
        )
    outcome = BulkOutcome(matched=total)
    if dry_run or total == 0:
        return outcome
    cursor: str | None = None
    done = 0
    pending: list[Mention] = []
    while True:
        page = index.search(
            SearchRequest(filter=flt, sort=Sort.OLDEST, limit=MAX_PAGE_SIZE, cursor=cursor)
        )
        pending.extend(page.mentions)
        last = page.next_cursor is None or done + len(pending) >= limit
        # Writes go BATCH at a time: each is one state transaction and one index commit.
        if len(pending) >= BATCH or last:
            changed = apply_change(state=state, index=index, mentions=pending, change=change, by=by)
            outcome.changed += len(changed)
            outcome.changed_ids.extend(r.mention_id for r in changed)
            done += len(pending)
            pending = []
            if progress is not None:
                progress(done, total)
        if last:
            break
        cursor = page.next_cursor
    log.info("bulk triage: %d of %d matching mentions changed", outcome.changed, total)
    return outcome


def with_stored_triage(state: StateStore, mentions: Sequence[Mention]) -> list[Mention]:
    """`mentions` with the triage the state store holds for them (analysis output goes
    through this before it is stored, so a re-collected copy keeps its triage)."""
    if not mentions:
        return []
    known = state.triage_records([m.id for m in mentions])
    if not known:
        return list(mentions)
    return [
        m.model_copy(update={"triage": known[m.id].triage}) if m.id in known else m
        for m in mentions
    ]


def story_answers(state: StateStore, mentions: Sequence[Mention]) -> dict[str, TriageRecord]:
    """For each of these mentions whose story another mention answered, that answer."""
    answers = state.story_answers(sorted({story_key(m) for m in mentions}))
    out: dict[str, TriageRecord] = {}
    for mention in mentions:
        answer = answers.get(story_key(mention))
        if answer is not None and answer.mention_id != mention.id:
            out[mention.id] = answer
    return out


@dataclass
class BulkJob:
    """A bulk change running in the background, and how far it got."""

    id: str
    matched: int
    done: int = 0
    changed: int = 0
    status: str = "running"  # running, done, failed
    error: str | None = None


class BulkJobs:
    """Long bulk changes run in a thread each, followed by id.

    Kept in memory: a restart forgets them, and running one again is harmless (a mention
    already as asked is skipped). The newest `KEEP` finished ones are remembered."""

    KEEP = 100

    def __init__(self) -> None:
        self._jobs: dict[str, BulkJob] = {}
        self._lock = threading.Lock()

    def start(self, *, matched: int, run: Callable[[Progress], BulkOutcome]) -> BulkJob:
        """Starts `run(progress)` in a thread; returns its job."""
        job = BulkJob(id=uuid.uuid4().hex[:12], matched=matched)
        with self._lock:
            finished = [j for j in self._jobs.values() if j.status != "running"]
            for old in finished[: max(0, len(finished) - self.KEEP + 1)]:
                del self._jobs[old.id]
            self._jobs[job.id] = job

        def progress(done: int, total: int) -> None:
            job.done, job.matched = done, max(job.matched, total)

        def work() -> None:
            try:
                outcome = run(progress)
                job.changed, job.status = outcome.changed, "done"
            except Exception as exc:  # a thread has nobody to raise to: the job says it
                log.exception("bulk triage %s failed", job.id)
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"

        threading.Thread(target=work, name=f"bulk-triage-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> BulkJob | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)
