"""Triage: the workflow state, assignee, tags and notes of mentions, one at a time or in
bulk from a query, and counts by state.

Permissions (wired per route when roles exist): reading needs `read`, changing
needs `triage:write`.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Literal
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.deps import AuthDep, CallerNameDep, ContextDep, IndexDep, StateDep
from services.api.params import QueryText, Since, Until, mention_filter
from services.api.problems import Problem
from services.api.triage_view import MentionView, mention_views
from services.core.query.ast import And, FieldFilter, Node
from services.core.text import fold_keyword
from services.core.triage import (
    MAX_ASSIGNEE_CHARS,
    MAX_NOTE_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    TriageState,
    clean_assignee,
    clean_note,
    clean_tag,
    parse_state,
)
from services.runtime.app import triage as runtime
from services.runtime.app.context import ServiceContext
from services.runtime.app.triage_inbox import story_page
from services.store.contracts import (
    MAX_PAGE_SIZE,
    Dimension,
    MentionFilter,
    SearchRequest,
)
from services.store.state.contract import NotFoundError, StateStore

router = APIRouter(tags=["triage"], dependencies=[AuthDep])

INBOX_QUERY = "state:new AND sentiment:negative"


def _state(value: str | None) -> TriageState | None:
    return None if value is None else parse_state(value)


def _tags(values: list[str]) -> tuple[str, ...]:
    return tuple(clean_tag(v) for v in values)


class TriageChangeBody(BaseModel):
    """A change of triage; fields left out stay as they are."""

    # A misspelt field must be refused, not dropped: a bulk `{"query": ...}` would
    # otherwise run with the empty `q` and change every mention of the workspace.
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(
        default=None,
        max_length=40,
        description="new, in progress (or in_progress), answered, escalated, ignored; "
        "or in French: nouveau, en cours, répondu, escaladé, ignoré",
        examples=["answered"],
    )
    assignee: str | None = Field(
        default=None,
        max_length=MAX_ASSIGNEE_CHARS,
        description='who handles it; "" unassigns; "me" is the caller',
    )
    add_tags: list[Annotated[str, Field(max_length=MAX_TAG_CHARS * 2)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    remove_tags: list[Annotated[str, Field(max_length=MAX_TAG_CHARS * 2)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )

    # Checked here, so that a bad value is a 422 naming its field, as everywhere else.
    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str | None) -> str | None:
        _state(value)
        return value

    @field_validator("assignee")
    @classmethod
    def _short_assignee(cls, value: str | None) -> str | None:
        clean_assignee(value)
        return value

    @field_validator("add_tags", "remove_tags")
    @classmethod
    def _real_tags(cls, values: list[str]) -> list[str]:
        _tags(values)
        return values

    def change(self, me: str) -> runtime.TriageChange:
        """The change, validated (ValueError with a sentence for people)."""
        assignee = self.assignee
        if assignee is not None and assignee.strip().casefold() == "me":
            assignee = me
        cleaned = clean_assignee(assignee)
        return runtime.TriageChange(
            state=_state(self.state),
            assignee=cleaned,
            unassign=assignee is not None and cleaned is None,
            add_tags=_tags(self.add_tags),
            remove_tags=_tags(self.remove_tags),
        )


class MentionChangeBody(TriageChangeBody):
    """A change of one mention's triage, or of the copies of its story an inbox row
    stands for."""

    whole_story: bool = Field(
        default=False,
        description="apply it to the copies of the mention's story (reposts, retweets, "
        "syndicated copies) that `q`, `since` and `until` match, as an inbox row grouping "
        "them does: send the inbox's own query. Without them, the copies in the same "
        "state as this mention; a copy already handled otherwise is left as it is",
    )
    q: str | None = Field(
        default=None,
        max_length=4000,
        description="with whole_story: the query of the inbox the row came from",
    )
    since: datetime | None = None
    until: datetime | None = None


class BulkBody(TriageChangeBody):
    """A change for every mention a query (or a story) matches."""

    q: str = Field(default="", max_length=4000, description="a query (see /mentions)")
    story: str | None = Field(
        default=None, max_length=200, description="a story id: every copy of that story"
    )
    since: datetime | None = None
    until: datetime | None = None
    dry_run: bool = Field(default=False, description="count the matches, change nothing")

    @field_validator("story")
    @classmethod
    def _story(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("story cannot be empty")
        return value


class BulkResult(BaseModel):
    matched: int = Field(description="mentions the query matched")
    changed: int = Field(description="mentions whose triage changed (the others already were)")
    dry_run: bool
    job_id: str | None = Field(
        default=None,
        description="set when the change runs in the background (more than 1,000 mentions): "
        "follow it at /triage/bulk/{job_id}",
    )


class BulkProgress(BaseModel):
    job_id: str
    status: str = Field(description="running, done or failed")
    matched: int
    done: int = Field(description="mentions handled so far")
    changed: int = Field(description="mentions changed (known when done)")
    error: str | None


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS * 2)

    @field_validator("text")
    @classmethod
    def _real_note(cls, value: str) -> str:
        clean_note(value)  # blank or too long: a 422 naming `text`
        return value


class Note(BaseModel):
    id: int
    mention_id: str
    author: str | None
    text: str
    created_at: datetime


class TriageDetails(BaseModel):
    """A mention's triage record: who changed it last, when, and its notes."""

    mention: MentionView
    updated_at: datetime | None
    updated_by: str | None
    answered_at: datetime | None
    answered_by: str | None
    notes: list[Note]
    changed: int | None = Field(
        default=None,
        description="after a change: how many mentions it changed (whole_story: the "
        "copies of the story, this one included; 0 when all already were as asked)",
    )


