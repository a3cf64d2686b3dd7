"""The candidate log of issue 25: detector variants scored leave-one-category-out on NAB.

    .venv/bin/python benchmarks/nab_candidates.py [--jobs 2] [--boot 2000] [--both]
                                                  [--only PREFIX ...] [--anomalies DIR]
                                                  [--loto] [--scored-cache DIR]
                                                  [--count-gate]

Every variant is a post-processing of the shipped spike detector's per-bucket numbers (its
raw score, its surprise, its likelihood, its guards), so each series is scored once and a
variant costs a replay: the figures are those the detector would give with the variant
built in (the shipped one is reproduced exactly, checked below). One more scoring pass
feeds the detector hourly means, for the "hourly companion" variant.

For each variant (a family of settings, always with the threshold and end_after among
them), it prints:
- LOCO: the setting chosen on five categories, the sixth scored with it, pooled and per
  category (as `make bench-nab`, section 2);
- "5-cat": the same leave-one-category-out on the five categories other than realTweets,
  realTweets never seen (the criterion a variant can be chosen by without touching the
  category it is judged on), and realTweets scored at the setting those five choose;
- the difference of the pooled LOCO score from the shipped detector's, with a paired
  bootstrap 95% interval (series resampled within their category): an interval that holds
  0 is noise, whatever the point estimate says.

With --both, each variant's spike firings are scored together with the shipped drop
rule's at the same threshold and end_after (NAB's labels have no direction; as
nab_score.py's spike-and-drop rows: the shipped pair gives LOCO 47.2 there too). The P
rows pair a spike rule with a drop rule of their own (`pair`), always scored together:
compare them with P0, the shipped pair (`--only P` makes it the interval's reference).

--loto replaces the LOCO table by leave-one-tweet-series-out, the estimate with brand data
in the choice: for each of the four realTweets series, each variant's setting is chosen on
the 51 other series (the three other brand series and the 48 others), by the score pooled
over them or with realTweets weighed as much as the rest together ("weighed": the mean of
the brand series' pooled score and the others'), and the held-out series is scored; the
four held-out results are pooled (NAB normalisation over the four). It is given for the
NAB rule everywhere and for the default rule (count guards on) on the brand series, the
NAB rule on the others, beside pooled LOCO with the same objective; intervals are paired
bootstraps against C0 chosen on the pooled score (LOTO: over the four brand series, a
coarse interval; LOCO: as above). --scored-cache DIR keeps the detector's numbers between
runs.

--stretch-cut X scores the series again with the detector's STRETCH_CUT at X (how a
stretch's residuals are summed: 0.5 the median, shipped; 0.25 the mean of their middle
half) and gives each variant's interval against the same variant on the shipped detector.

--count-gate runs the seventh pass (`nab_count_gate.py`): the default rule's count guards
replaced or gated by how unlikely the mentions are as counts, chosen by LOTO.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import hashlib
import math
import multiprocessing
import os
import pickle
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import nab_score as nab  # noqa: E402

from services.alerting import detectors as detectors_module  # noqa: E402
from services.alerting.detectors import (  # noqa: E402
    HYSTERESIS,
    LIKELIHOOD_AVERAGE,
    LIKELIHOOD_MIN_SAMPLES,
    LIKELIHOOD_SD_FLOOR,
    RAW_PER_UNIT,
    SURPRISE_SCALE,
    score_series,
)
from services.alerting.rules import Rule  # noqa: E402

WINDOW = nab.NAB_RULE.baseline_window
THRESHOLDS = (1.0, 1.5, 2.0, 2.5, 3.0)
TWEETS = "realTweets"
#: Bump when score_one or Scored change, so that --scored-cache is not read stale.
SCORED_VERSION = 1
ENDS = (72, 144)
W = RAW_PER_UNIT["volume_spike"]
OFF = 1e9  # a weight that switches a component off

#: One setting: named parameters (thr and end always; the variant's own ones besides).
Setting = dict[str, float]
Result = tuple[float, float, float]  # raw, null, perfect


@dataclass
class Scored:
    """One series: the shipped detector's numbers per evaluated bucket, and NAB's weights."""

    category: str
    name: str
    stamps: list[datetime]  # evaluated buckets (a late or repeated row is not one)
    seconds: np.ndarray  # evaluation times, seconds from the first
    raw: np.ndarray
    surprise: np.ndarray
    likelihood: np.ndarray
    eligible: np.ndarray
    observed: np.ndarray
    hourly_raw: np.ndarray  # the hourly companion's raw score at the hour's last bucket
    hourly_eligible: np.ndarray
    drop_score: np.ndarray  # the shipped drop rule on the same buckets (for --both)
    drop_eligible: np.ndarray
    drop_raw: np.ndarray  # the drop rule's raw score
    surprise_up: np.ndarray  # each direction's surprise alone (0 where its guards fail)
    surprise_down: np.ndarray
    rows: list[list[int]]  # evaluation -> data rows with its timestamp
    weight: np.ndarray  # NAB's weight of a detection on each row
    window: np.ndarray  # window number of each row, -1 outside
    active: np.ndarray  # row past the probation
    counted: list[int]  # windows that reach past the probation
    perfect: float
    cache: dict[object, object] = field(default_factory=dict)

    @property
    def null(self) -> float:
        return -float(len(self.counted))

    def starts(self) -> np.ndarray:
        """For each evaluation, the first one inside its baseline window."""
        if "starts" not in self.cache:
            horizon = self.seconds - WINDOW.total_seconds()
            self.cache["starts"] = np.searchsorted(self.seconds, horizon, side="left")
        return self.cache["starts"]  # type: ignore[return-value]

    def result(self, fired: Sequence[int]) -> Result:
        """NAB's raw score of detections at these evaluations (as nab_score.score_file)."""
        best = dict.fromkeys(self.counted, -1.0)
        fp = 0.0
        for e in fired:
            for i in self.rows[e]:
                if not self.active[i]:
                    continue
                w = int(self.window[i])
                if w >= 0:
                    best[w] = max(best[w], float(self.weight[i]))
                else:
                    fp += float(self.weight[i])
        return sum(best.values()) + fp, self.null, self.perfect


