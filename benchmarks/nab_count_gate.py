"""Issue 25, seventh pass: a count gate for the default spike rule, scored as the model card
scores candidates (`nab_candidates.py --count-gate`, or run this file).

    .venv/bin/python benchmarks/nab_count_gate.py [--jobs 2] [--boot 2000] [--anomalies DIR]
                                                  [--scored-cache DIR]

The default rule's guards are fixed counts (`min_volume` 10 mentions above the expected,
`min_ratio` 1.5) set with the four brand series in view. The count gate asks instead how
unlikely the stretch's mentions are as counts: -log10 P(count >= observed) under a negative
binomial of the seasonal expectation's mean and the slot's own over-dispersion
(`detectors.COUNT_GATE`, off as shipped). A configuration is (gate, min_volume, min_ratio);
families: the gate alone (guards off), the gate with `min_volume` 10 (ratio off), the gate
on top of the shipped guards, each with the gate among GATES.

Printed:
1. LOTO (as `nab_candidates.py --loto`, default-rule column): for each brand series, the
   configuration, threshold and end_after chosen on the 51 other series (the NAB rule on
   NAB's 48, the default rule with that configuration on the three other brand series; the
   gate plays no part on NAB's series, which are not counts), the held-out series scored;
   the four pooled, with a paired bootstrap (over the four series) against the shipped
   default rule chosen the same way;
2. for each configuration at `medium`, default end_after (no choice): the four brand series;
   thinned (each mention kept with probability p, seeded as `nab_score.py` section 3b) with
   a paired bootstrap against the shipped rule at each p; alerts per month on the five
   series without anomalies (goal: at most one); alerts per day on stationary Poisson
   streams of 0.6 / 1.5 / 3 mentions a bucket; alerts per week of low / medium / high on the
   brand series (what the names mean).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import os
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import nab_candidates as cand  # noqa: E402
import nab_score as nab  # noqa: E402

from services.alerting import detectors as detectors_module  # noqa: E402
from services.alerting.detectors import replay, score_series  # noqa: E402
from services.alerting.rules import SENSITIVITY_Z, Rule  # noqa: E402

#: (gate or None, min_volume, min_ratio)
Config = tuple[float | None, float, float]
SHIPPED: Config = (None, 10.0, 1.5)
GATES = (1.5, 2.0, 3.0, 4.0, 6.0)
GUARDS = {"guards off": (0.0, 1.0), "min_volume 10": (10.0, 1.0), "shipped guards": (10.0, 1.5)}
FAMILIES: dict[str, list[Config]] = {
    f"gate {', '.join(f'{g:g}' for g in GATES)}; {name}": [(g, mv, mr) for g in GATES]
    for name, (mv, mr) in GUARDS.items()
}
CONFIGS: list[Config] = [SHIPPED, *(c for family in FAMILIES.values() for c in family)]
#: stationary Poisson streams: mentions per 5-minute bucket, days, seeds.
POISSON_RATES = (0.6, 1.5, 3.0)
POISSON_DAYS = 28
POISSON_SEEDS = 3
T0 = datetime(2026, 1, 5)
#: Bump when the scored numbers change shape, so --scored-cache is not read stale.
VERSION = 1


def label(config: Config) -> str:
    """'gate 3, min_volume 0, min_ratio 1' or 'shipped (no gate, ...)'."""
    gate, mv, mr = config
    head = "shipped: no gate" if config == SHIPPED else f"gate {gate:g}" if gate else "no gate"
    return f"{head}, min_volume {mv:g}, min_ratio {mr:g}"


def rule_of(config: Config, **update: object) -> Rule:
    """The default rule with the configuration's guards (the gate is a module setting)."""
    _, mv, mr = config
    return nab.DEFAULT_RULE.model_copy(update={"min_volume": mv, "min_ratio": mr, **update})


def _set_gate(gate: float | None) -> None:
    detectors_module.COUNT_GATE = gate


def _score_brand(task: tuple[Config, nab.Series]) -> cand.Scored:
    config, series = task
    _set_gate(config[0])
    try:
        return cand.score_one(series, rule_of(config))
    finally:
        _set_gate(None)


def _fired(
    task: tuple[Config, list[tuple[datetime, float]], tuple[float, ...]],
) -> dict[float, list[datetime]]:
    """Firing times at each threshold (default end_after), scored once and replayed."""
    config, rows, thresholds = task
    _set_gate(config[0])
    try:
        rule = rule_of(config)
        evs = score_series(rows, rule)
        return {
            t: [a.fired_at for a in replay(evs, rule.model_copy(update={"sensitivity": t}))]
            for t in thresholds
        }
    finally:
        _set_gate(None)


@dataclass
class Named:
    """What cand.bootstrap needs of a series: its category and name."""

    category: str
    name: str


