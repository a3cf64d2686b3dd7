"""Stopping an APScheduler scheduler without racing its own bookkeeping.

A pass of the scheduler's thread hands each due job to the executor, then reschedules
it, or removes it when it will not run again (a one-off "date" job: the retention loop's
erasures resume, a report's catch-up or retry). `shutdown()` marks the scheduler stopped
before it waits for that pass, and a removal made once it is marked looks for the job
among those not yet started, finds none and raises "No job by the id of ... was found"
in the scheduler's thread (APScheduler 3.11). So: pause (a pass starting now does
nothing), wait for the pass under way (`remove_all_jobs` takes the lock it holds; the
jobs go with the scheduler anyway), then shut down.
"""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler


def stop_scheduler(scheduler: BaseScheduler) -> None:
    """Stops the scheduler, a job under way finished first; quiet when it is not running."""
    if not scheduler.running:
        return
    scheduler.pause()
    scheduler.remove_all_jobs()
    scheduler.shutdown(wait=True)
