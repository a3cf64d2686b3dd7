"""What tells a brand apart from the common word it shares a name with ("Orange",
"Apple", "Total", "Free", "Mars"): the optional fields of Brand and Competitor."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

Term = Annotated[str, Field(min_length=1, max_length=200)]
Example = Annotated[str, Field(min_length=1, max_length=1000)]


class BrandContext(BaseModel):
    """Context used to decide whether an ambiguous alias is about the brand."""

    description: str | None = Field(
        default=None,
        max_length=1000,
        description="what the brand is, in a sentence or two; an ambiguous alias counts when "
        "its passage reads more like this than like the common word",
    )
    ambiguous: bool | None = Field(
        default=None,
        description="true: single-word aliases are also common words and are checked in "
        "context; false: never checked; unset: checked when the brand has a description "
        "and the alias is a French or English dictionary word",
    )
    context_required: list[Term] = Field(
        default_factory=list,
        description="an ambiguous alias counts only if the text also has one of these terms",
    )
    context_confirming: list[Term] = Field(
        default_factory=list,
        description="terms that confirm the brand (its products, people, rivals: 'iPhone', "
        "'Tim Cook', 'Android'): an ambiguous alias with one of them in its passage counts, "
        "whatever its case, without the embedding check",
    )
    context_excluded: list[Term] = Field(
        default_factory=list,
        description="an ambiguous alias does not count if the text has one of these terms",
    )
    other_meanings: list[Term] = Field(
        default_factory=list,
        description="what else the alias means ('the fruit', 'the planet'), compared "
        "with the description",
    )
    examples: list[Example] = Field(
        default_factory=list,
        max_length=50,
        description="short posts that use the name for the brand ('just ordered it on "
        "Amazon'): a passage like one of these counts more readily; a few of each sense "
        "help, more help more",
    )
    other_examples: list[Example] = Field(
        default_factory=list,
        max_length=50,
        description="short posts that use the word in another sense ('deforestation in "
        "the Amazon'): a passage like one of these counts less readily",
    )

    @model_validator(mode="after")
    def _ambiguous_needs_context(self) -> Self:
        if self.ambiguous and not (self.description or self.context_required or self.examples):
            raise ValueError(
                "ambiguous: true needs a description (or examples, or context_required terms) "
                "to tell the brand from the common word"
            )
        return self
