"""Sentiment toward a brand: which span of a tweet to judge it on.

Real tweets that name exactly one of `COMMON_NAMES` (bench_brand_pairs.py) in a text of
several sentences, not all of them naming it: the SemEval 2013-2016 train/dev tweets of
../shared/corpora/labelled past the first `RESERVED` of the training shuffle (those a
head may train on: scripts/train_sentiment_head.py --extra-max stays below it). The
tweet's own label stands for the label toward its one brand (SemEval task 4A gives one
label per tweet). Only line numbers, names and labels are kept in the repository
(benchmarks/data/brand_spans/items.jsonl); the texts are read from ../shared.

Prints per-brand macro-F1 when the brand is judged on the sentences holding its name
(the rule before) and on the whole text (the rule now), with the full analyzer.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_spans.py [--build] [--limit 300]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
from pathlib import Path

from sklearn.metrics import f1_score

from benchmarks import sentiment_data
from benchmarks.bench_brand_pairs import COMMON_NAMES, as_mentions
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.pipeline import Analyzer, split_sentences
from services.core.models import Brand
from services.core.settings import AnalyzerSettings

REPO = Path(__file__).resolve().parent.parent
LABELLED = REPO.parent / "shared" / "corpora" / "labelled"
ITEMS = REPO / "benchmarks" / "data" / "brand_spans" / "items.jsonl"
RESERVED = 16_000  # extra tweets a head may train on (the start of the training shuffle)
LABELS = ("negative", "neutral", "positive")


def _trainer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "train_sentiment_head", REPO / "scripts" / "train_sentiment_head.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def semeval_texts() -> list[str]:
    return sentiment_data.read_semeval(LABELLED)[0]


def build(limit: int) -> None:
    texts, labels, origins = sentiment_data.read_semeval(LABELLED)
    reserved = set(sentiment_data.read_extra(LABELLED, RESERVED)[0])
    tagger = BrandTagger([Brand(name=n) for n in COMMON_NAMES], [])
    items = []
    for line, (text, label, origin) in enumerate(zip(texts, labels, origins, strict=True)):
        if origin not in sentiment_data.SEMEVAL_TRAIN_DEV or text in reserved:
            continue
        tags = tagger.tag(text)
        if len(tags.names) != 1 or old_passage(text, tags) is None:
            continue
        items.append({"line": line, "brand": tags.names[0], "label": LABELS[int(label)]})
    random.Random(0).shuffle(items)
    ITEMS.write_text("".join(json.dumps(i) + "\n" for i in sorted(items[:limit], key=str)))
    print(f"{len(items)} candidates, kept {min(limit, len(items))} in {ITEMS}")


def old_passage(text: str, tags) -> str | None:  # type: ignore[no-untyped-def]
    """The rule before: the sentences holding the name (None if that is all of them)."""
    sentences = split_sentences(text)
    holding = [
        (s, e) for s, e in sentences if any(s <= sp.start and sp.end <= e for sp in tags.spans)
    ]
    if len(holding) == len(sentences):
        return None
    return " ".join(text[s:e] for s, e in holding)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="choose the items again")
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    if args.build:
        build(args.limit)
    texts = semeval_texts()
    items = [json.loads(line) for line in ITEMS.read_text().splitlines()]
    brands = [Brand(name=n) for n in COMMON_NAMES]
    analyzer = Analyzer(AnalyzerSettings(), brands=brands)
    whole = [texts[i["line"]] for i in items]
    tags = [analyzer.tagger.tag(t) for t in whole]
    parts = [old_passage(t, tag) or t for t, tag in zip(whole, tags, strict=True)]
    now = analyzer.analyze(as_mentions(whole), declared_languages=["en"] * len(whole))
    before = analyzer.analyze(as_mentions(parts), declared_languages=["en"] * len(parts))
    gold = [i["label"] for i in items]
    said_now = [m.brand_sentiments[i["brand"]].label.value for m, i in zip(now, items, strict=True)]
    said_before = [m.sentiment.label.value for m in before if m.sentiment]
    print(f"{len(items)} tweets naming one brand, in sentences not all naming it")
    for name, said in (("sentences holding the name", said_before), ("whole text", said_now)):
        f1 = f1_score(gold, said, average="macro", labels=list(LABELS))
        right = sum(g == s for g, s in zip(gold, said, strict=True)) / len(gold)
        print(f"  {name:<28} macro-F1 {f1:.3f}  accuracy {right:.3f}")


if __name__ == "__main__":
    main()