class InboxRow(MentionView):
    """A mention of the inbox: grouped, the representative of its story (its first
    matching copy) with how many of the story's copies match."""

    copies: int = Field(default=1, description="matching copies of its story in this row")


class InboxPage(BaseModel):
    total: int = Field(description="stories (grouped) or mentions (group=none) to show")
    mentions: list[InboxRow]
    next_cursor: str | None
    query: str = Field(description="the query the inbox shows")
    group: str = Field(description="story: one row per story; none: one per mention")


class TriageCounts(BaseModel):
    since: datetime | None
    until: datetime | None
    total: int
    states: dict[str, int] = Field(description="mentions per triage state, every state listed")


def _invalid(exc: ValueError) -> Problem:
    return Problem(400, "Invalid triage change", str(exc))


def _details(state: StateStore, mention: MentionView) -> TriageDetails:
    record = state.triage_records([mention.id]).get(mention.id)
    return TriageDetails(
        mention=mention,
        updated_at=record.updated_at if record else None,
        updated_by=record.updated_by if record else None,
        answered_at=record.answered_at if record else None,
        answered_by=record.answered_by if record else None,
        notes=[Note(**n) for n in state.triage_notes(mention.id)],
    )


@router.get("/triage/inbox", summary="The triage inbox")
def inbox(
    index: IndexDep,
    state: StateDep,
    me: CallerNameDep,
    q: QueryText = INBOX_QUERY,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    group: Annotated[
        Literal["story", "none"],
        Query(description="story: one row per story, with its copies counted; none: each copy"),
    ] = "story",
) -> InboxPage:
    """Mentions to triage, newest first, with their notes count and whether their story
    was already answered (default: new negative mentions). Copies of one story are one
    row (`copies`), the story's first matching copy, and paging counts stories; a change
    with `whole_story: true` and this `q` then applies to those copies. Needs `read`."""
    flt = mention_filter(q, since, until, me=me)
    try:
        if group == "none":
            page = index.search(SearchRequest(filter=flt, limit=limit, cursor=cursor))
            mentions, copies = page.mentions, [1] * len(page.mentions)
            total, next_cursor = page.total, page.next_cursor
        else:
            stories = story_page(index, flt, limit=limit, cursor=cursor)
            mentions = [row.mention for row in stories.rows]
            copies = [row.copies for row in stories.rows]
            total, next_cursor = stories.total, stories.next_cursor
    except ValueError as exc:
        raise Problem(400, "Invalid request", str(exc)) from exc
    return InboxPage(
        total=total,
        mentions=[
            InboxRow(**dict(view), copies=n)
            for view, n in zip(mention_views(state, mentions), copies, strict=True)
        ],
        next_cursor=next_cursor,
        query=q,
        group=group,
    )


