"""Streaming anomaly detectors: volume spike, unusual drop, negative-share spike.

A detector is fed one *closed* bucket at a time (``update``) and keeps its state, so the
same object runs a backtest or a live rule. The rules evaluator only feeds a bucket once
it is closed plus the allowed lateness; a bucket that arrives again, or out of order, is
ignored here, so data that is merely late never looks like a drop. A bucket absent from
the stream between two fed buckets is taken as zero mentions (a silent source).

Volume spikes and drops (``VolumeDetector``) score how far a bucket, or the last few
buckets (``SCALES``), stray from their seasonal expectation in units of the usual 1-in-100
excursion of the brand's own recent history; the negative share is a binomial z-score.
A bucket alerts when every guard passes (warm-up, enough history, ``min_volume``,
``min_ratio`` / ``min_share_delta``) and its score reaches the rule's threshold (set by
its sensitivity, see ``rules.SENSITIVITY_Z``). An alert opens after ``min_run`` anomalous
buckets in a row and fires once; it resolves after ``end_after`` normal buckets in a row
(6 hours by default), so a burst and its echoes make one alert.

``score_series`` gives every bucket's ``Evaluation`` (score, eligible); ``replay`` turns
them into the alerts of any other threshold without scoring again.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from services.alerting.baseline import (
    LevelTracker,
    RollingQuantiles,
    SeasonalBaseline,
    SeasonalMedian,
)
from services.alerting.count_tail import dispersion, tail_score
from services.alerting.explanation import english, rule_baseline
from services.alerting.rules import Rule, RuleKind

#: The tail whose usual excursion is the volume score's unit: 1 = an ordinary 1-in-100 bucket.
TAIL = 0.01
#: time scales, in buckets, whose mean residual is scored (the highest score counts):
#: a one-bucket burst, a surge over a few buckets, a lasting level change.
SCALES = (1, 6, 36)
#: a stretch scoring at least this is an outlier: kept out of the tail history.
OUTLIER = 4.0
#: counts: over a stretch, a drop's score unit is at most this fraction of the expected
#: value, so a silent source scores >= 1/DROP_UNIT = 3.3 (medium) whatever the tails.
DROP_UNIT = 0.3
#: numerical floor of the score unit, as a fraction of the 10-90% spread of the values.
SPREAD_FLOOR = 1e-3
#: history needed before residuals are kept: one full season.
SEASON = {"none": timedelta(0), "daily": timedelta(days=1), "weekly": timedelta(days=7)}
#: residuals needed before a volume rule may fire (besides the warm-up period), when the
#: baseline window holds enough buckets; see `min_history_buckets`.
MIN_HISTORY_BUCKETS = 48
#: ...else this share of the buckets the baseline window holds: the residual history is
#: pruned to that window, so with daily buckets (14 in two weeks) 48 could never be reached.
MIN_HISTORY_SHARE = 0.5
#: While fewer than MIN_HISTORY_BUCKETS residuals are held (long buckets), their 1% tail is
#: not observed: their quantile 0.99 is their maximum, which the first half of a spike
#: becomes and then hides the second. The unit is then the 1-in-100 excursion of a normal
#: with their robust spread (IQR / 1.349 as sd, x 2.326), and for counts at least that of
#: Poisson counting noise (2.326 sd of the expected count).
TAIL_Z = 2.326
IQR_TO_SIGMA = 1 / 1.349
#: an open run goes on while the score stays above this fraction of the threshold. 1.0:
#: the 12-hour `end_after` already makes a wavering burst one alert, and below 1 the best
#: of several time scales stays above the cut so often that a run never ends (0.5 was
#: tried: drop and share runs stayed open for days and swallowed the next event).
HYSTERESIS = 0.75
#: scores are clipped to this (a flat history has no spread: any change is "infinitely" far).
SCORE_CAP = 1e6
#: a missing stretch longer than this is not filled with zeros (detector restarts warm-up).
MAX_FILL_BUCKETS = 10_000
#: Anomaly likelihood (HTM's post-processing, on this detector's surprise): the surprise
#: is squashed to [0, 1) by tanh(surprise / SURPRISE_SCALE), averaged over the last
#: LIKELIHOOD_AVERAGE buckets, and that mean is compared with its own mean and sd over the
#: baseline window (sd floored). Chosen with the thresholds by leave-one-category-out on
#: NAB's 52 shared series (benchmarks/nab_score.py): 8 and 12 won on every held-out fold.
#: A count of buckets, not a duration: one bucket alone is too noisy a mean (tried with
#: hourly buckets: false alarms on a quiet series), so long buckets react later, which
#: RAW_PER_UNIT makes up for on clear bursts.
SURPRISE_SCALE = 8.0
LIKELIHOOD_AVERAGE = 12
LIKELIHOOD_SD_FLOOR = 0.03
#: averaged surprises needed before the likelihood is trusted (fewer with long buckets).
LIKELIHOOD_MIN_SAMPLES = 200
#: a raw score (units of the usual 1-in-100 excursion) counts as this many times less in
#: likelihood units: at 'medium' (1.5) a bucket 5 times as far out as the usual top 1%
#: alerts at once, as the previous detector's 'medium' (5) did (a drop: 3 times, ditto);
#: for rules on long buckets (no likelihood) the previous thresholds are kept this way.
RAW_PER_UNIT = {"volume_spike": 10.0 / 3.0, "drop": 2.0}
#: The likelihood needs LIKELIHOOD_AVERAGE buckets to span at most this: with longer
#: buckets (hourly, daily) its mean would lag by half a day or more and the window holds
#: too few of them to estimate its spread, so the score is the raw one, in the same units.
LIKELIHOOD_SPAN = timedelta(hours=1)
#: A stretch of k > 1 buckets is scored by the mean of its residuals with this share cut
#: at each end: 0.5, the median (shipped). Means of the middle half (0.25) or fifth (0.4)
#: are less quantised on sparse counts and raise pooled LOCO by about 4 but lower
#: realTweets held out (59.3, 60.5 against 61.8; `nab_candidates.py --stretch-cut`).
STRETCH_CUT = 0.5
#: -log10 of the smallest tail probability told apart (a float's erfc underflows past it).
LIKELIHOOD_CAP = 300.0
#: Count gate (issue 25, seventh pass; off when None, as shipped): on counts, a spike's
#: stretch also needs its mentions to be this unlikely, as -log10 P(count >= observed), under
#: a negative binomial whose mean is the expectation (at least the slot's 10%-trimmed mean x
#: level, and COUNT_MEAN_FLOOR) and whose over-dispersion is the slot's own (robust sd from
#: its IQR; Poisson at least). `benchmarks/nab_candidates.py --count-gate` scores it. Not
#: shipped: chosen by LOTO it loses a brand window (73.1 to 74.2 against 77.0), and the gate
#: that gains at full volume (2) alerts twice a month on an anomaly-free series; from 3 up
#: it silences Poisson counting noise (model card, seventh pass).
COUNT_GATE: float | None = None
#: the count model's smallest mean a bucket (a slot that never saw a mention).
COUNT_MEAN_FLOOR = 0.1


@dataclass(frozen=True)
class Alert:
    """An anomalous run and the numbers that explain it."""

    rule: str
    kind: RuleKind
    status: Literal["firing", "resolved"]
    #: start of the first anomalous bucket; end of the last one (None while firing).
    start: datetime
    end: datetime | None
    #: bucket whose evaluation fired the alert.
    fired_at: datetime
    observed: float
    expected: float
    score: float
    threshold: float
    baseline_window: timedelta
    baseline_method: str
    peak_observed: float
    peak_score: float
    buckets: int = 1
    details: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (ISO timestamps, durations in seconds)."""
        data = asdict(self)
        for key in ("start", "end", "fired_at"):
            value = data[key]
            data[key] = value.isoformat() if isinstance(value, datetime) else None
        data["baseline_window"] = self.baseline_window.total_seconds()
        for key in ("observed", "expected", "score", "peak_observed", "peak_score"):
            data[key] = round(float(data[key]), 6)
        return data


