#!/usr/bin/env python
"""A per-stream class prior for the English reader, instead of one offset for all English
text (issue 24: "calibrate the neutral class for streams where most posts are neutral").

The sixth session found (docs/model-card.md, "The English reader's class offsets...") that
the over-read negative is a stream's, not the reader's: the 2013 files and the 2016 files
want offsets of opposite signs. So here the offsets are the stream's own:

- (a) `em`: the stream's class shares re-estimated from the reader's own probabilities,
  unsupervised (Saerens, Latinne & Decaestecker 2002, "Adjusting the outputs of a
  classifier to new a priori probabilities"), as a MAP estimate shrunk toward the
  reference shares with `m` pseudo-counts (a Dirichlet prior), used only from `n_min`
  texts on; each probability is then re-weighted by new share / reference share.
- (b) `corrections`: the stream's shares from `k` labelled texts of it (the user's
  corrections), shrunk the same way, the re-weighting the same; scored on the stream's
  other texts. Two ways of drawing the k: at random (the best case) and among the texts
  the reader got wrong (what a user corrects).

The reference shares are the mean of the reader's probabilities on the fitting streams, so
that a stream like those is left as it is.

Streams: the tweets of bench_brand_sentiment_dev.py's range (SemEval 2013-2016 train/dev
tweets past the shared head's cut, deduplicated against every training set; out of sample
for every shipped part), each read once by the shipped analyzer as a whole text, the
language declared English (detected when sure). The 2016 files were gathered by topic
(about 100 tweets a topic, in file order), so each 2016 topic is a stream (its tweets in
the range: about 20); the 2013 files are a general sample, cut in file order into streams
of `--chunk` tweets (controls: their shares are the pooled ones).

CV: leave-topics-out, 5 folds over streams, `--repeats` times; `m` and `n_min` (and `k`'s
`m`) chosen on the fitting streams (pooled macro-F1), applied to the held-out ones. Gains
are paired bootstraps over streams (a stream is resampled whole) of the first repeat's
out-of-fold labels. A balanced stream (the range's 2013 tweets, equal class counts) checks
that the frozen choice does no harm where shares are even; `--val` reads UMSAB English and
French val once, for the frozen choice (French: the French route).

    PYTHONPATH=. .venv/bin/python scripts/cv_stream_prior.py [--val] [--cache DIR]

Texts are read from ../shared at run time and never written; probabilities are cached
under --cache (about 16 minutes to read the 4,150 tweets on the shared machine).

Results of 8 December (no gain beyond noise on real streams, harm on even drawn streams, so
val was not read and nothing ships): docs/model-card.md, "A per-stream class prior...".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import bench_brand_sentiment_dev as dev  # noqa: E402
from benchmarks.bench_brand_spans import LABELS  # noqa: E402
from scripts import cv_english_offsets as offsets_script  # noqa: E402

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

M_GRID = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, np.inf)  # inf: no change
N_MIN_GRID = (0, 10, 20)
K_GRID = (3, 5, 10)  # corrections per stream
TOPIC_FILES = ("twitter-2016train", "twitter-2016dev")
_WORD = re.compile(r"[a-z0-9']+")
_STOP = {
    "the",
    "a",
    "an",
    "to",
    "of",
    "and",
    "in",
    "for",
    "on",
    "is",
    "it",
    "i",
    "you",
    "my",
    "me",
    "at",
    "be",
    "this",
    "that",
    "with",
    "was",
    "are",
    "just",
    "but",
    "so",
    "not",
    "have",
    "has",
    "will",
    "your",
    "we",
    "they",
    "he",
    "she",
    "his",
    "her",
    "its",
    "can",
    "do",
    "if",
    "or",
    "from",
    "by",
    "as",
    "all",
    "about",
    "what",
    "when",
    "up",
    "out",
    "no",
    "get",
    "like",
    "new",
    "one",
    "more",
    "now",
    "day",
    "time",
    "today",
    "tomorrow",
    "night",
    "going",
    "go",
    "see",
    "amp",
    "u",
    "im",
    "dont",
    "via",
    "rt",
    "http",
    "https",
    "co",
    "t",
}


# -- streams -----------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    plain = text.casefold().replace("#", " ").replace("@", " ")
    return {w for w in _WORD.findall(plain) if w not in _STOP and len(w) > 1}


def topics(texts: Sequence[str], origins: Sequence[str]) -> dict[int, str]:
    """A topic name for each line of the 2016 files: runs of consecutive tweets sharing the
    word most common in the run's first ten (the files hold about 100 tweets a topic, in
    order); a run of several topics sharing a word (Amazon, Amazon Prime...) is cut in
    runs of about 100."""
    out: dict[int, str] = {}
    for origin in TOPIC_FILES:
        rows = [k for k, o in enumerate(origins) if o == origin]
        words = [_words(texts[k]) for k in rows]
        start = 0
        while start < len(rows):
            counts = Counter(w for s in words[start : start + 10] for w in s)
            key = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]  # ties: not by hash
            end, missed = start, 0
            while end < len(rows) and missed <= 3:  # a few tweets without the word
                missed = 0 if key in words[end] else missed + 1
                end += 1
            end = max(end - missed, start + 1)
            parts = max(1, round((end - start) / 100))
            for k in range(start, end):
                part = (k - start) * parts // (end - start)
                out[rows[k]] = f"{origin[len('twitter-') :]}:{key}" + (
                    f"#{part}" if parts > 1 else ""
                )
            start = end
    return out


def stream_ids(
    lines: Sequence[int], texts: Sequence[str], origins: Sequence[str], chunk: int
) -> list[str]:
    """Each item's stream: its 2016 topic, else its 2013 file's chunk of `chunk` tweets."""
    topic = topics(texts, origins)
    out, seen = [], Counter[str]()
    for line in lines:
        if line in topic:
            out.append(topic[line])
        else:
            origin = origins[line][len("twitter-") :].replace("2015train", "2013train")
            out.append(f"{origin}:{seen[origin] // chunk}")
            seen[origin] += 1
    return out


# -- the prior ---------------------------------------------------------------------------
# Streams are integer codes 0..S-1 (`codes`), so that every stream is adapted at once.


def em_shares(
    probs: Floats, codes: Ints, reference: Floats, m: float, iterations: int = 300
) -> Floats:
    """Each stream's class shares (S, 3) by Saerens et al.'s EM, MAP with a Dirichlet prior
    of `m` pseudo-counts at `reference` (the shares the probabilities are calibrated to)."""
    count = int(codes.max()) + 1
    if not np.isfinite(m):
        return np.tile(reference, (count, 1))
    sizes = np.bincount(codes, minlength=count)[:, None].astype(np.float64)
    shares = np.tile(reference, (count, 1))
    for _ in range(iterations):
        weighted = probs * (shares / reference)[codes]
        weighted /= weighted.sum(1, keepdims=True)
        sums = np.stack([np.bincount(codes, weighted[:, c], minlength=count) for c in range(3)], 1)
        new = (sums + m * reference) / (sizes + m)
        if np.abs(new - shares).max() < 1e-7:
            return new
        shares = new
    return shares


def label_shares(
    gold: Ints, codes: Ints, known: NDArray[np.bool_], count: int, reference: Floats, m: float
) -> Floats:
    """Each stream's shares from its labelled texts (`known`), shrunk toward `reference`
    (a stream without any: the reference)."""
    if not np.isfinite(m):
        return np.tile(reference, (count, 1))
    counts = np.bincount(codes[known] * 3 + gold[known], minlength=3 * count).reshape(count, 3)
    total = counts.sum(1, keepdims=True)
    return np.where(
        total + m > 0, (counts + m * reference) / np.maximum(total + m, 1e-9), reference
    )


def shifted(
    logp: Floats, codes: Ints, shares: Floats, reference: Floats, active: NDArray[np.bool_]
) -> Ints:
    """The label once each active stream's probabilities are re-weighted to its shares."""
    shift = np.where(active[:, None], np.log(np.maximum(shares, 1e-6) / reference), 0.0)
    return np.asarray(np.argmax(logp + shift[codes], axis=1))


