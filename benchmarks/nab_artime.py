"""Issue 25, sixth pass: ARTime (NAB's top detector) scored as the other candidates were.

    .venv/bin/python benchmarks/nab_artime.py [--jobs 2] [--boot 2000] [--scored-cache DIR]
                                              [--no-ensembles] [--anomalies DIR]
    .venv/bin/python benchmarks/nab_artime.py --cost   # time and memory, online mode

ARTime is our numpy implementation (benchmarks/artime.py), run in the nine modes of MODES
on every row of the 52 shared NAB series:
- "faithful": the file's minimum and maximum handed over before the first row (NAB's
  look-ahead, as NAB calls ARTime) and its warm-up and step from the file's length: only
  to compare with ARTime's published behaviour, it could not ship;
- "online": the minimum and maximum of the rows seen so far, warm-up and step of a long
  file (750 rows, one sample every 7): a version that could ship;
- "online scale, length known": online scale with the file-length warm-up (which of the
  two look-aheads matters);
- "online, headroom 2 / 4 / 8": the running range widened by that factor above its top;
- "frozen" (headroom 1, 2, 4): the warm-up's range, widened by the headroom, then fixed,
  later values clipped to it;
and, last, the live family (the six online and frozen modes with the long-file warm-up),
the mode chosen with the threshold.
A row is a detection where ARTime's score is above 0 and at least the threshold (NAB flags
rows, ARTime has its own masking: no alert runs here).

Printed for each mode: the score at each threshold (all 52, per category); leave-one-
category-out (threshold chosen on five categories, the sixth scored, pooled and mean) with
a paired bootstrap 95% interval of the pooled LOCO against the shipped detector's (series
resampled within category, as nab_candidates.py); realTweets held out (= the LOCO fold
holding it out); leave-one-tweet-series-out (LOTO, threshold chosen on the 51 other
series) without and with the default rule's count guards (a detection counts only if the
shipped default rule's guards, min_volume and min_ratio, pass on a bucket of the block
ARTime sampled), against the shipped detector's LOTO (NAB rule 61.8, default rule 77.0);
alerts per month on the 5 anomaly-free series; time per 1,000 rows and memory per series.
Then two ensembles with the shipped spike rule: the union of its alerts and ARTime's
(threshold, end_after and ARTime's threshold chosen together), and, on brand series,
ARTime gated by the count guards in union with the shipped default rule.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import artime  # noqa: E402
import nab_candidates as cand  # noqa: E402
import nab_score as nab  # noqa: E402

MODES = {
    "faithful (look-ahead scale and length)": ("lookahead", True, 1.0),
    "online (scale so far, long-file warm-up)": ("online", False, 1.0),
    "online scale, length known": ("online", True, 1.0),
    "online, headroom 2": ("online", False, 2.0),
    "online, headroom 4": ("online", False, 4.0),
    "online, headroom 8": ("online", False, 8.0),
    "frozen at the warm-up's range, clipped": ("frozen", False, 1.0),
    "frozen, headroom 2": ("frozen", False, 2.0),
    "frozen, headroom 4": ("frozen", False, 4.0),
}
#: The online family whose headroom LOCO chooses with the threshold.
FAMILY = (
    "online (scale so far, long-file warm-up)",
    *(f"online, headroom {h}" for h in (2, 4, 8)),
    "frozen at the warm-up's range, clipped",
    *(f"frozen, headroom {h}" for h in (2, 4)),
)
#: ARTime thresholds swept (a detection: score > 0 and >= threshold).
THRESHOLDS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MONTH = timedelta(days=30)
Result = cand.Result


@dataclass
class Rows:
    """One series under one ARTime mode: per-row scores and NAB's per-row weights."""

    category: str
    name: str
    scores: np.ndarray
    categories: int
    nbytes: int
    seconds: float
    weight: np.ndarray
    window: np.ndarray
    active: np.ndarray
    counted: list[int]
    perfect: float
    months: float

    def result(self, fired: np.ndarray) -> Result:
        """NAB's raw score of detections on the rows where `fired` holds."""
        best = dict.fromkeys(self.counted, -1.0)
        fp = 0.0
        for i in np.flatnonzero(fired & self.active):
            w = int(self.window[i])
            if w >= 0:
                best[w] = max(best[w], float(self.weight[i]))
            else:
                fp += float(self.weight[i])
        return sum(best.values()) + fp, -float(len(self.counted)), self.perfect

    def fired(self, threshold: float) -> np.ndarray:
        return (self.scores > 0) & (self.scores >= threshold)