@dataclass(frozen=True)
class Evaluation:
    """One bucket's comparison with its baseline."""

    ts: datetime
    observed: float
    expected: float
    score: float
    anomalous: bool
    details: dict[str, float]
    #: every guard passed (warm-up, history, min_volume, min_ratio) but the threshold: the
    #: bucket would have alerted at any sensitivity whose threshold is <= score.
    eligible: bool = True


@dataclass
class _Direction:
    """A volume bucket scored one way: per-scale scores and the best guarded candidate
    (guards, score, scale, unit, observed, expected)."""

    scores: list[float] = field(default_factory=list)
    best: tuple[bool, float, int, float, float, float] | None = None
    bucket_score: float = 0.0
    #: -log10 P(count >= observed) of the last bucket under the count model (count gate)
    count_tail: float = 0.0


class Detector(Protocol):
    """A streaming detector; ``update`` gets one closed bucket and returns alert changes."""

    rule: Rule

    def update(self, ts: datetime, value: float, total: float | None = None) -> list[Alert]:
        """Feeds one closed bucket; returns a 'firing' alert on onset, 'resolved' on end."""
        ...


def min_history_buckets(rule: Rule) -> int:
    """Residuals a volume rule needs before it may fire: MIN_HISTORY_BUCKETS, or half the
    buckets its baseline window holds when that is fewer (at least 2). With the default
    14-day window: 48 buckets up to 6-hour buckets, 7 days of daily buckets; the evaluator
    replays warm-up plus two whole windows, so a rule of any bucket can reach it."""
    held = int(rule.baseline_window / rule.bucket)
    return max(2, min(MIN_HISTORY_BUCKETS, int(held * MIN_HISTORY_SHARE)))


