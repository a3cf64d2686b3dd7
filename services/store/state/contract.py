"""The state store contract: everything Veille remembers besides the mentions.

Sources, brands and competitors, collector cursors and run history, API keys, and
the durable inbox between collection and analysis. One implementation on
SQLAlchemy 2 (`services.store.state.sql.SqlStateStore`), for SQLite (default) and
PostgreSQL URLs, with its schema managed by Alembic migrations.

Crash safety: `enqueue_items` and `set_cursor` can share one transaction
(`record_collection`), so a collector killed mid-run either stored its items and
advanced its cursor, or did neither. Items stay in the inbox until `ack`; a claimed
item whose lease expires is handed out again, so an analyzer killed mid-batch loses
nothing, and re-analysis is harmless because index upserts are idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from services.core.models import Brand, Competitor, RawItem, RunStatus, Source, SourceStatus
from services.core.triage import Triage

Origin = Literal["config", "api"]


class ConflictError(ValueError):
    """The change clashes with what is stored (a name already taken, a config-owned row)."""


class NameTakenError(ConflictError):
    """A create or rename whose name is already another's."""


class UnreadableError(ConflictError):
    """A stored row no longer passes validation (written by an older version, or edited
    by hand): it can still be replaced or deleted, and never stops the other rows."""


class NotFoundError(KeyError):
    """No row with that name or id."""


@dataclass(frozen=True)
class InboxItem:
    mention_id: str
    item: RawItem
    attempts: int


@dataclass(frozen=True)
class CollectionRun:
    source_name: str
    started_at: datetime
    finished_at: datetime
    status: RunStatus
    items_found: int
    items_new: int
    error: str | None = None
    # Crawl figures a collector may report: {"pages_fetched": 12, "errors": {"http_404": 1}},
    # and "notes": sentences about what the run changed or dropped (capped, clamped dates).
    stats: dict[str, Any] | None = None
    # What kind of error (`services.core.models.ErrorKind`): the source's state comes
    # from it, never from the message. None on success; "error" when a collector gave none.
    error_kind: str | None = None


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class TriageRecord:
    """A mention's triage as the state store holds it (the record; the index has a copy)."""

    mention_id: str
    story_id: str | None  # the mention's story when triaged
    triage: Triage
    updated_at: datetime
    updated_by: str | None
    answered_at: datetime | None = None  # when it was marked answered, while it is
    answered_by: str | None = None


@dataclass(frozen=True)
class SpecRecord:
    """A saved search or alert rule as stored: its JSON definition and who may see it."""

    name: str
    spec: dict[str, Any]
    owner: str | None
    visibility: str  # "private" | "shared"
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    """One alert event's delivery on one channel."""

    id: int
    event_id: int
    channel: str
    status: str  # "pending" | "sending" | "sent" | "failed" | "unknown"
    attempts: int  # network attempts made
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class AlertEventRecord:
    """An alert event (firing or resolved) with its numbers and its deliveries."""

    id: int
    rule_name: str
    kind: str
    status: str  # "firing" | "resolved"
    dedupe_key: str
    numbers: dict[str, Any]
    created_at: datetime
    deliveries: list[DeliveryRecord]
    chart_token: str | None = None  # unguessable; in the public chart URL, never listed
    #: how its 'expected' was computed, as data (services/alerting/explanation.py); None
    #: for an event of an older version whose sentence had no known shape (migration 0019)
    baseline: dict[str, Any] | None = None


@dataclass(frozen=True)
class DueDelivery:
    """A delivery leased to an outbox worker, with the event to send."""

    delivery_id: int
    channel: str
    attempts: int  # including this one
    event: AlertEventRecord
    attempt_id: str = ""  # the lease's token: quote it in every write about this delivery
    in_doubt: bool = False  # a previous worker died between the send and its record


