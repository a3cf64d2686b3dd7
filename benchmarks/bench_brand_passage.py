#!/usr/bin/env python
"""Does a narrow passage around the alias hold up when its width and C are chosen inside
the cross-validation? Nested leave-one-brand-out (LOBO) on the development posts of
bench_brand_recognition.py --real (the test split is never read).

The lead (bench_brand_tokens.py, fifth look): the two margins (to the description, to
the examples) computed also on a passage of 40 characters either side of the alias,
beside the 160-character ones, gained F1 +0.020 on LOBO; but it was the best of ten
variants at one C. Here, for each held-out brand, the width (`WIDTHS`) and C (`C_GRID`)
are chosen by an inner cross-validation over the other brands only (`INNER_FOLDS` folds of
brands), the model is fitted on those brands with the choice and predicts the held-out
one. The outer figures (F1, P / R by language) are compared with the set-up without the
narrow margins (its cues, contrast and C; posts fixed / broken, paired bootstrap of the
F1 gain over posts). Two procedures: the width among `WIDTHS` only, and the width among
`WIDTHS` or none (whether the inner CV would add the narrow margins at all).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_passage.py [--embedding-cache FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_recognition import CORPORA  # noqa: E402
from benchmarks.brand_lobo import (  # noqa: E402
    Dataset,
    Matrix,
    compared,
    f1_of,
    load_development,
)
from services.analyzer.brands import disambiguation  # noqa: E402
from services.analyzer.brands.disambiguation import FEATURES, window  # noqa: E402

WIDTHS = (24, 40, 64)
C_GRID = (0.03, 0.1, 0.3)
INNER_FOLDS = 5


def narrow_margins(data: Dataset, embed: Any, chars: int) -> Matrix:
    """The two margins (description, examples) on a window of `chars` either side of the
    alias, as ContextJudge.features computes the 160-character ones."""
    passages = embed([window(o.text, o.start, o.end, chars) for _, o, _ in data.occurrences])
    out = []
    for (_, occ, rules), v in zip(data.occurrences, passages, strict=True):
        others = embed(list(rules.other_meanings) or [occ.alias])
        other = float((others @ v).max())
        description = [rules.description] if rules.description else []
        brand = embed(description + rules.examples)
        if rules.other_examples:
            others = np.vstack([others, embed(rules.other_examples)])
        examples = float((brand @ v).max() - (others @ v).max())
        desc = float(embed(description)[0] @ v) - other if description else examples
        out.append([desc, examples])
    return np.asarray(out, dtype=np.float64)


def inner_folds(brands: list[str]) -> list[set[str]]:
    """The training brands cut into INNER_FOLDS folds by a hash of the name."""
    folds: list[set[str]] = [set() for _ in range(INNER_FOLDS)]
    for brand in brands:
        folds[hashlib.sha256(brand.encode()).digest()[0] % INNER_FOLDS].add(brand)
    return [f for f in folds if f]


def inner_scores(
    data: Dataset, candidates: dict[tuple[int, float], Matrix]
) -> dict[str, dict[tuple[int, float], float]]:
    """For each brand held out, each candidate's F1 by inner CV on the other brands."""
    brands = sorted(set(data.brands[data.owner]))
    out: dict[str, dict[tuple[int, float], float]] = {}
    for held_brand in brands:
        others = [b for b in sorted(set(data.brands)) if b != held_brand]
        inside = data.brands != held_brand
        folds = inner_folds(others)
        out[held_brand] = {}
        for key, x in candidates.items():
            inner = data.by_brands(x, key[1], folds, within=set(others))
            out[held_brand][key] = f1_of(inner[inside] >= 0.5, data.labels[inside])
    return out


def nested(
    data: Dataset,
    candidates: dict[tuple[int, float], Matrix],
    scores: dict[str, dict[tuple[int, float], float]],
) -> tuple[NDArray[np.float64], Counter[tuple[int, float]]]:
    """Outer LOBO probabilities, each brand's width and C the best of `candidates` by
    inner CV on the other brands (ties: the first); and how often each was chosen."""
    brand_of = data.brands[data.owner]
    p = np.zeros(len(data.occurrences))
    chosen: Counter[tuple[int, float]] = Counter()
    for held_brand, scored in scores.items():
        held = brand_of == held_brand
        best = max(candidates, key=lambda k: (scored[k], -list(candidates).index(k)))
        chosen[best] += 1
        p[held] = data.predict(candidates[best], best[1], ~held, held)
    return data.best(p), chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument(
        "--embedding-cache", type=Path, help="a file keeping the vectors between runs"
    )
    args = parser.parse_args(argv)

    dev = load_development(args.corpora, args.embedding_cache)
    data = dev.data
    narrow = {chars: narrow_margins(data, dev.embed, chars) for chars in WIDTHS}
    dev.save(args.embedding_cache)
    # The analyzer's own near margins, once shipped: the set-up without them is the base.
    near = [i for i, name in enumerate(FEATURES) if name.endswith("_near")]
    chars = getattr(disambiguation, "NEAR_CHARS", 0)
    if near and chars in narrow:  # as a check, they are the ones computed here
        gap = np.abs(data.x[:, near] - narrow[chars]).max()
        print(f"near margins as the analyzer reads them ({chars} chars): largest gap {gap:.2g}")
    cues = [i for i in dev.cues if i not in near]
    base_cues, contrast = data.x[:, cues], dev.contrast
    base = data.lobo(np.hstack([base_cues, contrast]), dev.c)
    print(data.line(f"without narrow margins, C {dev.c}", base))
    for chars, columns in narrow.items():
        for c in C_GRID:
            p = data.lobo(np.hstack([base_cues, columns, contrast]), c)
            print(data.line(f"+ margins on {chars} chars, C {c}", p) + compared(data, base, p))

    with_narrow = {
        (chars, c): np.hstack([base_cues, columns, contrast])
        for chars, columns in narrow.items()
        for c in C_GRID
    }
    or_none = {(0, c): np.hstack([base_cues, contrast]) for c in C_GRID} | with_narrow
    scores = inner_scores(data, or_none)
    p, chosen = nested(data, with_narrow, scores)
    print(data.line("nested: width and C chosen", p) + compared(data, base, p))
    print("  chosen (width, C): " + ", ".join(f"{k} x{n}" for k, n in chosen.most_common()))
    p, chosen = nested(data, or_none, scores)
    print(data.line("nested: width or none, and C", p) + compared(data, base, p))
    print("  chosen (width, C; 0 none): " + ", ".join(f"{k} x{n}" for k, n in chosen.most_common()))
    # What to ship: the same inner CV on every development brand.
    folds = inner_folds(sorted(set(data.brands)))
    final = {
        key: f1_of(data.by_brands(x, key[1], folds) >= 0.5, data.labels)
        for key, x in or_none.items()
    }
    print("on all development brands, 5-fold brand CV F1 (width, C; 0 none):")
    for key, f1 in sorted(final.items(), key=lambda kv: -kv[1]):
        print(f"  {key}: {f1:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
