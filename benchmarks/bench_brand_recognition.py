#!/usr/bin/env python
"""Brand recognition on real posts where the brand's name is also another word: fits the
shared weights of the context model (services/analyzer/brands/heads/brand_sense.json) and
prints precision and recall, cross-validated, then once on a split never used to choose.

Data: benchmarks/data/brand_dev (see its README): 30 brands' workspaces written before
any post was read, and the labelled occurrences, which point into ../shared/corpora
(texts are read at run time, never copied); with `--real`, also benchmarks/data/brand_real
(310 more real posts, 32 more workspaces; the shipped weights are fitted with its first 263). A
fixed 30% of the units (`is_test`: a tweet, or a page or payload whole) is the test
split; everything is chosen on the other 70%:
- leave-one-brand-out CV (train on the other brands, predict one: how the model does on
  a brand it never saw, which is what a user's new brand is), and
- the regularisation and which cues to keep, by that CV's F1.
`--fit` writes the weights fitted on the development split; `--test` prints the test
figures (once, at the end: never choose on them). `--written` adds the French posts of
benchmarks/data/brand_written to every fit (training only, never scored; they lowered
the CV, so the shipped weights are fitted without them).

    .venv/bin/python benchmarks/bench_brand_recognition.py [--real] [--fit] [--test]
        [--errors] [--written] [--embedding-cache FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_context import CachedEmbed  # noqa: E402
from benchmarks.corpus_passages import is_labelled, read_passages  # noqa: E402
from services.analyzer.brands import disambiguation  # noqa: E402
from services.analyzer.brands.disambiguation import (  # noqa: E402
    DEFAULT_THRESHOLD,
    FEATURES,
    SENSE_MODEL,
    Occurrence,
    SenseModel,
    is_place_name,
)
from services.analyzer.brands.tagging import BrandTagger  # noqa: E402
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder  # noqa: E402
from services.core.models import Brand  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "brand_dev"
WRITTEN = REPO / "benchmarks" / "data" / "brand_written"
REAL = REPO / "benchmarks" / "data" / "brand_real"
CORPORA = REPO.parent / "shared" / "corpora"
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
C_GRID = (0.01, 0.03, 0.1)


@dataclass
class Row:
    """One labelled post: its brand, label, language and the occurrences to judge."""

    brand: str
    about_brand: bool
    language: str
    unit: str
    unjudged: bool  # an alias never judged names the brand: it counts whatever
    occurrences: list[Occurrence]
    x: NDArray[np.float64] | None = None  # one row of cues per occurrence


def is_test(unit: str) -> bool:
    """The fixed test split: 30% of the units, drawn by a hash."""
    return hashlib.sha256(unit.encode()).digest()[0] % 10 < 3


def load_brands(data: Path = DATA) -> list[Brand]:
    document = yaml.safe_load((data / "brands.yaml").read_text(encoding="utf-8"))
    return [Brand.model_validate(b) for b in document["brands"]]


def all_brands() -> list[Brand]:
    """brand_dev's workspaces, then those of the written posts' other brands."""
    dev = load_brands()
    known = {b.name for b in dev}
    return dev + [b for b in load_brands(WRITTEN) if b.name not in known]


def real_brands() -> list[Brand]:
    """brand_real's workspaces, then brand_dev's for the brands it does not redefine."""
    real = load_brands(REAL)
    known = {b.name for b in real}
    return real + [b for b in load_brands() if b.name not in known]


def load_texts(entries: Sequence[dict[str, Any]], corpora: Path) -> list[str]:
    """Each labelled post's text, read from the corpora (corpus_passages.read_passages)."""
    texts = read_passages(entries, corpora)
    return [
        # Some SemEval lines keep their commas and quotes as literal "\u002c".
        _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if is_labelled(e["source"]) else text
        for e, text in zip(entries, texts, strict=True)
    ]


def load_rows(tagger: BrandTagger, corpora: Path, data: Path = DATA) -> list[Row]:
    """The labelled posts, their occurrences found by the tagger and their cues."""
    entries = [json.loads(line) for line in (data / "items.jsonl").read_text().splitlines()]
    return _rows(tagger, entries, load_texts(entries, corpora))


