"""Stats answers as tables: the rows of their main list, nested counts as columns.

A stats answer (a pydantic model) holds one list of items (buckets, shares, counts,
authors, communities); each item becomes a row. A nested object of counts becomes one
column per key (`by:negative`, `sentiment:positive`), 0 where an item lacks the key.
Those columns come in a fixed order whatever the data: negative, neutral, positive (all
three) for sentiment counts, sorted for any other keys, so that files of two periods
line up.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

from services.exports.columns import Cell


def main_list(answer: BaseModel) -> tuple[str, list[dict[str, Any]]]:
    """The name and items of the answer's list of objects."""
    for name, field in type(answer).model_fields.items():
        inner = get_args(field.annotation)
        if get_origin(field.annotation) is list and inner and _is_model(inner[0]):
            return name, [item.model_dump(mode="python") for item in getattr(answer, name)]
    raise ValueError(f"{type(answer).__name__} has no list of objects to export")


def table(answer: BaseModel) -> tuple[list[str], list[list[Cell]]]:
    """The header and rows of the answer's main list."""
    _, items = main_list(answer)
    flat = [_flatten(item) for item in items]
    header: dict[str, None] = {}
    counts: set[str] = set()
    for item in flat:
        for column, value in item.items():
            header.setdefault(column, None)
            if ":" in column and isinstance(value, int):
                counts.add(column)
    columns = _fixed_order(list(header), counts)
    rows = [
        [item.get(column, 0 if column in counts else None) for column in columns] for item in flat
    ]
    return columns, rows


SENTIMENTS = ("negative", "neutral", "positive")


def _fixed_order(header: list[str], counts: set[str]) -> list[str]:
    """Each group of count columns (`by:*`) at its first place, in a fixed order."""
    groups: dict[str, list[str]] = {}
    for column in header:
        if column in counts:
            groups.setdefault(column.partition(":")[0], []).append(column.partition(":")[2])
    ordered: list[str] = []
    for column in header:
        if column not in counts:
            ordered.append(column)
            continue
        prefix = column.partition(":")[0]
        keys = groups.pop(prefix, None)
        if keys is None:
            continue  # its group is already placed
        if set(keys) <= set(SENTIMENTS):
            keys = list(SENTIMENTS)
            counts.update(f"{prefix}:{k}" for k in keys)  # a label no item has: 0
        else:
            keys = sorted(keys)
        ordered += [f"{prefix}:{k}" for k in keys]
    return ordered


def records(answer: BaseModel) -> list[dict[str, Any]]:
    """The items of the answer's main list as JSON objects (NDJSON lines)."""
    name, _ = main_list(answer)
    dumped: list[dict[str, Any]] = answer.model_dump(mode="json")[name]
    return dumped


def _is_model(kind: object) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _flatten(item: dict[str, Any]) -> dict[str, Cell]:
    flat: dict[str, Cell] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            for inner, cell in value.items():
                flat[f"{key}:{inner}"] = cell
        elif isinstance(value, list):
            flat[key] = [str(v) for v in value]
        else:
            flat[key] = value
    return flat
