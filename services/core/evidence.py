"""Why a sentiment label was given: the sentences judged and the words that weighed most."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WeightedWord(BaseModel):
    """A word or phrase of the text and how much it pushed toward the label (> 0) or
    against it (< 0), in logit units of the n-gram model."""

    model_config = ConfigDict(frozen=True)

    text: str
    weight: float


class Evidence(BaseModel):
    """What a sentiment label rests on."""

    model_config = ConfigDict(frozen=True)

    sentences: list[str] = Field(
        default_factory=list, description="the sentence(s) the label was based on"
    )
    span: str | None = Field(
        default=None,
        description="for a brand judged on part of the text, that part (the clauses about "
        "it); None when the whole text was judged",
    )
    words: list[WeightedWord] = Field(
        default_factory=list,
        description="the words that weighed most, strongest first; weight > 0 supports the "
        "label, < 0 argues against it",
    )