def temperature(logp: Floats, gold: Ints) -> float:
    """The temperature that makes the reading's probabilities best calibrated on these
    labelled rows (least log-loss): EM assumes calibrated probabilities."""
    from scipy.optimize import minimize_scalar  # type: ignore[import-untyped]

    def loss(t: float) -> float:
        scaled = logp / t
        scaled = scaled - np.logaddexp.reduce(scaled, axis=1, keepdims=True)
        return float(-scaled[np.arange(len(gold)), gold].mean())

    return float(minimize_scalar(loss, bounds=(0.2, 5.0), method="bounded").x)


def reference_of(logp: Floats) -> Floats:
    reference = np.exp(logp).mean(0)
    return np.asarray(reference / reference.sum())


# -- scores ------------------------------------------------------------------------------


def confusions(gold: Ints, pred: Ints, codes: Ints, count: int) -> Ints:
    """One confusion matrix (gold x read) a stream: (S, 3, 3)."""
    return np.bincount(codes * 9 + gold * 3 + pred, minlength=9 * count).reshape(count, 3, 3)


def f1s(confusion: Ints) -> Floats:
    right = np.diagonal(confusion, axis1=-2, axis2=-1)
    both = confusion.sum(-2) + confusion.sum(-1)
    return np.asarray(2 * right / np.maximum(both, 1))