class _RunTracker:
    """Opens, extends and closes anomalous runs; shared by every detector."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._streak: list[Evaluation] = []
        self._normal = 0
        self._open: Alert | None = None
        self._last_anomalous: datetime | None = None

    def step(self, ev: Evaluation) -> list[Alert]:
        rule = self.rule
        if self._open is not None:
            # A run lasts while buckets stay anomalous (HYSTERESIS x threshold).
            if ev.anomalous or ev.score >= rule.threshold * HYSTERESIS:
                self._normal = 0
                # the run ends with the last bucket that was itself out of line (a longer
                # time scale may stay high a little after the burst).
                if ev.details.get("bucket_score", ev.score) >= rule.threshold * HYSTERESIS:
                    self._last_anomalous = ev.ts
                open_ = self._open
                self._open = replace(
                    open_,
                    buckets=open_.buckets + 1,
                    peak_observed=max(open_.peak_observed, ev.observed),
                    peak_score=max(open_.peak_score, ev.score),
                )
                return []
            self._normal += 1
            if self._normal < rule.end_after_buckets:
                return []
            assert self._last_anomalous is not None
            closed = replace(self._open, status="resolved", end=self._last_anomalous + rule.bucket)
            self._open = None
            self._streak = []
            return [closed]
        if not ev.anomalous:
            self._streak = []
            return []
        self._streak.append(ev)
        if len(self._streak) < rule.min_run:
            return []
        first = self._streak[0]
        self._open = Alert(
            rule=rule.name,
            kind=rule.kind,
            status="firing",
            start=first.ts,
            end=None,
            fired_at=ev.ts,
            observed=ev.observed,
            expected=ev.expected,
            score=ev.score,
            threshold=rule.threshold,
            baseline_window=rule.baseline_window,
            baseline_method=english(rule_baseline(rule)),
            peak_observed=max(e.observed for e in self._streak),
            peak_score=max(e.score for e in self._streak),
            buckets=len(self._streak),
            details=dict(ev.details),
        )
        self._normal = 0
        self._last_anomalous = ev.ts
        self._streak = []
        return [self._open]

    def reset(self) -> None:
        self._streak = []
        self._normal = 0
        self._open = None
        self._last_anomalous = None

    @property
    def open_alert(self) -> Alert | None:
        return self._open


class _StreamingBase:
    """Bucket bookkeeping: ordering, late data, gaps, warm-up."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.first_ts: datetime | None = None
        self.last_ts: datetime | None = None
        self.ignored_late = 0
        self.runs = _RunTracker(rule)
        #: when a list, every bucket's Evaluation is appended to it (backtests, benchmarks).
        self.trace: list[Evaluation] | None = None

    @property
    def open_alert(self) -> Alert | None:
        """The alert currently firing, if any."""
        return self.runs.open_alert

    def _warm(self, ts: datetime) -> bool:
        assert self.first_ts is not None
        return ts - self.first_ts >= self.rule.warmup_period

    def _accept(self, ts: datetime) -> list[datetime] | None:
        """Buckets to process for ts (missing ones first), or None if ts is late."""
        if self.last_ts is not None and ts <= self.last_ts:
            self.ignored_late += 1
            return None
        if self.first_ts is None or self.last_ts is None:
            self.first_ts = ts
            return [ts]
        bucket = self.rule.bucket
        missing = int((ts - self.last_ts) / bucket) - 1
        if missing <= 0 or self.rule.missing == "skip":
            return [ts]
        if missing > MAX_FILL_BUCKETS:
            # too long a hole to call it silence: start over, warm-up included.
            self._restart(ts)
            return [ts]
        return [self.last_ts + bucket * (i + 1) for i in range(missing)] + [ts]

    def _restart(self, ts: datetime) -> None:
        trace = self.trace
        self.__init__(self.rule)  # type: ignore[misc]
        self.first_ts = ts
        self.trace = trace


