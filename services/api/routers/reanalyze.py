"""Re-analysis jobs: start one in the background, follow its progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from services.api.deps import ContextDep, StateDep, require_api_key
from services.api.params import TIME_FORMS, BodyTime, to_utc
from services.api.problems import Problem
from services.runtime.workers.reanalyze import BackgroundReanalysis, job_spec

router = APIRouter(
    prefix="/reanalyze", tags=["re-analysis"], dependencies=[Depends(require_api_key)]
)


class ReanalysisRequest(BaseModel):
    """Which stored mentions to analyze again."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"since": "2026-11-01", "query": "brand:Veloria"},
                {"since": "7d"},
            ]
        },
    }

    since: BodyTime = Field(description=f"published at or after: {TIME_FORMS}")
    until: BodyTime | None = Field(default=None, description=f"published before: {TIME_FORMS}")
    query: Annotated[str, Field(max_length=2000)] = ""


class ReanalysisJob(BaseModel):
    id: str
    spec: dict[str, Any]
    status: str = Field(description="pending (waiting or stopped), running, done or failed")
    done: int
    total: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime


def _utc(value: datetime) -> datetime:
    utc = to_utc(value)
    assert utc is not None
    return utc


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Start a re-analysis")
def start_reanalysis(body: ReanalysisRequest, ctx: ContextDep, request: Request) -> ReanalysisJob:
    """Starts re-analyzing stored mentions in the background (one job at a time); the
    answer is the job, to follow at `GET /api/v1/reanalyze/{id}`."""
    threads: dict[str, BackgroundReanalysis] = request.app.state.__dict__.setdefault(
        "reanalysis_threads", {}
    )
    running = [job_id for job_id, t in threads.items() if t.is_alive()]
    if running:
        raise Problem(409, "Re-analysis under way", f"job {running[0]} is still running")
    try:
        spec = job_spec(
            since=_utc(body.since),
            until=_utc(body.until) if body.until else None,
            query=body.query,
        )
    except ValueError as exc:
        raise Problem(422, "Invalid re-analysis", str(exc)) from exc
    job = ctx.state.create_reanalysis_job(spec)
    thread = BackgroundReanalysis(ctx, job["id"])
    threads[job["id"]] = thread
    thread.start()
    return ReanalysisJob.model_validate(job)


@router.get("", summary="List re-analysis jobs")
def list_reanalyses(state: StateDep) -> list[ReanalysisJob]:
    """The latest jobs, newest first (those started by `veille reanalyze` too)."""
    return [ReanalysisJob.model_validate(j) for j in state.list_reanalysis_jobs()]


@router.get("/{job_id}", summary="Follow a re-analysis")
def get_reanalysis(job_id: str, state: StateDep) -> ReanalysisJob:
    """A job's status and progress (`done` of `total` mentions)."""
    return ReanalysisJob.model_validate(state.get_reanalysis_job(job_id))
