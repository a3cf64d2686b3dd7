#!/usr/bin/env python
"""Precision and recall of brand tagging for aliases that are also common words.

Reads the hand-labelled occurrences of benchmarks/data/brand_context (see its README:
real posts from ../shared/corpora, referenced, not copied), tags each post with the
brands of brands.yaml (ambiguous aliases judged in context by their description, with
the analyzer's embedding model) and prints precision, recall and F1 of "this post is
about the brand". The set is split in two fixed halves (`is_held_out`), kept from when
its calibration half chose the previous method's constants. The shipped model was fitted
on another set (benchmarks/data/brand_dev): none of these posts chose anything in it.
Figures: names alone; the shipped model on each half and on all, on all without the
brands' `context_confirming` terms, and on the posts detected English and French.

    .venv/bin/python benchmarks/bench_brand_context.py [--corpora ../shared/corpora]
"""

from __future__ import annotations

import argparse
import hashlib
import json
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

from benchmarks.corpus_passages import read_passages  # noqa: E402
from services.analyzer.brands.tagging import BrandTagger  # noqa: E402
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder  # noqa: E402
from services.analyzer.language.detection import detect_languages  # noqa: E402
from services.core.models import Brand  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "brand_context"
CORPORA = REPO.parent / "shared" / "corpora"


@dataclass(frozen=True)
class Item:
    """One labelled occurrence: the post's text, the brand, and whether it is about it."""

    source: str
    at: int
    brand: str
    about_brand: bool
    text: str


def is_held_out(item: Item) -> bool:
    """A fixed half of the set, drawn by a hash of the unit a text belongs to: the tweet
    (UMSAB lines are independent posts) or the whole page or payload (its passages share
    an author and a topic, so they never straddle the two parts)."""
    unit = f"{item.source}:{item.at}" if "labelled/umsab" in item.source else item.source
    return hashlib.sha256(unit.encode()).digest()[0] % 2 == 1


def load_items(corpora: Path = CORPORA, data: Path = DATA) -> list[Item]:
    """The labelled occurrences with their texts read from the shared corpora."""
    lines = (data / "items.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    return [
        Item(entry["source"], entry["at"], entry["brand"], bool(entry["about_brand"]), text)
        for entry, text in zip(entries, read_passages(entries, corpora), strict=True)
    ]


def load_brands(data: Path = DATA) -> list[Brand]:
    """The brands the labelled set is about."""
    document = yaml.safe_load((data / "brands.yaml").read_text(encoding="utf-8"))
    return [Brand.model_validate(b) for b in document["brands"]]


def predictions(tagger: BrandTagger, items: list[Item]) -> list[bool]:
    """Whether the tagger tags each item's text with the item's brand."""
    tags = tagger.tag_many([i.text for i in items])
    return [item.brand in tag.brands for item, tag in zip(items, tags, strict=True)]


def scores(items: list[Item], predicted: list[bool]) -> dict[str, float]:
    """Precision, recall and F1 of `predicted` against the labels."""
    tp = sum(p and i.about_brand for i, p in zip(items, predicted, strict=True))
    fp = sum(p and not i.about_brand for i, p in zip(items, predicted, strict=True))
    fn = sum(not p and i.about_brand for i, p in zip(items, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


class CachedEmbed:
    """The embedder with a memory: calibration re-tags the same posts many times."""

    def __init__(self, embed: Any) -> None:
        self._embed = embed
        self._cache: dict[str, NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self._embed(missing), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def remember(self, texts: Sequence[str], vectors: NDArray[np.float32]) -> None:
        """Vectors computed by an earlier run."""
        self._cache.update(zip(texts, vectors, strict=True))

    def contents(self) -> tuple[list[str], NDArray[np.float32]]:
        """Every text embedded so far and its vector."""
        texts = list(self._cache)
        return texts, np.stack([self._cache[t] for t in texts])


def _line(label: str, result: dict[str, float]) -> str:
    return (
        "{label}: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f} "
        "(tp {tp} fp {fp} fn {fn})".format(label=label, **result)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, help="embedding model")
    parser.add_argument("--errors", action="store_true", help="print the misjudged posts")
    args = parser.parse_args(argv)

    items = load_items(args.corpora)
    brands = load_brands()
    calibration = [i for i in items if not is_held_out(i)]
    held_out = [i for i in items if is_held_out(i)]
    for name, part in (("all", items), ("calibration", calibration), ("held out", held_out)):
        about = sum(i.about_brand for i in part)
        print(f"{name}: {len(part)} labelled occurrences, {about} about the brand")
    names_only = BrandTagger(brands, [])
    print(_line("names only, held out", scores(held_out, predictions(names_only, held_out))))
    embed = CachedEmbed(load_embedder(args.embedding).embed)
    tagger = BrandTagger(brands, [], embed=embed)
    started = time.perf_counter()
    predictions(tagger, items)
    per_post = 1000 * (time.perf_counter() - started) / len(items)
    print(f"embedding and judging: {per_post:.1f} ms per post")
    print("shipped model (services/analyzer/brands/heads/brand_sense.json, fitted on brand_dev)")
    print(_line("  held out", scores(held_out, predictions(tagger, held_out))))
    print(_line("  calibration half", scores(calibration, predictions(tagger, calibration))))
    print(_line("  all", scores(items, predictions(tagger, items))))
    unconfirmed = [b.model_copy(update={"context_confirming": []}) for b in brands]
    without = BrandTagger(unconfirmed, [], embed=embed)
    print(_line("  all, no context_confirming", scores(items, predictions(without, items))))
    # The set has no language labels: each post's language as the analyzer detects it.
    languages = detect_languages([i.text for i in items])
    every = predictions(tagger, items)
    for language in ("en", "fr"):
        chosen = [k for k, lang in enumerate(languages) if lang == language]
        part = [items[k] for k in chosen]
        label = f"  all, detected {language} ({len(part)} posts)"
        print(_line(label, scores(part, [every[k] for k in chosen])))
    if args.errors:
        for item, p in zip(items, predictions(tagger, items), strict=True):
            if p != item.about_brand:
                kind = "false positive" if p else "missed"
                split = "held out" if is_held_out(item) else "calibration"
                print(f"{kind} ({split}): {item.brand} | {item.source} | {item.text[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
