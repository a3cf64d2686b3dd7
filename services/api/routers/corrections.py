"""Analyst corrections: label a mention's sentiment, topics or brands; list the corrections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, status
from pydantic import BaseModel, Field, field_validator

from services.api.deps import ContextDep, IndexDep, StateDep, require_api_key
from services.api.params import MAX_ROW_ID
from services.api.problems import Problem
from services.core.brand_names import BrandNames, UnknownBrand, names_in
from services.core.models import SentimentLabel
from services.runtime.training.corrections import record_correction
from services.store.state.contract import ApiKeyInfo

router = APIRouter(tags=["corrections"])

CallerDep = Annotated[ApiKeyInfo | None, Depends(require_api_key)]

# What analysts type besides the English labels.
_LABEL_ALIASES = {"negatif": "negative", "négatif": "negative", "neutre": "neutral"}
_LABEL_ALIASES |= {"positif": "positive"}


class SentimentCorrection(BaseModel):
    """The sentiment an analyst gives a mention, overall or toward one brand it names."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"label": "negative", "brand": "Veloria"}]},
    }

    label: SentimentLabel = Field(description="negative, neutral or positive (or in French)")
    brand: str | None = Field(
        default=None, min_length=1, max_length=200, description="a brand or competitor named"
    )

    @field_validator("label", mode="before")
    @classmethod
    def _french(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return _LABEL_ALIASES.get(lowered, lowered)
        return value


class TopicsCorrection(BaseModel):
    """The topics an analyst gives a mention (replacing the analyzer's)."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"topics": ["after-sales"]}]},
    }

    topics: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(max_length=20)

    @field_validator("topics")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(t.strip() for t in value))
        if any(not t for t in cleaned):
            raise ValueError("a topic cannot be blank")
        return cleaned


class BrandCorrection(BaseModel):
    """Whether a mention is about a brand or competitor of the workspace: `false` removes
    a tag the analyzer gave, `true` adds one it missed (or confirms it)."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"brand": "Orange", "about_brand": False}]},
    }

    brand: str = Field(min_length=1, max_length=200, description="a brand or competitor")
    about_brand: bool = Field(description="whether the mention is about it")


class Correction(BaseModel):
    id: int
    mention_id: str
    field: str
    brand: str | None
    label: Any
    author: str | None
    created_at: Any


class CorrectionResult(BaseModel):
    correction: Correction
    updated: list[str] = Field(description="ids of the mentions now carrying the label")
    warnings: list[str] = Field(
        default_factory=list,
        description="what the analyst may want to look at again; the correction is kept",
    )


def _apply(
    state: StateDep,
    index: IndexDep,
    caller: ApiKeyInfo | None,
    *,
    mention_id: str,
    field: str,
    label: Any,
    brand: str | None = None,
    warn: Callable[[str], list[str]] | None = None,
    names_brand: Callable[[str], bool] | None = None,
) -> CorrectionResult:
    """Records and applies the correction; `warn` says what to tell about the mention's
    text (the correction is kept whatever it says)."""
    try:
        outcome = record_correction(
            state=state,
            index=index,
            mention_id=mention_id,
            field=field,
            label=label,
            brand=brand,
            author=caller.name if caller is not None else None,
            names_brand=names_brand,
        )
    except ValueError as exc:
        raise Problem(422, "Invalid correction", str(exc)) from exc
    return CorrectionResult(
        correction=Correction.model_validate(outcome.correction),
        updated=outcome.updated,
        warnings=warn(str(outcome.correction["text"])) if warn else [],
    )


@router.post(
    "/mentions/{mention_id}/sentiment",
    status_code=status.HTTP_201_CREATED,
    summary="Correct a mention's sentiment",
)
def correct_sentiment(
    mention_id: str,
    body: SentimentCorrection,
    state: StateDep,
    index: IndexDep,
    caller: CallerDep,
) -> CorrectionResult:
    """Records the analyst's sentiment (overall, or toward `brand`) and applies it at once to
    the mention and its exact duplicates; later analysis keeps it."""
    return _apply(
        state,
        index,
        caller,
        mention_id=mention_id,
        field="sentiment",
        label=body.label.value,
        brand=body.brand,
    )


@router.post(
    "/mentions/{mention_id}/topics",
    status_code=status.HTTP_201_CREATED,
    summary="Correct a mention's topics",
)
def correct_topics(
    mention_id: str,
    body: TopicsCorrection,
    ctx: ContextDep,
    state: StateDep,
    index: IndexDep,
    caller: CallerDep,
) -> CorrectionResult:
    """Records the analyst's topics and applies them to the mention and its exact duplicates.
    With a taxonomy in the workspace, only its topics are accepted: a stray name would
    never be counted with the topic it was meant for."""
    known = [topic.name for topic in ctx.taxonomy.topics()]
    unknown = [name for name in body.topics if known and name not in known]
    if unknown:
        raise Problem(
            422,
            "Invalid correction",
            f"unknown topic(s) {', '.join(map(repr, unknown))}; "
            f"the workspace's topics are: {', '.join(known)}",
        )
    return _apply(state, index, caller, mention_id=mention_id, field="topics", label=body.topics)


@router.post(
    "/mentions/{mention_id}/brands",
    status_code=status.HTTP_201_CREATED,
    summary="Say whether a mention is about a brand",
)
def correct_brand(
    mention_id: str,
    body: BrandCorrection,
    ctx: ContextDep,
    state: StateDep,
    index: IndexDep,
    caller: CallerDep,
    background: BackgroundTasks,
) -> CorrectionResult:
    """Records the analyst's verdict and applies it at once to the mention and its exact
    duplicates (the tag is removed or added; later analysis keeps it). For a name judged
    in context (a common word with a description, such as Orange), the brand tagger then
    learns the passage as an example of that sense, for mentions analyzed from now on;
    with 8 or more of each kind it also chooses the brand's threshold (`veille brands
    check NAME` measures what they bought; a worker running as a separate process learns
    them when it restarts). Other names are tagged from the names alone: the verdict fixes
    the mention and teaches nothing."""
    # Its name or an alias, case and accents aside, as in share of voice (`@veloria`).
    try:
        found = BrandNames.of(state).resolve(body.brand)
    except UnknownBrand as exc:
        raise Problem(422, "Invalid correction", str(exc)) from None
    name = found.name

    def unnamed(text: str) -> list[str]:
        # Kept (a reply can be about a brand it never names), but likely a slip.
        if not body.about_brand or names_in(text, found.entity):
            return []
        aliases = ", ".join(found.entity.aliases)
        nor = f" nor any of its aliases ({aliases})" if aliases else ""
        return [
            f"the mention's text does not name {name}{nor}: the tag is added all the same "
            "(right for a reply about it; otherwise take it back with about_brand false)"
        ]

    result = _apply(
        state,
        index,
        caller,
        mention_id=mention_id,
        field="brand",
        label={"about_brand": body.about_brand, "role": found.role},
        brand=name,
        warn=unnamed,
        names_brand=lambda text: names_in(text, found.entity),
    )
    if "analyzer" in ctx.__dict__ and ctx.analyzer.tagger.judge.learns(name):
        background.add_task(ctx.brands_changed)  # relearning embeds passages: after the answer
    return result


@router.get("/corrections", summary="List corrections", dependencies=[Depends(require_api_key)])
def list_corrections(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="the last id of the page")
    ] = None,
) -> list[Correction]:
    """Corrections newest first, superseded ones included (they are history)."""
    return [
        Correction.model_validate(r)
        for r in state.list_corrections(before_id=before_id, limit=limit)
    ]
