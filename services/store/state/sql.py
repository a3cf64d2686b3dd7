"""The state store on SQLAlchemy 2: SQLite (default, one file) or PostgreSQL.

    store = SqlStateStore("sqlite:///data/veille.db")   # migrates to the newest schema
    store = SqlStateStore("postgresql+psycopg://veille:secret@db:5432/veille")

Each public method is one transaction; `record_collection` puts the enqueue, the
cursor and the run in the same one, so a collector killed mid-run stored all or
nothing. The rules live next to the SQL: ownership of workspace rows in
`workspace.py`, run statuses and the "unreachable:" error convention in `runs.py`,
the inbox's dedup, leases and attempts in `inbox.py`, API keys in `apikeys.py`.

Errors: NotFoundError and ConflictError (from the contract) for what the caller
asked; ValueError for malformed arguments; StateStoreError, with a sentence naming
the store, when the database cannot be opened or used (bad URL, server down, wrong
password, locked for too long, a schema newer than this code).

Times are compared with this process's clock: the machines sharing a PostgreSQL
store should keep their clocks synchronised (NTP), or leases expire early or late.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Connection

from services.core.models import Brand, Competitor, RawItem, Source, SourceStatus, utcnow
from services.store.state import (
    alerting_tables,
    apikeys,
    corrections,
    inbox,
    runs,
    triage_tables,
    workspace,
)
from services.store.state.contract import (
    AlertEventRecord,
    ApiKeyInfo,
    CollectionRun,
    DueDelivery,
    InboxItem,
    Origin,
    SpecRecord,
    TriageRecord,
)
from services.store.state.database import DatabaseStore, StateDatabase
from services.store.state.engine import (
    StateStoreError,
    read_transaction,
    write_transaction,
)

__all__ = ["SqlStateStore", "StateStoreError"]


class SqlStateStore(DatabaseStore):
    """Implements `StateStore` on SQLite or PostgreSQL."""

    def __init__(
        self,
        url: str | StateDatabase,
        *,
        migrate: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Opens the store at `url`, upgrading its schema first unless `migrate` is False,
        or works on a database already opened (`StateDatabase`, which its opener closes).

        `clock` returns the current aware time; tests pass a controllable one.
        """
        super().__init__(url, clock=clock, migrate=migrate)

    def __repr__(self) -> str:
        return f"SqlStateStore({self._url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> SqlStateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- workspace: sources, brands, competitors ---------------------------------

    def list_sources(self) -> list[Source]:
        """Every source, by name."""
        with self._read() as conn:
            return workspace.list_all(conn, workspace.SOURCES)

    def get_source(self, name: str) -> Source:
        """One source; NotFoundError when absent."""
        with self._read() as conn:
            return workspace.get(conn, workspace.SOURCES, name)

    def source_origin(self, name: str) -> Origin:
        """Who owns a source: 'config' or 'api'."""
        with self._read() as conn:
            return workspace.origin(conn, workspace.SOURCES, name)

    def put_source(self, source: Source, *, origin: Origin, create_only: bool = False) -> None:
        """Creates or replaces a source; ConflictError when create_only and it exists,
        or when the API tries to change a config-owned source."""
        with self._write() as conn:
            workspace.put(
                conn,
                workspace.SOURCES,
                source,
                origin=origin,
                create_only=create_only,
                now=self._now(),
            )

    def delete_source(self, name: str) -> None:
        """Deletes a source with its cursor, runs and status; NotFoundError when absent."""
        with self._write() as conn:
            workspace.delete(conn, workspace.SOURCES, name)

    def list_brands(self) -> list[Brand]:
        """Every brand, by name."""
        with self._read() as conn:
            return workspace.list_all(conn, workspace.BRANDS)

    def get_brand(self, name: str) -> Brand:
        """One brand; NotFoundError when absent."""
        with self._read() as conn:
            return workspace.get(conn, workspace.BRANDS, name)

    def brand_origin(self, name: str) -> Origin:
        """Who owns a brand: 'config' or 'api'."""
        with self._read() as conn:
            return workspace.origin(conn, workspace.BRANDS, name)

    def put_brand(self, brand: Brand, *, origin: Origin, create_only: bool = False) -> None:
        """Creates or replaces a brand (same rules as put_source)."""
        with self._write() as conn:
            workspace.put(
                conn,
                workspace.BRANDS,
                brand,
                origin=origin,
                create_only=create_only,
                now=self._now(),
            )

    def delete_brand(self, name: str) -> None:
        """Deletes a brand; NotFoundError when absent."""
        with self._write() as conn:
            workspace.delete(conn, workspace.BRANDS, name)

    def list_competitors(self) -> list[Competitor]:
        """Every competitor, by name."""
        with self._read() as conn:
            return workspace.list_all(conn, workspace.COMPETITORS)

    def competitor_origin(self, name: str) -> Origin:
        """Who owns a competitor: 'config' or 'api'."""
        with self._read() as conn:
            return workspace.origin(conn, workspace.COMPETITORS, name)

    def put_competitor(self, competitor: Competitor, *, origin: Origin) -> None:
        """Creates or replaces a competitor (same rules as put_source)."""
        with self._write() as conn:
            workspace.put(
                conn,
                workspace.COMPETITORS,
                competitor,
                origin=origin,
                create_only=False,
                now=self._now(),
            )

    def delete_competitor(self, name: str) -> None:
        """Deletes a competitor; NotFoundError when absent."""
        with self._write() as conn:
            workspace.delete(conn, workspace.COMPETITORS, name)

    def sync_workspace(
        self,
        *,
        sources: Sequence[Source],
        brands: Sequence[Brand],
        competitors: Sequence[Competitor],
    ) -> None:
        """Makes the config-owned rows exactly these, in one transaction; API rows are
        kept, except those whose name a config entry takes over (config wins)."""
        now = self._now()
        with self._write() as conn:
            workspace.sync(conn, workspace.SOURCES, sources, now=now)
            workspace.sync(conn, workspace.BRANDS, brands, now=now)
            workspace.sync(conn, workspace.COMPETITORS, competitors, now=now)

    # -- collection --------------------------------------------------------------

    def get_cursor(self, source_name: str) -> dict[str, Any]:
        """The collector's saved position for a source ({} when none)."""
        with self._read() as conn:
            return runs.get_cursor(conn, source_name)

    def set_cursor(self, source_name: str, cursor: dict[str, Any]) -> None:
        """Saves a source's cursor on its own (record_collection does it with the items)."""
        with self._write() as conn:
            runs.require_source(conn, source_name)
            runs.set_cursor(conn, source_name, cursor, now=self._now())

    def record_collection(
        self, *, run: CollectionRun, items: Sequence[RawItem], cursor: dict[str, Any] | None
    ) -> int:
        """In one transaction: enqueue new or changed items, save the cursor (when not None)
        and the run. Returns how many items were new or changed, which is also the
        `items_new` stored with the run (whatever the run said). NotFoundError when the
        source does not exist (deleted while it was being collected)."""
        now = self._now()
        with self._write() as conn:
            runs.require_source(conn, run.source_name)
            added = inbox.enqueue(conn, items, now=now)
            if cursor is not None:
                runs.set_cursor(conn, run.source_name, cursor, now=now)
            runs.insert_run(conn, dataclasses.replace(run, items_new=added))
        return added

    def record_run(self, run: CollectionRun) -> None:
        """Saves a run that collected nothing (an error, a 304)."""
        with self._write() as conn:
            runs.require_source(conn, run.source_name)
            runs.insert_run(conn, run)

    def source_status(self, name: str) -> SourceStatus:
        """What the last runs of a source did; NotFoundError when absent."""
        with self._read() as conn:
            return runs.status(conn, name)

    def list_source_statuses(self) -> list[SourceStatus]:
        """The status of every source, by name."""
        with self._read() as conn:
            return runs.statuses(conn)

    def recent_runs(self, source_name: str, *, limit: int = 20) -> list[CollectionRun]:
        """The last runs of a source, newest first ([] for an unknown source)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._read() as conn:
            return runs.recent(conn, source_name, limit=limit)

    # -- the inbox ---------------------------------------------------------------

    def enqueue_items(self, items: Sequence[RawItem]) -> int:
        """Adds items not seen before (or whose content changed); returns how many."""
        now = self._now()
        with self._write() as conn:
            return inbox.enqueue(conn, items, now=now)

    def claim_items(self, *, limit: int, lease_seconds: float = 300) -> list[InboxItem]:
        """Leases up to `limit` pending items (or items whose lease expired), oldest first."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        now = self._now()
        with self._write() as conn:
            return inbox.claim(conn, limit=limit, lease_seconds=lease_seconds, now=now)

    def renew_items(self, mention_ids: Sequence[str], *, lease_seconds: float) -> int:
        """Extends the lease of items still leased; returns how many were renewed."""
        with self._write() as conn:
            return inbox.renew(conn, mention_ids, lease_seconds=lease_seconds, now=self._now())

    def ack_items(self, mention_ids: Sequence[str]) -> None:
        """Marks leased items done (analyzed and stored, or dropped by the source's filter)."""
        with self._write() as conn:
            inbox.ack(conn, mention_ids, now=self._now())

    def release_items(self, mention_ids: Sequence[str], *, error: str | None = None) -> None:
        """Gives leased items back; after 5 attempts an item is parked as failed."""
        with self._write() as conn:
            inbox.release(conn, mention_ids, error=error, now=self._now())

    def stored_between(self, *, since: datetime, until: datetime, limit: int = 1000) -> list[str]:
        """Ids of the items the analyzer finished in [since, until), oldest first."""
        with self._read() as conn:
            return inbox.stored_between(conn, since=since, until=until, limit=limit)

    def inbox_counts(self) -> dict[str, int]:
        """{'pending': n, 'leased': n, 'done': n, 'failed': n}."""
        with self._read() as conn:
            return inbox.counts(conn)

    # -- API keys ----------------------------------------------------------------

    def create_api_key(self, name: str) -> str:
        """Returns the new key in clear, once; only its hash is stored."""
        with self._write() as conn:
            return apikeys.insert(conn, name=name, now=self._now())

    def verify_api_key(self, key: str) -> ApiKeyInfo | None:
        """The key's description when it is valid and not revoked, else None."""
        parsed = apikeys.parse_key(key)
        if parsed is None:
            return None
        key_id, secret = parsed
        with self._read() as conn:
            row = apikeys.find(conn, key_id)
        if row is None or not apikeys.secret_matches(secret, row.secret_sha256) or row.revoked:
            return None
        found = apikeys.info(row)
        now = self._now()
        if found.last_used_at is None or now - found.last_used_at >= apikeys.TOUCH_INTERVAL:
            with self._write() as conn:
                apikeys.touch(conn, key_id, now=now)
            found = dataclasses.replace(found, last_used_at=now)
        return found

    def list_api_keys(self) -> list[ApiKeyInfo]:
        """Every key (never its secret), oldest first."""
        with self._read() as conn:
            return apikeys.list_all(conn)

    def revoke_api_key(self, key_id: str) -> None:
        """Revokes a key for good; NotFoundError when unknown."""
        with self._write() as conn:
            apikeys.revoke(conn, key_id)

    # -- saved searches and alert rules ------------------------------------------

    def list_specs(self, kind: str) -> list[SpecRecord]:
        """Every saved search ("saved_search") or alert rule ("alert_rule"), by name."""
        with self._read() as conn:
            return alerting_tables.list_specs(conn, kind)

    def get_spec(self, kind: str, name: str) -> SpecRecord:
        """One saved search or alert rule; NotFoundError when absent."""
        with self._read() as conn:
            return alerting_tables.get_spec(conn, kind, name)

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
        """Creates or replaces a saved search or alert rule."""
        with self._write() as conn:
            alerting_tables.put_spec(
                conn,
                kind,
                name=name,
                spec=spec,
                owner=owner,
                visibility=visibility,
                create_only=create_only,
                now=self._now(),
            )

    def delete_spec(self, kind: str, name: str) -> None:
        """Deletes a saved search or alert rule; NotFoundError when absent."""
        with self._write() as conn:
            alerting_tables.delete_spec(conn, kind, name)

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
        """Renames a saved search (its alert rules follow) or an alert rule in one
        transaction; returns the rules that followed."""
        with self._write() as conn:
            return alerting_tables.rename_spec(
                conn,
                kind,
                old,
                name=name,
                spec=spec,
                owner=owner,
                visibility=visibility,
                now=self._now(),
                before_delete=before_delete,
            )

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
        """Records an event and its pending deliveries in one transaction; None if known."""
        with self._write() as conn:
            return alerting_tables.record_event(
                conn,
                rule_name=rule_name,
                kind=kind,
                status=status,
                dedupe_key=dedupe_key,
                numbers=numbers,
                baseline=baseline,
                channels=channels,
                now=self._now(),
                deliver_after=deliver_after,
            )

    def list_alert_events(
        self,
        *,
        rule_name: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
        rule_names: Sequence[str] | None = None,
    ) -> list[AlertEventRecord]:
        """Events newest first, with their deliveries."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._read() as conn:
            return alerting_tables.list_events(
                conn, rule_name=rule_name, before_id=before_id, limit=limit, rule_names=rule_names
            )

    def get_alert_event(self, event_id: int) -> AlertEventRecord:
        """One event with its deliveries; NotFoundError when absent."""
        with self._read() as conn:
            return alerting_tables.get_event(conn, event_id)

    def claim_deliveries(self, *, limit: int, lease_seconds: float = 120) -> list[DueDelivery]:
        """Leases due deliveries (pending, or in doubt) under fresh attempt ids."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        with self._write() as conn:
            return alerting_tables.claim_due(
                conn, limit=limit, lease_seconds=lease_seconds, now=self._now()
            )

    def begin_delivery(self, delivery_id: int, *, attempt_id: str, lease_seconds: float) -> bool:
        """Marks a leased delivery `sending`; False when the lease was lost."""
        with self._write() as conn:
            return alerting_tables.mark_sending(
                conn,
                delivery_id,
                attempt_id=attempt_id,
                lease_seconds=lease_seconds,
                now=self._now(),
            )

    def mark_delivery_sent(self, delivery_id: int, *, attempt_id: str | None = None) -> None:
        """Marks a delivery sent."""
        with self._write() as conn:
            alerting_tables.mark_sent(conn, delivery_id, now=self._now(), attempt_id=attempt_id)

    def retry_delivery(
        self,
        delivery_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        attempt_id: str | None = None,
    ) -> None:
        """Gives a delivery back, due again at `next_attempt_at`."""
        with self._write() as conn:
            alerting_tables.mark_retry(
                conn,
                delivery_id,
                error=error,
                next_attempt_at=next_attempt_at,
                attempt_id=attempt_id,
            )

    def fail_delivery(self, delivery_id: int, *, error: str, attempt_id: str | None = None) -> None:
        """Parks a delivery as failed for good."""
        with self._write() as conn:
            alerting_tables.mark_failed(conn, delivery_id, error=error, attempt_id=attempt_id)

    def mark_delivery_unknown(self, delivery_id: int, *, note: str, attempt_id: str) -> None:
        """Parks an in-doubt delivery as `unknown` (not re-sent)."""
        with self._write() as conn:
            alerting_tables.mark_unknown(conn, delivery_id, note=note, attempt_id=attempt_id)

    def requeue_delivery(self, event_id: int, channel: str) -> None:
        """Makes an unknown or failed delivery pending again, due now."""
        with self._write() as conn:
            alerting_tables.requeue(conn, event_id, channel, now=self._now())

    # -- analyst corrections and re-analysis jobs (corrections.py) -------------------

    def add_correction(self, **values: Any) -> dict[str, Any]:
        """Records an analyst's correction (see `corrections.insert_correction`)."""
        with self._write() as conn:
            return corrections.insert_correction(conn, **values, now=self._now())

    def list_corrections(
        self, *, before_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Corrections newest first."""
        with self._read() as conn:
            return corrections.list_corrections(conn, before_id=before_id, limit=limit)

    def corrections_for(self, fingerprints: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The current corrections of each content fingerprint."""
        with self._read() as conn:
            return corrections.current_by_fingerprint(conn, fingerprints)

    def current_corrections(self, field: str | None = None) -> list[dict[str, Any]]:
        """Every current correction (of `field` when given), oldest first (what `veille
        train` and the brand tagger learn from)."""
        with self._read() as conn:
            return corrections.all_current(conn, field)

    def create_reanalysis_job(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Creates a pending re-analysis job."""
        with self._write() as conn:
            return corrections.create_job(conn, spec=spec, now=self._now())

    def get_reanalysis_job(self, job_id: str) -> dict[str, Any]:
        """One re-analysis job; NotFoundError when absent."""
        with self._read() as conn:
            return corrections.get_job(conn, job_id)

    def list_reanalysis_jobs(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """Re-analysis jobs newest first."""
        with self._read() as conn:
            return corrections.list_jobs(conn, limit=limit)

    def update_reanalysis_job(self, job_id: str, **changes: Any) -> None:
        """Records a job's progress (status, cursor, done, total, error)."""
        with self._write() as conn:
            corrections.update_job(conn, job_id, now=self._now(), **changes)

    # -- triage (triage_tables.py) ---------------------------------------------------

    def triage_records(self, mention_ids: Sequence[str]) -> dict[str, TriageRecord]:
        """The triage records of these mentions that exist (the others are `new`)."""
        with self._read() as conn:
            return triage_tables.get_records(conn, mention_ids)

    def put_triage(self, records: Sequence[TriageRecord]) -> None:
        """Writes triage records in one transaction, replacing those of the same mentions."""
        with self._write() as conn:
            triage_tables.put_records(conn, records)

    def delete_triage(self, mention_ids: Sequence[str]) -> int:
        """Deletes the triage records and notes of these mentions; returns the records."""
        with self._write() as conn:
            return triage_tables.delete_records(conn, mention_ids)

    def story_answers(self, story_ids: Sequence[str]) -> dict[str, TriageRecord]:
        """For each story with an answered mention, the first answered one."""
        with self._read() as conn:
            return triage_tables.story_answers(conn, story_ids)

    def add_triage_note(self, *, mention_id: str, author: str | None, text: str) -> dict[str, Any]:
        """Adds a note (author, time, text) to a mention; returns it."""
        with self._write() as conn:
            return triage_tables.add_note(
                conn, mention_id=mention_id, author=author, text=text, now=self._now()
            )

    def triage_notes(self, mention_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """A mention's notes, oldest first."""
        with self._read() as conn:
            return triage_tables.list_notes(conn, mention_id, limit=limit)

    def triage_note_counts(self, mention_ids: Sequence[str]) -> dict[str, int]:
        """How many notes each of these mentions has."""
        with self._read() as conn:
            return triage_tables.note_counts(conn, mention_ids)

    # -- internals ---------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), read_transaction(self._engine) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._errors(), write_transaction(self._engine) as conn:
            yield conn
