"""Runs every enabled source on its own interval, in a bounded pool of threads.

One APScheduler interval job per source, first run at once. A source never overlaps
itself: the job allows one instance, and a per-source lock also keeps `run_once`
(the `veille collect --once` path) and a scheduled run of the same source apart.
Runs missed while the process was asleep or stalled coalesce into one.

With a `SourcePartition` (several collectors sharing one state store), the scheduler
keeps jobs only for the sources whose lease it holds, re-syncs the leases every
heartbeat on an executor of its own (long collections cannot starve it), checks the
lease again before each run, and lets go of every lease on shutdown. A source taken
over from another collector first runs one interval after that collector's last run.
Without a partition (`veille up`, one process) every enabled source is scheduled.

A slow source holds one of the `max_concurrent_sources` threads for at most its fetch
deadline (`collector.timeout_seconds`, enforced on the whole fetch), so it cannot
starve the others for longer. `shutdown` cancels the fetches in flight (they stop
within half a second, unrecorded) instead of waiting for them to time out.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor as FuturesPool
from concurrent.futures import as_completed
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from services.collector.dispatch import SourceCollector
from services.collector.runner import CollectorState
from services.core.models import ErrorKind, RunStatus, Source
from services.core.settings import CollectorSettings
from services.net.deadline import cancel_scope
from services.store.state.contract import CollectionRun
from services.store.state.errors import StateStoreError

if TYPE_CHECKING:
    from services.collector.partition import SourcePartition

logger = logging.getLogger("veille.collector")

Collect = Callable[..., CollectionRun]
Progress = Callable[[Source, CollectionRun], None]
LastRun = Callable[[str], datetime | None]
_JOB_PREFIX = "collect:"
_LEASES_JOB = "leases"


class CollectorScheduler:
    """Keeps one interval job per enabled source, as `sources_provider` lists them."""

    def __init__(
        self,
        state: CollectorState,
        settings: CollectorSettings,
        *,
        sources_provider: Callable[[], list[Source]],
        collect: Collect | None = None,
        minute_seconds: float = 60.0,
        partition: SourcePartition | None = None,
        last_run: LastRun | None = None,
    ) -> None:
        """`collect` and `minute_seconds` (the length of an interval minute) exist for
        tests; production code leaves them alone. `partition` shares the sources with
        other collectors; `last_run` (a source's last run time) delays a taken-over
        source's first run to when its previous owner would have run it next."""
        self._state = state
        self._settings = settings
        self._sources_provider = sources_provider
        self._collect: Collect = collect or SourceCollector()
        self._minute = minute_seconds
        self._partition = partition
        self._last_run = last_run
        self._sources: dict[str, Source] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()  # protects _sources and _locks
        self._refresh_lock = threading.Lock()
        self._stopping = threading.Event()  # cancels the fetches in flight (deadline.py)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(settings.max_concurrent_sources),
                _LEASES_JOB: ThreadPoolExecutor(1),
            },
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    # -- lifecycle ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between start() and shutdown()."""
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Schedules every enabled source (each runs at once) and starts the scheduler."""
        self._stopping.clear()
        self._scheduler.start()
        if self._partition is not None:
            self._scheduler.add_job(
                self.refresh,
                trigger=IntervalTrigger(seconds=self._partition.heartbeat_seconds, timezone=UTC),
                id=_LEASES_JOB,
                name="renew source leases",
                executor=_LEASES_JOB,
            )
        self.refresh()
        logger.info("collector scheduler started with %d sources", len(self._sources))

    def shutdown(self, *, wait: bool = True) -> None:
        """Stops scheduling and cancels the fetches in flight; with `wait`, waits for
        the running collections to wind down (promptly: their fetches are cancelled)."""
        self._stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            logger.info("collector scheduler stopped")
        if self._partition is not None:
            try:
                self._partition.release_all()
            except StateStoreError as error:  # they expire on their own
                logger.warning("could not release the source leases: %s", error)

    # -- jobs -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-reads the sources: adds, removes and reschedules jobs to match."""
        with self._refresh_lock:
            wanted = {s.name: s for s in self._sources_provider() if s.enabled}
            if self._partition is not None:
                try:
                    held = self._partition.sync(wanted, busy=self._busy())
                except StateStoreError as error:
                    # Keep the jobs: each run checks its lease, which runs out on its own.
                    logger.warning("could not renew the source leases: %s", error)
                    return
                wanted = {name: s for name, s in wanted.items() if name in held}
            with self._guard:
                previous = dict(self._sources)
                self._sources = wanted
            if not self._scheduler.running:
                return
            for name in previous.keys() - wanted.keys():
                with contextlib.suppress(JobLookupError):
                    self._scheduler.remove_job(_job_id(name))
                logger.info("unscheduled %s", name, extra={"source": name})
            for name, source in wanted.items():
                job = self._scheduler.get_job(_job_id(name))
                if job is None:
                    self._scheduler.add_job(
                        self._run_scheduled,
                        trigger=self._trigger(source),
                        args=[name],
                        id=_job_id(name),
                        name=f"collect {name}",
                        next_run_time=self._first_run(source),
                        misfire_grace_time=self._grace(source),
                        replace_existing=True,
                    )
                    logger.info(
                        "scheduled %s every %d min",
                        name,
                        source.interval_minutes,
                        extra={"source": name},
                    )
                elif name in previous and (
                    previous[name].interval_minutes != source.interval_minutes
                ):
                    job.modify(misfire_grace_time=self._grace(source))
                    job.reschedule(trigger=self._trigger(source))
                    logger.info(
                        "rescheduled %s every %d min",
                        name,
                        source.interval_minutes,
                        extra={"source": name},
                    )

    def scheduled_sources(self) -> list[str]:
        """Names of the sources that have a job, sorted."""
        return sorted(
            job.id.removeprefix(_JOB_PREFIX)
            for job in self._scheduler.get_jobs()
            if job.id.startswith(_JOB_PREFIX)
        )

    def next_run_time(self, name: str) -> datetime | None:
        """When the source will next be collected, or None when it is not scheduled."""
        job = self._scheduler.get_job(_job_id(name))
        return job.next_run_time if job is not None else None

    def run_once(
        self,
        names: Iterable[str] | None = None,
        *,
        progress: Progress | None = None,
    ) -> list[CollectionRun]:
        """Collects the named sources (default: every enabled one) now, up to
        `max_concurrent_sources` at a time; returns the runs in source order.

        Named sources are collected even when disabled: naming one is asking for it.
        Raises KeyError when a name matches no source."""
        sources = self._sources_provider()
        if names is None:
            chosen = [s for s in sources if s.enabled]
        else:
            by_name = {s.name: s for s in sources}
            wanted = list(dict.fromkeys(names))
            unknown = [name for name in wanted if name not in by_name]
            if unknown:
                raise KeyError(f"no source named {', '.join(unknown)}")
            chosen = [by_name[name] for name in wanted]
        if not chosen:
            return []
        runs: dict[str, CollectionRun] = {}
        workers = min(self._settings.max_concurrent_sources, len(chosen))
        with FuturesPool(max_workers=workers, thread_name_prefix="veille-collect") as pool:
            futures = {pool.submit(self._run_locked, s, blocking=True): s for s in chosen}
            try:
                for future in as_completed(futures):
                    source = futures[future]
                    run = future.result()
                    assert run is not None  # blocking runs always happen
                    runs[source.name] = run
                    if progress is not None:
                        progress(source, run)
            except BaseException:  # Ctrl-C: stop the fetches in flight, not wait them out
                self._stopping.set()
                for future in futures:
                    future.cancel()
                raise
        return [runs[s.name] for s in chosen]

    # -- internals --------------------------------------------------------------------

    def _run_scheduled(self, name: str) -> None:
        with self._guard:
            source = self._sources.get(name)
        if source is None:
            return  # removed since the job fired
        if self._partition is not None and not self._partition.holds(name):
            logger.info("skipped %s: its lease is not held", name, extra={"source": name})
            return
        if self._run_locked(source, blocking=False) is None:
            logger.info(
                "skipped %s: its previous collection is still running",
                name,
                extra={"source": name},
            )

    def _run_locked(self, source: Source, *, blocking: bool) -> CollectionRun | None:
        """Collects a source unless another collection of it is running (then waits
        when `blocking`, else returns None)."""
        with self._guard:
            lock = self._locks.setdefault(source.name, threading.Lock())
        if not lock.acquire(blocking=blocking):
            return None
        try:
            with cancel_scope(self._stopping):
                return self._collect(source, state=self._state, settings=self._settings)
        except Exception as error:  # collect_source never raises; a replacement might
            logger.exception("collecting %s crashed", source.name, extra={"source": source.name})
            now = datetime.now(UTC)
            return CollectionRun(
                source_name=source.name,
                started_at=now,
                finished_at=now,
                status=RunStatus.ERROR,
                items_found=0,
                items_new=0,
                error=f"internal error: {type(error).__name__}",
                error_kind=ErrorKind.INTERNAL.value,
            )
        finally:
            lock.release()

    def _busy(self) -> list[str]:
        """Sources being collected right now."""
        with self._guard:
            return [name for name, lock in self._locks.items() if lock.locked()]

    def _first_run(self, source: Source) -> datetime:
        now = datetime.now(UTC)
        if self._partition is None or self._last_run is None:
            return now
        try:
            last = self._last_run(source.name)
        except Exception:  # a status that cannot be read must not stop the schedule
            logger.exception("could not read the last run of %s", source.name)
            return now
        if last is None:
            return now
        return max(now, last + timedelta(seconds=source.interval_minutes * self._minute))

    def _trigger(self, source: Source) -> IntervalTrigger:
        return IntervalTrigger(
            seconds=source.interval_minutes * self._minute,
            timezone=UTC,
        )

    def _grace(self, source: Source) -> int:
        # A run late by less than one interval still happens (once, coalesced).
        return max(1, int(source.interval_minutes * self._minute))


def _job_id(name: str) -> str:
    return f"{_JOB_PREFIX}{name}"
