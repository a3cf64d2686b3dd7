"""The background loops of `veille up`, one set per live workspace, kept in step with the
installation's register.

A workspace created while the service runs (over the API, or with `veille workspaces create`
from another process) starts collecting, analysing, alerting and reporting within
`poll_seconds`, at once when the API created it; an archived one stops all but its retention,
which keeps expiring the personal data it holds. Without this, a new workspace would wait
for the next `veille up`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation
from services.store.state.tenancy import DEFAULT_WORKSPACE

log = logging.getLogger("veille.workspaces")

Stop = Callable[[], None]
#: Starts a workspace's loops and returns how to stop each of them.
LoopsStarter = Callable[[ServiceContext], list[Stop]]


def start_service_loops(ctx: ServiceContext) -> list[Stop]:
    """The loops `veille up` runs for a workspace: collector, analysis worker, alerts,
    reports and retention, over the workspace's own stores."""
    from services.runtime.governance.retention_loop import RetentionScheduler
    from services.runtime.workers.alert_loop import AlertLoop
    from services.runtime.workers.analysis import AnalysisWorker
    from services.runtime.workers.report_loop import ReportScheduler

    worker = AnalysisWorker(ctx)
    alerts = AlertLoop(ctx)
    reports = ReportScheduler(ctx)
    retention = RetentionScheduler(ctx)
    started: dict[str, Stop] = {}
    try:
        worker.start()
        started["worker"] = worker.stop
        started["collector"] = start_collector(ctx)
        alerts.start()
        started["alerts"] = alerts.stop
        reports.start()
        started["reports"] = reports.shutdown
        retention.start()
        started["retention"] = retention.shutdown
    except BaseException:
        # Ctrl-C (or a failure) half-way through: what already runs must stop, or its
        # threads (a collector's fetch) keep the process alive after `veille up` gave up.
        _stop_all(_in_stop_order(started))
        raise
    return _in_stop_order(started)


# Collector first, so nothing new arrives while the worker finishes its batch.
_STOP_ORDER = ("collector", "worker", "alerts", "reports", "retention")


def _in_stop_order(started: dict[str, Stop]) -> list[Stop]:
    return [started[name] for name in _STOP_ORDER if name in started]


def start_retention_loop(ctx: ServiceContext) -> list[Stop]:
    """What an archived workspace still runs: its daily retention, so the personal data
    it keeps still expires."""
    from services.runtime.governance.retention_loop import RetentionScheduler

    retention = RetentionScheduler(ctx)
    retention.start()
    return [retention.shutdown]


def start_collector(ctx: ServiceContext) -> Stop:
    """Starts the workspace's collector in this process, known to `ctx` (so /health
    counts it and its sources), and returns how to stop it."""
    from services.collector.scheduler import CollectorScheduler

    scheduler = CollectorScheduler(
        ctx.state, ctx.settings.collector, sources_provider=ctx.state.list_sources
    )
    ctx.sources_changed.append(scheduler.refresh)
    scheduler.start()
    ctx.local_collector = scheduler.scheduled_sources

    def stop() -> None:
        ctx.local_collector = None
        scheduler.shutdown()

    return stop


class WorkspaceLoops:
    """Runs `start_loops` for every live workspace and follows the register."""

    def __init__(
        self,
        installation: Installation,
        *,
        start_loops: LoopsStarter = start_service_loops,
        start_archived: LoopsStarter = start_retention_loop,
        prepare: Callable[[ServiceContext], None] | None = None,
        poll_seconds: float = 30.0,
    ) -> None:
        self.installation = installation
        self._start_loops = start_loops
        self._start_archived = start_archived
        self._archived: dict[str, list[Stop]] = {}  # archived workspaces: retention only
        self._prepare = prepare
        self._poll_seconds = poll_seconds
        self._running: dict[str, list[Stop]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def running(self) -> list[str]:
        """The workspaces whose loops run now."""
        with self._lock:
            return sorted(self._running)

    def retaining(self) -> list[str]:
        """The archived workspaces whose retention runs now."""
        with self._lock:
            return sorted(self._archived)

    def sync(self) -> None:
        """Starts the loops of live workspaces not running yet and stops archived ones
        (keeping their retention)."""
        with self._lock:
            if self._stopping.is_set():
                return
            live = self.installation.live_workspaces()
            unarchived = [w for w in self._archived if w in live]
            ending = [stop for w in unarchived for stop in self._archived.pop(w)]
            for workspace in live:
                if workspace in self._running:
                    continue
                try:
                    self._running[workspace] = self._start_workspace(workspace)
                except Exception:
                    if workspace == DEFAULT_WORKSPACE:
                        raise  # the installation's own workspace: `veille up` says why and stops
                    # One workspace that cannot start (its stores, its YAML) must not keep
                    # the others from running; it is tried again at the next sync.
                    log.exception("workspace loops not started", extra={"workspace": workspace})
                    continue
                log.info("workspace loops started", extra={"workspace": workspace})
            gone = [w for w in self._running if w not in live]
            stops = {w: self._running.pop(w) for w in gone}
        _stop_all(ending)
        for workspace, workspace_stops in stops.items():
            _stop_all(workspace_stops)
            log.info("workspace loops stopped (archived)", extra={"workspace": workspace})
        self._sync_archived(set(live))

    def _sync_archived(self, live: set[str]) -> None:
        registered = {w.id for w in self.installation.tenancy.list_workspaces()}
        archived = sorted(registered - live)
        with self._lock:
            # A deleted workspace (`veille workspaces delete`) left the register: its
            # retention stops.
            deleted = {
                w: self._archived.pop(w) for w in list(self._archived) if w not in registered
            }
        for workspace, stops in deleted.items():
            _stop_all(stops)
            log.info("workspace loops stopped (deleted)", extra={"workspace": workspace})
        with self._lock:
            for workspace in archived:
                if workspace in self._archived or self._stopping.is_set():
                    continue
                try:
                    self._archived[workspace] = self._start_archived(
                        self.installation.context(workspace)
                    )
                except Exception:  # tried again at the next sync
                    log.exception("retention not started", extra={"workspace": workspace})
                    continue
                log.info("archived workspace: retention only", extra={"workspace": workspace})

    def _start_workspace(self, workspace: str) -> list[Stop]:
        ctx = self.installation.context(workspace)
        ctx.sync_workspace()
        if self._prepare is not None:
            self._prepare(ctx)
        return self._start_loops(ctx)

    def wake(self) -> None:
        """Asks for a sync now (the register changed in this process)."""
        self._wake.set()

    def start(self) -> None:
        """Starts every live workspace now, then follows the register in a thread."""
        self.sync()
        self.installation.changed.append(self.wake)
        self._thread = threading.Thread(target=self._follow, name="workspace-loops", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops following the register and every workspace's loops."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            stops = [*self._running.values(), *self._archived.values()]
            self._running.clear()
            self._archived.clear()
        for workspace_stops in stops:
            _stop_all(workspace_stops)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.sync()
            except Exception:  # keep following: the running workspaces must not stop
                log.exception("could not bring the workspaces' loops in step with the register")


def _stop_all(stops: list[Stop]) -> None:
    for stop in stops:
        try:
            stop()
        except Exception:
            log.exception("a loop did not stop cleanly")