def pooled(confusion: Ints) -> float:
    return float(f1s(confusion.sum(0)).mean())


def per_stream(confusion: Ints) -> Floats:
    """Each stream's macro-F1 over the classes present in its gold."""
    present = confusion.sum(2) > 0
    return np.asarray((f1s(confusion) * present).sum(1) / np.maximum(present.sum(1), 1))


def recalls(confusion: Ints) -> Floats:
    total = confusion.sum(0)
    return np.asarray(np.diag(total) / np.maximum(total.sum(1), 1))


def cluster_bootstrap(base: Ints, new: Ints, n: int = 2000) -> str:
    """Gains of `new` over `base` (their confusions a stream) resampling whole streams:
    pooled macro-F1, the mean of per-stream macro-F1, negative and neutral recall."""
    rng = np.random.default_rng(0)
    used = base.sum((1, 2)) > 0
    base, new = base[used], new[used]
    gains = []
    for _ in range(n):
        pick = rng.integers(0, len(base), len(base))
        b, w = base[pick], new[pick]
        gains.append(
            [
                pooled(w) - pooled(b),
                per_stream(w).mean() - per_stream(b).mean(),
                *(recalls(w) - recalls(b))[:2],
            ]
        )
    a = np.asarray(gains)
    return (
        f"pooled {a[:, 0].mean():+.4f} ± {a[:, 0].std():.4f} "
        f"(share > 0: {np.mean(a[:, 0] > 0):.2f}); "
        f"per stream {a[:, 1].mean():+.4f} ± {a[:, 1].std():.4f}; "
        f"recall neg {a[:, 2].mean():+.3f} ± {a[:, 2].std():.3f}, "
        f"neu {a[:, 3].mean():+.3f} ± {a[:, 3].std():.3f}"
    )


def describe(name: str, confusion: Ints) -> None:
    used = confusion.sum((1, 2)) > 0
    read = confusion.sum((0, 1)) / confusion.sum()
    better = ""
    print(
        f"  {name}: pooled {pooled(confusion):.4f}, "
        f"per stream {per_stream(confusion[used]).mean():.4f}, "
        f"recall neg/neu/pos {np.round(recalls(confusion), 3)}, read {np.round(read, 3)}{better}",
        flush=True,
    )


