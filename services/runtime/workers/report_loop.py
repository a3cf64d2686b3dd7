"""Scheduled reports in the running service (`veille up`): one APScheduler cron job per
report with a `schedule`, weekly on Monday or monthly on the 1st, at its hour in the
report's time zone. Each run renders the report, keeps it and emails it.

Definitions are re-read every minute, so a report added over the API is scheduled without
a restart. With several processes on one state store, a lease per report and period
(`report:NAME:FIRST_DAY`, held for a week) lets only one of them send it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from services.alerting.secret_scope import context_scope
from services.core.reports import ReportDefinition
from services.reports.period import windows
from services.reports.service import definitions, run_report
from services.runtime.app.context import ServiceContext
from services.store.state.leases import new_owner_id

log = logging.getLogger("veille.reports")

_PREFIX = "report:"
_REFRESH = "reports:refresh"
_RETRY = "report-retry:"
SEND_LEASE_SECONDS = 7 * 24 * 3600.0
MAX_ATTEMPTS = 4
RETRY_MINUTES = 15


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

    def __init__(self, ctx: ServiceContext, *, refresh_seconds: float = 60.0) -> None:
        self.ctx = ctx
        self.owner = new_owner_id()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._signatures: dict[str, str] = {}
        self._refresh_seconds = refresh_seconds

    def start(self) -> None:
        """Schedules the reports and starts the scheduler's thread."""
        self.refresh()
        self._scheduler.add_job(
            self.refresh, "interval", seconds=self._refresh_seconds, id=_REFRESH
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stops the thread (a report being rendered is finished first)."""
        self._scheduler.shutdown(wait=True)

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
        except Exception:
            log.exception("could not read the report definitions")
            return
        for name in set(self._signatures) - set(wanted):
            self._scheduler.remove_job(_PREFIX + name)
            del self._signatures[name]
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

    def run(self, name: str, now: datetime | None = None, attempt: int = 1) -> bool:
        """Renders, keeps and emails one report, unless another process already did for
        this period; True when this call sent it. A temporary SMTP failure is retried
        (`RETRY_MINUTES` later, `MAX_ATTEMPTS` in all) for the same period."""
        from services.alerting.notifiers.base import DeliveryError
        from services.reports.delivery import send_report

        now = now or datetime.now(UTC)
        lease = None
        try:
            definition = definitions(self.ctx).get(name)
            window, _ = windows(definition, now=now)
            lease = f"{_PREFIX}{name}:{window.first_day.isoformat()}"
            if lease not in self.ctx.leases.acquire(
                [lease], owner=self.owner, ttl=SEND_LEASE_SECONDS
            ):
                log.info("report %s for %s is another process's to send", name, window.first_day)
                return False
            run = run_report(self.ctx, definition, now=now)
            assert run.kept is not None
            sent = send_report(
                self.ctx.settings, run.figures, run.rendered, run.kept, context_scope(self.ctx)
            )
        except DeliveryError as exc:
            if exc.permanent or attempt >= MAX_ATTEMPTS or lease is None:
                log.warning("report %s was not sent: %s", name, exc)
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
        except Exception:
            log.exception("scheduled report %s failed", name)
            return False
        log.info("report %s sent to %d recipient(s)", name, sent)
        return True

    def pending_retries(self) -> list[str]:
        """The reports waiting for another delivery attempt."""
        return [
            job.id.removeprefix(_RETRY)
            for job in self._scheduler.get_jobs()
            if job.id.startswith(_RETRY)
        ]