def load_written(tagger: BrandTagger, data: Path = WRITTEN) -> list[Row]:
    """The French posts written for training (brand_written/README.md): they join
    every fit, are never scored, and a brand's written posts stay out of its own fold."""
    lines = (data / "written.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    for number, entry in enumerate(entries, 1):
        entry["source"], entry["at"] = "written", number
    return _rows(tagger, entries, [e["text"] for e in entries])


def _rows(tagger: BrandTagger, entries: list[dict[str, Any]], texts: list[str]) -> list[Row]:
    found = tagger.occurrences(texts)
    rows = []
    for entry, occurrences in zip(entries, found, strict=True):
        mine = [o for name, o in occurrences if name == entry["brand"]]
        source = entry["source"]
        unit = source if source.startswith(("pages/", "api/")) else f"{source}:{entry['at']}"
        rows.append(
            Row(
                entry["brand"],
                bool(entry["about_brand"]),
                entry["lang"],
                unit,
                any(o is None for o in mine),
                [o for o in mine if o is not None],
            )
        )
    judged = [(r, o) for r in rows for o in r.occurrences]
    if not judged:
        return rows
    x = tagger.judge.features([o for _, o in judged])
    for row in rows:
        row.x = np.zeros((0, x.shape[1]))
    for (row, _), features in zip(judged, x, strict=True):
        assert row.x is not None
        row.x = np.vstack([row.x, features])
    return rows


CONTRAST = -1  # in a list of kept cues: the passage-by-contrast vector block


def _columns(keep: Sequence[int], width: int) -> list[int]:
    cues = [k for k in keep if k >= 0]
    return cues + (list(range(len(FEATURES), width)) if CONTRAST in keep else [])


def _fit(rows: Sequence[Row], c: float, keep: Sequence[int]) -> SenseModel:
    from sklearn.linear_model import LogisticRegression

    judged = [r for r in rows if r.x is not None and len(r.x)]
    width = judged[0].x.shape[1] if judged[0].x is not None else len(FEATURES)
    columns = _columns(keep, width)
    x = np.vstack([r.x[:, columns] for r in judged if r.x is not None])
    y = np.concatenate([[r.about_brand] * len(r.x) for r in judged if r.x is not None])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", solver="liblinear")
    model.fit((x - mean) / scale, y)
    coef = np.zeros(width)
    coef[columns] = model.coef_[0]
    full_mean, full_scale = np.zeros(width), np.ones(width)
    full_mean[columns], full_scale[columns] = mean, scale
    return SenseModel(full_mean, full_scale, coef, float(model.intercept_[0]))


def predict(model: SenseModel, rows: Sequence[Row]) -> list[tuple[bool, float]]:
    """Whether each post is tagged with its brand, and the best probability."""
    out = []
    for row in rows:
        if row.unjudged:
            out.append((True, 1.0))
        elif row.x is None or not len(row.x):
            out.append((False, 0.0))
        else:
            # The place rule decides before the model (ContextJudge._by_terms).
            places = [is_place_name(o.text, o.start, o.end, broad=True) for o in row.occurrences]
            p = float(np.where(places, 0.0, model.probabilities(row.x)).max())
            out.append((p >= DEFAULT_THRESHOLD, p))
    return out


def scores(rows: Sequence[Row], predicted: Sequence[bool]) -> dict[str, float]:
    tp = sum(p and r.about_brand for r, p in zip(rows, predicted, strict=True))
    fp = sum(p and not r.about_brand for r, p in zip(rows, predicted, strict=True))
    fn = sum(not p and r.about_brand for r, p in zip(rows, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def leave_one_brand_out(
    rows: Sequence[Row], c: float, keep: Sequence[int], extra: Sequence[Row] = ()
) -> list[bool]:
    """Each brand's posts predicted by a model fitted on the other brands only (and on
    the `extra` training posts of the other brands)."""
    predicted: list[bool] = [False] * len(rows)
    for brand in sorted({r.brand for r in rows}):
        train = [r for r in [*rows, *extra] if r.brand != brand]
        model = _fit(train, c, keep)
        held = [i for i, r in enumerate(rows) if r.brand == brand]
        for i, (p, _) in zip(held, predict(model, [rows[i] for i in held]), strict=True):
            predicted[i] = p
    return predicted


def _line(label: str, result: dict[str, float]) -> str:
    return "{label}: P {precision:.3f} R {recall:.3f} F1 {f1:.3f} (tp {tp} fp {fp} fn {fn})".format(
        label=label, **result
    )


def _by_language(label: str, rows: Sequence[Row], predicted: Sequence[bool]) -> None:
    print(_line(f"{label}, all", scores(rows, predicted)))
    for language in ("en", "fr"):
        part = [(r, p) for r, p in zip(rows, predicted, strict=True) if r.language == language]
        if part:
            print(_line(f"  {language}", scores([r for r, _ in part], [p for _, p in part])))


def choose(rows: Sequence[Row], extra: Sequence[Row] = ()) -> tuple[float, list[int]]:
    """The regularisation and the cues with the best leave-one-brand-out F1: every cue
    is dropped in turn, and stays out when the F1 does not fall (one backward pass)."""
    keep = [*range(len(FEATURES)), CONTRAST]
    best_c, best_f1 = C_GRID[0], -1.0
    for c in C_GRID:
        f1 = scores(rows, leave_one_brand_out(rows, c, keep, extra))["f1"]
        print(f"  C {c}: leave-one-brand-out F1 {f1:.3f}")
        if f1 > best_f1 + 1e-9:
            best_c, best_f1 = c, f1
    for feature in list(keep):  # one pass: each cue must earn its place once
        trial = [k for k in keep if k != feature]
        f1 = scores(rows, leave_one_brand_out(rows, best_c, trial, extra))["f1"]
        dropped = f1 >= best_f1 - 1e-9
        print(f"  without {_name(feature)}: F1 {f1:.3f}{' (dropped)' if dropped else ''}")
        if dropped:
            keep, best_f1 = trial, f1
    return best_c, keep


def _name(feature: int) -> str:
    return "contrast" if feature == CONTRAST else FEATURES[feature]


def shipped_setting(model: SenseModel) -> tuple[float, list[int]]:
    """The regularisation and the cues of the shipped weights (what --fit chose)."""
    keep = [i for i, w in enumerate(model.coef[: len(FEATURES)]) if w != 0]
    keep += [CONTRAST] if np.any(model.coef[len(FEATURES) :]) else []
    c = float(json.loads(SENSE_MODEL.read_text())["fitted"].rsplit(" ", 1)[-1])
    return c, keep


def save(model: SenseModel, path: Path, embedding: str, note: str) -> None:
    document: dict[str, Any] = {
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in model.mean],
        "scale": [round(float(v), 6) for v in model.scale],
        "coef": [round(float(v), 6) for v in model.coef],
        "intercept": round(model.intercept, 6),
        "embedding": embedding,
        "fitted": note,
    }
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in document.items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, help="embedding model")
    parser.add_argument("--fit", action="store_true", help="choose, fit and write the weights")
    parser.add_argument("--test", action="store_true", help="also print the test figures")
    parser.add_argument("--errors", action="store_true", help="print the CV errors")
    parser.add_argument(
        "--written",
        action="store_true",
        help="add the written French posts to every fit (they did not earn their place)",
    )
    parser.add_argument(
        "--real", action="store_true", help="add the posts of benchmarks/data/brand_real"
    )
    parser.add_argument(
        "--embedding-cache", type=Path, help="a file keeping the vectors between runs"
    )
    args = parser.parse_args(argv)

    embed = CachedEmbed(load_embedder(args.embedding).embed)
    if args.embedding_cache and args.embedding_cache.exists():
        with np.load(args.embedding_cache) as saved:
            embed.remember(list(saved["texts"]), saved["vectors"])
    if args.fit:  # the weights on disk may not fit FEATURES yet: the tagger needs none
        width = len(FEATURES)
        blank = SenseModel(np.zeros(width), np.ones(width), np.zeros(width), 0.0)
        disambiguation.shipped_model = lambda: blank  # type: ignore[assignment]
    tagger = BrandTagger(all_brands(), [], embed=embed)
    started = time.perf_counter()
    rows = load_rows(tagger, args.corpora)
    if args.real:
        rows += load_rows(BrandTagger(real_brands(), [], embed=embed), args.corpora, REAL)
    written = load_written(tagger) if args.written else []
    print(f"cues and embeddings: {1000 * (time.perf_counter() - started) / len(rows):.1f} ms/post")
    if args.embedding_cache:
        texts, vectors = embed.contents()
        np.savez(args.embedding_cache, texts=np.array(texts), vectors=vectors)
    dev = [r for r in rows if not is_test(r.unit)]
    test = [r for r in rows if is_test(r.unit)]
    for name, part in (("development", dev), ("test", test)):
        about = sum(r.about_brand for r in part)
        languages = {lang: sum(r.language == lang for r in part) for lang in ("en", "fr")}
        print(f"{name}: {len(part)} posts, {about} about the brand, {languages}")
    _by_language("names only, development", dev, [True] * len(dev))
    print(f"written French posts in every fit: {len(written)}")
    if args.fit:
        c, keep = choose(dev, written)
        print(f"chosen: C {c}, cues {[_name(k) for k in keep]}")
        model = _fit([*dev, *written], c, keep)
        note = f"development split of {DATA.name}" + (f" and {REAL.name}" if args.real else "")
        note += f" and {WRITTEN.name}, C {c}" if written else f", C {c}"
        save(model, SENSE_MODEL, args.embedding, note)
    else:
        model = tagger.judge.model
        c, keep = shipped_setting(model)
    print("weights:", {FEATURES[k]: round(float(model.coef[k]), 3) for k in keep if k >= 0})
    cv = leave_one_brand_out(dev, c, keep, written)
    _by_language("leave-one-brand-out CV, development", dev, cv)
    if args.errors:
        for row, p in zip(dev, cv, strict=True):
            if p != row.about_brand and row.occurrences:
                kind = "false positive" if p else "missed"
                print(f"  {kind}: {row.brand} | {row.occurrences[0].text[:160]!r}")
    in_sample = [p for p, _ in predict(model, dev)]
    _by_language("fitted model, in sample (development)", dev, in_sample)
    if args.test:
        _by_language("TEST (untouched split)", test, [p for p, _ in predict(model, test)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
