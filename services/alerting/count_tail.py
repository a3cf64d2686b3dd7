"""How unlikely a count is: the upper tail of a Poisson or negative binomial, as -log10.

Mention volumes are counts; a burst of 12 where 3 are expected is rarer than one of 120
where 100 are, and the counting noise says by how much. The negative binomial (mean `mean`,
variance mean + alpha * mean^2) covers over-dispersed brands; alpha = 0 is Poisson.
Pure Python (no scipy at run time): the tail is summed upward from the count, where the
terms shrink at least geometrically once past the mode, so a few dozen terms suffice for
the tails that matter (a score of 2 or more).
"""

from __future__ import annotations

import math

#: -log10 of the smallest tail told apart (as detectors.LIKELIHOOD_CAP).
TAIL_CAP = 300.0
#: terms summed before the rest is bounded as a geometric series.
MAX_TERMS = 2000


def _log_pmf(j: int, mean: float, alpha: float) -> float:
    if alpha <= 0.0:
        return j * math.log(mean) - mean - math.lgamma(j + 1)
    r = 1.0 / alpha
    q = alpha * mean / (1.0 + alpha * mean)  # success odds of the NB(r, 1 - q) form
    return (
        math.lgamma(j + r)
        - math.lgamma(r)
        - math.lgamma(j + 1)
        + r * math.log1p(-q)
        + j * math.log(q)
    )


def _ratio(j: int, mean: float, alpha: float) -> float:
    """pmf(j + 1) / pmf(j)."""
    if alpha <= 0.0:
        return mean / (j + 1)
    r = 1.0 / alpha
    q = alpha * mean / (1.0 + alpha * mean)
    return q * (j + r) / (j + 1)


def tail_score(count: float, mean: float, alpha: float = 0.0) -> float:
    """-log10 P(X >= count) for X negative binomial (Poisson when alpha is 0) of this mean.

    0 when the count is at most the mean (the tail is then about one half or more: no
    surprise worth telling apart); capped at TAIL_CAP. A fractional count (smoothed
    buckets) is rounded to the nearest whole one.
    """
    if not (math.isfinite(count) and math.isfinite(mean) and math.isfinite(alpha)):
        raise ValueError("count, mean and alpha must be finite")
    if mean < 0 or alpha < 0:
        raise ValueError("mean and alpha must be >= 0")
    x = round(count)
    if x <= mean:
        return 0.0
    if mean <= 0.0:
        return TAIL_CAP  # a count where none can come
    log_term = _log_pmf(x, mean, alpha)
    # sum the terms relative to the first (in log space the first can underflow)
    total, term, j = 1.0, 1.0, x
    for _ in range(MAX_TERMS):
        ratio = _ratio(j, mean, alpha)
        term *= ratio
        j += 1
        total += term
        if term < 1e-12 * total:
            break
    else:
        # the ratio of successive terms tends to q from below when alpha > 1: bound by q.
        ratio = _ratio(j, mean, alpha)
        if alpha > 0.0:
            ratio = max(ratio, alpha * mean / (1.0 + alpha * mean))
        total += term * ratio / (1.0 - ratio)
    log10_tail = (log_term + math.log(total)) / math.log(10.0)
    return min(max(-log10_tail, 0.0), TAIL_CAP)


def dispersion(mean: float, sd: float) -> float:
    """The negative binomial's alpha whose variance (mean + alpha mean^2) is sd^2; 0 (Poisson)
    when the spread is no wider than counting noise or the mean is 0."""
    if mean <= 0.0:
        return 0.0
    return max(sd * sd - mean, 0.0) / (mean * mean)
