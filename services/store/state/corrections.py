"""Analyst corrections and re-analysis jobs: tables (migration 0004) and their SQL.

A correction is an analyst's label for one field of one mention (overall sentiment,
sentiment toward one brand, topics, or whether the mention is about a brand: field
"brand", label `{"about_brand": bool, "role": "brand" | "competitor"}`). It is keyed by
the content fingerprint of the mention as well as its id, so it also holds for every
exact duplicate, including copies collected later. Corrections are history: a new one
for the same (fingerprint, field, brand) supersedes the older, which is kept. `brand` is
"" for the overall sentiment and for topics, so the triple can be compared with plain
equality on every backend.

A re-analysis job records what to re-analyze and how far it got (`cursor`, an index
search cursor), so a job stopped at any point resumes where it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from services.store.state.contract import NotFoundError
from services.store.state.schema import UtcDateTime, id_type, json_type, metadata, one_of

CORRECTION_FIELDS = ("sentiment", "topics", "brand")
JOB_STATUSES = ("pending", "running", "done", "failed")
MAX_ERROR_CHARS = 4000


corrections = sa.Table(
    "corrections",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("mention_id", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("field", sa.String(20), nullable=False),
    sa.Column("brand", sa.String(200), nullable=False),
    sa.Column("label", json_type(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),  # what was judged: `veille train` learns it
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(one_of("field", CORRECTION_FIELDS), name="field"),
    sa.Index("ix_corrections_fingerprint", "fingerprint"),
    sa.Index("ix_corrections_mention", "mention_id"),
)

reanalysis_jobs = sa.Table(
    "reanalysis_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("spec", json_type(), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("cursor", sa.String(200), nullable=True),
    sa.Column("done", sa.Integer(), nullable=False),
    sa.Column("total", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(one_of("status", JOB_STATUSES), name="status"),
)


def _correction(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "mention_id": row.mention_id,
        "fingerprint": row.fingerprint,
        "field": row.field,
        "brand": row.brand or None,
        "label": row.label,
        "text": row.text,
        "language": row.language,
        "author": row.author,
        "created_at": row.created_at,
    }


def insert_correction(
    conn: Connection,
    *,
    mention_id: str,
    fingerprint: str,
    field: str,
    brand: str | None,
    label: Any,
    text: str,
    language: str | None,
    author: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Records one correction; returns it as stored."""
    if field not in CORRECTION_FIELDS:
        raise ValueError(f"unknown correction field {field!r}")
    values = {
        "mention_id": mention_id,
        "fingerprint": fingerprint,
        "field": field,
        "brand": brand or "",
        "label": label,
        "text": text,
        "language": language,
        "author": author,
        "created_at": now,
    }
    new_id = conn.execute(corrections.insert().values(**values)).inserted_primary_key
    assert new_id is not None
    row = conn.execute(sa.select(corrections).where(corrections.c.id == new_id[0])).one()
    return _correction(row)


def list_corrections(
    conn: Connection, *, before_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Corrections newest first (superseded ones included: they are history)."""
    query = sa.select(corrections).order_by(corrections.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(corrections.c.id < before_id)
    return [_correction(row) for row in conn.execute(query)]


def current_by_fingerprint(
    conn: Connection, fingerprints: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """For each fingerprint, its current corrections (the newest per field and brand),
    oldest first."""
    wanted = sorted(set(fingerprints))
    out: dict[str, list[dict[str, Any]]] = {}
    for first in range(0, len(wanted), 500):  # stay far below any bind-parameter limit
        chunk = wanted[first : first + 500]
        rows = conn.execute(
            sa.select(corrections)
            .where(corrections.c.fingerprint.in_(chunk))
            .order_by(corrections.c.id)
        )
        latest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for row in rows:
            latest[(row.fingerprint, row.field, row.brand)] = _correction(row)
        for (fp, _, _), record in latest.items():
            out.setdefault(fp, []).append(record)
    return out


def all_current(conn: Connection, field: str | None = None) -> list[dict[str, Any]]:
    """Every current correction (the newest per fingerprint, field and brand), oldest
    first; only those of `field` when given."""
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    query = sa.select(corrections).order_by(corrections.c.id)
    if field is not None:
        query = query.where(corrections.c.field == field)
    for row in conn.execute(query):
        latest[(row.fingerprint, row.field, row.brand)] = _correction(row)
    return sorted(latest.values(), key=lambda r: int(r["id"]))


# -- re-analysis jobs ------------------------------------------------------------------


def _job(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "spec": row.spec,
        "status": row.status,
        "cursor": row.cursor,
        "done": int(row.done),
        "total": None if row.total is None else int(row.total),
        "error": row.error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def create_job(conn: Connection, *, spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Creates a pending job; returns it."""
    job_id = uuid.uuid4().hex[:12]
    conn.execute(
        reanalysis_jobs.insert().values(
            id=job_id, spec=spec, status="pending", done=0, created_at=now, updated_at=now
        )
    )
    return get_job(conn, job_id)


def get_job(conn: Connection, job_id: str) -> dict[str, Any]:
    """One job; NotFoundError when absent."""
    row = conn.execute(sa.select(reanalysis_jobs).where(reanalysis_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFoundError(f"no re-analysis job has the id {job_id!r}")
    return _job(row)


def list_jobs(conn: Connection, *, limit: int = 20) -> list[dict[str, Any]]:
    """Jobs newest first."""
    query = sa.select(reanalysis_jobs).order_by(reanalysis_jobs.c.created_at.desc()).limit(limit)
    return [_job(row) for row in conn.execute(query)]


def update_job(conn: Connection, job_id: str, *, now: datetime, **changes: Any) -> None:
    """Sets status, cursor, done, total or error of a job; NotFoundError when absent."""
    allowed = {"status", "cursor", "done", "total", "error"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)} of a job")
    if changes.get("status") is not None and changes["status"] not in JOB_STATUSES:
        raise ValueError(f"unknown job status {changes['status']!r}")
    if changes.get("error"):
        changes["error"] = str(changes["error"])[:MAX_ERROR_CHARS]
    result = conn.execute(
        reanalysis_jobs.update()
        .where(reanalysis_jobs.c.id == job_id)
        .values(**changes, updated_at=now)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"no re-analysis job has the id {job_id!r}")