class StateStore(Protocol):
    # -- workspace: sources, brands, competitors ---------------------------------
    def list_sources(self) -> list[Source]: ...
    def get_source(self, name: str) -> Source:
        """Raises NotFoundError."""
        ...

    def source_origin(self, name: str) -> Origin: ...
    def put_source(self, source: Source, *, origin: Origin, create_only: bool = False) -> None:
        """Creates or replaces; ConflictError when create_only and the name exists."""
        ...

    def delete_source(self, name: str) -> None: ...
    def list_brands(self) -> list[Brand]: ...
    def get_brand(self, name: str) -> Brand: ...
    def brand_origin(self, name: str) -> Origin: ...
    def put_brand(self, brand: Brand, *, origin: Origin, create_only: bool = False) -> None: ...
    def delete_brand(self, name: str) -> None: ...
    def list_competitors(self) -> list[Competitor]: ...
    def competitor_origin(self, name: str) -> Origin: ...
    def put_competitor(self, competitor: Competitor, *, origin: Origin) -> None: ...
    def delete_competitor(self, name: str) -> None: ...
    def sync_workspace(
        self,
        *,
        sources: Sequence[Source],
        brands: Sequence[Brand],
        competitors: Sequence[Competitor],
    ) -> None:
        """Makes the config-owned rows exactly these (API-owned rows are kept)."""
        ...

    # -- collection --------------------------------------------------------------
    def get_cursor(self, source_name: str) -> dict[str, Any]:
        """The collector's saved position for a source ({} when none)."""
        ...

    def set_cursor(self, source_name: str, cursor: dict[str, Any]) -> None:
        """Saves a source's cursor on its own (record_collection does it with the items)."""
        ...

    def record_collection(
        self, *, run: CollectionRun, items: Sequence[RawItem], cursor: dict[str, Any] | None
    ) -> int:
        """In one transaction: enqueue new or changed items, save the cursor (when not None)
        and the run. Returns how many items were new or changed; the stored run's
        `items_new` is that number, whatever the caller passed."""
        ...

    def record_run(self, run: CollectionRun) -> None:
        """Saves a run that collected nothing (an error, a 304)."""
        ...

    def source_status(self, name: str) -> SourceStatus: ...
    def list_source_statuses(self) -> list[SourceStatus]: ...
    def recent_runs(self, source_name: str, *, limit: int = 20) -> list[CollectionRun]: ...

    # -- the inbox ---------------------------------------------------------------
    def enqueue_items(self, items: Sequence[RawItem]) -> int:
        """Adds items not seen before (or whose content changed); returns how many."""
        ...

    def claim_items(self, *, limit: int, lease_seconds: float = 300) -> list[InboxItem]:
        """Leases up to `limit` pending items, oldest first, to one analyzer."""
        ...

    def renew_items(self, mention_ids: Sequence[str], *, lease_seconds: float) -> int:
        """Extends the lease of items still leased (a long batch keeps them while it
        works); an expired lease is not renewed. Returns how many were renewed."""
        ...

    def ack_items(self, mention_ids: Sequence[str]) -> None:
        """Marks leased items done (analyzed and stored, or dropped by the source's filter).

        Only leased rows change: an item re-collected with new content while an analyzer
        held it stays pending, so the new version is analyzed too."""
        ...

    def release_items(self, mention_ids: Sequence[str], *, error: str | None = None) -> None:
        """Gives items back (an analyzer error); after 5 attempts an item is parked as failed."""
        ...

    def stored_between(self, *, since: datetime, until: datetime, limit: int = 1000) -> list[str]:
        """Ids of the items the analyzer finished (stored, or dropped by their source's
        filter) in [since, until), oldest first: what new-mention alerts look at."""
        ...

    def inbox_counts(self) -> dict[str, int]:
        """{'pending': n, 'leased': n, 'done': n, 'failed': n}."""
        ...

    # -- API keys ----------------------------------------------------------------
    def create_api_key(self, name: str) -> str:
        """Returns the new key in clear, once; only its hash is stored."""
        ...

    def verify_api_key(self, key: str) -> ApiKeyInfo | None: ...
    def list_api_keys(self) -> list[ApiKeyInfo]: ...
    def revoke_api_key(self, key_id: str) -> None: ...

    # -- saved searches and alert rules ------------------------------------------
    # `kind` is "saved_search" or "alert_rule"; the spec is validated by services.alerting.
    def list_specs(self, kind: str) -> list[SpecRecord]: ...
    def get_spec(self, kind: str, name: str) -> SpecRecord:
        """Raises NotFoundError."""
        ...

    def put_spec(
        self,
        kind: str,
        *,
        name: str,
        spec: dict[str, Any],
        owner: str | None,
        visibility: str,
        create_only: bool = False,
    ) -> None:
        """Creates or replaces; ConflictError when create_only and the name exists."""
        ...

    def delete_spec(self, kind: str, name: str) -> None:
        """Raises NotFoundError."""
        ...

    def rename_spec(
        self,
        kind: str,
        old: str,
        *,
        name: str,
        spec: dict[str, Any],
        owner: str | None,
        visibility: str,
        before_delete: Callable[[], None] | None = None,
    ) -> list[str]:
        """Renames a saved search or alert rule, in one transaction, to `name` with this
        spec (keeping its created_at); a saved search's alert rules follow it (their names
        are returned). `before_delete` runs inside the transaction, after the new row and
        the rules are written and before the old row is deleted: what lives outside the
        store (report files) follows there, and undoes itself if the commit fails. When
        anything raises, nothing is changed. NotFoundError when `old` is absent,
        ConflictError when `name` is taken."""
        ...

    # -- the alert outbox ----------------------------------------------------------
    def record_alert_event(
        self,
        *,
        rule_name: str,
        kind: str,
        status: str,
        dedupe_key: str,
        numbers: dict[str, Any],
        channels: Sequence[str],
        deliver_after: datetime | None = None,
        baseline: dict[str, Any] | None = None,
    ) -> int | None:
        """In one transaction: the event (with `baseline`, its explanation as data) and one
        pending delivery per channel (due at `deliver_after`, e.g. the end of quiet hours).
        Returns the event id, or None when (rule_name, status, dedupe_key) was already
        recorded."""
        ...

    def list_alert_events(
        self,
        *,
        rule_name: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
        rule_names: Sequence[str] | None = None,
    ) -> list[AlertEventRecord]:
        """Events newest first, with their deliveries."""
        ...

    def get_alert_event(self, event_id: int) -> AlertEventRecord:
        """Raises NotFoundError."""
        ...

    def claim_deliveries(self, *, limit: int, lease_seconds: float = 120) -> list[DueDelivery]:
        """Leases due deliveries under a fresh attempt id: pending ones, and `sending` ones
        whose lease expired (`in_doubt`: their worker died mid-send)."""
        ...

    def begin_delivery(self, delivery_id: int, *, attempt_id: str, lease_seconds: float) -> bool:
        """Right before the network call: `sending`, attempts + 1, lease renewed. False when
        the lease was lost to another worker (the caller must not send)."""
        ...

    def mark_delivery_sent(self, delivery_id: int, *, attempt_id: str | None = None) -> None:
        """Right after the channel accepted it. A stale attempt id changes nothing."""
        ...

    def retry_delivery(
        self,
        delivery_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        attempt_id: str | None = None,
    ) -> None:
        """Gives a leased delivery back (`pending`), due again at `next_attempt_at`."""
        ...

    def fail_delivery(self, delivery_id: int, *, error: str, attempt_id: str | None = None) -> None:
        """Parks a delivery as failed for good (a permanent error, or too many attempts)."""
        ...

    def mark_delivery_unknown(self, delivery_id: int, *, note: str, attempt_id: str) -> None:
        """Parks an in-doubt delivery as `unknown`: it may have arrived, and is not re-sent."""
        ...

    def requeue_delivery(self, event_id: int, channel: str) -> None:
        """Sends an `unknown` or `failed` delivery again (a person checked the channel).
        Raises NotFoundError, or ConflictError for any other status."""
        ...

    # -- analyst corrections and re-analysis jobs ----------------------------------
    def add_correction(self, **values: Any) -> dict[str, Any]: ...
    def list_corrections(
        self, *, before_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...
    def corrections_for(self, fingerprints: Sequence[str]) -> dict[str, list[dict[str, Any]]]: ...
    def current_corrections(self, field: str | None = None) -> list[dict[str, Any]]: ...
    def create_reanalysis_job(self, spec: dict[str, Any]) -> dict[str, Any]: ...
    def get_reanalysis_job(self, job_id: str) -> dict[str, Any]: ...
    def list_reanalysis_jobs(self, *, limit: int = 20) -> list[dict[str, Any]]: ...
    def update_reanalysis_job(self, job_id: str, **changes: Any) -> None: ...

    # -- triage (triage_tables.py) ---------------------------------------------------
    def triage_records(self, mention_ids: Sequence[str]) -> dict[str, TriageRecord]:
        """The triage records of these mentions that exist (the others are `new`)."""
        ...

    def put_triage(self, records: Sequence[TriageRecord]) -> None:
        """Writes triage records in one transaction, replacing those of the same mentions."""
        ...

    def delete_triage(self, mention_ids: Sequence[str]) -> int:
        """Deletes the triage records and notes of these mentions (the mentions were
        removed); returns how many records were deleted."""
        ...

    def story_answers(self, story_ids: Sequence[str]) -> dict[str, TriageRecord]:
        """For each story with an answered mention, the first answered one."""
        ...

    def add_triage_note(self, *, mention_id: str, author: str | None, text: str) -> dict[str, Any]:
        """Adds a note (author, time, text) to a mention; returns it."""
        ...

    def triage_notes(self, mention_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """A mention's notes, oldest first."""
        ...

    def triage_note_counts(self, mention_ids: Sequence[str]) -> dict[str, int]:
        """How many notes each of these mentions has."""
        ...

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None: ...