def compare(
    name: str, gold: Ints, base: Ints, new: Ints, codes: Ints, rows: NDArray[np.bool_]
) -> None:
    """Shipped against `new` on `rows`: figures, streams better / worse, bootstrap."""
    count = int(codes.max()) + 1
    b = confusions(gold[rows], base[rows], codes[rows], count)
    w = confusions(gold[rows], new[rows], codes[rows], count)
    used = b.sum((1, 2)) > 0
    diff = per_stream(w[used]) - per_stream(b[used])
    print(
        f" {name} ({rows.sum()} tweets, {used.sum()} streams; streams better / worse / same: "
        f"{np.sum(diff > 1e-9)} / {np.sum(diff < -1e-9)} / {np.sum(np.abs(diff) <= 1e-9)}):"
    )
    describe("shipped", b)
    describe("adapted", w)
    print("   gain:", cluster_bootstrap(b, w), flush=True)


def group_folds(count: int, k: int, seed: int) -> Ints:
    """A fold for each stream."""
    return np.asarray(np.random.default_rng(seed).permutation(count) % k)


# -- (a) EM ------------------------------------------------------------------------------


def em_table(logp: Floats, codes: Ints, reference: Floats) -> dict[float, Floats]:
    probs = np.exp(logp)
    probs /= probs.sum(1, keepdims=True)
    return {m: em_shares(probs, codes, reference, m) for m in M_GRID}


def choose_em(
    logp: Floats,
    gold: Ints,
    codes: Ints,
    fit: NDArray[np.bool_],
    table: dict[float, Floats],
    reference: Floats,
) -> tuple[float, int]:
    """(m, n_min) best on the `fit` rows (pooled macro-F1; ties: the larger m and n_min)."""
    sizes = np.bincount(codes, minlength=int(codes.max()) + 1)
    best: tuple[float, float, int] | None = None
    for m in M_GRID:
        for n_min in N_MIN_GRID if np.isfinite(m) else (0,):
            pred = shifted(logp[fit], codes[fit], table[m], reference, sizes >= n_min)
            score = offsets_script.macro(gold[fit], pred)
            if best is None or (score, m, n_min) > best:
                best = (score, m, n_min)
    assert best is not None
    return best[1], best[2]


def cv_em(
    logp: Floats, gold: Ints, codes: Ints, families: NDArray[np.str_], repeats: int, calibrate: bool
) -> None:
    count = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=count)
    base = np.asarray(np.argmax(logp, axis=1))
    how = "the probabilities first calibrated (a temperature)" if calibrate else "as read"
    print(
        f"(a) EM on the stream's own readings, {how}; leave-topics-out CV (5 folds over streams)",
        flush=True,
    )
    scores, first, chosen = [], None, Counter[tuple[float, int]]()
    temperatures = []
    for repeat in range(repeats):
        fold = group_folds(count, 5, repeat)[codes]
        pred = base.copy()
        for f in range(5):
            fit, held = fold != f, fold == f
            t = temperature(logp[fit], gold[fit]) if calibrate else 1.0
            temperatures.append(t)
            lp = logp / t
            reference = reference_of(lp[fit])
            table = em_table(lp, codes, reference)  # EM uses no label: every stream at once
            m, n_min = choose_em(lp, gold, codes, fit, table, reference)
            chosen[(m, n_min)] += 1
            pred[held] = shifted(lp[held], codes[held], table[m], reference, sizes >= n_min)
        scores.append(offsets_script.macro(gold, pred))
        first = pred if first is None else first
    assert first is not None
    print(
        f"  CV pooled macro-F1 {np.mean(scores):.4f} ± {np.std(scores):.4f} over {repeats} repeats "
        f"(shipped {offsets_script.macro(gold, base):.4f}); "
        f"(m, n_min) chosen: {dict(chosen.most_common())}; "
        f"temperature {np.mean(temperatures):.2f}"
    )
    print("  first repeat, out of fold:")
    for family in ("all", *np.unique(families)):
        rows = np.ones(len(gold), bool) if family == "all" else families == family
        compare(family, gold, base, first, codes, rows)


# -- (b) corrections ---------------------------------------------------------------------


