"""An ARTime-like anomaly scorer (a candidate for issue 25, benchmark only, not shipped).

ARTime is the top detector of the Numenta Anomaly Benchmark (NAB): Mark Hampton, "ARTime:
Adaptive Resonance Theory for time series anomaly detection" (2021), Julia code in
markNZed/ARTimeNAB.jl (src/ARTime.jl, src/AdaptiveResonanceCompact.jl, itself derived from
AP6YC/AdaptiveResonance.jl), called by numenta/NAB nab/detectors/ARTime/ARTime_detector.py.
This is our own numpy implementation written from reading that code (no code copied); its
structure:

1. Downsampling: every `sstep` rows, the last `sstep` values give one sample: their
   maximum, or their minimum when that is further from a running average of the block
   means (a spike below), or their mean when the extreme is within 10% of it.
2. Scale: the sample is mapped to [0, 1] by the series' minimum and maximum and rounded to
   one of 80 levels; a sample within 0.075 of the running median level is set to it.
   NAB hands the detector each file's minimum and maximum before its first row (a
   look-ahead no live rule has): `scale="lookahead"` uses them, `scale="online"` the
   minimum and maximum of the values seen so far (a version that could ship), and
   `scale="frozen"` those of the warm-up only, later values clipped to [0, 1] (another).
3. Features: the last 8 samples, min-max normalised, through a full Haar wavelet transform
   (normalised again), beside the 8 samples themselves: 16 numbers.
4. Dual-vigilance fuzzy ART (DVFA) on the complement-coded features: a category's match
   is (|x ^ w| / |w|)^3 x (energy match)^2, the energy match being the same ratio on the
   newest sample's coordinate alone. The best category at or above the upper vigilance
   learns (w <- x ^ w, all such categories do); one between the two vigilances makes a new
   category of the same cluster; below the lower vigilance the sample founds a new cluster:
   the only case that can be an anomaly.
5. Vigilances: set after a warm-up of `trend_window` samples (the 15% probation NAB gives,
   at most 750 rows) by training a throw-away ART at vigilance 0.8 on the warm-up's
   features ordered from least to most typical; then, every half trend window and a short
   while after each anomaly, the upper one moves to the running mean of the best matches
   (at most 0.97) and the lower one up towards the window's worst match or down by the
   recent shortfall, never below the mean match of past anomalies.
6. Masking: after a new cluster or a vigilance change, a new cluster is an anomaly only
   if its match is well below (x 0.7, or x 0.9 right after an anomaly) the last
   anomaly's; the score of an anomaly is a confidence in (0, 1] from its distance below
   both vigilances and its energy mismatch. Every other row scores 0.

Departures from the reference: the running median of the levels is exact (the reference
moves an approximate one a step at a time), which may change scores, since which samples
the median snap sets to the median level can differ; a
category whose energy box spans the whole range (0 / 0) matches at 1 instead of NaN; only
the state the next step needs is kept (the reference appends every match to a list).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOW = 8  # samples per feature window
WINDOWS_PER_PROBATION = 13
NLEVELS = 80
CHOMP = 0.075  # a sample this close to the median level is set to it
INITIAL_RHO = 0.80
MAX_RHO_UB = 0.97
#: NAB's probation: 15% of the rows, at most 750 (rows 5,000 and more).
PROBATION_SHARE, PROBATION_MAX_ROWS = 0.15, 750


def probation_rows(rows: int | None) -> int:
    """ARTime's warm-up in rows, even: NAB's probation of a file of `rows` rows (a live
    rule does not know its length: None gives the long-file value, 750)."""
    n = PROBATION_MAX_ROWS if rows is None or rows >= 5000 else math.floor(PROBATION_SHARE * rows)
    return n - n % 2


def haar(x: np.ndarray) -> np.ndarray:
    """Full orthonormal Haar transform of a power-of-two vector, coarsest first
    ([approximation, detail of the last level, ..., detail of the first level])."""
    parts = []
    a = x
    while len(a) > 1:
        even, odd = a[0::2], a[1::2]
        parts.append((even - odd) / math.sqrt(2.0))
        a = (even + odd) / math.sqrt(2.0)
    return np.concatenate([a, *reversed(parts)])


def _unit(v: np.ndarray) -> np.ndarray:
    v = v - v.min()
    top = v.max()
    return v / top if top != 0 else v


class DVFA:
    """Dual-vigilance fuzzy ART on complement-coded vectors, as ARTime modifies it."""

    def __init__(self, dim: int, rho_lb: float = 0.0, rho_ub: float = 0.0) -> None:
        self.dim = dim
        self.rho_lb, self.rho_ub = rho_lb, rho_ub
        self.w = np.ones((64, 2 * dim))  # category 0: the all-ones box, never learnt
        self.n = 0
        self.labels: list[int] = []
        self.clusters = 0
        self.started = False
        self._energy = [dim - 1, 2 * dim - 1]  # the newest sample and its complement

    def _add(self, xc: np.ndarray, label: int) -> None:
        if self.n == len(self.w):
            self.w = np.vstack([self.w, np.ones_like(self.w)])
        self.w[self.n] = xc
        self.labels.append(label)
        self.n += 1

    def train(self, x: np.ndarray, learning: bool = True) -> tuple[int, float, float]:
        """(cluster label or -1 for a new cluster, best match, its energy match)."""
        if not self.started:  # the first vector only creates the all-ones category
            self.started, self.n, self.clusters = True, 1, 1
            self.labels.append(1)
            return 1, 0.0, 0.0
        xc = np.concatenate([x, 1.0 - x])
        w = self.w[: self.n]
        em = np.minimum(w, xc)
        norm_w = w.sum(axis=1)
        fs = em.sum(axis=1) / np.where(norm_w == 0, 0.001, norm_w)
        e_w = w[:, self._energy].sum(axis=1)
        e_m = em[:, self._energy].sum(axis=1)
        es = np.divide(e_m, e_w, out=np.ones_like(e_m), where=e_w != 0)
        match = fs**3 * es**2
        top = int(np.argmax(match))
        best, best_e = float(match[top]), float(es[top])
        if not learning:
            return -1, best, best_e
        if best >= self.rho_ub:
            learn = match >= self.rho_ub
            self.w[: self.n][learn] = em[learn]
            return self.labels[top], best, best_e
        if best >= self.rho_lb:
            label = self.labels[top]
            self._add(xc, label)
            return label, best, best_e
        self.clusters += 1
        self._add(xc, self.clusters)
        return -1, best, best_e

    def nbytes(self) -> int:
        return int(self.n * self.w.shape[1] * 8)


def similarity(x: np.ndarray) -> np.ndarray:
    """ARTime's near-cosine similarity of the columns of x (1 - the other norm when a
    column is zero)."""
    norms = np.linalg.norm(x, axis=0)
    safe = np.where(norms == 0, 1.0, norms)
    sim = (x.T @ x) / np.outer(safe, safe)
    zero = norms == 0
    sim[zero, :] = (1.0 - norms)[None, :].repeat(zero.sum(), axis=0)
    sim[:, zero] = (1.0 - norms)[:, None].repeat(zero.sum(), axis=1)
    np.fill_diagonal(sim, 1.0)
    return sim


@dataclass
class _Levels:
    """Running median of the samples' levels (exact, over every sample seen)."""

    counts: np.ndarray
    seen: int = 0

    def add(self, level: int) -> int:
        self.counts[level] += 1
        self.seen += 1
        # the level holding the (seen // 2)-th sample, as the reference's medpos
        return int(np.searchsorted(np.cumsum(self.counts), self.seen // 2 + 1))


class ARTime:
    """One series' ARTime scorer: `score(value)` per row, in order.

    scale="lookahead" needs the file's `lo` and `hi` (NAB's look-ahead); "online" uses
    the minimum and maximum of the rows seen so far. `rows` is the file's length, used
    (as NAB's ARTime does) for the warm-up and the downsampling step; None gives the
    long-file values (a live rule does not know its length)."""

    def __init__(
        self,
        *,
        scale: str = "online",
        lo: float = 0.0,
        hi: float = 0.0,
        rows: int | None = None,
        headroom: float = 1.0,
    ) -> None:
        if scale not in ("lookahead", "online", "frozen"):
            raise ValueError(f"scale: 'lookahead', 'online' or 'frozen', not {scale!r}")
        self.scale, self.lo, self.hi = scale, lo, hi
        self.headroom = headroom
        probation = probation_rows(rows)
        self.sstep = max(1, round(probation // (WINDOW * WINDOWS_PER_PROBATION)))
        self.trend_window = probation // self.sstep
        self.mask = WINDOW * 1.5
        self.row = 0
        self.dsi = 0  # samples taken (1-based once taken)
        self.block: deque[float] = deque([0.0] * self.sstep, maxlen=self.sstep)
        self.moving_average = 0.0
        self.levels = _Levels(np.zeros(NLEVELS + 1, dtype=np.int64))
        self.raw_sorted: list[float] = []  # online scale: the samples seen, for the median
        self.recent: deque[float] = deque([0.0] * WINDOW, maxlen=WINDOW)
        self.warmup: list[np.ndarray] = []
        self.art = DVFA(2 * WINDOW)
        # detection state (the reference's ClassifyState)
        self.last_anomaly_i = 0
        self.last_anomaly_sim = 0.0
        self.last_rho_update_i = 0
        self.mask_after_cat = False
        self.no_new_cat_count = 0
        self.anomaly_sims: list[float] = []
        self.match_sum = 0.0
        self.match_count = 0
        self.sims: deque[float] = deque(
            [1.0] * (self.trend_window // 2 + 1), maxlen=self.trend_window // 2 + 1
        )
        self.sim_diffs: deque[float] = deque(
            [0.0] * (self.trend_window + 1), maxlen=self.trend_window + 1
        )

    # --- 1-3: sample, scale, features ------------------------------------------------
    def score(self, value: float) -> float:
        """The anomaly score of the next row (0 unless it is a sampled, anomalous one)."""
        self.row += 1
        self.block.append(value)
        if self.scale == "online" or (self.scale == "frozen" and self.dsi < self.trend_window):
            if self.row == 1:
                self.lo = self.hi = value
            self.lo, self.hi = min(self.lo, value), max(self.hi, value)
        if self.row % self.sstep:
            return 0.0
        self.dsi += 1
        features = self._features(self._sample())
        return self._process(features, self.dsi)

    def _sample(self) -> float:
        block = np.fromiter(self.block, float, len(self.block))
        mean, top, bottom = float(block.mean()), float(block.max()), float(block.min())
        if self.dsi == 1:
            self.moving_average = mean
        self.moving_average = (self.moving_average + mean) / 2.0
        ds = top
        if abs(top - self.moving_average) < abs(bottom - self.moving_average):
            ds = bottom  # a spike below
        if abs(ds - mean) < 0.1 * mean:  # a spike must be at least 10%
            ds = mean
        return ds

    def _normal(self, raw: float) -> float:
        span = (self.hi - self.lo) * self.headroom
        x = raw - self.lo
        x = x / span if span != 0 else x
        return min(1.0, max(0.0, x)) if self.scale == "frozen" else x

    def _features(self, raw: float) -> np.ndarray:
        level = round(self._normal(raw) * NLEVELS)
        ds = level / NLEVELS
        if self.scale != "online":
            median = self.levels.add(level) / NLEVELS
        else:  # levels move with the scale: keep the raw samples, level their median now
            bisect.insort(self.raw_sorted, raw)
            mid = self.raw_sorted[(len(self.raw_sorted) - 1) // 2]
            median = round(self._normal(mid) * NLEVELS) / NLEVELS
        if abs(ds - median) < CHOMP:
            ds = median
        self.recent.append(ds)
        if self.dsi < WINDOW:
            return np.zeros(2 * WINDOW)
        window = np.fromiter(self.recent, float, WINDOW)
        return np.concatenate([_unit(haar(_unit(window))), window])

    # --- 4-6: ART, vigilances, masking -----------------------------------------------
    def _process(self, features: np.ndarray, i: int) -> float:
        if i < self.trend_window:
            self.warmup.append(features)
            return 0.0
        if i == self.trend_window:
            self.warmup.append(features)
            rho = self._initial_rho(np.array(self.warmup[WINDOW - 1 :]).T)
            self.art.rho_lb = self.art.rho_ub = rho
            for j, f in enumerate(self.warmup, 1):
                self._detect(f, j)
            self.warmup = []
            return 0.0
        return self._detect(features, i)

    def _initial_rho(self, x: np.ndarray) -> float:
        order = np.argsort(similarity(x).sum(axis=0), kind="stable")
        art = DVFA(self.art.dim, INITIAL_RHO, INITIAL_RHO)
        matches = [art.train(x[:, k])[1] for k in order]
        return float(np.mean(matches[self.trend_window // 2 - 1 :]))

    def _detect(self, f: np.ndarray, i: int) -> float:
        art = self.art
        since = i - self.last_anomaly_i
        rho_after_anomaly = since == self.mask
        rho_for_trend = i - self.last_rho_update_i >= self.trend_window // 2
        mask_after_anomaly = since <= self.mask
        if (
            i > self.trend_window + self.mask
            and self.mask_after_cat
            and self.no_new_cat_count >= self.mask
        ):
            self.mask_after_cat = False
        if i < WINDOW:
            _, match, energy = art.train(f, learning=False)
            cat = -1
        else:
            cat, match, energy = art.train(f)
        self.no_new_cat_count = 0 if cat == -1 else self.no_new_cat_count + 1
        self.match_sum += match
        self.match_count += 1
        self.sims.append(match)
        self.sim_diffs.append(art.rho_ub - match)
        if since < self.mask and self.anomaly_sims:
            self.anomaly_sims[-1] = min(self.anomaly_sims[-1], match)
        masking = self.mask_after_cat or mask_after_anomaly
        below_last = match < self.last_anomaly_sim * (0.90 if mask_after_anomaly else 0.70)
        anomaly = 0.0
        if i > self.trend_window and cat == -1 and (not masking or below_last):
            anomaly = self._confidence(match, energy)
            self.anomaly_sims.append(match)
            self.last_anomaly_sim = match
            self.last_anomaly_i = i
        self.mask_after_cat = cat == -1 or self.mask_after_cat
        if i > self.trend_window and (rho_after_anomaly or rho_for_trend):
            self._update_rho(i)
        return anomaly

    def _update_rho(self, i: int) -> None:
        art = self.art
        worst = min(self.sims)
        new_ub = min(MAX_RHO_UB, self.match_sum / self.match_count)
        if art.rho_lb <= worst:
            new_lb = art.rho_lb + (worst - art.rho_lb) * 0.19
        else:
            decrease = 0.0
            if i > 2 * self.trend_window:
                short = [min(0.37, d) for d in self.sim_diffs if d > 0.05]
                decrease = sum(short) / len(short) if short else 0.0
            new_lb = art.rho_lb - max(0.01, decrease) / 2.0
            if self.anomaly_sims:
                new_lb = max(sum(self.anomaly_sims) / len(self.anomaly_sims), new_lb)
        art.rho_lb, art.rho_ub = min(new_ub, new_lb), new_ub
        self.last_rho_update_i = i
        self.mask_after_cat = True

    def _confidence(self, match: float, energy: float) -> float:
        gap = 1.0 - min(0.999, match)
        ub = (gap - (1.0 - self.art.rho_ub)) / gap
        lb = (gap - (1.0 - self.art.rho_lb)) / gap
        return round(min(1.0, ub * 0.35 + lb * 0.65 + (1.0 - energy) * 1.5), 6)

    def nbytes(self) -> int:
        """Numbers held that grow with the series: the categories, the online median's
        samples and the past anomalies' matches."""
        return self.art.nbytes() + 8 * (len(self.raw_sorted) + len(self.anomaly_sims))


def score_rows(
    values: list[float] | np.ndarray, *, scale: str, rows_known: bool, headroom: float = 1.0
) -> tuple[np.ndarray, int, int]:
    """ARTime's score of every row of one series, (scores, categories, bytes held).
    `rows_known`: the warm-up and step from the file's length (NAB's ARTime) or the
    long-file values (what a live rule can use)."""
    v = np.asarray(values, dtype=float)
    scorer = ARTime(
        scale=scale,
        lo=float(v.min()),
        hi=float(v.max()),
        rows=len(v) if rows_known else None,
        headroom=headroom,
    )
    if scale != "lookahead":
        scorer.lo = scorer.hi = 0.0
    out = np.array([scorer.score(float(x)) for x in v])
    return out, scorer.art.n, scorer.nbytes()
