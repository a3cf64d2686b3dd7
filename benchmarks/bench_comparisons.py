"""What reading comparisons changes in per-brand sentiment (services/analyzer/comparisons.py).

Hand-written probes (benchmarks/data/comparison_probes/probes.jsonl, French and English),
each with the label expected for each brand it names: "comparison" probes compare two
brands ("Veloria est bien meilleur que Trekko", "switched from Trekko to Veloria");
"trap" probes name both brands without comparing them, or ask, and must be left alone.
They were written with the patterns, so they show what the patterns cover, not how well
they generalise. Prints per-brand labels right, with and without comparisons.

`--corpora` instead lists every comparison found in real text, for a person to read (no
labelled set holds comparisons): the shared corpora's pages and API payloads and the
UMSAB tweets, between two of the names of benchmarks/data/brand_context/brands.yaml and
`COMMON_NAMES`.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_comparisons.py [--corpora] [--errors]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from benchmarks.bench_expressions import corpus_paragraphs
from services.analyzer.brands import BrandTagger
from services.analyzer.comparisons import find_comparisons
from services.analyzer.pipeline import Analyzer, split_sentences
from services.core.models import Brand, Competitor
from services.core.settings import AnalyzerSettings
from tests.factories import make_mention

REPO = Path(__file__).resolve().parent.parent
PROBES = REPO / "benchmarks" / "data" / "comparison_probes" / "probes.jsonl"
BRANDS = REPO / "benchmarks" / "data" / "brand_context" / "brands.yaml"
UMSAB = REPO.parent / "shared" / "corpora" / "labelled" / "umsab"
# Besides brand_context's brands: names the tweets are often about, to find real
# sentences that name two of them.
COMMON_NAMES = [
    "iPhone",
    "Samsung",
    "Android",
    "Google",
    "Microsoft",
    "Netflix",
    "Facebook",
    "Twitter",
    "Instagram",
    "Snapchat",
    "Xbox",
    "PlayStation",
    "Nintendo",
    "Nike",
    "Adidas",
    "Pepsi",
    "Coke",
    "Starbucks",
    "Uber",
    "Lyft",
    "Spotify",
    "Tesla",
    "Ford",
    "BMW",
    "Audi",
    "Firefox",
    "SFR",
    "Bouygues",
    "Renault",
    "Peugeot",
    "Citroen",
]


def list_corpus_comparisons() -> int:
    document = yaml.safe_load(BRANDS.read_text(encoding="utf-8"))
    names = {b["name"]: b.get("aliases", []) for b in document["brands"]}
    names.update({n: [] for n in COMMON_NAMES if n not in names})
    # Names only: the point is which sentences compare, not which uses are the brand's.
    tagger = BrandTagger([Brand(name=n, aliases=a) for n, a in names.items()], [])
    texts = corpus_paragraphs() + [
        (f"umsab/{language}/{split}", line)
        for language in ("french", "english")
        for split in ("train", "val")
        for line in (UMSAB / language / f"{split}_text.txt").read_text().splitlines()
    ]
    naming_two = found = 0
    for name, text in texts:
        tags = tagger.tag(text)
        if len(tags.names) < 2:
            continue
        naming_two += 1
        for comparison in find_comparisons(text, tags, split_sentences(text)):
            found += 1
            clause = text[comparison.start : comparison.end]
            print(
                f"  kept {comparison.kept}, mirrored {comparison.mirrored}, shift "
                f"{comparison.shift:+.0f}, cue {comparison.cue!r} | {name} | {clause[:200]}"
            )
    print(
        f"{len(texts)} paragraphs and tweets, {naming_two} naming two of {len(names)} names, "
        f"{found} comparisons"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", action="store_true", help="list comparisons in real text")
    parser.add_argument("--errors", action="store_true", help="print the misread brands")
    args = parser.parse_args()
    if args.corpora:
        return list_corpus_comparisons()

    probes = [json.loads(line) for line in PROBES.read_text(encoding="utf-8").splitlines()]
    brands = [Brand(name="Veloria", competitors=["Trekko"])]
    with_comparisons = Analyzer(
        AnalyzerSettings(), brands=brands, competitors=[Competitor(name="Trekko")]
    )
    without = Analyzer(
        AnalyzerSettings(),
        brands=brands,
        competitors=[Competitor(name="Trekko")],
        embedder=with_comparisons.embedder,
        compare_brands=False,
    )
    mentions = [make_mention(text=p["text"], language=None, sentiment=None) for p in probes]
    print("| analyzer | comparison probes: brands right | trap probes: brands right |")
    print("|---|---|---|")
    for title, analyzer in (
        ("without comparisons", without),
        ("with comparisons", with_comparisons),
    ):
        right = {"comparison": [0, 0], "trap": [0, 0]}
        for probe, mention in zip(probes, analyzer.analyze(mentions), strict=True):
            for brand, label in probe["brands"].items():
                read = mention.brand_sentiments.get(brand)
                ok = read is not None and read.label.value == label
                right[probe["kind"]][0] += ok
                right[probe["kind"]][1] += 1
                if args.errors and not ok:
                    got = read.label.value if read else "untagged"
                    print(f"  {title}: {brand} read {got}, expected {label}: {probe['text']}")
        print(
            f"| {title} | {right['comparison'][0]} / {right['comparison'][1]} "
            f"| {right['trap'][0]} / {right['trap'][1]} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
