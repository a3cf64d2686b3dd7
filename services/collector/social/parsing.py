"""Small pure helpers the connectors share to read JSON payloads defensively."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.collector.social.base import MalformedResponse


def load_json(body: bytes, *, expect: type = dict) -> Any:
    """Decodes a JSON body of the expected top-level type; raises MalformedResponse."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedResponse(f"not JSON ({str(error)[:100]})") from None
    if not isinstance(data, expect):
        raise MalformedResponse(f"expected a JSON {expect.__name__}, got {type(data).__name__}")
    return data


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is an object, else {}."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is an array, else []."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """`value` when it is a non-blank string (or a number, as text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_int(value: Any) -> int | None:
    """`value` as an int when it is a number or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)  # exactly: snowflake ids do not survive a float
        try:
            return int(float(text))
        except (ValueError, OverflowError):
            return None
    return None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time or a Unix time, as an aware UTC datetime; None if unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch(moment: datetime | None) -> int | None:
    """A datetime as whole Unix seconds."""
    return None if moment is None else int(moment.timestamp())


def iso(seconds: int) -> str:
    """Unix seconds as an RFC 3339 UTC time ('2024-01-02T03:04:05Z')."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def language(value: Any) -> str | None:
    """A declared language code, lower-case primary subtag ('en-US' -> 'en')."""
    text = as_str(value)
    if text is None:
        return None
    primary = text.replace("_", "-").split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None