def run_mode(series: nab.Series, scale: str, rows_known: bool, headroom: float) -> Rows:
    values = [v for _, v in series.rows]
    start = time.process_time()
    scores, categories, nbytes = artime.score_rows(
        values, scale=scale, rows_known=rows_known, headroom=headroom
    )
    seconds = time.process_time() - start
    weight, window, active, counted = cand.nab_weights(series)
    return Rows(
        series.category,
        series.name,
        scores,
        categories,
        nbytes,
        seconds,
        weight,
        window,
        active,
        counted,
        float(len(series.windows)),
        series.span / MONTH,
    )


def row_mask(s: cand.Scored, evals: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    """The rows of these evaluations of the shipped detector."""
    out = np.zeros(n, dtype=bool)
    for e in evals:
        out[s.rows[int(e)]] = True
    return out


def block_guard(s: cand.Scored, n: int, step: int) -> np.ndarray:
    """Rows whose block (this row and the step - 1 before it, what ARTime sampled) holds
    a bucket where the shipped rule's guards pass."""
    ok = row_mask(s, np.flatnonzero(s.eligible), n).astype(int)
    c = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(n)
    return (c[i + 1] - c[np.maximum(0, i + 1 - step)]) > 0


def mode_guards(
    rows: Sequence[Rows], guarded_scored: dict[str, cand.Scored], rows_known: bool
) -> dict[str, np.ndarray]:
    """Per brand series, the rows whose ARTime block passes the shipped rule's guards (the
    block is ARTime's step, which depends on whether the file's length is known)."""
    out = {}
    for name, g in guarded_scored.items():
        n = len(next(r for r in rows if r.name == name).scores)
        out[name] = block_guard(g, n, artime.ARTime(rows=n if rows_known else None).sstep)
    return out


def only(results: dict[str, Result], rows: Sequence[Rows]) -> dict[str, Result]:
    return {r.name: results[r.name] for r in rows}


def fmt(x: float) -> str:
    return cand._fmt(x)


def interval(
    scored: Sequence[object], base: dict[str, Result], got: dict[str, Result], n: int
) -> str:
    diff, low, high = cand.bootstrap(scored, base, got, n)  # type: ignore[arg-type]
    return f"{diff:+.1f} ({low:+.1f}, {high:+.1f})"


def report_mode(
    title: str,
    family: list[list[Rows]],
    shipped: dict[str, dict[str, Result]],
    guards: dict[str, np.ndarray],
    draws: int,
) -> None:
    """One mode (or a family of modes, `m` chosen with the threshold): the figures listed
    in the module docstring."""
    rows = family[0]
    cats = sorted({r.category for r in rows})
    grid = [(m, t) for m in range(len(family)) for t in THRESHOLDS]
    settings: list[cand.Setting] = [{"m": m, "thr": t} for m, t in grid]
    results = [{r.name: r.result(r.fired(t)) for r in family[m]} for m, t in grid]
    print(f"\n## ARTime, {title}\n")
    if len(family) == 1:
        print(
            "| threshold | all 52 | "
            + " | ".join(cats)
            + " | detections | on the brand series (guards pass) |"
        )
        print("|---" * (4 + len(cats)) + "|")
        for t, res in zip(THRESHOLDS, results, strict=True):
            per = [fmt(cand.total([res[r.name] for r in rows if r.category == c])) for c in cats]
            n = sum(int(r.fired(t).sum()) for r in rows)
            brand = [r for r in rows if r.name in guards]
            fired = sum(int(r.fired(t).sum()) for r in brand)
            passed = sum(int((r.fired(t) & guards[r.name]).sum()) for r in brand)
            print(
                f"| {t:g} | {fmt(cand.total(list(res.values())))} | "
                + " | ".join(per)
                + f" | {n} | {fired} ({passed}) |"
            )
    loco, chosen = cand.held_out(rows, results, settings)  # type: ignore[arg-type]
    held = [cand.total([loco[r.name] for r in rows if r.category == c]) for c in cats]
    print(
        "\nLOCO (threshold chosen on the five other categories): pooled "
        f"{fmt(cand.total(list(loco.values())))}, mean of six {fmt(float(np.mean(held)))}; "
        "per held-out category "
        + " / ".join(
            f"{c} {fmt(h)} (m/thr {chosen[c]['m']:g}/{chosen[c]['thr']:g})"
            for c, h in zip(cats, held, strict=True)
        )
    )
    print(
        f"   vs shipped pooled LOCO {fmt(cand.total(list(shipped['loco'].values())))}: "
        f"{interval(rows, shipped['loco'], loco, draws)}"
    )
    tweets = [r for r in rows if r.category == cand.TWEETS]
    four = interval(tweets, only(shipped["loco"], tweets), only(loco, tweets), draws)
    print(
        f"   realTweets held out: {fmt(held[cats.index(cand.TWEETS)])} "
        f"(shipped {fmt(cand.total([shipped['loco'][r.name] for r in tweets]))}; "
        f"over the 4 series {four})"
    )
    lt, lt_chosen = cand.loto(rows, results, settings)  # type: ignore[arg-type]
    guarded = [
        {
            r.name: r.result(r.fired(t) & guards[r.name]) if r.name in guards else res[r.name]
            for r in family[m]
        }
        for (m, t), res in zip(grid, results, strict=True)
    ]
    lg, lg_chosen = cand.loto(rows, guarded, settings)  # type: ignore[arg-type]
    for label, got, picks, ref in (
        ("no guards", lt, lt_chosen, "nab"),
        ("count guards", lg, lg_chosen, "default"),
    ):
        per = " / ".join(fmt(cand.total([got[r.name]])) for r in tweets)
        thr = "; ".join(f"{picks[r.name]['m']:g}/{picks[r.name]['thr']:g}" for r in tweets)
        print(
            f"   LOTO, {label}: {fmt(cand.total(list(got.values())))} ({per}; m/thr {thr}) vs "
            f"shipped {fmt(cand.total(list(shipped[ref].values())))}: "
            f"{interval(tweets, shipped[ref], got, draws)}"
        )
    every = max(range(len(settings)), key=lambda i: cand.total(list(results[i].values())))
    for label, p in (("artificial fold's", chosen["artificial"]), ("all-52 best", settings[every])):
        quiet = [r for r in family[int(p["m"])] if not r.perfect]
        rates = " / ".join(
            f"{r.name.removesuffix('.csv')} {r.fired(p['thr']).sum() / r.months:.1f}" for r in quiet
        )
        print(
            f"   no-window series, detections a month at the {label} m/thr "
            f"{p['m']:g}/{p['thr']:g}: {rates}"
        )
    secs = sum(r.seconds for r in rows)
    n_rows = sum(len(r.scores) for r in rows)
    print(
        f"   cost: {1000 * secs / n_rows * 1000:.0f} ms per 1,000 rows (CPU); categories at the "
        f"end: median {np.median([r.categories for r in rows]):.0f}, max "
        f"{max(r.categories for r in rows)}; memory held per series: max "
        f"{max(r.nbytes for r in rows) / 1024:.0f} KiB"
    )


def report_ensembles(
    title: str,
    rows: list[Rows],
    scored: list[cand.Scored],
    guarded_scored: dict[str, cand.Scored],
    guards: dict[str, np.ndarray],
    shipped: dict[str, dict[str, Result]],
    draws: int,
) -> None:
    """Union of the shipped spike rule's alerts and ARTime's detections."""
    by_name = {s.name: s for s in scored}
    settings: list[cand.Setting] = []
    results: list[dict[str, Result]] = []
    default: list[dict[str, Result]] = []
    for t, e in [(t, e) for t in cand.THRESHOLDS for e in cand.ENDS]:
        ours = {}
        for r in rows:
            s = by_name[r.name]
            score, eligible = cand.shipped(s, {})
            ours[r.name] = row_mask(s, cand.fired_runs(score, eligible, t, e), len(r.scores))
        ours_default = {}
        for name, g in guarded_scored.items():
            score, eligible = cand.shipped(g, {})
            n = len(guards[name])
            ours_default[name] = row_mask(g, cand.fired_runs(score, eligible, t, e), n)
        for a in (*THRESHOLDS, 2.0):  # 2.0: ARTime off (the shipped rule alone)
            settings.append({"thr": t, "end": e, "a": a})
            results.append({r.name: r.result(ours[r.name] | r.fired(a)) for r in rows})
            default.append(
                {
                    r.name: r.result(ours_default[r.name] | (r.fired(a) & guards[r.name]))
                    if r.name in guards
                    else results[-1][r.name]
                    for r in rows
                }
            )
    loco, chosen = cand.held_out(rows, results, settings)  # type: ignore[arg-type]
    cats = sorted({r.category for r in rows})
    held = {c: cand.total([loco[r.name] for r in rows if r.category == c]) for c in cats}
    print(f"\n## Ensemble: shipped spike rule OR ARTime ({title})\n")
    print(
        f"LOCO pooled {fmt(cand.total(list(loco.values())))} vs shipped "
        f"{interval(rows, shipped['loco'], loco, draws)}; per held-out category "
        + " / ".join(
            f"{c} {fmt(held[c])} ({chosen[c]['thr']:g}/{chosen[c]['end']:g}/{chosen[c]['a']:g})"
            for c in cats
        )
    )
    tweets = [r for r in rows if r.category == cand.TWEETS]
    lt, ltc = cand.loto(rows, results, settings)  # type: ignore[arg-type]
    lg, lgc = cand.loto(rows, default, settings)  # type: ignore[arg-type]
    for label, got, picks, ref in (
        ("NAB rule", lt, ltc, "nab"),
        ("default rule + gated ARTime", lg, lgc, "default"),
    ):
        per = " / ".join(fmt(cand.total([got[r.name]])) for r in tweets)
        pk = "; ".join(
            f"{picks[r.name]['thr']:g}/{picks[r.name]['end']:g}/{picks[r.name]['a']:g}"
            for r in tweets
        )
        print(
            f"   LOTO, {label}: {fmt(cand.total(list(got.values())))} ({per}; picks {pk}) vs "
            f"shipped {interval(tweets, shipped[ref], got, draws)}"
        )


def report_cost(corpus: Sequence[nab.Series]) -> None:
    """CPU time per 1,000 rows and the memory one series' scorer holds, online mode."""
    import tracemalloc

    rows = [run_mode(s, "online", False, 1.0) for s in corpus]
    secs = sum(r.seconds for r in rows)
    n = sum(len(r.scores) for r in rows)
    print(f"online ARTime: {n} rows of {len(rows)} series in {secs:.1f} s CPU:")
    print(f"   {1e6 * secs / n:.1f} ms per 1,000 rows (one core)")
    longest = max(corpus, key=lambda s: len(s.rows))
    tracemalloc.start()
    run_mode(longest, "online", False, 1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    worst = max(rows, key=lambda r: r.nbytes)
    print(
        f"   state that grows: at most {worst.nbytes / 1024:.0f} KiB ({worst.name}, "
        f"{worst.categories} categories); peak Python allocation scoring the longest series "
        f"({longest.name}, {len(longest.rows)} rows, inputs included) {peak / 2**20:.1f} MiB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="series scored in parallel")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap draws")
    parser.add_argument("--scored-cache", type=Path, help="as nab_candidates.py")
    parser.add_argument("--no-ensembles", action="store_true", help="skip the ensembles")
    parser.add_argument(
        "--cost",
        action="store_true",
        help="only time the online mode on every series, one process (run it under the lock)",
    )
    parser.add_argument(
        "--anomalies",
        type=Path,
        default=Path(os.environ.get("VEILLE_ANOMALIES") or nab.DEFAULT_ANOMALIES),
    )
    args = parser.parse_args(argv)
    folders = [args.anomalies / nab.TWEETS, args.anomalies / nab.OTHERS]
    if not all((f / "combined_windows.json").is_file() for f in folders):
        print(f"nab_artime: no NAB series under {args.anomalies}", file=sys.stderr)
        return 2
    corpus = nab.load_corpus(folders)
    if args.cost:
        report_cost(corpus)
        return 0
    # a cache written by nab_candidates.py run as a script pickles its Scored as __main__'s
    sys.modules["__main__"].Scored = cand.Scored  # type: ignore[attr-defined]
    cut = cand.detectors_module.STRETCH_CUT
    scored = cand.score_corpus(corpus, args.jobs, cut, args.scored_cache)
    brands = [c for c in corpus if c.category == cand.TWEETS]
    guarded_list = cand.score_corpus(brands, args.jobs, cut, args.scored_cache, nab.DEFAULT_RULE)
    guarded_scored = {g.name: g for g in guarded_list}
    # the shipped detector's reference results (C0: threshold and end_after chosen)
    c0 = cand.VARIANTS[0]
    base = cand.run_variant(scored, c0)
    with_guards = [
        {**r, **g} for r, g in zip(base, cand.run_variant(guarded_list, c0), strict=True)
    ]
    shipped = {
        "loco": cand.held_out(scored, base, c0[2])[0],
        "nab": cand.loto(scored, base, c0[2])[0],
        "default": cand.loto(scored, with_guards, c0[2])[0],
    }
    print(
        f"shipped: pooled LOCO {fmt(cand.total(list(shipped['loco'].values())))}, LOTO NAB rule "
        f"{fmt(cand.total(list(shipped['nab'].values())))}, LOTO default rule "
        f"{fmt(cand.total(list(shipped['default'].values())))}"
    )
    by_mode: dict[str, list[Rows]] = {}
    for title, (scale, known, headroom) in MODES.items():
        with multiprocessing.Pool(max(1, args.jobs)) as pool:
            rows = pool.map(
                functools.partial(run_mode, scale=scale, rows_known=known, headroom=headroom),
                corpus,
            )
        by_mode[title] = rows
        guards = mode_guards(rows, guarded_scored, known)
        report_mode(title, [rows], shipped, guards, args.boot)
        if not args.no_ensembles:
            report_ensembles(title, rows, scored, guarded_scored, guards, shipped, args.boot)
    family = [by_mode[t] for t in FAMILY]
    # every family mode has the long-file warm-up, hence the same step and guards' blocks
    assert all(not MODES[t][1] for t in FAMILY)
    guards = mode_guards(family[0], guarded_scored, False)
    label = (
        "online family (m = 0..3: running range, headroom 1, 2, 4, 8; 4..6: frozen, "
        "headroom 1, 2, 4) chosen with the threshold"
    )
    report_mode(label, family, shipped, guards, args.boot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