def nab_weights(series: nab.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Per row: the weight of a detection there, its window number, past probation."""
    timestamps = series.timestamps
    n = len(timestamps)
    index = {ts: i for i, ts in enumerate(timestamps)}
    limits = sorted((index[a], index[b]) for a, b in series.windows)
    max_tp = nab.scaled_sigmoid(-1.0)
    weight = np.zeros(n)
    window = np.full(n, -1)
    w, prev_right, prev_width = 0, None, 0.0
    for i in range(n):
        if w < len(limits) and limits[w][0] <= i <= limits[w][1]:
            left, right = limits[w]
            width = float(right - left + 1)
            weight[i] = nab.scaled_sigmoid(-(right - i + 1) / width) / max_tp
            window[i] = w
            if i == right:
                prev_right, prev_width = right, width
                w += 1
        else:
            past = 3.0 if prev_right is None else abs(prev_right - i) / max(prev_width - 1, 1.0)
            weight[i] = nab.scaled_sigmoid(past) * nab.STANDARD["fpWeight"]
    active = np.arange(n) >= nab.probationary_length(n)
    counted = sorted(set(window[active & (window >= 0)].tolist()))
    return weight, window, active, counted


def score_one(series: nab.Series, rule: Rule = nab.NAB_RULE) -> Scored:
    """Runs the shipped detector (and its hourly companion) over one series, with the NAB
    rule's settings (guards off, gaps skipped) or, for --loto, the default rule's."""
    evs = score_series(series.rows, rule.model_copy(update={"kind": "volume_spike"}))
    drops = score_series(series.rows, rule.model_copy(update={"kind": "drop"}))
    stamps = [e.ts for e in evs]
    # hourly companion: the same detector on the hour's mean, known when the hour closes.
    hours: dict[datetime, list[float]] = {}
    for i, e in enumerate(evs):
        slot = hours.setdefault(e.ts.replace(minute=0, second=0, microsecond=0), [0.0, 0, 0])
        slot[0] += e.observed
        slot[1] += 1
        slot[2] = i
    hourly_rule = rule.model_copy(update={"kind": "volume_spike", "bucket": timedelta(hours=1)})
    hourly = {
        e.ts: e for e in score_series([(h, s / k) for h, (s, k, _) in hours.items()], hourly_rule)
    }
    hourly_raw = np.zeros(len(evs))
    hourly_eligible = np.zeros(len(evs), dtype=bool)
    for h, (_, _, last) in hours.items():
        if h in hourly:
            hourly_raw[int(last)] = hourly[h].details["raw_score"]
            hourly_eligible[int(last)] = hourly[h].eligible
    by_ts: dict[datetime, list[int]] = {}
    for i, ts in enumerate(series.timestamps):
        by_ts.setdefault(ts, []).append(i)
    weight, window, active, counted = nab_weights(series)
    return Scored(
        category=series.category,
        name=series.name,
        stamps=stamps,
        seconds=np.array([(t - stamps[0]).total_seconds() for t in stamps]),
        raw=np.array([e.details["raw_score"] for e in evs]),
        surprise=np.array([e.details["surprise"] for e in evs]),
        likelihood=np.array([e.details["likelihood"] for e in evs]),
        eligible=np.array([e.eligible for e in evs]),
        observed=np.array([e.observed for e in evs]),
        hourly_raw=hourly_raw,
        hourly_eligible=hourly_eligible,
        drop_score=np.array([e.score for e in drops]),
        drop_eligible=np.array([e.eligible for e in drops]),
        drop_raw=np.array([e.details["raw_score"] for e in drops]),
        surprise_up=np.array([e.details["surprise_up"] for e in evs]),
        surprise_down=np.array([e.details["surprise_down"] for e in evs]),
        rows=[by_ts.get(t, []) for t in stamps],
        weight=weight,
        window=window,
        active=active,
        counted=counted,
        perfect=float(len(series.windows)) * nab.STANDARD["tpWeight"],
    )


def fired_runs(
    score: np.ndarray,
    eligible: np.ndarray,
    threshold: float,
    end_after: int,
    *,
    hysteresis: float = HYSTERESIS,
    repeat: int = 0,
    min_run: int = 1,
    escalate: float = 0.0,
    escalate_gap: int = 0,
    holdoff: int = 0,
) -> list[int]:
    """The evaluations that fire, as detectors._RunTracker: a run opens after `min_run`
    hits in a row, goes on while scores reach hysteresis x threshold and ends after
    end_after buckets below it; `repeat`: an open run fires again this many buckets after
    its last firing; `escalate`: an open run fires again when a hit reaches this multiple
    of the run's peak so far, at least `escalate_gap` buckets after its last firing;
    `holdoff`: no new run opens within this many buckets of the last firing (CAD-OSE's
    rest period, in time)."""
    fired: list[int] = []
    open_, last, last_fire, peak = False, -(10**9), -(10**9), 0.0
    streak, prev_hit = 0, -(10**9)
    for j in np.flatnonzero(score >= threshold * hysteresis):
        if open_ and j - last - 1 >= end_after:
            open_ = False
        hit = bool(eligible[j]) and score[j] >= threshold
        if open_:
            last = j
            again = repeat and j - last_fire >= repeat
            escalated = escalate and score[j] >= escalate * peak and j - last_fire >= escalate_gap
            if hit and (again or escalated):
                fired.append(int(j))
                last_fire = j
            peak = max(peak, float(score[j]))
            continue
        if not hit or j - last_fire < holdoff:
            streak = 0
            continue
        streak = streak + 1 if j == prev_hit + 1 else 1
        prev_hit = j
        if streak >= min_run:
            fired.append(int(j))
            open_, last, last_fire, peak, streak = True, j, j, float(score[j]), 0
    return fired


# --- score streams of the variants: (score, eligible) per evaluation ----------------------


_erfc = np.vectorize(math.erfc, otypes=[float])


def rolling_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean of the last k values (fewer at the start), as the detector's deque."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo = np.maximum(0, i - k + 1)
    return (c[i + 1] - c[lo]) / (i + 1 - lo)


def gaussian_likelihood(s: Scored, m: np.ndarray, ref: np.ndarray, floor: float) -> np.ndarray:
    """-log10 normal tail of m against the mean and sd of ref over the window before it."""
    st = s.starts()
    c1 = np.concatenate([[0.0], np.cumsum(ref)])
    c2 = np.concatenate([[0.0], np.cumsum(ref * ref)])
    i = np.arange(len(m))
    n = np.maximum(i - st, 1)
    mu = (c1[i] - c1[st]) / n
    sd = np.sqrt(np.maximum((c2[i] - c2[st]) / n - mu * mu, 0.0))
    z = np.where(i > st, (m - mu) / np.maximum(sd, floor), 0.0)
    # as detectors._likelihood: the normal tail by erfc, capped where it underflows.
    tail = 0.5 * _erfc(z / math.sqrt(2.0))
    with np.errstate(divide="ignore"):
        return np.minimum(np.where(tail > 0, -np.log10(tail), 300.0), 300.0)


def empirical_likelihood(s: Scored, m: np.ndarray) -> np.ndarray:
    """-log10 of the share of the window's values at least m (one pseudo-count)."""
    st = s.starts()
    held: list[float] = []
    out = np.zeros(len(m))
    j = 0
    for i, v in enumerate(m):
        while j < st[i]:
            del held[bisect.bisect_left(held, m[j])]
            j += 1
        above = len(held) - bisect.bisect_left(held, v - 1e-12)
        out[i] = -math.log10((above + 1) / (len(held) + 1))
        bisect.insort(held, float(v))
    return out


def likelihood(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The detector's score with other likelihood settings: squash (tanh, log, clip) and
    scale of the surprise, averaging length, sd floor, sd of the means or of the raw
    surprises, Gaussian or empirical tail or the smaller of both; then max with raw / w."""
    run_keys = (
        "thr",
        "end",
        "hyst",
        "repeat",
        "min_run",
        "esc",
        "esc_gap",
        "hold",
        "pair",
        "dthr",
        "margin",
    )
    key = tuple(sorted((k, v) for k, v in p.items() if k not in run_keys))
    if key in s.cache:
        return s.cache[key]  # type: ignore[return-value]
    x = np.maximum(s.surprise, 0.0) / p.get("scale", SURPRISE_SCALE)
    squash = {1: np.tanh, 2: np.log1p, 3: lambda v: np.minimum(v, 1.0)}[int(p.get("squash", 1))]
    u = squash(x)
    m = rolling_mean(u, int(p.get("L", LIKELIHOOD_AVERAGE)))
    ref = u if p.get("raw_sd") else m
    gauss = gaussian_likelihood(s, m, ref, p.get("floor", LIKELIHOOD_SD_FLOOR))
    tail = int(p.get("tail", 0))  # 0 Gaussian, 1 empirical, 2 the smaller of both
    lk = gauss if tail == 0 else empirical_likelihood(s, m)
    if tail == 2:
        lk = np.minimum(gauss, lk)
    ready = s.starts() <= np.arange(len(m)) - LIKELIHOOD_MIN_SAMPLES
    out = np.maximum(lk, s.raw / p.get("w", W)), s.eligible & ready
    s.cache[key] = out
    return out


def shipped(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The detector as shipped, its raw score weighted by w."""
    return np.maximum(s.likelihood, s.raw / p.get("w", W)), s.eligible


def with_new_range(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """HTM's 'spatial anomaly': a value above the window's maximum by tol x its range fires."""
    score, eligible = shipped(s, p)
    if "range" not in s.cache:
        st, x = s.starts(), s.observed
        top = np.full(len(x), np.nan)
        low = np.full(len(x), np.nan)
        dmax: deque[int] = deque()
        dmin: deque[int] = deque()
        for i in range(len(x)):
            while dmax and dmax[0] < st[i]:
                dmax.popleft()
            while dmin and dmin[0] < st[i]:
                dmin.popleft()
            if dmax:
                top[i], low[i] = x[dmax[0]], x[dmin[0]]
            while dmax and x[dmax[-1]] <= x[i]:
                dmax.pop()
            dmax.append(i)
            while dmin and x[dmin[-1]] >= x[i]:
                dmin.pop()
            dmin.append(i)
        s.cache["range"] = (top, low)
    top, low = s.cache["range"]  # type: ignore[misc]
    new = np.nan_to_num(s.observed > top + p["tol"] * (top - low)).astype(bool) & eligible
    return np.where(new, np.maximum(score, 1e3), score), eligible


def with_hourly(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """Shipped score or the hourly companion's raw score / wh, whichever is higher."""
    score, eligible = shipped(s, p)
    hourly = np.where(s.hourly_eligible, s.hourly_raw / p["wh"], 0.0)
    return np.maximum(score, hourly), eligible | s.hourly_eligible


def with_two_averages(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """An ensemble of reactivities: the larger of the likelihoods averaged over La and Lb
    buckets (the categories disagree on how reactive it should be), and raw / w."""
    fast, eligible = likelihood(s, {"L": p["La"]})
    slow, _ = likelihood(s, {"L": p["Lb"]})
    return np.maximum(fast, slow), eligible


def windowed_z(s: Scored) -> np.ndarray:
    """NAB's windowed Gaussian on the observed value: its z against the mean and sd of the
    baseline window before it (48 values at least, sd floored at 0.1% of the mean)."""
    if "wgz" not in s.cache:
        st, x = s.starts(), s.observed
        c1 = np.concatenate([[0.0], np.cumsum(x)])
        c2 = np.concatenate([[0.0], np.cumsum(x * x)])
        i = np.arange(len(x))
        n = np.maximum(i - st, 1)
        mu = (c1[i] - c1[st]) / n
        sd = np.sqrt(np.maximum((c2[i] - c2[st]) / n - mu * mu, 0.0))
        z = np.where(i - st >= 48, (x - mu) / np.maximum(sd, 1e-9 + 1e-3 * np.abs(mu)), 0.0)
        s.cache["wgz"] = np.clip(z, -1e6, 1e6)
    return s.cache["wgz"]  # type: ignore[return-value]


def windowed_gaussian(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The windowed Gaussian alone: -log10 of the normal tail of its z (the same guards)."""
    tail = 0.5 * _erfc(windowed_z(s) / math.sqrt(2.0))
    with np.errstate(divide="ignore"):
        return np.minimum(np.where(tail > 0, -np.log10(tail), 300.0), 300.0), s.eligible


def with_gaussian_likelihood(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """Two cheap scores combined by the larger likelihood: the shipped score, and the
    likelihood of the windowed Gaussian's surprise (tanh(z / sc2) averaged over 12)."""
    score, eligible = shipped(s, p)
    u = np.tanh(np.maximum(windowed_z(s), 0.0) / p["sc2"])
    m = rolling_mean(u, LIKELIHOOD_AVERAGE)
    return np.maximum(score, gaussian_likelihood(s, m, m, LIKELIHOOD_SD_FLOOR)), eligible


def rolling_rank(s: Scored) -> np.ndarray:
    """Share of the baseline window's observed values below each observed value."""
    if "rank" not in s.cache:
        st, x = s.starts(), s.observed
        held: list[float] = []
        out = np.zeros(len(x))
        j = 0
        for i, v in enumerate(x):
            while j < st[i]:
                del held[bisect.bisect_left(held, x[j])]
                j += 1
            out[i] = bisect.bisect_left(held, v) / len(held) if held else 0.0
            bisect.insort(held, float(v))
        s.cache["rank"] = out
    return s.cache["rank"]  # type: ignore[return-value]


def with_top_guard(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """Shipped, eligible only when the value is in the top 1 - q of the baseline window
    (a scale-free stand-in for the count guards on series that are not counts)."""
    score, eligible = shipped(s, p)
    return score, eligible & (rolling_rank(s) >= p["q"])


def upward_likelihood(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The likelihood of the upward surprise only (the spike rule's own raw score where its
    guards pass; the shipped one feeds it both directions), approximated from the stored
    numbers; scale and averaging as the shipped ones unless set."""
    key = ("up", p.get("scale", SURPRISE_SCALE), p.get("L", LIKELIHOOD_AVERAGE))
    if key not in s.cache:
        up = np.where(s.eligible, np.maximum(s.raw, 0.0), 0.0)
        u = np.tanh(up / p.get("scale", SURPRISE_SCALE))
        m = rolling_mean(u, int(p.get("L", LIKELIHOOD_AVERAGE)))
        lk = gaussian_likelihood(s, m, m, LIKELIHOOD_SD_FLOOR)
        ready = s.starts() <= np.arange(len(m)) - LIKELIHOOD_MIN_SAMPLES
        s.cache[key] = (np.maximum(lk, s.raw / W), s.eligible & ready)
    return s.cache[key]  # type: ignore[return-value]


def directional_likelihood(
    s: Scored, surprise: np.ndarray, scale: float, tag: str
) -> tuple[np.ndarray, np.ndarray]:
    """(likelihood, ready) of one direction's surprise, as detectors._likelihood."""
    key = ("dir", tag, scale)
    if key not in s.cache:
        m = rolling_mean(np.tanh(np.maximum(surprise, 0.0) / scale), LIKELIHOOD_AVERAGE)
        lk = gaussian_likelihood(s, m, m, LIKELIHOOD_SD_FLOOR)
        ready = s.starts() <= np.arange(len(m)) - LIKELIHOOD_MIN_SAMPLES
        s.cache[key] = (lk, ready)
    return s.cache[key]  # type: ignore[return-value]


def spike_upward(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The spike rule fed only its own (upward) surprises, from the detector's per-direction
    numbers (U1's stream, exactly)."""
    lk, ready = directional_likelihood(s, s.surprise_up, p.get("scale", SURPRISE_SCALE), "up")
    return np.maximum(lk, s.raw / W), s.eligible & ready


def upward_dominates(s: Scored, p: Setting) -> np.ndarray:
    """Where the last hour's upward surprises outweigh its downward ones (x `margin`)."""
    key = ("dominates", p.get("margin", 1.0))
    if key not in s.cache:
        up, down = (
            rolling_mean(np.tanh(np.maximum(x, 0.0) / SURPRISE_SCALE), LIKELIHOOD_AVERAGE)
            for x in (s.surprise_up, s.surprise_down)
        )
        s.cache[key] = up * p.get("margin", 1.0) >= down
    return s.cache[key]  # type: ignore[return-value]


def spike_routed(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The shipped two-sided likelihood, told by the spike rule only while upward surprises
    dominate the hour it averages (a normal bucket after a dip is then not a 'spike')."""
    lk = np.where(upward_dominates(s, p), s.likelihood, 0.0)
    return np.maximum(lk, s.raw / W), s.eligible


def drop_stream(s: Scored, p: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The drop rule paired with a variant (`pair`): 1 the shipped one (raw score / 2), 2 a
    drop rule fed only downward surprises (the spike rule's likelihood turned over), 3 the
    shipped drop rule that also tells the two-sided likelihood while downward surprises
    dominate (the counterpart of `spike_routed`)."""
    pair = int(p.get("pair", 1))
    if pair == 1:
        return s.drop_score, s.drop_eligible
    if pair == 3:
        ready = s.starts() <= np.arange(len(s.likelihood)) - LIKELIHOOD_MIN_SAMPLES
        lk = np.where(upward_dominates(s, p), 0.0, s.likelihood)
        return np.maximum(lk, s.drop_score), s.drop_eligible & ready
    scale = p.get("dscale", SURPRISE_SCALE)
    lk, ready = directional_likelihood(s, s.surprise_down, scale, "down")
    return np.maximum(lk, s.drop_raw / RAW_PER_UNIT["drop"]), s.drop_eligible & ready


def grid(**axes: Sequence[float]) -> list[Setting]:
    """Every combination of the axes, thr and end included (defaults: the usual sweep)."""
    axes = {"thr": THRESHOLDS, "end": ENDS, **axes}
    out: list[Setting] = [{}]
    for name, values in axes.items():
        out = [{**g, name: float(v)} for g in out for v in values]
    return out


Variant = tuple[str, Callable[[Scored, Setting], tuple[np.ndarray, np.ndarray]], list[Setting]]

VARIANTS: list[Variant] = [
    ("C0 shipped (threshold, end_after)", shipped, grid()),
    (
        "C1 + end_after 1-12 h, hysteresis 0.75/1",
        shipped,
        grid(end=(12, 36, 72, 144), hyst=(0.75, 1.0)),
    ),
    ("C2 + raw weight 2-5/off", shipped, grid(w=(2.0, 2.5, W, 5.0, OFF))),
    ("A1 likelihood scale x averaging", likelihood, grid(scale=(4, 8, 16), L=(6, 12, 24))),
    (
        "A2 likelihood, sd of raw surprises (HTM)",
        likelihood,
        grid(thr=(0.5, 0.75, 1, 1.5, 2, 3), scale=(4, 8), L=(6, 12, 24), raw_sd=(1,)),
    ),
    (
        "A3 empirical tail of the averaged surprise",
        likelihood,
        grid(thr=(1.5, 2, 2.5, 3, 3.3), L=(12, 24), w=(W, 5.0, OFF), tail=(1,)),
    ),
    ("S1 + new 14-day maximum (HTM spatial)", with_new_range, grid(tol=(0, 0.05, 0.1, 0.25))),
    ("R1 + repeat while open, 6 h", shipped, grid(repeat=(72,))),
    ("R1 + repeat while open, 12 h", shipped, grid(repeat=(144,))),
    ("R1 + repeat while open, 1 d", shipped, grid(repeat=(288,))),
    ("R2 + repeat (0, 12 h, 1 d, 2 d)", shipped, grid(repeat=(0, 144, 288, 576))),
    ("B1 + hourly companion, raw / 2", with_hourly, grid(wh=(2.0,))),
    ("B2 + hourly companion, raw / 2-5/off", with_hourly, grid(wh=(2.0, W, 5.0, OFF))),
    ("B3 + hourly companion, raw / 1.5-5/off", with_hourly, grid(wh=(1.5, 2.0, 2.5, W, 5.0, OFF))),
    ("E1 likelihood of log1p(surprise)", likelihood, grid(scale=(2, 8, 32), squash=(2,))),
    ("E2 likelihood of min(surprise, 1)", likelihood, grid(scale=(4, 8, 16), squash=(3,))),
    (
        "F1 likelihood sd floor 0.01-0.15",
        likelihood,
        grid(thr=(0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3), floor=(0.01, 0.03, 0.06, 0.1, 0.15)),
    ),
    ("G2 min(Gaussian, empirical) tail", likelihood, grid(tail=(2,))),
    ("G2 ... averaging 6", likelihood, grid(tail=(2,), L=(6,))),
    ("G2 ... averaging 24", likelihood, grid(tail=(2,), L=(24,))),
    ("G2 ... scale 4", likelihood, grid(tail=(2,), scale=(4,))),
    ("G2 ... scale 16", likelihood, grid(tail=(2,), scale=(16,))),
    ("G2 ... finer thresholds", likelihood, grid(thr=(1, 1.25, 1.5, 1.75, 2, 2.5, 3), tail=(2,))),
    (
        "G3 min(Gaussian, empirical), floor 0.03-0.1",
        likelihood,
        grid(thr=(0.75, *THRESHOLDS), tail=(2,), floor=(0.03, 0.06, 0.1)),
    ),
    # issue 25, third pass: ensembles, a windowed Gaussian, persistence, escalation, a
    # scale-free top-of-window guard.
    ("M1 max of likelihoods averaged 6 and 24", with_two_averages, grid(La=(6,), Lb=(24,))),
    ("M2 max of likelihoods averaged 12 and 36", with_two_averages, grid(La=(12,), Lb=(36,))),
    ("M3 max of likelihoods averaged 3 and 12", with_two_averages, grid(La=(3,), Lb=(12,))),
    ("WG windowed Gaussian alone", windowed_gaussian, grid(thr=(2, 3, 4, 5, 6, 8))),
    ("WG2 + likelihood of the windowed Gaussian", with_gaussian_likelihood, grid(sc2=(2, 4, 8))),
    ("K1 min_run 2", shipped, grid(min_run=(2,))),
    ("K2 min_run 1-3", shipped, grid(min_run=(1, 2, 3))),
    ("K3 min_run 3", shipped, grid(min_run=(3,))),
    ("X1 escalate x2 (re-fire at twice the peak)", shipped, grid(esc=(2.0,))),
    ("X2 escalate x2/4/10, 1 h apart", shipped, grid(esc=(2.0, 4.0, 10.0), esc_gap=(12,))),
    ("X3 escalate x1.5/2/3, 0/1/6 h apart", shipped, grid(esc=(1.5, 2, 3), esc_gap=(0, 12, 72))),
    ("X4 escalate x2, 1 h apart", shipped, grid(esc=(2.0,), esc_gap=(12,))),
    ("X4 ... x1.5", shipped, grid(esc=(1.5,), esc_gap=(12,))),
    ("X4 ... x2.5", shipped, grid(esc=(2.5,), esc_gap=(12,))),
    ("X4 ... x3", shipped, grid(esc=(3.0,), esc_gap=(12,))),
    ("X4 ... 30 min apart", shipped, grid(esc=(2.0,), esc_gap=(6,))),
    ("X4 ... 2 h apart", shipped, grid(esc=(2.0,), esc_gap=(24,))),
    ("X4 ... 6 h apart", shipped, grid(esc=(2.0,), esc_gap=(72,))),
    ("X5 escalate x1.5/2/3, 1 h apart", shipped, grid(esc=(1.5, 2, 3), esc_gap=(12,))),
    (
        "X6 escalate x2, 1 h apart, hysteresis 1",
        shipped,
        grid(esc=(2.0,), esc_gap=(12,), hyst=(1,)),
    ),
    ("Q1 top 1% of the window guard", with_top_guard, grid(q=(0.99,))),
    ("Q2 top-q guard, q 0.9-0.995", with_top_guard, grid(q=(0.9, 0.95, 0.99, 0.995))),
    ("U1 likelihood of the upward surprise only", upward_likelihood, grid()),
    ("U2 ... surprise scale 4/8/16", upward_likelihood, grid(scale=(4, 8, 16))),
    ("U3 ... averaging 6/12/24", upward_likelihood, grid(L=(6, 12, 24))),
    ("U4 upward-only spike rule alone, exact stream (P1's)", spike_upward, grid()),
    # issue 25, fourth pass: two one-sided rules, as a brand's default spike and drop rules
    # would be, scored as the union of their alerts (`pair` adds the drop rule; `dthr` its
    # own threshold, else the spike rule's). Compare with P0, the shipped pair.
    ("P0 shipped spike + shipped drop (union)", shipped, grid(pair=(1,))),
    ("P1 upward-only spike + shipped drop", spike_upward, grid(pair=(1,))),
    ("P2 upward-only spike + downward-only drop", spike_upward, grid(pair=(2,))),
    ("P3 shipped spike + downward-only drop", shipped, grid(pair=(2,))),
    (
        "P4 P1, drop threshold 1-3 of its own",
        spike_upward,
        grid(pair=(1,), dthr=(1.0, 1.5, 2.0, 3.0)),
    ),
    (
        "P5 P2, drop threshold 1.5-6 of its own",
        spike_upward,
        grid(pair=(2,), dthr=(1.5, 2.0, 3.0, 4.0, 6.0)),
    ),
    ("P6 P2, drop surprise scale 4", spike_upward, grid(pair=(2,), dscale=(4.0,))),
    ("P7 P2, drop surprise scale 16", spike_upward, grid(pair=(2,), dscale=(16.0,))),
    ("P8 routed spike alone (likelihood while upward surprises dominate)", spike_routed, grid()),
    ("P9 ... margin 0.5/1/2", spike_routed, grid(margin=(0.5, 1.0, 2.0))),
    ("P10 routed spike + shipped drop", spike_routed, grid(pair=(1,))),
    (
        "P11 routed spike + routed drop (two-sided likelihood, told by direction)",
        spike_routed,
        grid(pair=(3,)),
    ),
    # issue 25, fifth pass: a hold-off after each alert (no new alert for that long), the
    # first pass's idea replayed here so that LOTO can score it.
    ("H1 hold-off 1 d after an alert", shipped, grid(hold=(288,))),
    ("H2 hold-off 0/12 h/1 d/3 d", shipped, grid(hold=(0, 144, 288, 864))),
]


def total(results: Sequence[Result]) -> float:
    raw, null, perfect = (sum(r[k] for r in results) for k in range(3))
    return 100.0 * (raw - null) / (perfect - null) if perfect > null else float("nan")


def run_variant(
    scored: Sequence[Scored], variant: Variant, *, both: bool = False
) -> list[dict[str, Result]]:
    """Per setting: every series' result; `both`: with the shipped drop rule's firings at
    the same threshold and end_after added (as nab_score's spike-and-drop rows)."""
    _, fn, settings = variant
    out = []
    for p in settings:
        per: dict[str, Result] = {}
        for s in scored:
            score, eligible = fn(s, p)
            fired = fired_runs(
                score,
                eligible,
                p["thr"],
                int(p["end"]),
                hysteresis=p.get("hyst", HYSTERESIS),
                repeat=int(p.get("repeat", 0)),
                min_run=int(p.get("min_run", 1)),
                escalate=p.get("esc", 0.0),
                escalate_gap=int(p.get("esc_gap", 0)),
                holdoff=int(p.get("hold", 0)),
            )
            if both or "pair" in p:
                d_score, d_eligible = drop_stream(s, p)
                drops = fired_runs(d_score, d_eligible, p.get("dthr", p["thr"]), int(p["end"]))
                fired = sorted(set(fired) | set(drops))
            per[s.name] = s.result(fired)
        out.append(per)
    for s in scored:  # keep memory flat: each variant's streams are recomputed
        s.cache = {k: v for k, v in s.cache.items() if k in ("starts", "range", "rank")}
    return out


def choose(
    results: list[dict[str, Result]],
    train: Sequence[Scored],
    *,
    balanced: bool = False,
) -> int:
    """The setting (index) with the best score on `train`: pooled over its series, or
    (`balanced`) the mean of its brand series' pooled score and the others' pooled score,
    so that realTweets weighs as much as the rest together (pooled when one side is empty)."""
    brands = [s.name for s in train if s.category == TWEETS]
    others = [s.name for s in train if s.category != TWEETS]
    if not (balanced and brands and others):
        names = brands + others
        return max(range(len(results)), key=lambda i: total([results[i][n] for n in names]))

    def weighed(i: int) -> float:
        return (total([results[i][n] for n in brands]) + total([results[i][n] for n in others])) / 2

    return max(range(len(results)), key=weighed)


def held_out(
    scored: Sequence[Scored],
    results: list[dict[str, Result]],
    settings: list[Setting],
    *,
    balanced: bool = False,
) -> tuple[dict[str, Result], dict[str, Setting]]:
    """LOCO: each series' result at the setting chosen on the other categories."""
    per: dict[str, Result] = {}
    chosen: dict[str, Setting] = {}
    for cat in sorted({s.category for s in scored}):
        best = choose(results, [s for s in scored if s.category != cat], balanced=balanced)
        chosen[cat] = settings[best]
        per.update({s.name: results[best][s.name] for s in scored if s.category == cat})
    return per, chosen


def without_tweets(
    scored: Sequence[Scored], results: list[dict[str, Result]], settings: list[Setting]
) -> tuple[float, float, Setting]:
    """(LOCO pooled over the five other categories with realTweets never seen, realTweets
    at the setting those five choose, that setting)."""
    rest = [s for s in scored if s.category != "realTweets"]
    per, _ = held_out(rest, results, settings)
    names = [s.name for s in rest]
    best = max(range(len(settings)), key=lambda i: total([results[i][n] for n in names]))
    tweets = [results[best][s.name] for s in scored if s.category == "realTweets"]
    return total(list(per.values())), total(tweets), settings[best]


def bootstrap(
    scored: Sequence[Scored],
    base: dict[str, Result],
    other: dict[str, Result],
    draws: int,
    seed: int = 25,
) -> tuple[float, float, float]:
    """(difference of pooled scores, 95% interval): series resampled within category."""
    rng = np.random.default_rng(seed)
    by_cat: dict[str, list[str]] = {}
    for s in scored:
        by_cat.setdefault(s.category, []).append(s.name)
    diffs = []
    for _ in range(draws):
        pick = [str(n) for names in by_cat.values() for n in rng.choice(names, len(names))]
        diffs.append(total([other[n] for n in pick]) - total([base[n] for n in pick]))
    point = total(list(other.values())) - total(list(base.values()))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return point, float(low), float(high)


def check_scorer(scored: Sequence[Scored], corpus: Sequence[nab.Series]) -> None:
    """The fast scorer and run replay give nab_score's figure for the shipped rule."""
    rule = nab.NAB_RULE
    by_name = {c.name: c for c in corpus}
    ours, theirs = [], []
    for s in scored:
        score, eligible = shipped(s, {})
        fired = fired_runs(score, eligible, rule.threshold, rule.end_after_buckets)
        ours.append(s.result(fired))
        theirs.append(nab.file_score(by_name[s.name], {s.stamps[i] for i in fired}))
    a, b = total(ours), total([(r[0].raw, r[1], r[2]) for r in theirs])
    if abs(a - b) > 1e-6:
        raise SystemExit(f"nab_candidates: fast scorer {a:.4f} != nab_score {b:.4f}")
    # the likelihood recomputed here, at the shipped constants, is the detector's own.
    again = []
    for s in scored:
        score, eligible = likelihood(s, {})
        fired = fired_runs(score, eligible, rule.threshold, rule.end_after_buckets)
        again.append(s.result(fired))
        s.cache = {k: v for k, v in s.cache.items() if k == "starts"}
    if abs(total(again) - a) > 1e-6:
        raise SystemExit(f"nab_candidates: recomputed likelihood {total(again):.4f} != {a:.4f}")
    print(f"scorer check: shipped NAB rule on all series {a:.1f} (= nab_score's figure, also")
    print("   with the likelihood recomputed from the surprises)")


def loto(
    scored: Sequence[Scored],
    results: list[dict[str, Result]],
    settings: list[Setting],
    *,
    balanced: bool = False,
) -> tuple[dict[str, Result], dict[str, Setting]]:
    """Leave-one-tweet-series-out: for each realTweets series, the setting chosen on every
    other series (the three other brand series and the other categories) and its result
    on the held-out one; `balanced` as in `choose`."""
    per: dict[str, Result] = {}
    chosen: dict[str, Setting] = {}
    for held in (s.name for s in scored if s.category == TWEETS):
        best = choose(results, [s for s in scored if s.name != held], balanced=balanced)
        per[held], chosen[held] = results[best][held], settings[best]
    return per, chosen


def _short(p: Setting, varied: Sequence[str]) -> str:
    return "/".join(f"{p[k]:g}" for k in varied)


def report_loto(
    scored: Sequence[Scored],
    guarded: Sequence[Scored],
    shipped: tuple[Sequence[Scored], Sequence[Scored]] | None,
    variants: Sequence[Variant],
    draws: int,
    both: bool,
) -> None:
    """The LOTO table. Per variant and objective (pooled over the other series, or
    realTweets weighed as the rest together): the four held-out brand series pooled, with
    the NAB rule everywhere, then with the default rule (guards on) on the brand series,
    training and held out alike, the NAB rule on the others (`guarded`: the brand series
    scored with it); beside LOCO with the same objective. Every interval is a paired
    bootstrap (LOTO: over the four brand series; LOCO: series within their category)
    against the shipped procedure, C0 chosen on the pooled score (with --stretch-cut,
    `shipped`: the same variant and objective on the shipped detector)."""
    tweets = [s for s in scored if s.category == TWEETS]
    names = [s.name.removeprefix("Twitter_volume_").removesuffix(".csv") for s in tweets]
    print(
        "\n| variant | settings | objective | NAB rule: LOTO, 4 held out | "
        + " / ".join(names)
        + " | vs shipped (95% CI) | default rule: LOTO | "
        + " / ".join(names)
        + " | vs shipped (95% CI) | LOCO pooled | vs shipped (95% CI) | realTweets, LOCO"
        " | chosen per held-out series: NAB rule; default rule |"
    )
    print("|---" * 14 + "|")
    reference: dict[str, dict[str, Result]] = {}
    for variant in variants:
        name, _, settings = variant
        results = run_variant(scored, variant, both=both)
        with_guards = [
            {**r, **g}
            for r, g in zip(results, run_variant(guarded, variant, both=both), strict=True)
        ]
        varied = [k for k in settings[0] if len({p[k] for p in settings}) > 1]
        if shipped:
            again = run_variant(shipped[0], variant, both=both)
            again_guards = [
                {**r, **g}
                for r, g in zip(again, run_variant(shipped[1], variant, both=both), strict=True)
            ]
        for balanced in (False, True):
            nab_rule, chosen = loto(scored, results, settings, balanced=balanced)
            default, chosen_g = loto(scored, with_guards, settings, balanced=balanced)
            loco, _ = held_out(scored, results, settings, balanced=balanced)
            if shipped:
                reference = {
                    "nab": loto(shipped[0], again, settings, balanced=balanced)[0],
                    "default": loto(shipped[0], again_guards, settings, balanced=balanced)[0],
                    "loco": held_out(shipped[0], again, settings, balanced=balanced)[0],
                }
            reference = reference or {"nab": nab_rule, "default": default, "loco": loco}
            cells = []
            for key, got in (("nab", nab_rule), ("default", default)):
                diff, low, high = bootstrap(tweets, reference[key], got, draws)
                cells += [
                    _fmt(total(list(got.values()))),
                    " / ".join(_fmt(total([got[s.name]])) for s in tweets),
                    f"{diff:+.1f} ({low:+.1f}, {high:+.1f})",
                ]
            diff, low, high = bootstrap(scored, reference["loco"], loco, draws)
            cells += [
                _fmt(total(list(loco.values()))),
                f"{diff:+.1f} ({low:+.1f}, {high:+.1f})",
                _fmt(total([loco[s.name] for s in tweets])),
            ]
            picks = "; ".join(_short(chosen[s.name], varied) for s in tweets)
            picks_g = "; ".join(_short(chosen_g[s.name], varied) for s in tweets)
            print(
                f"| {name} | {len(settings)} | {'weighed' if balanced else 'pooled'} | "
                + " | ".join(cells)
                + f" | {'/'.join(varied)}: {picks}; default: {picks_g} |",
                flush=True,
            )


def _fmt(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1f}"


def _set_stretch_cut(cut: float) -> None:
    detectors_module.STRETCH_CUT = cut


def score_corpus(
    corpus: Sequence[nab.Series],
    jobs: int,
    cut: float,
    cache: Path | None = None,
    rule: Rule = nab.NAB_RULE,
) -> list[Scored]:
    """Every series scored by the detector with its STRETCH_CUT set to `cut` (read from
    `cache` when the alerting code, SCORED_VERSION and the corpus have not changed)."""
    path = None
    if cache is not None:
        key = (
            SCORED_VERSION,
            cut,
            rule.model_dump_json(),
            [(s.name, len(s.rows), s.rows[-1]) for s in corpus],
        )
        digest = hashlib.sha256(repr(key).encode())
        for source in sorted(Path(detectors_module.__file__).parent.glob("*.py")):
            digest.update(source.read_bytes())
        path = cache / f"scored-{digest.hexdigest()[:16]}.pkl"
        if path.is_file():
            loaded: list[Scored] = pickle.loads(path.read_bytes())
            return loaded
    _set_stretch_cut(cut)
    scored = []
    with multiprocessing.Pool(max(1, jobs), _set_stretch_cut, (cut,)) as pool:
        for i, done in enumerate(pool.imap(functools.partial(score_one, rule=rule), corpus), 1):
            scored.append(done)
            print(f"\r   scored {i}/{len(corpus)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(scored))
    return scored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="series scored in parallel")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap draws")
    parser.add_argument(
        "--both",
        action="store_true",
        help="score each variant's spike firings together with the shipped drop rule's "
        "(NAB's labels have no direction; nab_score.py's 'both' rows)",
    )
    parser.add_argument(
        "--anomalies",
        type=Path,
        default=Path(os.environ.get("VEILLE_ANOMALIES") or nab.DEFAULT_ANOMALIES),
        help="folder holding nab_realTweets/ and nab_other/ (as nab_score.py)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="PREFIX",
        help="only the variants whose name starts with one of these (e.g. P: the paired "
        "rules); the first one run is the reference of the interval",
    )
    parser.add_argument(
        "--stretch-cut",
        type=float,
        help="score the series with detectors.STRETCH_CUT at this value (0.25: the mean of "
        "the middle half of a stretch's residuals; shipped 0.5, the median); the interval "
        "is then against the same variant on the shipped detector",
    )
    parser.add_argument(
        "--loto",
        action="store_true",
        help="leave-one-tweet-series-out instead of the LOCO table: each realTweets series "
        "scored at the setting chosen on all the other series (the shipped detector, C0, "
        "is always the first row and the reference of the intervals)",
    )
    parser.add_argument(
        "--scored-cache",
        type=Path,
        help="keep the detector's per-bucket numbers in this folder between runs (keyed by "
        "the detector's and this script's code and the stretch cut)",
    )
    parser.add_argument(
        "--count-gate",
        action="store_true",
        help="issue 25's seventh pass instead: the default rule's count guards replaced or "
        "gated by a count tail (benchmarks/nab_count_gate.py: LOTO, thinned, anomaly-free "
        "and Poisson streams, alert rates by sensitivity)",
    )
    args = parser.parse_args(argv)
    if args.count_gate:
        import nab_count_gate

        return nab_count_gate.run(args)
    if args.stretch_cut is not None and not 0.0 <= args.stretch_cut <= 0.5:
        parser.error("--stretch-cut: a share cut at each end, 0 (the mean) to 0.5 (the median)")
    variants = [v for v in VARIANTS if not args.only or v[0].startswith(tuple(args.only))]
    if args.loto and not args.stretch_cut:
        variants = [VARIANTS[0], *(v for v in variants if v is not VARIANTS[0])]
    folders = [args.anomalies / nab.TWEETS, args.anomalies / nab.OTHERS]
    if not all((f / "combined_windows.json").is_file() for f in folders):
        print(f"nab_candidates: no NAB series under {args.anomalies}", file=sys.stderr)
        return 2
    corpus = nab.load_corpus(folders)
    shipped_cut = detectors_module.STRETCH_CUT
    scored = score_corpus(corpus, args.jobs, shipped_cut, args.scored_cache)
    check_scorer(scored, corpus)
    shipped_scored: list[Scored] = []
    if args.stretch_cut is not None:
        print(f"stretch cut {args.stretch_cut:g}: each variant against itself at {shipped_cut:g}")
        shipped_scored = scored
        scored = score_corpus(corpus, args.jobs, args.stretch_cut, args.scored_cache)
    if args.loto:
        brands = [c for c in corpus if c.category == TWEETS]
        guarded = score_corpus(
            brands, args.jobs, args.stretch_cut or shipped_cut, args.scored_cache, nab.DEFAULT_RULE
        )
        shipped = None
        if shipped_scored:
            shipped_guarded = score_corpus(
                brands, args.jobs, shipped_cut, args.scored_cache, nab.DEFAULT_RULE
            )
            shipped = (shipped_scored, shipped_guarded)
        report_loto(scored, guarded, shipped, variants, args.boot, args.both)
        return 0
    cats = sorted({s.category for s in scored})
    short = {c: c.removeprefix("real")[:8] for c in cats}
    against = "shipped cut" if shipped_scored else variants[0][0].split()[0]
    print(
        f"\n| variant | settings | LOCO pooled | vs {against} (95% CI) | "
        + " | ".join(short[c] for c in cats)
        + " | 5-cat LOCO | realTweets, chosen on 5 |"
    )
    print("|---" * (6 + len(cats)) + "|")
    base: dict[str, Result] | None = None
    for variant in variants:
        name, _, settings = variant
        results = run_variant(scored, variant, both=args.both)
        per, _ = held_out(scored, results, settings)
        if shipped_scored:
            reference = run_variant(shipped_scored, variant, both=args.both)
            base, _ = held_out(shipped_scored, reference, settings)
        base = base or per
        diff, low, high = bootstrap(scored, base, per, args.boot)
        by_cat = [total([per[s.name] for s in scored if s.category == c]) for c in cats]
        five, tweets, _ = without_tweets(scored, results, settings)
        print(
            f"| {name} | {len(settings)} | {_fmt(total(list(per.values())))} | "
            f"{diff:+.1f} ({low:+.1f}, {high:+.1f}) | "
            + " | ".join(_fmt(x) for x in by_cat)
            + f" | {_fmt(five)} | {_fmt(tweets)} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
