"""A scheduler stopped while it runs a one-off job: APScheduler removes the spent job after
handing it to its executor, and a shutdown landing in between made that removal fail
("No job by the id of ... was found") in the scheduler's thread. The retention loop's
erasures resume and a report's catch-up are such jobs, run as a loop starts: a workspace
archived then stopped at once (tests/api/test_workspace_loops.py) hit it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from services.core.models import Brand
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.schedulers import stop_scheduler
from services.runtime.governance.retention_loop import RetentionScheduler
from tests.factories import local_settings


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException]]:
    """The exceptions raised in any thread while the test runs."""
    found: list[BaseException] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            found.append(args.exc_value)

    threading.excepthook = hook
    yield found
    threading.excepthook = previous


def _stop_lands_mid_pass(scheduler: BackgroundScheduler) -> threading.Event:
    """Holds the scheduler's pass after it hands a due job to the executor until a stop
    has begun (or 2 s went by): the interleaving a busy machine produces by chance. Set
    before the scheduler starts (its first pass runs the jobs due at once)."""
    executor = ThreadPoolExecutor()
    submit = executor.submit_job
    handed = threading.Event()

    def slow_submit(job: Job, run_times: list[datetime]) -> None:
        submit(job, run_times)
        handed.set()
        deadline = time.monotonic() + 2
        while scheduler.state != STATE_STOPPED and time.monotonic() < deadline:
            time.sleep(0.01)

    executor.submit_job = slow_submit
    scheduler.add_executor(executor, "default")
    return handed


def test_a_stop_during_a_one_off_job_s_pass_raises_nothing(
    thread_errors: list[BaseException],
) -> None:
    ran = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    handed = _stop_lands_mid_pass(scheduler)
    scheduler.add_job(ran.set, "date", run_date=datetime.now(UTC), id="once")
    scheduler.start()
    assert handed.wait(5)
    stop_scheduler(scheduler)
    time.sleep(0.1)  # the scheduler's thread has finished its pass
    assert ran.is_set()
    assert not scheduler.running
    assert thread_errors == []


def test_the_retention_loop_stopped_as_it_starts_raises_nothing(
    tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    """Its first pass resumes the unfinished erasures, a one-off job: a workspace archived
    (its retention starts) then the service stopped at once."""
    settings = local_settings(tmp_path)
    ctx = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    try:
        retention = RetentionScheduler(ctx)
        handed = _stop_lands_mid_pass(retention._scheduler)
        retention.start()
        assert handed.wait(5)
        retention.shutdown()
        time.sleep(0.1)
        assert thread_errors == []
    finally:
        ctx.close()


def test_stopping_a_scheduler_twice_or_never_started_is_quiet() -> None:
    never = BackgroundScheduler(timezone=UTC)
    stop_scheduler(never)
    started = BackgroundScheduler(timezone=UTC)
    started.start()
    stop_scheduler(started)
    stop_scheduler(started)
    assert not started.running


def test_a_ctrl_c_while_the_loops_start_stops_those_already_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`veille up` interrupted half-way through starting a workspace (the collector may
    already be fetching): the loops started so far stop, so none of their threads is left
    to keep the process alive."""
    from services.runtime.workers import workspace_loops
    from services.runtime.workers.alert_loop import AlertLoop
    from services.runtime.workers.analysis import AnalysisWorker

    def interrupted(self: RetentionScheduler) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(RetentionScheduler, "start", interrupted)
    started: list[threading.Thread] = []
    for loop in (AnalysisWorker, AlertLoop):
        real_start = loop.start

        def recording_start(self: threading.Thread, real_start=real_start) -> None:  # type: ignore[no-untyped-def]
            started.append(self)
            real_start(self)

        monkeypatch.setattr(loop, "start", recording_start)
    settings = local_settings(tmp_path)
    ctx = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    try:
        with pytest.raises(KeyboardInterrupt):
            workspace_loops.start_service_loops(ctx)
        assert len(started) == 2  # the analysis worker and the alert loop were running
        for thread in started:
            thread.join(5)
            assert not thread.is_alive(), thread.name
        assert ctx.local_collector is None  # the collector was stopped too
    finally:
        ctx.close()
