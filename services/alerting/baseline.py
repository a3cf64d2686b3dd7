"""Robust seasonal baselines kept incrementally (one closed bucket at a time)."""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Hashable
from datetime import datetime, timedelta

import numpy as np

from services.alerting.rules import Seasonality

#: Consistency constant: 1.4826 * MAD estimates the standard deviation of normal noise.
MAD_TO_SIGMA = 1.4826
#: ... and IQR / 1.349 does too.
IQR_TO_SIGMA = 1 / 1.349


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

    The median over a few days ignores a spike lasting less than half of it, so a spike
    does not drag the level up and hide itself.
    """

    def __init__(self, *, window: timedelta, low: float = 0.25, high: float = 4.0) -> None:
        self.window = window
        self.low = low
        self.high = high
        self._ratios = RollingQuantiles(window)

    def level(self, ts: datetime) -> float:
        """The current level factor (1.0 with no history), clamped to [low, high]."""
        self._ratios.prune(ts)
        if not len(self._ratios):
            return 1.0
        return min(self.high, max(self.low, self._ratios.quantile(0.5)))

    def add(self, ts: datetime, observed: float, seasonal: float) -> None:
        """Records how the observed value compares with the seasonal median.

        Smoothed by a small offset so zeros compare; it is relative to the seasonal value,
        so the ratio means the same for counts and for measurements of any scale.
        """
        eps = 1e-9 + 1e-3 * abs(seasonal)
        self._ratios.add(ts, (observed + eps) / (seasonal + eps) if seasonal >= 0 else 1.0)


class RollingQuantiles:
    """Values of a sliding time window kept sorted: any quantile in O(log n) after an
    O(n) insertion (a memmove; n is one baseline window of buckets, a few thousand)."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._times: deque[tuple[datetime, float]] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def prune(self, ts: datetime) -> None:
        """Forgets the values older than the window, seen from ts."""
        horizon = ts - self.window
        while self._times and self._times[0][0] < horizon:
            _, value = self._times.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, value)]

    def add(self, ts: datetime, value: float) -> None:
        """Adds one value stamped ts (stamps must not decrease)."""
        self._times.append((ts, value))
        bisect.insort(self._sorted, value)

    def trimmed_mean(self, cut: float) -> float:
        """Mean of the values with `cut` of them dropped at each end; 0.0 when empty."""
        values = self._sorted
        n = len(values)
        if n == 0:
            return 0.0
        drop = min(int(n * cut), (n - 1) // 2)
        kept = values[drop : n - drop]
        return sum(kept) / len(kept)

    def iqr(self) -> float:
        """Interquartile range."""
        return self.quantile(0.75) - self.quantile(0.25)

    def quantile(self, q: float) -> float:
        """The q-quantile (linear interpolation, as numpy's default); 0.0 when empty."""
        values = self._sorted
        n = len(values)
        if n == 0:
            return 0.0
        pos = q * (n - 1)
        i = int(pos)
        if i + 1 >= n:
            return values[-1]
        frac = pos - i
        return values[i] * (1.0 - frac) + values[i + 1] * frac


class SeasonalMedian:
    """Median of past values in the bucket's seasonal slot, with the whole window's median
    as a fallback while the slot is still empty."""

    def __init__(self, *, window: timedelta, seasonality: Seasonality) -> None:
        self.seasonality: Seasonality = seasonality
        self.window = window
        self._slots: dict[Hashable, RollingQuantiles] = {}
        self._all = RollingQuantiles(window)

    @property
    def values(self) -> RollingQuantiles:
        """Every value of the window, whatever its slot."""
        return self._all

    def median(self, ts: datetime) -> tuple[float, int]:
        """(median, samples) of ts's slot before ts; the window's median if the slot is empty."""
        key = season_key(ts, self.seasonality)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = RollingQuantiles(self.window)
        slot.prune(ts)
        self._all.prune(ts)
        if len(slot):
            return slot.quantile(0.5), len(slot)
        return self._all.quantile(0.5), 0

    def slot_moments(self, ts: datetime, cut: float = 0.1) -> tuple[float, float, int]:
        """(trimmed mean, robust sd, samples) of ts's slot as `median` last pruned it: the
        mean with `cut` of the values dropped at each end, the sd from the interquartile
        range (a past burst moves neither much)."""
        slot = self._slots.get(season_key(ts, self.seasonality))
        if slot is None or not len(slot):
            return 0.0, 0.0, 0
        return slot.trimmed_mean(cut), slot.iqr() * IQR_TO_SIGMA, len(slot)

    def add(self, ts: datetime, value: float) -> None:
        """Adds a closed bucket's value."""
        key = season_key(ts, self.seasonality)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = RollingQuantiles(self.window)
        slot.add(ts, value)
        self._all.add(ts, value)
