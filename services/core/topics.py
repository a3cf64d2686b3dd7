"""A topic of the workspace taxonomy: what analysts want mentions sorted by."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

TopicText = Annotated[str, Field(min_length=3, max_length=500)]


class Topic(BaseModel):
    """A theme mentions are tagged with when they are about it, in any language."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "delivery",
                    "description": "Delivery of the bike: delays, lost or damaged parcels",
                    "examples": [
                        "Toujours pas reçu mon vélo, trois semaines de retard",
                        "My e-bike arrived with a broken box and a bent wheel",
                    ],
                }
            ]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[\w .\-/&]+$")]
    description: TopicText
    examples: list[TopicText] = Field(
        default_factory=list,
        max_length=20,
        description="short texts about the topic, in the words people use for it and in the"
        " languages you watch (5 to 20; correct tags rather than paste whole posts)",
    )

    def anchors(self) -> list[str]:
        """The texts a mention is compared with: the description, then each example."""
        return list(dict.fromkeys([self.description, *self.examples]))
