"""Sentiment toward a brand on brand-naming tweets that no shipped part was chosen on.

The development set for issue 24's brand sentiment (the held-out proxy of
bench_brand_spans.py stays unread here): the SemEval 2013-2016 train/dev tweets of
../shared/corpora/labelled that lie BEYOND the first `TRAINED` (24,858) of the extra-tweet
shuffle of scripts/train_sentiment_head.py (its own `read_extra`), so the shipped shared
head never trained on them and the English second opinion's shares (chosen on the first
3,000 SemEval tweets of that shuffle) never saw them; minus any tweet whose text is also
among the first `TRAINED`, in UMSAB French/English train or val (the encoders' and
MiniLM's training data) or among the 300 items of bench_brand_spans.py. Duplicates are
kept once. A tweet "names a brand" when the tagger finds exactly one of `NAMES`
(bench_brand_pairs.COMMON_NAMES plus Apple and Amazon, the companies of the owners'
first acceptance set that COMMON_NAMES lacks); its own label stands for the label toward
that brand. Only line numbers, names and labels are written to the repository
(benchmarks/data/brand_sentiment_dev/items.jsonl).

Prints, for the brand tweets and for the tweets of the same range naming no brand, the
confusion matrix and macro-F1 of the full analyzer (the sentiment toward the brand; the
overall one for the others), then class offsets for the brand reading chosen on one half
and scored on the other, both ways, with a paired bootstrap. The analyzer's probabilities
are cached under --cache (one .npz per text set).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_sentiment_dev.py [--build] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import confusion_matrix, f1_score

from benchmarks import sentiment_data
from benchmarks.bench_brand_pairs import COMMON_NAMES, as_mentions
from benchmarks.bench_brand_spans import LABELLED, LABELS, _trainer
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.pipeline import Analyzer
from services.core.models import Brand
from services.core.settings import AnalyzerSettings

REPO = Path(__file__).resolve().parent.parent
ITEMS = REPO / "benchmarks" / "data" / "brand_sentiment_dev" / "items.jsonl"
TRAINED = 24_858  # the shipped shared head's --extra-max
NAMES = [*COMMON_NAMES, "Apple", "Amazon"]
GRID = np.round(np.arange(-1.0, 1.01, 0.05), 2)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def semeval() -> tuple[list[str], list[int], list[str]]:
    return sentiment_data.read_semeval(LABELLED)


def build() -> list[dict[str, Any]]:
    """Every tweet of the range (brand or not), by line number."""
    trainer = _trainer()
    shuffled, _ = sentiment_data.read_extra(LABELLED, None)
    trained = {_norm(t) for t in shuffled[:TRAINED]}
    tail = set(shuffled[TRAINED:])
    splits = [sentiment_data.read_split(LABELLED / "umsab", s) for s in ("train", "val")]
    trained |= {_norm(t) for s in splits for c in s for t in s[c][0]}
    trained |= {_norm(t) for t in trainer.held_out_texts(LABELLED)}
    texts, labels, origins = semeval()
    tagger = BrandTagger([Brand(name=n) for n in NAMES], [])
    items: list[dict[str, Any]] = []
    for line, (text, label, origin) in enumerate(zip(texts, labels, origins, strict=True)):
        if origin not in sentiment_data.SEMEVAL_TRAIN_DEV or text not in tail:
            continue
        if _norm(text) in trained:
            continue
        trained.add(_norm(text))  # duplicates once
        names = list(tagger.tag(text).names)
        items.append({"line": line, "brands": names, "label": LABELS[int(label)]})
    ITEMS.parent.mkdir(parents=True, exist_ok=True)
    ITEMS.write_text("".join(json.dumps(i) + "\n" for i in items))
    return items


def read_probs(
    texts: list[str], cache: Path, settings: AnalyzerSettings | None = None
) -> NDArray[np.float32]:
    """The analyzer's probabilities (negative, neutral, positive) of each whole text, as
    the sentiment toward its one brand is read; cached by the texts' hash."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"probs-{key}.npy"
    if path.is_file():
        return np.load(path)  # type: ignore[no-any-return]
    analyzer = Analyzer(settings or AnalyzerSettings(), brands=[Brand(name=n) for n in NAMES])
    seen: dict[Any, NDArray[np.float32]] = {}
    read = analyzer._read

    def recording(slots: Any, originals: Sequence[str]) -> Any:
        out = read(slots, originals)
        seen.update({t: out.probs[k] for k, t in enumerate(originals)})
        seen.update({("prepared", t): out.probs[k] for k, t in enumerate(out.prepared)})
        return out

    analyzer._read = recording  # type: ignore[method-assign]
    done = analyzer.analyze(
        as_mentions(texts),
        declared_languages=["en"] * len(texts),
        progress=lambda n, total: (
            print(f"  read {n}/{total}", flush=True) if n % 640 == 0 else None
        ),
    )
    probs = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    for k, (text, mention) in enumerate(zip(texts, done, strict=True)):
        judged = mention.sentiment
        # a text whose prepared form another text already had was read once, as that one
        prepared = ("prepared", analyzer.reader("en").head.prepare(text))
        probs[k] = seen[text] if text in seen else seen[prepared]
        for name, sentiment in mention.brand_sentiments.items():  # one brand: the whole text
            assert judged is not None and sentiment.label == judged.label, (k, name)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, probs)
    return probs


