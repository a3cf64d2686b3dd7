"""Dates as pages and forums write them, to timezone-aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


def parse_date(value: str | None) -> datetime | None:
    """Parses an ISO 8601 date or a Unix timestamp; None when it is neither."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit() and 9 <= len(text) <= 13:
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    if not _ISO.match(text):
        return None
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):  # "+0200" -> "+02:00"
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_DMY = re.compile(
    r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})\b(?:\D{0,7}(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?)?",
    re.IGNORECASE,
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "janv", "januar", "janvier", "january"),
            ("feb", "fév", "fev", "févr", "februar", "février", "february"),
            ("mar", "mär", "märz", "mars", "march"),
            ("apr", "avr", "avril", "april"),
            ("may", "mai"),
            ("jun", "juin", "juni", "june"),
            ("jul", "juil", "juillet", "juli", "july"),
            ("aug", "août", "aout", "august"),
            ("sep", "sept", "septembre", "september"),
            ("oct", "okt", "octobre", "oktober", "october"),
            ("nov", "novembre", "november"),
            ("dec", "dez", "déc", "décembre", "dezember", "december"),
        ],
        start=1,
    )
    for name in names
}
_TEXT_DATE = re.compile(
    r"\b(?:(\d{1,2})\.?\s+([^\W\d_]{3,9})\.?|([^\W\d_]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?)"
    r"\s+(\d{4})(?:\D{0,6}(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?)?",
    re.IGNORECASE,
)


def parse_loose_date(value: str | None) -> datetime | None:
    """Parses the dates forums print: ISO, '21.01.2009, 05:42', '27. September 2018',
    'Jan 21, 2009, 5:42 pm' (day first for numeric dates; times taken as UTC)."""
    if not value:
        return None
    text = " ".join(value.split())
    parsed = parse_date(text)
    if parsed:
        return parsed
    match = _DMY.search(text)
    if match:
        day, month, year, hour, minute, meridiem = match.groups()
        return _build(int(year), int(month), int(day), hour, minute, meridiem)
    match = _TEXT_DATE.search(text)
    if match:
        day1, month1, month2, day2, year, hour, minute, meridiem = match.groups()
        month = _MONTHS.get((month1 or month2 or "").lower().rstrip("."))
        if month:
            return _build(int(year), month, int(day1 or day2), hour, minute, meridiem)
    return None


def _build(
    year: int, month: int, day: int, hour: str | None, minute: str | None, meridiem: str | None
) -> datetime | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    hours = int(hour or 0)
    if meridiem and meridiem.lower().startswith("p") and hours < 12:
        hours += 12
    if meridiem and meridiem.lower().startswith("a") and hours == 12:
        hours = 0
    try:
        return datetime(year, month, day, hours, int(minute or 0), tzinfo=UTC)
    except ValueError:
        return None
