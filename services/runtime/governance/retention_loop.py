"""Retention in the running service (`veille up`): one APScheduler cron job a day at
`settings.retention.daily_at` (UTC). Unfinished erasures are resumed when it starts.

With several processes on one state store, a lease per day (`retention:DATE`, held for
a day) lets only one of them run it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from services.runtime.app.context import ServiceContext
from services.runtime.app.failures import log_failure
from services.runtime.app.schedulers import stop_scheduler
from services.runtime.governance.retention import RetentionError, apply_retention
from services.store.state.governance import RetentionRun
from services.store.state.leases import new_owner_id

log = logging.getLogger("veille.governance")

JOB_ID = "retention:daily"
LEASE_SECONDS = 24 * 3600.0
_TOMORROW = "it runs again tomorrow, or now with `veille retention apply`"


class RetentionScheduler:
    """Applies the retention policy once a day."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.owner = new_owner_id()
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        """Schedules the daily run, resumes unfinished erasures, starts the thread."""
        hour, minute = (int(p) for p in self.ctx.settings.retention.daily_at.split(":"))
        self._scheduler.add_job(
            self.run,
            CronTrigger(hour=hour, minute=minute, timezone=UTC),
            id=JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,
        )
        # At start, then every 10 minutes: a job whose process died is free after its lease.
        self._scheduler.add_job(self.resume_erasures, "date", id="erasures:resume")
        self._scheduler.add_job(
            self.resume_erasures, "interval", minutes=10, id="erasures:resume-later"
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stops the thread (a run under way is finished first)."""
        stop_scheduler(self._scheduler)

    def next_run(self) -> datetime | None:
        """When the daily run comes next."""
        job = self._scheduler.get_job(JOB_ID)
        return getattr(job, "next_run_time", None) if job is not None else None

    def run(self, now: datetime | None = None) -> RetentionRun | None:
        """Applies retention unless another process already did today; the run, or None."""
        moment = now or datetime.now(UTC)
        lease = f"retention:{moment.date().isoformat()}"
        try:
            if lease not in self.ctx.leases.acquire([lease], owner=self.owner, ttl=LEASE_SECONDS):
                log.info("today's retention run is another process's")
                return None
            return apply_retention(self.ctx, trigger="daily", now=moment)
        except Exception as error:
            log_failure(
                log,
                "the daily retention run failed",
                error,
                then=_TOMORROW,
                bad_settings=(RetentionError,),
            )
            return None

    def resume_erasures(self) -> None:
        """Finishes the erasures a stopped process left unfinished."""
        from services.runtime.governance.erasure import resume_erasures

        try:
            resume_erasures(self.ctx)
        except Exception as error:
            log_failure(
                log,
                "could not resume the unfinished erasures",
                error,
                then="trying again in 10 minutes (or `veille erase --resume`)",
            )
