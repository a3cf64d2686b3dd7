"""Scheduled reports in the running service (`veille up`): one APScheduler cron job per
report with a `schedule`, weekly on Monday or monthly on the 1st, at its hour in the
report's time zone. Each run renders the report, keeps it and emails it.

Definitions are re-read every minute, so a report added over the API is scheduled without
a restart. On start and at each of those passes, a report whose latest slot passed with no
delivery recorded for its period (the service was down at 08:00) is sent then. With
several processes on one state store, a lease per report and period
(`report:NAME:FIRST_DAY`, held for a week) lets only one of them send it. Within one
process (where the lease is already its own), the cron job and a catch-up claim the period
under a lock: whichever comes second sends nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from services.alerting.secret_scope import context_scope
from services.core.reports import ReportDefinition, StoredReport
from services.reports.first_seen import FirstSeen
from services.reports.period import windows
from services.reports.service import definitions, run_report
from services.reports.store import Renders
from services.runtime.app.context import ServiceContext
from services.runtime.app.failures import log_failure
from services.runtime.app.schedulers import stop_scheduler
from services.store.contracts import IndexUnavailable
from services.store.state.errors import StateStoreError
from services.store.state.leases import new_owner_id

log = logging.getLogger("veille.reports")

_PREFIX = "report:"
_REFRESH = "reports:refresh"
_RETRY = "report-retry:"
_CATCH_UP = "report-catch-up:"
SEND_LEASE_SECONDS = 7 * 24 * 3600.0
MAX_ATTEMPTS = 4
RETRY_MINUTES = 15


def _latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The trigger's last fire time at or before `now` (within its period: weekly or
    monthly, so looking 32 days back is enough)."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - timedelta(days=32))
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def trigger_for(definition: ReportDefinition) -> CronTrigger | None:
    """Monday (or the 1st of the month) at the report's hour, in its time zone."""
    schedule = definition.schedule
    if schedule is None:
        return None
    hour, minute = (int(p) for p in schedule.at.split(":"))
    when: dict[str, Any] = {"day_of_week": "mon"} if schedule.every == "week" else {"day": 1}
    return CronTrigger(hour=hour, minute=minute, timezone=definition.zone, **when)