def draws(gold: Ints, base: Ints, codes: Ints, k: int, how: str, seed: int) -> NDArray[np.bool_]:
    """Which texts are corrected: k a stream, at random or among those read wrong."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(gold), bool)
    for s in range(int(codes.max()) + 1):
        rows = np.flatnonzero(codes == s)
        pool = rows if how == "random" else rows[gold[rows] != base[rows]]
        if len(rows) >= k + 5:  # a stream must keep texts to score
            out[rng.permutation(pool)[:k]] = True
    return out


def cv_corrections(logp: Floats, gold: Ints, codes: Ints, repeats: int) -> None:
    count = int(codes.max()) + 1
    base = np.asarray(np.argmax(logp, axis=1))
    active = np.ones(count, bool)
    print("(b) shares from k corrections a stream, leave-topics-out CV, scored on the other texts")
    for how in ("random", "misread"):
        for k in K_GRID:
            chosen, first = Counter[float](), None
            scores = []
            for repeat in range(repeats):
                known = draws(gold, base, codes, k, how, 100 + repeat)
                fold = group_folds(count, 5, repeat)[codes]
                pred = base.copy()
                for f in range(5):
                    fit, held = (fold != f) & ~known, fold == f
                    reference = reference_of(logp[fold != f])
                    options = []
                    for m in M_GRID:
                        shares = label_shares(gold, codes, known, count, reference, m)
                        got = shifted(logp[fit], codes[fit], shares, reference, active)
                        options.append((offsets_script.macro(gold[fit], got), m))
                    m = max(options)[1]
                    chosen[m] += 1
                    shares = label_shares(gold, codes, known, count, reference, m)
                    pred[held] = shifted(logp[held], codes[held], shares, reference, active)
                scores.append(
                    offsets_script.macro(gold[~known], pred[~known])
                    - offsets_script.macro(gold[~known], base[~known])
                )
                first = (known, pred) if first is None else first
            assert first is not None
            known, pred = first
            print(
                f"  k={k}, {how}: CV pooled gain over the shipped reading on the same texts "
                f"{np.mean(scores):+.4f} ± {np.std(scores):.4f} over draws; "
                f"m chosen {dict(chosen.most_common())}"
            )
            compare(f"k={k}, {how}, first draw", gold, base, pred, codes, ~known)


# -- streams of chosen shares -----------------------------------------------------------
# The topics hold about 20 tweets each. Larger streams with strongly shifted shares are drawn
# from the same tweets (the artificial-prevalence protocol of quantification): the best case
# for EM, since a class's texts read alike in every stream, which real topics do not.
SHARES = {
    "neutral 70%": (0.15, 0.70, 0.15),
    "neutral 85%": (0.05, 0.85, 0.10),
    "negative 50%": (0.50, 0.30, 0.20),
    "positive 60%": (0.10, 0.30, 0.60),
    "even": (1 / 3, 1 / 3, 1 / 3),
    "as pooled": (0.154, 0.422, 0.424),
}


def drawn(gold: Ints, rows: Ints, size: int, copies: int, seed: int) -> tuple[Ints, Ints, Ints]:
    """Streams of `size` tweets of `rows` at each of SHARES (`copies` each): the rows, a
    stream code for each and the kind of each stream."""
    rng = np.random.default_rng(seed)
    by_class = [rows[gold[rows] == c] for c in range(3)]
    picked, codes, kinds = [], [], []
    for kind, shares in enumerate(SHARES.values()):
        for _ in range(copies):
            counts = rng.multinomial(size, shares)
            part = [
                rng.choice(by_class[c], counts[c], replace=counts[c] > len(by_class[c]))
                for c in range(3)
            ]
            picked.append(np.concatenate(part))
            codes.append(np.full(size, len(kinds)))
            kinds.append(kind)
    return np.concatenate(picked), np.concatenate(codes), np.asarray(kinds)


def cv_drawn(logp: Floats, gold: Ints, size: int, copies: int = 10) -> None:
    """Folds over tweets (stratified): (m, n_min) chosen on streams drawn from four folds,
    applied to streams drawn from the fifth."""
    fold = offsets_script.folds(gold, 5, 0)
    confusion_base, confusion_new, kinds_all = [], [], []
    chosen = Counter[tuple[float, int]]()
    for f in range(5):
        rows_fit, codes_fit, _ = drawn(gold, np.flatnonzero(fold != f), size, copies, f)
        reference = reference_of(logp[fold != f])
        lp, g = logp[rows_fit], gold[rows_fit]
        table = em_table(lp, codes_fit, reference)
        m, n_min = choose_em(lp, g, codes_fit, np.ones(len(g), bool), table, reference)
        chosen[(m, n_min)] += 1
        rows, codes, kinds = drawn(gold, np.flatnonzero(fold == f), size, copies, 100 + f)
        new = frozen(logp[rows], codes, m, n_min, reference)
        base = np.asarray(np.argmax(logp[rows], axis=1))
        count = int(codes.max()) + 1
        confusion_base.append(confusions(gold[rows], base, codes, count))
        confusion_new.append(confusions(gold[rows], new, codes, count))
        kinds_all.append(kinds)
    b, w, kinds = (
        np.concatenate(confusion_base),
        np.concatenate(confusion_new),
        np.concatenate(kinds_all),
    )
    print(
        f" drawn streams of {size} tweets ({copies} of each kind a fold), (m, n_min) chosen: "
        f"{dict(chosen.most_common())}"
    )
    for kind, name in enumerate(SHARES):
        pick = kinds == kind
        print(
            f"  {name}: per stream {per_stream(b[pick]).mean():.4f} -> "
            f"{per_stream(w[pick]).mean():.4f}, recall neg/neu/pos "
            f"{np.round(recalls(b[pick]), 2)} -> {np.round(recalls(w[pick]), 2)}; "
            f"gain {cluster_bootstrap(b[pick], w[pick], 500)}",
            flush=True,
        )


# -- checks ------------------------------------------------------------------------------


def frozen(logp: Floats, codes: Ints, m: float, n_min: int, reference: Floats) -> Ints:
    probs = np.exp(logp)
    probs /= probs.sum(1, keepdims=True)
    shares = em_shares(probs, codes, reference, m)
    sizes = np.bincount(codes)
    return shifted(logp, codes, shares, reference, sizes >= n_min)


def check(
    name: str, logp: Floats, gold: Ints, m: float, n_min: int, reference: Floats, chunk: int
) -> None:
    """The frozen choice on one set, as one stream and cut at random in streams of `chunk`."""
    order = np.random.default_rng(7).permutation(len(gold))
    base = np.asarray(np.argmax(logp, axis=1))
    everything = np.ones(len(gold), bool)
    for how, codes in (
        ("one stream", np.zeros(len(gold), np.int64)),
        (f"streams of {chunk}", order // chunk),
    ):
        compare(
            f"{name}, {how}",
            gold,
            base,
            frozen(logp, codes, m, n_min, reference),
            codes,
            everything,
        )


def balanced(logp: Floats, gold: Ints, families: NDArray[np.str_]) -> tuple[Floats, Ints]:
    """The range's 2013 tweets, equal class counts: a stream whose shares are even."""
    rng = np.random.default_rng(7)
    rows = np.flatnonzero(families == "2013")
    least = min(np.sum(gold[rows] == c) for c in range(3))
    pick = np.concatenate([rng.permutation(rows[gold[rows] == c])[:least] for c in range(3)])
    return logp[pick], gold[pick]