@router.get("/triage/mentions/{mention_id}", summary="A mention's triage and notes")
def get_triage(mention_id: str, index: IndexDep, state: StateDep) -> TriageDetails:
    """The mention, who triaged it last and when, and its notes. Needs `read`."""
    mention = index.get(mention_id)
    if mention is None:
        raise Problem(404, "Not found", f"no mention has the id {mention_id!r}")
    return _details(state, mention_views(state, [mention])[0])


@router.patch("/triage/mentions/{mention_id}", summary="Change a mention's triage")
def change_triage(
    mention_id: str, body: MentionChangeBody, index: IndexDep, state: StateDep, me: CallerNameDep
) -> TriageDetails:
    """Sets the state, the assignee (`me`: the caller; "": nobody) or tags of one mention,
    or with `whole_story: true` of the copies of its story the inbox row stood for: those
    matching `q` / `since` / `until` (the inbox's query), else those in this mention's
    state. `changed` says how many mentions changed. Needs `triage:write`."""
    try:
        change = body.change(me)
    except ValueError as exc:
        raise _invalid(exc) from exc
    if change.empty:
        raise Problem(
            400,
            "Invalid triage change",
            "give a state, an assignee, add_tags or remove_tags to change",
        )
    within = None
    if body.whole_story and (body.q, body.since, body.until) != (None, None, None):
        within = mention_filter(body.q or "", body.since, body.until, me=me)
    try:
        done = runtime.change_one(
            state=state,
            index=index,
            mention_id=mention_id,
            change=change,
            by=me,
            whole_story=body.whole_story,
            within=within,
        )
    except NotFoundError as exc:
        raise Problem(404, "Not found", f"no mention has the id {mention_id!r}") from exc
    except ValueError as exc:
        raise _invalid(exc) from exc
    details = _details(state, mention_views(state, [done.mention])[0])
    return details.model_copy(update={"changed": done.changed})


@router.get("/triage/mentions/{mention_id}/notes", summary="A mention's notes")
def list_notes(mention_id: str, state: StateDep) -> list[Note]:
    """The notes on a mention, oldest first. Needs `read`."""
    return [Note(**n) for n in state.triage_notes(mention_id)]


@router.post("/triage/mentions/{mention_id}/notes", summary="Add a note", status_code=201)
def add_note(
    mention_id: str, body: NoteBody, index: IndexDep, state: StateDep, me: CallerNameDep
) -> Note:
    """Adds a note (author: the caller). Needs `triage:write`."""
    try:
        text = clean_note(body.text)
    except ValueError as exc:
        raise Problem(400, "Invalid note", str(exc)) from exc
    if index.get(mention_id) is None:
        raise Problem(404, "Not found", f"no mention has the id {mention_id!r}")
    return Note(**state.add_triage_note(mention_id=mention_id, author=me, text=text))