class ReportScheduler:
    """Keeps one cron job per scheduled report."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        refresh_seconds: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ctx = ctx
        self._clock = clock  # what a missed slot is measured against
        self.owner = new_owner_id()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._signatures: dict[str, str] = {}
        self._refresh_seconds = refresh_seconds
        self._attempted: set[str] = set()  # leases (report and period) this process claimed
        self._claims = threading.Lock()

    def start(self) -> None:
        """Schedules the reports and starts the scheduler's thread."""
        self.refresh()
        self._scheduler.add_job(
            self.refresh, "interval", seconds=self._refresh_seconds, id=_REFRESH
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stops the thread (a report being rendered is finished first)."""
        stop_scheduler(self._scheduler)

    def next_runs(self) -> dict[str, datetime]:
        """Each scheduled report's next run time."""
        return {
            job.id.removeprefix(_PREFIX): job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.id.startswith(_PREFIX) and getattr(job, "next_run_time", None) is not None
        }

    def refresh(self) -> None:
        """Adds, replaces and removes jobs to match the definitions."""
        try:
            wanted = {d.name: d for d in definitions(self.ctx).list() if d.schedule}
        except Exception as error:
            log_failure(
                log,
                "could not read the report definitions",
                error,
                then=f"trying again in {self._refresh_seconds:.0f} s",
            )
            return
        for name in set(self._signatures) - set(wanted):
            with contextlib.suppress(JobLookupError):  # the scheduler stopping took it
                self._scheduler.remove_job(_PREFIX + name)
            del self._signatures[name]
        self.catch_up(list(wanted.values()), now=self._clock())
        for name, definition in wanted.items():
            signature = definition.model_dump_json(exclude={"updated_at"})
            if self._signatures.get(name) == signature:
                continue
            self._scheduler.add_job(
                self.run,
                trigger_for(definition),
                args=[name],
                id=_PREFIX + name,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=6 * 3600,
            )
            self._signatures[name] = signature
            log.info("report %s scheduled (%s)", name, definition.schedule)

    def missed(self, definition: StoredReport, *, now: datetime) -> datetime | None:
        """The report's latest due slot when it passed without a delivery: the cron jobs
        live in memory, so a service started (or restarted) after Monday 08:00 would
        otherwise never send that week's report. None without SMTP settings, when the
        slot's period is over, when a render of that period was emailed (its delivery is
        recorded on it), when this process already tried, or when the definition was saved
        (API) or first seen (workspace YAML, see `FirstSeen`) after the slot."""
        trigger = trigger_for(definition)
        if trigger is None or not self.ctx.settings.alerting.smtp_host:
            return None  # nothing to catch up on without email: renders are on demand
        # A slot from before the report existed was never missed: an API report's floor
        # is its file's time, a YAML one's when the service first saw it.
        floor = definition.updated_at or FirstSeen(self.ctx.settings.data_dir).floor(
            definition.name, now=now
        )
        slot = _latest_fire_time(trigger, now)
        if slot is None or floor > slot:
            return None
        window, _ = windows(definition, now=slot)
        if windows(definition, now=now)[0] != window:
            return None  # the next period has begun
        if _PREFIX + f"{definition.name}:{window.first_day.isoformat()}" in self._attempted:
            return None
        renders = Renders(self.ctx.settings.data_dir).list(definition.name)
        if any(r.since == window.since and r.sent_at is not None for r in renders):
            return None
        return slot

    def catch_up(self, wanted: list[StoredReport], *, now: datetime) -> list[str]:
        """Queues the reports whose latest slot was missed (see `missed`) to be sent now,
        on the scheduler's threads; their names."""
        queued = []
        for definition in wanted:
            try:
                slot = self.missed(definition, now=now)
            except Exception as error:
                what = f"could not check report {definition.name} for a missed slot"
                log_failure(log, what, error)
                continue
            if slot is None:
                continue
            window, _ = windows(definition, now=slot)
            if not self._claim(f"{_PREFIX}{definition.name}:{window.first_day.isoformat()}"):
                continue  # the cron job fired meanwhile: it sends the report
            log.warning(
                "report %s missed its slot of %s (the service was not running); sending it now",
                definition.name,
                slot.isoformat(),
            )
            self._scheduler.add_job(
                self.run,
                "date",
                run_date=now,
                args=[definition.name, now],
                kwargs={"claimed": True},
                id=f"{_CATCH_UP}{definition.name}",
                replace_existing=True,
                misfire_grace_time=None,
            )
            queued.append(definition.name)
        return queued

    def _claim(self, lease: str) -> bool:
        """Marks the period as this process's to send; False when it already was (a
        catch-up queued it, or the cron job ran): the lease alone cannot tell, since
        `acquire` hands a process back the leases it holds."""
        with self._claims:
            if lease in self._attempted:
                return False
            self._attempted.add(lease)
            return True

    def run(
        self, name: str, now: datetime | None = None, attempt: int = 1, *, claimed: bool = False
    ) -> bool:
        """Renders, keeps and emails one report, unless another process already did for
        this period, or this one did or queued it (`claimed`: the catch-up that queued this
        call claimed the period); True when this call sent it. A temporary SMTP failure is
        retried (`RETRY_MINUTES` later, `MAX_ATTEMPTS` in all) for the same period."""
        from services.alerting.notifiers.base import DeliveryError
        from services.reports.delivery import send_report

        now = now or datetime.now(UTC)
        lease = None
        try:
            definition = definitions(self.ctx).get(name)
            window, _ = windows(definition, now=now)
            lease = f"{_PREFIX}{name}:{window.first_day.isoformat()}"
            if attempt == 1 and not claimed and not self._claim(lease):
                log.info("report %s for %s is already being sent", name, window.first_day)
                return False
            if lease not in self.ctx.leases.acquire(
                [lease], owner=self.owner, ttl=SEND_LEASE_SECONDS
            ):
                log.info("report %s for %s is another process's to send", name, window.first_day)
                return False
            run = run_report(self.ctx, definition, now=now)
            assert run.kept is not None
            delivery = send_report(
                self.ctx.settings,
                run.figures,
                run.rendered,
                run.kept,
                context_scope(self.ctx),
                now=now,
            )
        except DeliveryError as exc:
            if exc.permanent or attempt >= MAX_ATTEMPTS or lease is None:
                log_failure(log, f"report {name} was not sent", exc)
                return False
            self.ctx.leases.release(owner=self.owner, names=[lease])
            retry_at = datetime.now(UTC) + timedelta(minutes=RETRY_MINUTES)
            self._scheduler.add_job(
                self.run,
                "date",
                run_date=retry_at,
                args=[name, now, attempt + 1],
                id=f"{_RETRY}{name}",
                replace_existing=True,
            )
            log.warning("report %s was not sent (%s); retrying at %s", name, exc, retry_at)
            return False
        except Exception as error:
            if isinstance(error, IndexUnavailable | StateStoreError):
                # Nothing was sent: the next pass's catch-up tries the period again.
                with self._claims:
                    self._attempted.discard(lease or "")
                then = f"trying again within {self._refresh_seconds:.0f} s"
            else:
                then = f"fix the cause, then `veille report run {name} --send`"
            log_failure(log, f"scheduled report {name} failed", error, then=then)
            return False
        log.info(
            "report %s sent to %d recipient(s), %d failed",
            name,
            len(delivery.sent),
            len(delivery.failed),
        )
        return True

    def pending_retries(self) -> list[str]:
        """The reports waiting for another delivery attempt."""
        return [
            job.id.removeprefix(_RETRY)
            for job in self._scheduler.get_jobs()
            if job.id.startswith(_RETRY)
        ]