def predict(probs: NDArray[np.float32], offsets: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.asarray(np.argmax(np.log(np.maximum(probs, 1e-9)) + offsets, axis=1))


def macro(gold: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    return float(f1_score(gold, pred, average="macro", labels=[0, 1, 2]))


def show(name: str, gold: NDArray[np.int64], pred: NDArray[np.int64]) -> None:
    f1s = f1_score(gold, pred, average=None, labels=[0, 1, 2])
    print(f"{name}: {len(gold)} tweets, gold {dict(Counter(LABELS[g] for g in gold))}")
    print(f"  macro-F1 {macro(gold, pred):.3f}  per class (neg neu pos) {np.round(f1s, 3)}")
    print("  confusion (rows gold neg/neu/pos, columns read):")
    for label, row in zip(LABELS, confusion_matrix(gold, pred, labels=[0, 1, 2]), strict=True):
        print(f"    {label:<9} {row}")


def choose(probs: NDArray[np.float32], gold: NDArray[np.int64], both: bool) -> NDArray[np.float64]:
    """The offsets (neutral alone, or negative and neutral) best on `probs`; ties: the
    smallest."""
    grid = [(0.0, n) for n in GRID] if not both else [(a, n) for a in GRID for n in GRID]
    scored = [
        (macro(gold, predict(probs, np.array([a, n, 0.0]))), -abs(a) - abs(n), a, n)
        for a, n in grid
    ]
    _, _, a, n = max(scored)
    return np.array([a, n, 0.0])


def bootstrap(gold: NDArray[np.int64], base: NDArray[np.int64], new: NDArray[np.int64]) -> str:
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(2000):
        k = rng.integers(0, len(gold), len(gold))
        gains.append(macro(gold[k], new[k]) - macro(gold[k], base[k]))
    g = np.asarray(gains)
    return f"gain {g.mean():+.3f} ± {g.std():.3f} (share > 0: {np.mean(g > 0):.2f})"


def halves(
    probs: NDArray[np.float32], gold: NDArray[np.int64], both: bool
) -> tuple[NDArray[np.int64], list[NDArray[np.float64]]]:
    """Each tweet read with the offsets chosen on the other half (stratified, seed 0)."""
    rng = np.random.default_rng(0)
    half = np.zeros(len(gold), dtype=bool)
    for c in range(3):
        rows = rng.permutation(np.flatnonzero(gold == c))
        half[rows[: len(rows) // 2]] = True
    pred = np.zeros(len(gold), dtype=np.int64)
    chosen = []
    for fit in (half, ~half):
        offsets = choose(probs[fit], gold[fit], both)
        chosen.append(offsets)
        pred[~fit] = predict(probs[~fit], offsets)
        base = predict(probs[~fit], np.zeros(3))
        print(
            f"    chosen {offsets[:2]} on {fit.sum()}: held half {macro(gold[~fit], base):.3f}"
            f" -> {macro(gold[~fit], pred[~fit]):.3f}"
        )
    return pred, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="choose the items again")
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/brandsent"))
    parser.add_argument("--others", type=int, default=1500, help="tweets naming no brand read")
    args = parser.parse_args()
    items = build() if args.build else [json.loads(x) for x in ITEMS.read_text().splitlines()]
    texts, _, origins = semeval()
    brand = [i for i in items if len(i["brands"]) == 1]
    others = [i for i in items if not i["brands"]]
    others = [others[k] for k in sorted(random.Random(0).sample(range(len(others)), args.others))]
    print(
        f"{len(items)} tweets in the range; {len(brand)} name one brand "
        f"({sum(i['brands'][0] in COMMON_NAMES for i in brand)} of COMMON_NAMES), "
        f"{sum(len(i['brands']) > 1 for i in items)} several"
    )
    gold_o = np.array([LABELS.index(i["label"]) for i in others])
    probs_o = read_probs([texts[i["line"]] for i in others], args.cache)
    show("tweets naming no brand", gold_o, predict(probs_o, np.zeros(3)))
    gold = np.array([LABELS.index(i["label"]) for i in brand])
    probs = read_probs([texts[i["line"]] for i in brand], args.cache)
    base = predict(probs, np.zeros(3))
    show("brand tweets, toward the brand", gold, base)
    common = np.array([i["brands"][0] in COMMON_NAMES for i in brand])
    show("  of which COMMON_NAMES only", gold[common], base[common])
    # SemEval 2015/2016 collected tweets by topic (many of them brands): compare like with like
    print("  by origin file, macro-F1 (tweets): brand tweets | naming no brand")
    origin_b = np.array([origins[i["line"]] for i in brand])
    origin_o = np.array([origins[i["line"]] for i in others])
    base_o = predict(probs_o, np.zeros(3))
    for origin in sorted(set(origin_b)):
        b, o = origin_b == origin, origin_o == origin
        if not b.sum() or not o.sum():
            continue
        print(
            f"    {origin:<18} {macro(gold[b], base[b]):.3f} ({b.sum()})"
            f" | {macro(gold_o[o], base_o[o]):.3f} ({o.sum()})"
        )
    handle = np.array(
        [
            bool(re.search(r"@\w*" + re.escape(i["brands"][0]), texts[i["line"]], re.I))
            for i in brand
        ]
    )
    print(f"  {handle.sum()} address the brand by @handle")
    for both in (False, True):
        print(f"offsets {'negative and neutral' if both else 'neutral'} chosen on one half:")
        pred, _ = halves(probs, gold, both)
        show("  held halves together", gold, pred)
        print("   ", bootstrap(gold, base, pred))
        neg = gold == 0
        print(
            f"    negative recall {np.mean(base[neg] == 0):.3f} -> {np.mean(pred[neg] == 0):.3f};"
            f" @handle tweets right {np.mean(base[handle] == gold[handle]):.2f}"
            f" -> {np.mean(pred[handle] == gold[handle]):.2f}"
        )
        offsets = choose(probs, gold, both)
        print(f"    on all {len(gold)}: {offsets[:2]}; the same offsets on the others:")
        print(
            f"    no-brand tweets {macro(gold_o, predict(probs_o, np.zeros(3))):.3f}"
            f" -> {macro(gold_o, predict(probs_o, offsets)):.3f}"
        )
    # The same reading bias on the tweets naming no brand? Offsets chosen there (more
    # tweets, never trained on either), scored on the brand tweets.
    print("offsets chosen on the tweets naming no brand, scored on the brand tweets:")
    for both in (False, True):
        offsets = choose(probs_o, gold_o, both)
        pred = predict(probs, offsets)
        neg = gold == 0
        print(
            f"    {offsets[:2]}: no-brand {macro(gold_o, predict(probs_o, np.zeros(3))):.3f}"
            f" -> {macro(gold_o, predict(probs_o, offsets)):.3f}; brand {macro(gold, base):.3f}"
            f" -> {macro(gold, pred):.3f}, {bootstrap(gold, base, pred)};"
            f" brand negative recall {np.mean(base[neg] == 0):.3f} -> {np.mean(pred[neg] == 0):.3f}"
        )
    for name, g, p in (("brand", gold, probs), ("no-brand", gold_o, probs_o)):
        shares = np.bincount(predict(p, np.zeros(3)), minlength=3) / len(g)
        print(
            f"  {name} read shares {np.round(shares, 3)},"
            f" gold {np.round(np.bincount(g) / len(g), 3)}"
        )


if __name__ == "__main__":
    main()