def read_val(cache: Path, labelled: Path, language: str) -> tuple[Floats, Ints]:
    folder = labelled / "umsab" / language
    texts = (folder / "val_text.txt").read_text("utf-8").splitlines()
    gold = np.asarray([int(x) for x in (folder / "val_labels.txt").read_text().split()])
    probs, _, _ = offsets_script.read(texts, cache, declared=None, tag=f"val-{language}")
    return np.log(np.maximum(probs.astype(np.float64), 1e-9)), gold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/sentprior"))
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=20, help="tweets a 2013 stream")
    parser.add_argument("--no-brand", action="store_true", help="leave out the 208+16 brand tweets")
    parser.add_argument("--val", action="store_true", help="read UMSAB val once (frozen choice)")
    parser.add_argument("--verbose", action="store_true", help="print every stream")
    args = parser.parse_args()
    dev.LABELLED = args.shared / "corpora" / "labelled"  # type: ignore[attr-defined]
    texts, _, origins = dev.semeval()
    items = [json.loads(x) for x in dev.ITEMS.read_text().splitlines()]
    everything = [texts[i["line"]] for i in items]
    parts = []
    for start in range(0, len(everything), offsets_script.CHUNK):
        probs, _, _ = offsets_script.read(
            everything[start : start + offsets_script.CHUNK], args.cache, tag="sentprior"
        )
        parts.append(probs)
    keep = np.asarray([not (args.no_brand and i["brands"]) for i in items])
    logp = np.log(np.maximum(np.concatenate(parts).astype(np.float64), 1e-9))[keep]
    items = [i for i, k in zip(items, keep, strict=True) if k]
    gold = np.asarray([LABELS.index(i["label"]) for i in items])
    streams = np.asarray(stream_ids([i["line"] for i in items], texts, origins, args.chunk))
    families = np.asarray(
        [
            s.split(":")[0]
            .replace("2016dev", "2016train")
            .replace("2016train", "2016 topics")
            .replace("2013dev", "2013")
            .replace("2013train", "2013")
            for s in streams
        ]
    )
    sizes = Counter(streams.tolist())
    print(
        f"{len(items)} tweets, {len(sizes)} streams: "
        + ", ".join(
            f"{f} {np.sum(families == f)} in {len(set(streams[families == f]))}"
            for f in np.unique(families)
        )
    )
    topic_rows = families == "2016 topics"
    neutral = [np.mean(gold[streams == s] == 1) for s in np.unique(streams[topic_rows])]
    print(
        f"  2016 topics: tweets a stream "
        f"{np.median([sizes[s] for s in set(streams[topic_rows])]):.0f} (median), "
        f"neutral share 10/50/90th percentile {np.round(np.percentile(neutral, [10, 50, 90]), 2)}"
    )
    names = sorted(set(streams.tolist()))
    codes = np.asarray([names.index(s) for s in streams])
    cv_em(logp, gold, codes, families, args.repeats, calibrate=False)
    cv_em(logp, gold, codes, families, args.repeats, calibrate=True)
    cv_corrections(logp, gold, codes, max(1, args.repeats // 2))
    reference = reference_of(logp)
    table = em_table(logp, codes, reference)
    m, n_min = choose_em(logp, gold, codes, np.ones(len(gold), bool), table, reference)
    print(
        f"frozen choice on every stream: m {m}, n_min {n_min}, "
        f"reference shares {np.round(reference, 3)}"
    )
    if args.verbose:
        new = frozen(logp, codes, m, n_min, reference)
        base = np.argmax(logp, axis=1)
        count = len(names)
        before = per_stream(confusions(gold, base, codes, count))
        after = per_stream(confusions(gold, new, codes, count))
        for k, s in enumerate(names):
            if s.startswith("2016"):
                rows = codes == k
                print(
                    f"  {s}: n {rows.sum()}, "
                    f"gold {np.round(np.bincount(gold[rows], minlength=3) / rows.sum(), 2)}, "
                    f"EM {np.round(table[m][k], 2)}, macro-F1 {before[k]:.3f} -> {after[k]:.3f}"
                )
    print("(a) on streams drawn at chosen shares, 5 folds over tweets")
    for size in (50, 200):
        cv_drawn(logp, gold, size)
    bal_logp, bal_gold = balanced(logp, gold, families)
    check("balanced 2013 tweets", bal_logp, bal_gold, m, n_min, reference, args.chunk)
    if args.val:
        for language in ("english", "french"):
            val_logp, val_gold = read_val(
                args.cache, args.shared / "corpora" / "labelled", language
            )
            check(f"UMSAB {language} val", val_logp, val_gold, m, n_min, reference, args.chunk)


if __name__ == "__main__":
    main()