class VolumeDetector(_StreamingBase):
    """Volume spike or drop: how far a bucket strays from its seasonal expectation, in units
    of the usual 1-in-100 excursion of the last baseline window.

    expected = median of the bucket's seasonal slot x robust level (trend, level shifts);
    residual = observed - expected; the score divides the residual's distance from the
    median residual by the distance of the residuals' 99th (drop: 1st) percentile from it.
    So a score of 1 is an ordinary top-1% bucket and 3 is three times as far out, whatever
    the volume or the units: the tails of the brand's own history set the scale (bursty
    brands get a wider one). The one assumption: on counts, a spike's unit is never below
    the 1-in-100 excursion of Poisson counting noise, so a quiet brand's single mentions
    do not score far out.
    """

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        if rule.kind not in ("volume_spike", "drop"):
            raise ValueError(f"VolumeDetector does not handle {rule.kind}")
        self.baseline = SeasonalMedian(window=rule.baseline_window, seasonality=rule.seasonality)
        self.level = LevelTracker(window=rule.level_window)
        # one residual history per time scale: the mean residual of the last k buckets.
        self.scales = [k for k in SCALES if k == 1 or k * rule.bucket <= rule.baseline_window / 4]
        self._recent: deque[tuple[float, float]] = deque(maxlen=max(self.scales))
        self.residuals = [RollingQuantiles(rule.baseline_window) for _ in self.scales]
        self._obs: deque[float] = deque(maxlen=rule.smoothing)
        self.min_history = min_history_buckets(rule)
        self._surprises: deque[float] = deque(maxlen=LIKELIHOOD_AVERAGE)
        self._lk_history: deque[tuple[datetime, float]] = deque()
        self._lk_sums = [0.0, 0.0]
        held = int(rule.baseline_window / rule.bucket)
        self.min_likelihood = max(2, min(LIKELIHOOD_MIN_SAMPLES, held // 2))
        # Drops keep the raw score: with the likelihood, synthetic silent sources were caught
        # half as often with 8x the false alarms (benchmarks/bench_drops_shares.py).
        self.use_likelihood = (
            rule.kind == "volume_spike" and rule.bucket * LIKELIHOOD_AVERAGE <= LIKELIHOOD_SPAN
        )
        self.last: Evaluation | None = None
        #: (mean floor, alpha) of the count gate's model for the bucket being scored
        self._count_model: tuple[float, float] | None = None

    def update(self, ts: datetime, value: float, total: float | None = None) -> list[Alert]:
        """Feeds one closed bucket's count."""
        if not math.isfinite(value) or (value < 0 and self.rule.missing == "zero"):
            raise ValueError(f"bucket {ts.isoformat()}: count must be finite and >= 0, got {value}")
        todo = self._accept(ts)
        if todo is None:
            return []
        out: list[Alert] = []
        for bucket_ts in todo:
            out.extend(self._step(bucket_ts, value if bucket_ts == ts else 0.0))
        self.last_ts = ts
        return out

    def _step(self, ts: datetime, value: float) -> list[Alert]:
        rule = self.rule
        self._obs.append(value)
        observed = value_s = sum(self._obs) / len(self._obs)
        seasonal, samples = self.baseline.median(ts)
        level = self.level.level(ts) if rule.seasonality != "none" else 1.0
        expected = seasonal * level
        self._recent.append((observed, expected))
        recent = list(self._recent)
        values = self.baseline.values
        values.prune(ts)
        floor = max(
            rule.noise_floor * abs(expected),
            SPREAD_FLOOR * (values.quantile(0.9) - values.quantile(0.1)),
            1e-9 * (1.0 + abs(expected)),
        )
        # The residual statistic of each time scale, its mean over the stretch (obs, exp).
        # A stretch is scored by its median residual: one burst bucket does not move it
        # (that is the one-bucket scale's job, and it would linger for k buckets), a change
        # lasting over half the stretch does.
        stretches: list[tuple[int, float, float, float]] = []
        for k, history in zip(self.scales, self.residuals, strict=True):
            window = recent[-k:]
            obs_k = sum(o for o, _ in window) / len(window)
            exp_k = sum(e for _, e in window) / len(window)
            if k == 1:
                stat = obs_k - exp_k
            elif STRETCH_CUT >= 0.5:
                stat = statistics.median(o - e for o, e in window)
            else:
                ranked = sorted(o - e for o, e in window)
                cut = int(len(ranked) * STRETCH_CUT)
                kept = ranked[cut : len(ranked) - cut]
                stat = sum(kept) / len(kept)
            stretches.append((k, stat, obs_k, exp_k))
            history.prune(ts)
        self._count_model = None
        if COUNT_GATE is not None and rule.missing == "zero":
            tmean, sd, _ = self.baseline.slot_moments(ts)
            self._count_model = (max(tmean * level, COUNT_MEAN_FLOOR), dispersion(tmean, sd))
        up = self._directional(1.0, stretches, len(recent), floor)
        down = self._directional(-1.0, stretches, len(recent), floor)
        own = up if rule.kind == "volume_spike" else down
        guards, raw, scale_used, spread, obs_best, exp_best = own.best or (
            False,
            0.0,
            1,
            0.0,
            observed,
            expected,
        )
        ready = (
            len(self.residuals[0]) >= self.min_history
            and len(self._obs) == rule.smoothing
            and self._warm(ts)
        )
        # The surprise of the bucket, whatever its direction (each direction counts when its
        # guards pass); the rule's score is how unusual the recent surprise is (below).
        surprise = max(
            (d.best[1] for d in (up, down) if ready and d.best is not None and d.best[0]),
            default=0.0,
        )
        likelihood, z, lk_ready = 0.0, 0.0, True
        if self.use_likelihood:
            likelihood, z, lk_ready = self._likelihood(ts, surprise)
        # A burst far beyond the usual excursion alerts at once, before the likelihood's
        # average has risen.
        score = max(likelihood, raw / RAW_PER_UNIT[rule.kind])
        eligible = guards and ready and lk_ready
        ev = Evaluation(
            ts=ts,
            observed=obs_best,
            expected=exp_best,
            score=score,
            anomalous=eligible and score >= rule.threshold,
            details={
                "level": level,
                "seasonal_median": seasonal,
                "slot_samples": float(samples),
                "tail_spread": spread,
                "scale_buckets": float(scale_used),
                # the last bucket's own score, in the same units (ends a run, see HYSTERESIS)
                "bucket_score": own.bucket_score / RAW_PER_UNIT[rule.kind],
                "raw_score": raw,
                "surprise": surprise,
                # each direction's surprise alone (0 when its guards fail), for benchmarks
                "surprise_up": up.best[1] if ready and up.best and up.best[0] else 0.0,
                "surprise_down": down.best[1] if ready and down.best and down.best[0] else 0.0,
                "likelihood": likelihood,
                "likelihood_z": z,
                **(
                    {"count_tail": up.count_tail, "count_alpha": self._count_model[1]}
                    if self._count_model is not None
                    else {}
                ),
            },
            eligible=eligible,
        )
        self.last = ev
        if self.trace is not None:
            self.trace.append(ev)
        alerts = self.runs.step(ev)
        self.baseline.add(ts, value_s)
        # Until a whole season has been seen, 'expected' is the median of other hours: such
        # residuals would widen the tails for the whole window, so they are not kept.
        assert self.first_ts is not None
        if ts - self.first_ts >= SEASON[rule.seasonality]:
            if rule.seasonality != "none":
                self.level.add(ts, value_s, seasonal)
            for (_, stat, _, _), s_up, s_down, history in zip(
                stretches, up.scores, down.scores, self.residuals, strict=True
            ):
                # An outlier (either way) is kept out of the tails it is judged by, else a
                # burst of a few buckets becomes the top 1% itself and hides its own end
                # (and the next one). The cut is fixed, not the rule's threshold, so
                # `replay` stays exact; both directions alike, so a spike rule and a drop
                # rule on one series see the same surprise.
                if max(s_up, s_down) < OUTLIER:
                    history.add(ts, stat)
        return alerts

    def _directional(
        self, sign: float, stretches: list[tuple[int, float, float, float]], held: int, floor: float
    ) -> _Direction:
        """Scores every time scale one way (+1 above, -1 below the expectation) in units of
        the usual 1-in-100 excursion that way; the best scale whose guards pass counts."""
        rule = self.rule
        out = _Direction()
        for (k, stat, obs_k, exp_k), history in zip(stretches, self.residuals, strict=True):
            out.scores.append(-SCORE_CAP)
            if held < k or len(history) < self.min_history:
                continue
            center = history.quantile(0.5)
            if len(history) >= MIN_HISTORY_BUCKETS:
                edge = history.quantile(1.0 - TAIL if sign > 0 else TAIL)
                unit = max(sign * (edge - center), floor)
                if sign > 0 and rule.missing == "zero":
                    # Sparse counts (a mention every few buckets): a stretch's median
                    # residual is nearly always 0, so its tail collapses to the numerical
                    # floor and a stretch of single mentions scored in the hundreds. A
                    # count's unit is never below its counting noise's 1-in-100 excursion.
                    unit = max(unit, TAIL_Z * math.sqrt(max(exp_k, 1.0) / k))
            else:
                iqr = history.quantile(0.75) - history.quantile(0.25)
                unit = max(TAIL_Z * IQR_TO_SIGMA * iqr, floor)
                if rule.missing == "zero":
                    unit = max(unit, TAIL_Z * math.sqrt(max(exp_k, 1.0) / k))
            if sign < 0 and rule.missing == "zero" and k > 1:
                # Counts are bounded by zero: over a stretch of buckets a drop's unit is at
                # most DROP_UNIT of the expected value (silence scores >= 1/DROP_UNIT) and
                # at least the counting noise of the stretch (the Poisson sd of its mean).
                # Not for one bucket: over-dispersed counts dip that much by chance.
                unit = max(min(unit, DROP_UNIT * exp_k), math.sqrt(max(exp_k, 0.0) / k), floor)
            s_k = min(max(sign * (stat - center) / unit, -SCORE_CAP), SCORE_CAP)
            out.scores[-1] = s_k
            if k == 1:
                out.bucket_score = s_k
            if sign > 0:
                # min_volume: mentions above the expected ones over the scored stretch.
                guards = (
                    (obs_k - exp_k) * k >= rule.min_volume
                    and obs_k > exp_k
                    and obs_k >= exp_k * rule.min_ratio
                )
                if self._count_model is not None and COUNT_GATE is not None:
                    # the stretch's sum against k independent buckets of the count model
                    mean, alpha = self._count_model
                    tail = tail_score(obs_k * k, k * max(exp_k, mean), alpha / k)
                    if k == 1:
                        out.count_tail = tail
                    guards = guards and tail >= COUNT_GATE
            else:
                guards = (
                    exp_k * k >= rule.min_volume
                    and obs_k < exp_k
                    and obs_k * rule.min_ratio <= exp_k
                )
            candidate = (guards, s_k, k, unit, obs_k, exp_k)
            if out.best is None or candidate[:2] > out.best[:2]:
                out.best = candidate
        return out

    def _likelihood(self, ts: datetime, surprise: float) -> tuple[float, float, bool]:
        """(score, z, ready): how unusual the mean surprise of the last LIKELIHOOD_AVERAGE
        buckets is against that mean over the baseline window, as -log10 of its normal tail
        probability (HTM's anomaly likelihood, on this detector's surprise). A series that
        is often surprising (a bursty brand) needs more to score high than a steady one."""
        self._surprises.append(math.tanh(max(surprise, 0.0) / SURPRISE_SCALE))
        mean = sum(self._surprises) / len(self._surprises)
        history = self._lk_history
        horizon = ts - self.rule.baseline_window
        while history and history[0][0] < horizon:
            _, old = history.popleft()
            self._lk_sums[0] -= old
            self._lk_sums[1] -= old * old
        n = len(history)
        z = 0.0
        ready = n >= self.min_likelihood
        if n:
            mu = self._lk_sums[0] / n
            sd = math.sqrt(max(self._lk_sums[1] / n - mu * mu, 0.0))
            z = (mean - mu) / max(sd, LIKELIHOOD_SD_FLOOR)
        history.append((ts, mean))
        self._lk_sums[0] += mean
        self._lk_sums[1] += mean * mean
        tail = 0.5 * math.erfc(z / math.sqrt(2.0))
        score = -math.log10(tail) if tail > 0 else LIKELIHOOD_CAP
        return min(score, LIKELIHOOD_CAP), z, ready


class NegativeShareDetector(_StreamingBase):
    """Spike of the negative share of mentions against its pooled seasonal share."""

    #: a slot needs this many mentions before its own share is used (else the whole window).
    MIN_SLOT_TOTAL = 30.0

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        if rule.kind != "negative_share_spike":
            raise ValueError(f"NegativeShareDetector does not handle {rule.kind}")
        self._neg = SeasonalBaseline(window=rule.baseline_window, seasonality=rule.seasonality)
        self._tot = SeasonalBaseline(window=rule.baseline_window, seasonality=rule.seasonality)
        self._all: deque[tuple[datetime, float, float]] = deque()
        self._sums = [0.0, 0.0]
        m = rule.smoothing
        # stretches scored: the smoothing, then longer ones (as for volumes): a share is
        # too noisy on a few mentions, and a few hours of them tell it apart.
        self.scales = [m] + [
            k for k in SCALES if k > m and k * rule.bucket <= rule.baseline_window / 4
        ]
        self._recent: deque[tuple[float, float]] = deque(maxlen=max(self.scales))
        self.last: Evaluation | None = None

    def update(self, ts: datetime, value: float, total: float | None = None) -> list[Alert]:
        """Feeds one closed bucket: value = negative mentions, total = all mentions."""
        if total is None:
            raise ValueError("negative_share_spike needs (negative, total) per bucket")
        for name, x in (("negative", value), ("total", total)):
            if not math.isfinite(x) or x < 0:
                raise ValueError(f"bucket {ts.isoformat()}: {name} must be finite and >= 0")
        if value > total:
            raise ValueError(f"bucket {ts.isoformat()}: negative ({value}) > total ({total})")
        todo = self._accept(ts)
        if todo is None:
            return []
        out: list[Alert] = []
        for bucket_ts in todo:
            pair = (value, total) if bucket_ts == ts else (0.0, 0.0)
            out.extend(self._step(bucket_ts, *pair))
        self.last_ts = ts
        return out

    def _pooled(self, ts: datetime) -> tuple[float, float]:
        horizon = ts - self.rule.baseline_window
        while self._all and self._all[0][0] < horizon:
            _, n, t = self._all.popleft()
            self._sums[0] -= n
            self._sums[1] -= t
        slot_neg = sum(v for _, v in self._neg.slot(ts))
        slot_tot = sum(v for _, v in self._tot.slot(ts))
        if slot_tot >= self.MIN_SLOT_TOTAL:
            return slot_neg, slot_tot
        return max(self._sums[0], 0.0), max(self._sums[1], 0.0)

    def _step(self, ts: datetime, negative: float, total: float) -> list[Alert]:
        rule = self.rule
        base_neg, base_tot = self._pooled(ts)
        self._recent.append((negative, total))
        recent = list(self._recent)
        expected = base_neg / base_tot if base_tot > 0 else 0.0
        # binomial noise of the observed share, floored so tiny baselines stay humble.
        p = min(max(expected, 0.02), 0.98)
        best: tuple[bool, float, float, float, float, int] | None = None
        for k in self.scales:
            if len(recent) < k:
                continue
            neg_k = sum(n for n, _ in recent[-k:])
            tot_k = sum(t for _, t in recent[-k:])
            share = neg_k / tot_k if tot_k > 0 else 0.0
            # two-proportion z: the baseline share is an estimate too (few mentions at night)
            sd = math.sqrt(p * (1 - p) * (1 / max(tot_k, 1.0) + 1 / max(base_tot, 1.0)))
            z = (share - expected) / max(sd, 0.02)
            # a long stretch counts only while its latest sixth is still off: a burst that
            # is over would otherwise keep the stretch's share high for k buckets.
            tail = recent[-max(1, k // 6) :]
            tail_tot = sum(t for _, t in tail)
            still_on = k == self.scales[0] or (
                tail_tot > 0
                and sum(n for n, _ in tail) / tail_tot - expected >= rule.min_share_delta
            )
            passes = (
                tot_k >= rule.min_volume
                and tot_k > 0
                and base_tot >= max(rule.min_volume, 1.0)
                and share - expected >= rule.min_share_delta
                and still_on
            )
            candidate = (passes, z, share, neg_k, tot_k, k)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        passes, score, observed, neg_s, tot_s, scale_used = best or (False, 0.0, 0.0, 0, 0, 1)
        eligible = passes and self._warm(ts) and len(recent) >= self.scales[0]
        ev = Evaluation(
            ts=ts,
            observed=observed,
            expected=expected,
            score=score,
            anomalous=eligible and score >= rule.threshold,
            details={
                "negative": neg_s,
                "total": tot_s,
                "baseline_total": base_tot,
                "scale_buckets": float(scale_used),
            },
            eligible=eligible,
        )
        self.last = ev
        if self.trace is not None:
            self.trace.append(ev)
        alerts = self.runs.step(ev)
        self._neg.add(ts, negative)
        self._tot.add(ts, total)
        self._all.append((ts, negative, total))
        self._sums[0] += negative
        self._sums[1] += total
        return alerts


def make_detector(rule: Rule) -> VolumeDetector | NegativeShareDetector:
    """Builds the streaming detector for a rule's kind."""
    if rule.kind == "negative_share_spike":
        return NegativeShareDetector(rule)
    return VolumeDetector(rule)


def score_series(
    series: Sequence[tuple[datetime, float]] | Sequence[tuple[datetime, float, float]],
    rule: Rule,
) -> list[Evaluation]:
    """Every bucket's evaluation under the rule, buckets filled in as silence included.

    A bucket with ``eligible`` set would alert at any threshold <= its ``score``; the
    threshold each sensitivity needs is ``threshold_for(rule.kind, name)``.
    """
    detector = make_detector(rule)
    detector.trace = []
    for row in series:
        detector.update(row[0], float(row[1]), float(row[2]) if len(row) > 2 else None)
    return detector.trace


def replay(evaluations: Sequence[Evaluation], rule: Rule) -> list[Alert]:
    """The firing alerts that `evaluations` give at the rule's threshold and run settings.

    Same alerts as running the rule itself when the evaluations come from `score_series`
    under a rule that differs only in sensitivity: a threshold sweep without re-scoring.
    """
    runs = _RunTracker(rule)
    fired: list[Alert] = []
    for ev in evaluations:
        anomalous = ev.eligible and ev.score >= rule.threshold
        fired.extend(a for a in runs.step(replace(ev, anomalous=anomalous)) if a.status == "firing")
    return fired