def _cached(cache: Path | None, key: object, compute: object) -> object:
    if cache is None:
        return compute()  # type: ignore[operator]
    digest = hashlib.sha256(repr((VERSION, key)).encode())
    for source in sorted(Path(detectors_module.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    path = cache / f"count-gate-{digest.hexdigest()[:16]}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = compute()  # type: ignore[operator]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def _fmt(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1f}"


def _ci(diff: tuple[float, float, float]) -> str:
    return f"{diff[0]:+.1f} ({diff[1]:+.1f}, {diff[2]:+.1f})"


def report_loto(
    scored: Sequence[cand.Scored],
    brands: dict[Config, list[cand.Scored]],
    draws: int,
) -> Config:
    """Section 1; returns the configuration chosen on all four brand series (+ NAB's)."""
    c0 = cand.VARIANTS[0]
    grid = c0[2]
    nab_results = cand.run_variant(scored, c0)
    per_config = {c: cand.run_variant(brands[c], c0) for c in CONFIGS}
    tweets = [s for s in scored if s.category == cand.TWEETS]
    short = [s.name.removeprefix("Twitter_volume_").removesuffix(".csv") for s in tweets]

    def family(configs: Sequence[Config]) -> tuple[list[dict[str, cand.Result]], list[dict]]:  # type: ignore[type-arg]
        results, settings = [], []
        for c in configs:
            for p, nab_r, brand_r in zip(grid, nab_results, per_config[c], strict=True):
                results.append({**nab_r, **brand_r})
                settings.append({**p, "config": c})
        return results, settings

    ref_results, ref_settings = family([SHIPPED])
    reference, _ = cand.loto(scored, ref_results, ref_settings)  # type: ignore[arg-type]
    print("\n1. LOTO, default rule on the held-out brand series (pooled choice on the 51 others)")
    print(
        "\n| configuration | LOTO, 4 held out | "
        + " / ".join(short)
        + " | vs shipped (95% CI) | chosen per held-out series |"
    )
    print("|---|---|---|---|---|")
    rows: list[tuple[str, list[Config]]] = [
        ("shipped default rule", [SHIPPED]),
        *FAMILIES.items(),
        *((label(c), [c]) for c in CONFIGS[1:]),
    ]
    for name, configs in rows:
        results, settings = family(configs)
        got, chosen = cand.loto(scored, results, settings)  # type: ignore[arg-type]
        diff = cand.bootstrap(tweets, reference, got, draws)
        picks = "; ".join(
            f"{chosen[s.name]['thr']:g}/{chosen[s.name]['end']:g}"
            + (f" {label(chosen[s.name]['config'])}" if len(configs) > 1 else "")  # type: ignore[arg-type]
            for s in tweets
        )
        print(
            f"| {name} | {_fmt(cand.total(list(got.values())))} | "
            + " / ".join(_fmt(cand.total([got[s.name]])) for s in tweets)
            + f" | {_ci(diff)} | {picks} |",
            flush=True,
        )
    results, settings = family(CONFIGS)
    best = cand.choose(results, scored)  # type: ignore[arg-type]
    config: Config = settings[best]["config"]  # type: ignore[assignment]
    print(
        f"\n   chosen on all four brand series and NAB's 48 (what would ship): {label(config)},"
        f" threshold {settings[best]['thr']:g}, end_after {settings[best]['end']:g}"
    )
    return config


def poisson_rows(rate: float, seed: int) -> list[tuple[datetime, float]]:
    """A stationary Poisson stream of `rate` mentions a 5-minute bucket."""
    rng = np.random.default_rng(seed)
    n = POISSON_DAYS * 288
    counts = rng.poisson(rate, size=n).astype(float)
    return [(T0 + i * nab.DEFAULT_RULE.bucket, float(c)) for i, c in enumerate(counts)]


def report_fixed(
    tweets: Sequence[nab.Series], quiet: Sequence[nab.Series], jobs: int, draws: int
) -> None:
    """Section 2: every configuration at `medium` on the brand, thinned, quiet, Poisson
    streams, and its alert rates by sensitivity."""
    medium = SENSITIVITY_Z["volume_spike"]["medium"]
    names = list(SENSITIVITY_Z["volume_spike"])
    thresholds = tuple(SENSITIVITY_Z["volume_spike"][n] for n in names)
    rng = np.random.default_rng(25)  # as nab_score.report_thinned: the same thinned series
    thinned: dict[float, list[nab.Series]] = {}
    for p in nab.THINNING:
        thinned[p] = [
            nab.Series(
                s.category,
                s.name,
                [(ts, float(rng.binomial(int(v), p))) for ts, v in s.rows],
                s.windows,
            )
            for s in tweets
        ]
    poisson = {
        r: [poisson_rows(r, 1000 * i + int(10 * r)) for i in range(POISSON_SEEDS)]
        for r in POISSON_RATES
    }
    tasks: list[tuple[Config, list[tuple[datetime, float]], tuple[float, ...]]] = []
    for c in CONFIGS:
        tasks += [(c, s.rows, thresholds) for p in nab.THINNING for s in thinned[p]]
        tasks += [(c, s.rows, (medium,)) for s in quiet]
        tasks += [(c, rows, (medium,)) for r in POISSON_RATES for rows in poisson[r]]
    with multiprocessing.Pool(max(1, jobs)) as pool:
        out = []
        for i, done in enumerate(pool.imap(_fired, tasks), 1):
            out.append(done)
            print(f"\r   scored {i}/{len(tasks)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    it = iter(out)
    table: dict[Config, dict[str, object]] = {}
    for c in CONFIGS:
        entry: dict[str, object] = {}
        for p in nab.THINNING:
            fired = [next(it) for _ in thinned[p]]
            entry[f"thin{p}"] = {
                s.name: (lambda r: (r[0].raw, r[1], r[2]))(nab.file_score(s, set(f[medium])))
                for s, f in zip(thinned[p], fired, strict=True)
            }
            if p == 1.0:
                entry["rates"] = [
                    sum(len(f[t]) / (s.span / nab.WEEK) for s, f in zip(tweets, fired, strict=True))
                    / len(tweets)
                    for t in thresholds
                ]
        entry["quiet"] = [len(next(it)[medium]) / (s.span / nab.MONTH) for s in quiet]
        entry["poisson"] = []
        for r in POISSON_RATES:
            alerts = sum(len(next(it)[medium]) for _ in poisson[r])
            # alerts per day past the 2-day warm-up
            entry["poisson"].append(alerts / (POISSON_SEEDS * (POISSON_DAYS - 2)))  # type: ignore[attr-defined]
        table[c] = entry
    named = [Named(s.category, s.name) for s in tweets]
    ps = ", ".join(f"{p:g}" for p in nab.THINNING[1:])
    print(
        "\n2. Each configuration at `medium` (default end_after): the four brand series, thinned"
        f" (p = {ps}; vs shipped, 95% CI over the four series),\n   alerts a month on the"
        " series without anomalies, alerts a day on Poisson streams of "
        + " / ".join(f"{r:g}" for r in POISSON_RATES)
        + " a bucket, alerts a week at "
        + " / ".join(names)
    )
    print(
        "\n| configuration | brand series | thinned | vs shipped, thinned | anomaly-free, worst"
        " (a month) | Poisson (a day) | low / medium / high (a week) |"
    )
    print("|---|---|---|---|---|---|---|")
    base = table[SHIPPED]
    for c in CONFIGS:
        e = table[c]
        thin = [cand.total(list(e[f"thin{p}"].values())) for p in nab.THINNING]  # type: ignore[attr-defined]
        diffs = [
            _ci(cand.bootstrap(named, base[f"thin{p}"], e[f"thin{p}"], draws))  # type: ignore[arg-type]
            for p in nab.THINNING[1:]
        ]
        print(
            f"| {label(c)} | {_fmt(thin[0])} | "
            + " / ".join(_fmt(x) for x in thin[1:])
            + f" | {'; '.join(diffs)} | {max(e['quiet']):.2f} | "  # type: ignore[type-var]
            + " / ".join(f"{x:.2f}" for x in e["poisson"])  # type: ignore[attr-defined]
            + " | "
            + " / ".join(f"{x:.2f}" for x in e["rates"])  # type: ignore[attr-defined]
            + " |",
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    """Both sections (`args`: anomalies, jobs, boot, scored_cache)."""
    folders = [args.anomalies / nab.TWEETS, args.anomalies / nab.OTHERS]
    if not all((f / "combined_windows.json").is_file() for f in folders):
        print(f"nab_count_gate: no NAB series under {args.anomalies}", file=sys.stderr)
        return 2
    corpus = nab.load_corpus(folders)
    scored = cand.score_corpus(corpus, args.jobs, detectors_module.STRETCH_CUT, args.scored_cache)
    cand.check_scorer(scored, corpus)
    tweets = [s for s in corpus if s.category == cand.TWEETS]
    quiet = [s for s in corpus if not s.windows]

    def score_brands() -> dict[Config, list[cand.Scored]]:
        tasks = [(c, s) for c in CONFIGS for s in tweets]
        with multiprocessing.Pool(max(1, args.jobs)) as pool:
            done = pool.map(_score_brand, tasks)
        out: dict[Config, list[cand.Scored]] = {}
        for (c, _), s in zip(tasks, done, strict=True):
            out.setdefault(c, []).append(s)
        return out

    key = (CONFIGS, [(s.name, len(s.rows)) for s in tweets])
    brands: dict[Config, list[cand.Scored]] = _cached(args.scored_cache, key, score_brands)  # type: ignore[assignment]
    report_loto(scored, brands, args.boot)
    report_fixed(tweets, quiet, args.jobs, args.boot)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="series scored in parallel")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap draws")
    parser.add_argument(
        "--anomalies",
        type=Path,
        default=Path(os.environ.get("VEILLE_ANOMALIES") or nab.DEFAULT_ANOMALIES),
        help="folder holding nab_realTweets/ and nab_other/ (as nab_score.py)",
    )
    parser.add_argument("--scored-cache", type=Path, help="keep scored series here")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
