"""Data governance state: retention set over the API, retention runs, erasure jobs.

Tables (migration 0015) and `GovernanceStore`, opened like `LeaseStore` on a state
store whose schema is at head.

- `retention_policies`: the days kept per source kind set over the API; they take
  precedence over `settings.retention.days` from the YAML.
- `retention_runs`: what each retention run deleted, as counts per kind only.
- `erasures`: one row per erasure job. `identifier` holds what was asked in clear only
  while the job runs (it needs it to resume after a crash); once done it is cleared
  and `identifier_hash` (sha-256 of the folded words) is all that is kept. `holds`:
  while true, new posts by or about the identifier are dropped at ingest (matched by
  that hash, see services/runtime/governance/erasure.py). `step` and `plan` let a job resume.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.store.state.alerting_tables import alert_deliveries, alert_events
from services.store.state.contract import NotFoundError
from services.store.state.corrections import corrections as corrections_table
from services.store.state.database import DatabaseStore
from services.store.state.engine import (
    read_transaction,
    write_transaction,
)
from services.store.state.governance_tables import (
    ERASURE_KINDS,
    MAX_ERROR_CHARS,
    erasures,
    retention_policies,
    retention_runs,
)
from services.store.state.tables import inbox
from services.store.state.triage_tables import triage, triage_notes


@dataclass(frozen=True)
class RetentionRun:
    """One retention run: the policy applied and what it deleted (or would)."""

    id: int
    trigger: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    policy: dict[str, int]
    deleted: dict[str, int]
    error: str | None


@dataclass(frozen=True)
class ErasureJob:
    """An erasure as stored; `identifier` is None once done."""

    id: str
    kind: str
    identifier: str | None
    identifier_hash: str
    words: int
    status: str
    step: str
    plan: dict[str, Any] | None
    counts: dict[str, Any]
    progress: int
    holds: bool
    requested_by: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    hash_scheme: str = "sha256"


@dataclass(frozen=True)
class Hold:
    """What ingest checks a new post against: the hash of an erased identifier."""

    kind: str
    identifier_hash: str
    words: int
    hash_scheme: str = "sha256"


def _run(row: Any) -> RetentionRun:
    return RetentionRun(
        id=int(row.id),
        trigger=row.trigger,
        dry_run=bool(row.dry_run),
        started_at=row.started_at,
        finished_at=row.finished_at,
        policy=dict(row.policy),
        deleted={str(k): int(v) for k, v in dict(row.deleted).items()},
        error=row.error,
    )


def _job(row: Any) -> ErasureJob:
    return ErasureJob(
        id=row.id,
        kind=row.kind,
        identifier=row.identifier,
        identifier_hash=row.identifier_hash,
        words=int(row.words),
        status=row.status,
        step=row.step,
        plan=row.plan,
        counts=dict(row.counts),
        progress=int(row.progress),
        holds=bool(row.holds),
        requested_by=row.requested_by,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        hash_scheme=row.hash_scheme,
    )


class GovernanceStore(DatabaseStore):
    """Retention policies and runs, and erasure jobs, in a state store at head."""

    # -- retention ---------------------------------------------------------------------
    def retention_overrides(self) -> dict[str, int]:
        """The days per kind set over the API."""
        with self._errors(), read_transaction(self._engine) as conn:
            rows = conn.execute(sa.select(retention_policies))
            return {row.kind: int(row.days) for row in rows}

    def set_retention(self, changes: dict[str, int | None]) -> None:
        """Sets (or, with None, removes) the API's days for these kinds, in one transaction."""
        now = self._clock()
        t = retention_policies
        with self._errors(), write_transaction(self._engine) as conn:
            for kind, days in changes.items():
                conn.execute(sa.delete(t).where(t.c.kind == kind))
                if days is not None:
                    conn.execute(t.insert().values(kind=kind, days=days, updated_at=now))

    def start_retention_run(self, *, trigger: str, dry_run: bool, policy: dict[str, int]) -> int:
        """Records a run as started; returns its id."""
        with self._errors(), write_transaction(self._engine) as conn:
            new_id = conn.execute(
                retention_runs.insert().values(
                    trigger=trigger,
                    dry_run=dry_run,
                    started_at=self._clock(),
                    policy=policy,
                    deleted={},
                )
            ).inserted_primary_key
        assert new_id is not None
        return int(new_id[0])

    def finish_retention_run(
        self, run_id: int, *, deleted: dict[str, int], error: str | None = None
    ) -> RetentionRun:
        """Records what a run deleted (and its error, if it stopped); returns the run."""
        t = retention_runs
        with self._errors(), write_transaction(self._engine) as conn:
            conn.execute(
                t.update()
                .where(t.c.id == run_id)
                .values(
                    finished_at=self._clock(),
                    deleted=deleted,
                    error=error[:MAX_ERROR_CHARS] if error else None,
                )
            )
            return _run(conn.execute(sa.select(t).where(t.c.id == run_id)).one())

    def retention_runs(self, *, limit: int = 20) -> list[RetentionRun]:
        """The latest runs, newest first."""
        t = retention_runs
        with self._errors(), read_transaction(self._engine) as conn:
            query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
            return [_run(row) for row in conn.execute(query)]

    # -- erasures ----------------------------------------------------------------------
    def create_erasure(
        self,
        *,
        kind: str,
        identifier: str,
        identifier_hash: str,
        words: int,
        requested_by: str | None,
        hash_scheme: str = "sha256",
    ) -> ErasureJob:
        """Records a new erasure job (holding from now on); returns it."""
        if kind not in ERASURE_KINDS:
            raise ValueError(f"unknown erasure kind {kind!r}")
        now = self._clock()
        job_id = uuid.uuid4().hex[:16]
        with self._errors(), write_transaction(self._engine) as conn:
            conn.execute(
                erasures.insert().values(
                    id=job_id,
                    kind=kind,
                    identifier=identifier,
                    identifier_hash=identifier_hash,
                    hash_scheme=hash_scheme,
                    words=words,
                    status="running",
                    step="plan",
                    counts={},
                    progress=0,
                    holds=True,
                    requested_by=requested_by,
                    created_at=now,
                    updated_at=now,
                )
            )
        return self.erasure(job_id)

    def erasure(self, job_id: str) -> ErasureJob:
        """One erasure job; NotFoundError when absent."""
        with self._errors(), read_transaction(self._engine) as conn:
            row = conn.execute(sa.select(erasures).where(erasures.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no erasure has the id {job_id!r}")
        return _job(row)

    def erasures(self, *, unfinished: bool = False, limit: int = 100) -> list[ErasureJob]:
        """Erasure jobs, newest first (only those still running with `unfinished`)."""
        query = sa.select(erasures).order_by(erasures.c.created_at.desc()).limit(limit)
        if unfinished:
            query = query.where(erasures.c.status == "running")
        with self._errors(), read_transaction(self._engine) as conn:
            return [_job(row) for row in conn.execute(query)]

    def update_erasure(self, job_id: str, **changes: Any) -> None:
        """Sets the step, plan, counts, progress, status, identifier, error or finish time."""
        allowed = {"step", "plan", "counts", "progress", "status", "identifier", "error"}
        allowed |= {"finished_at", "holds", "identifier_hash", "hash_scheme"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)} of an erasure")
        if changes.get("error"):
            changes["error"] = str(changes["error"])[:MAX_ERROR_CHARS]
        with self._errors(), write_transaction(self._engine) as conn:
            result = conn.execute(
                erasures.update()
                .where(erasures.c.id == job_id)
                .values(**changes, updated_at=self._clock())
            )
        if result.rowcount == 0:
            raise NotFoundError(f"no erasure has the id {job_id!r}")

    def holds(self) -> list[Hold]:
        """The erasures that hold: new posts matching them are dropped at ingest."""
        t = erasures
        query = sa.select(t.c.kind, t.c.identifier_hash, t.c.words, t.c.hash_scheme).where(
            t.c.holds.is_(True)
        )
        with self._errors(), read_transaction(self._engine) as conn:
            return [
                Hold(r.kind, r.identifier_hash, int(r.words), r.hash_scheme)
                for r in conn.execute(query)
            ]

    # -- what hangs off the mentions -----------------------------------------------------
    def corrections(self) -> list[tuple[int, str, str]]:
        """Every correction as (id, mention id, text judged)."""
        t = corrections_table
        with self._errors(), read_transaction(self._engine) as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.mention_id, t.c.text).order_by(t.c.id))
            return [(int(r.id), r.mention_id, r.text) for r in rows]

    def triaged_mention_ids(self) -> list[str]:
        """The mentions with a triage record or a note (retention drops those gone)."""
        with self._errors(), read_transaction(self._engine) as conn:
            rows = conn.execute(
                sa.union(sa.select(triage.c.mention_id), sa.select(triage_notes.c.mention_id))
            )
            return sorted(r.mention_id for r in rows)

    def triage_note_texts(self) -> list[tuple[int, str, str]]:
        """Every triage note as (id, mention id, text): an erasure looks for the notes
        quoting the erased on any mention."""
        t = triage_notes
        with self._errors(), read_transaction(self._engine) as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.mention_id, t.c.text).order_by(t.c.id))
            return [(int(r.id), r.mention_id, r.text) for r in rows]

    def delete_triage_notes(self, ids: list[int]) -> int:
        """Deletes triage notes by id; returns how many."""
        return self._delete_by_id(triage_notes, ids)

    def delete_corrections(self, ids: list[int]) -> int:
        """Deletes corrections by id; returns how many."""
        return self._delete_by_id(corrections_table, ids)

    def _delete_by_id(self, table: sa.Table, ids: list[int]) -> int:
        """Deletes rows by id in chunks of 500 (the databases' bound-parameter limits), in
        one transaction; returns how many."""
        removed = 0
        with self._errors(), write_transaction(self._engine) as conn:
            for first in range(0, len(ids), 500):
                chunk = ids[first : first + 500]
                removed += conn.execute(sa.delete(table).where(table.c.id.in_(chunk))).rowcount or 0
        return removed

    def alert_samples(self) -> list[tuple[int, dict[str, Any]]]:
        """Every alert event that keeps sample mentions, as (id, numbers)."""
        t = alert_events
        with self._errors(), read_transaction(self._engine) as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.numbers).order_by(t.c.id))
            return [(int(r.id), dict(r.numbers)) for r in rows if r.numbers.get("top_mentions")]

    def set_alert_numbers(self, changed: dict[int, dict[str, Any]]) -> None:
        """Replaces the numbers (with their samples) of these alert events."""
        t = alert_events
        with self._errors(), write_transaction(self._engine) as conn:
            for event_id, numbers in changed.items():
                conn.execute(t.update().where(t.c.id == event_id).values(numbers=numbers))

    def delete_alert_events(self, ids: list[int]) -> int:
        """Deletes alert events and their deliveries (data removed for good, such as the
        demo's); returns how many events."""
        t, d = alert_events, alert_deliveries
        removed = 0
        with self._errors(), write_transaction(self._engine) as conn:
            for first in range(0, len(ids), 500):
                chunk = ids[first : first + 500]
                conn.execute(sa.delete(d).where(d.c.event_id.in_(chunk)))
                removed += conn.execute(sa.delete(t).where(t.c.id.in_(chunk))).rowcount or 0
        return removed

    def waiting_items(self) -> list[tuple[str, dict[str, Any]]]:
        """The inbox items not analyzed yet (pending, leased or failed), with payloads."""
        t = inbox
        query = sa.select(t.c.mention_id, t.c.payload).where(t.c.payload.is_not(None))
        with self._errors(), read_transaction(self._engine) as conn:
            return [(row.mention_id, dict(row.payload)) for row in conn.execute(query)]

    def drop_items(self, mention_ids: list[str]) -> int:
        """Removes inbox items (their payload with them); returns how many."""
        t = inbox
        removed = 0
        with self._errors(), write_transaction(self._engine) as conn:
            for first in range(0, len(mention_ids), 500):
                chunk = mention_ids[first : first + 500]
                removed += conn.execute(sa.delete(t).where(t.c.mention_id.in_(chunk))).rowcount or 0
        return removed

    def now(self) -> datetime:
        """The current time, as this store records it."""
        return self._clock()
