"""The window a report covers, and the one before it, as UTC instants.

Calendar periods are the last *complete* week (Monday to Sunday), month or quarter in the
report's time zone: a report sent on Monday 08:00 covers the week that just ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.core.reports import ReportDefinition
from services.store.contracts import Interval


@dataclass(frozen=True)
class Window:
    """[since, until) in UTC, and the local dates it spans (both included)."""

    since: datetime
    until: datetime
    first_day: date
    last_day: date
    to_date: bool = False  # a custom period rendered before its end: it stops at the render

    @property
    def days(self) -> int:
        """How many calendar days the window spans."""
        return (self.last_day - self.first_day).days + 1


def _window(first: date, after_last: date, zone: ZoneInfo, *, to_date: bool = False) -> Window:
    def at_midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return Window(
        at_midnight(first), at_midnight(after_last), first, after_last - timedelta(1), to_date
    )


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


class PeriodError(ValueError):
    """The definition's period cannot be turned into dates (a definition stored before
    its bounds were checked)."""


def windows(definition: ReportDefinition, *, now: datetime) -> tuple[Window, Window]:
    """The report's window and the previous one of the same kind (same length for custom);
    PeriodError when those dates cannot be represented."""
    try:
        return _windows(definition, now=now)
    except (OverflowError, ValueError) as exc:
        raise PeriodError(
            f"the period of report {definition.name!r} ({definition.since} to "
            f"{definition.until}) gives dates out of range: {exc}"
        ) from None


def _windows(definition: ReportDefinition, *, now: datetime) -> tuple[Window, Window]:
    zone = definition.zone
    today = now.astimezone(zone).date()
    if definition.period == "custom":
        assert definition.since is not None and definition.until is not None
        first, after = definition.since, definition.until + timedelta(1)
        to_date = first <= today < after  # not over yet: it ends today, said "to date"
        if to_date:
            after = today + timedelta(1)
        length = after - first
        return (
            _window(first, after, zone, to_date=to_date),
            _window(first - length, first, zone),
        )
    if definition.period == "last_week":
        monday = today - timedelta(days=today.weekday())
        first = monday - timedelta(7)
        return _window(first, monday, zone), _window(first - timedelta(7), first, zone)
    months = 1 if definition.period == "last_month" else 3
    current = _month_start(today, 0)
    if months == 3:
        current = _month_start(current, (current.month - 1) % 3)  # this quarter's first day
    first = _month_start(current, months)
    return _window(first, current, zone), _window(_month_start(first, months), first, zone)


def interval_for(window: Window) -> Interval:
    """Volume: days up to about two months, weeks beyond."""
    return Interval.DAY if window.days <= 62 else Interval.WEEK


def trend_interval_for(window: Window) -> Interval:
    """Shares and net sentiment, ratios that a handful of mentions make jump: days for a
    week or two, weeks beyond."""
    return Interval.DAY if window.days <= 14 else Interval.WEEK