@router.post(
    "/triage/bulk",
    summary="Change the triage of every mention a query matches",
    responses={202: {"model": BulkResult, "description": "started in the background"}},
)
def bulk(
    body: BulkBody,
    ctx: ContextDep,
    index: IndexDep,
    state: StateDep,
    me: CallerNameDep,
    request: Request,
    response: Response,
) -> BulkResult:
    """Applies one change to every mention matching `q` (and `story`, and the window):
    "mark every copy of this story answered". At most 10,000 mentions; answers how many
    matched and how many changed, or, beyond 1,000, 202 with a job to follow at
    /triage/bulk/{job_id}. Needs `triage:write`."""
    flt = mention_filter(body.q, body.since, body.until, me=me)
    if body.story is not None:
        flt = _with_story(flt, body.story)
    try:
        change = body.change(me)
    except ValueError as exc:
        raise _invalid(exc) from exc
    if change.empty:
        raise Problem(
            400,
            "Invalid triage change",
            "give a state, an assignee, add_tags or remove_tags to change",
        )
    try:
        counted = runtime.bulk_change(
            state=state, index=index, flt=flt, change=change, by=me, dry_run=True
        )
        if body.dry_run or counted.matched <= runtime.SYNC_BULK:
            outcome = runtime.bulk_change(
                state=state, index=index, flt=flt, change=change, by=me, dry_run=body.dry_run
            )
            return BulkResult(
                matched=outcome.matched, changed=outcome.changed, dry_run=body.dry_run
            )
    except runtime.TooManyMentions as exc:
        raise Problem(400, "Too many mentions", str(exc)) from exc
    except ValueError as exc:
        raise _invalid(exc) from exc
    job = _jobs(ctx).start(
        matched=counted.matched,
        run=lambda progress: runtime.bulk_change(
            state=state, index=index, flt=flt, change=change, by=me, progress=progress
        ),
    )
    response.status_code = 202
    response.headers["Location"] = f"{request.url.path}/{job.id}"
    return BulkResult(matched=counted.matched, changed=0, dry_run=False, job_id=job.id)


@router.get("/triage/bulk/{job_id}", summary="How far a bulk change got")
def bulk_progress(job_id: str, ctx: ContextDep) -> BulkProgress:
    """A background bulk change: running, done or failed, and how many mentions it
    handled and changed. Needs `read`."""
    job = _jobs(ctx).get(job_id)
    if job is None:
        raise Problem(
            404,
            "Not found",
            f"no bulk change has the id {job_id!r} (jobs are forgotten when the server restarts)",
        )
    return BulkProgress(
        job_id=job.id,
        status=job.status,
        matched=job.matched,
        done=job.done,
        changed=job.changed,
        error=job.error,
    )


_JOBS: WeakKeyDictionary[ServiceContext, runtime.BulkJobs] = WeakKeyDictionary()
_JOBS_LOCK = threading.Lock()


def _jobs(ctx: ServiceContext) -> runtime.BulkJobs:
    """The bulk jobs of one service context (one workspace)."""
    with _JOBS_LOCK:
        return _JOBS.setdefault(ctx, runtime.BulkJobs())


def _with_story(flt: MentionFilter, story: str) -> MentionFilter:
    only: Node = FieldFilter("story", fold_keyword(story))
    return MentionFilter(
        query=And((flt.query, only)), since=flt.since, until=flt.until, copies=flt.copies
    )


@router.get("/stats/triage", summary="Mentions by triage state", tags=["stats"])
def triage_counts(
    index: IndexDep,
    me: CallerNameDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
) -> TriageCounts:
    """Counts matching mentions per triage state (all time unless a window is given).
    Needs `read`."""
    flt = mention_filter(q, since, until, me=me)
    total = index.count(flt)
    counted = {b.key: b.count for b in index.terms(flt, dimension=Dimension.STATE, size=10)}
    states = {s.value: counted.get(s.value, 0) for s in TriageState if s != TriageState.NEW}
    # Documents written before triage existed (Elasticsearch, before `veille reindex`)
    # carry no state: they are new, as the query language says.
    states = {TriageState.NEW.value: total - sum(states.values()), **states}
    return TriageCounts(since=flt.since, until=flt.until, total=total, states=states)
