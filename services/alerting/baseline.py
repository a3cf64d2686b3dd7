"""Robust seasonal baselines kept incrementally (one closed bucket at a time)."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from datetime import datetime, timedelta

import numpy as np

from services.alerting.rules import Seasonality

#: Consistency constant: 1.4826 * MAD estimates the standard deviation of normal noise.
MAD_TO_SIGMA = 1.4826


def season_key(ts: datetime, seasonality: Seasonality) -> Hashable:
    """The seasonal slot of a bucket: hour of day, (weekday, hour) or one global slot."""
    if seasonality == "daily":
        return ts.hour
    if seasonality == "weekly":
        return (ts.weekday(), ts.hour)
    return 0


class SeasonalBaseline:
    """Median and MAD of past values in the same seasonal slot over a sliding time window."""

    def __init__(self, *, window: timedelta, seasonality: Seasonality) -> None:
        self.window = window
        self.seasonality: Seasonality = seasonality
        self._slots: dict[Hashable, deque[tuple[datetime, float]]] = {}

    def slot(self, ts: datetime) -> deque[tuple[datetime, float]]:
        """The (timestamp, value) history of ts's slot, pruned to the window."""
        key = season_key(ts, self.seasonality)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = deque()
        horizon = ts - self.window
        while slot and slot[0][0] < horizon:
            slot.popleft()
        return slot

    def stats(self, ts: datetime) -> tuple[float, float, int]:
        """Returns (median, sigma from MAD, sample count) for the slot of ts, before ts."""
        slot = self.slot(ts)
        if not slot:
            return 0.0, 0.0, 0
        values = np.fromiter((v for _, v in slot), dtype=float, count=len(slot))
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median)))
        return median, MAD_TO_SIGMA * mad, len(slot)

    def add(self, ts: datetime, value: float) -> None:
        """Adds a closed bucket's value to its slot."""
        self.slot(ts).append((ts, value))


class LevelTracker:
    """Median ratio observed/seasonal over a recent window: follows trend and level shifts.

    The median over a day ignores a spike lasting less than half of it, so a spike does not
    drag the level up and hide itself.
    """

    def __init__(self, *, window: timedelta, low: float = 0.25, high: float = 4.0) -> None:
        self.window = window
        self.low = low
        self.high = high
        self._ratios: deque[tuple[datetime, float]] = deque()

    def level(self, ts: datetime) -> float:
        """The current level factor (1.0 with no history), clamped to [low, high]."""
        horizon = ts - self.window
        while self._ratios and self._ratios[0][0] < horizon:
            self._ratios.popleft()
        if not self._ratios:
            return 1.0
        values = np.fromiter((r for _, r in self._ratios), dtype=float, count=len(self._ratios))
        return min(self.high, max(self.low, float(np.median(values))))

    def add(self, ts: datetime, observed: float, seasonal: float) -> None:
        """Records how the observed value compares with the seasonal median (smoothed by +1)."""
        self._ratios.append((ts, (observed + 1.0) / (seasonal + 1.0)))
