"""Triage of mentions (migration 0014): the workflow record of each mention and its notes.

`triage` holds one row per mention someone triaged (a mention without a row is `new`);
state, assignee and tags are copied into the mention index for search (see
services/runtime/app/triage.py). `story_id` is the mention's story when it was triaged, so
that a copy joining a story already answered can say so (`story_answers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from services.core.triage import Triage, TriageState
from services.store.state.contract import TriageRecord
from services.store.state.schema import UtcDateTime, id_type, json_type, metadata, one_of

STATES = tuple(s.value for s in TriageState)
_CHUNK = 500  # ids per IN (...): far below any bind-parameter limit


triage = sa.Table(
    "triage",
    metadata,
    sa.Column("mention_id", sa.String(64), primary_key=True),
    sa.Column("story_id", sa.String(64), nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("tags", json_type(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.Column("answered_at", UtcDateTime(), nullable=True),
    sa.Column("answered_by", sa.String(200), nullable=True),
    sa.CheckConstraint(one_of("state", STATES), name="state"),
    sa.Index("ix_triage_story_id", "story_id"),
)

triage_notes = sa.Table(
    "triage_notes",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("mention_id", sa.String(64), nullable=False),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_triage_notes_mention_id", "mention_id"),
)


def _record(row: Row[Any]) -> TriageRecord:
    return TriageRecord(
        mention_id=row.mention_id,
        story_id=row.story_id,
        triage=Triage(state=TriageState(row.state), assignee=row.assignee, tags=list(row.tags)),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
    )


def get_records(conn: Connection, mention_ids: Sequence[str]) -> dict[str, TriageRecord]:
    """The records of these mentions that exist, by mention id."""
    wanted = sorted(set(mention_ids))
    out: dict[str, TriageRecord] = {}
    for first in range(0, len(wanted), _CHUNK):
        chunk = wanted[first : first + _CHUNK]
        for row in conn.execute(sa.select(triage).where(triage.c.mention_id.in_(chunk))):
            out[row.mention_id] = _record(row)
    return out


def put_records(conn: Connection, records: Sequence[TriageRecord]) -> None:
    """Writes records, replacing those of the same mentions (one statement per chunk)."""
    latest = {r.mention_id: r for r in records}
    ids = sorted(latest)
    for first in range(0, len(ids), _CHUNK):
        chunk = ids[first : first + _CHUNK]
        conn.execute(triage.delete().where(triage.c.mention_id.in_(chunk)))
        conn.execute(
            triage.insert(),
            [
                {
                    "mention_id": r.mention_id,
                    "story_id": r.story_id,
                    "state": r.triage.state.value,
                    "assignee": r.triage.assignee,
                    "tags": list(r.triage.tags),
                    "updated_at": r.updated_at,
                    "updated_by": r.updated_by,
                    "answered_at": r.answered_at,
                    "answered_by": r.answered_by,
                }
                for r in (latest[i] for i in chunk)
            ],
        )


def delete_records(conn: Connection, mention_ids: Sequence[str]) -> int:
    """Deletes the records and notes of these mentions; returns how many records went."""
    wanted = sorted(set(mention_ids))
    deleted = 0
    for first in range(0, len(wanted), _CHUNK):
        chunk = wanted[first : first + _CHUNK]
        conn.execute(triage_notes.delete().where(triage_notes.c.mention_id.in_(chunk)))
        deleted += conn.execute(triage.delete().where(triage.c.mention_id.in_(chunk))).rowcount
    return deleted


def story_answers(conn: Connection, story_ids: Sequence[str]) -> dict[str, TriageRecord]:
    """For each of these stories with an answered mention, the first answer given."""
    wanted = sorted(set(story_ids))
    out: dict[str, TriageRecord] = {}
    for first in range(0, len(wanted), _CHUNK):
        chunk = wanted[first : first + _CHUNK]
        rows = conn.execute(
            sa.select(triage)
            .where(triage.c.story_id.in_(chunk), triage.c.state == TriageState.ANSWERED.value)
            .order_by(triage.c.answered_at, triage.c.mention_id)
        )
        for row in rows:
            out.setdefault(row.story_id, _record(row))
    return out


def _note(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "mention_id": row.mention_id,
        "author": row.author,
        "text": row.text,
        "created_at": row.created_at,
    }


def add_note(
    conn: Connection, *, mention_id: str, author: str | None, text: str, now: datetime
) -> dict[str, Any]:
    """Adds a note to a mention; returns it as stored."""
    values = {"mention_id": mention_id, "author": author, "text": text, "created_at": now}
    new_id = conn.execute(triage_notes.insert().values(**values)).inserted_primary_key
    assert new_id is not None
    return {"id": int(new_id[0]), **values}


def list_notes(conn: Connection, mention_id: str, *, limit: int) -> list[dict[str, Any]]:
    """A mention's notes, oldest first."""
    query = (
        sa.select(triage_notes)
        .where(triage_notes.c.mention_id == mention_id)
        .order_by(triage_notes.c.id)
        .limit(limit)
    )
    return [_note(row) for row in conn.execute(query)]


def note_counts(conn: Connection, mention_ids: Sequence[str]) -> dict[str, int]:
    """How many notes each of these mentions has (absent: none)."""
    wanted = sorted(set(mention_ids))
    out: dict[str, int] = {}
    for first in range(0, len(wanted), _CHUNK):
        chunk = wanted[first : first + _CHUNK]
        rows = conn.execute(
            sa.select(triage_notes.c.mention_id, sa.func.count())
            .where(triage_notes.c.mention_id.in_(chunk))
            .group_by(triage_notes.c.mention_id)
        )
        out.update({str(m): int(n) for m, n in rows})
    return out
