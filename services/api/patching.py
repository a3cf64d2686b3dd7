"""PATCH bodies: the fields to change, merged into what is stored and checked as a whole.

A PATCH names only what changes (`{"name": "new-name"}` renames); the merged result is
validated by the resource's own model, so a bad value is refused exactly as a create would
refuse it: a 422 whose `errors` name the field.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Body
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

Changes = Annotated[
    dict[str, Any],
    Body(
        description="the fields to change (the others keep their value); "
        "`name` renames it, when the new name is free",
        examples=[{"name": "veloria-delivery", "description": "delivery complaints"}],
    ),
]


def patched(model: type[M], current: dict[str, Any], changes: dict[str, Any]) -> M:
    """`current` with `changes` applied, validated by `model`; a 422 naming the field."""
    try:
        return model.model_validate({**current, **changes})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def stored_fields(model: type[BaseModel], value: BaseModel) -> dict[str, Any]:
    """The fields of `value` that `model` accepts (a stored resource's editable part)."""
    return value.model_dump(mode="json", include=set(model.model_fields))
