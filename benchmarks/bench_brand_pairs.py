"""Per-brand sentiment when one sentence judges two brands: comparisons
(services/analyzer/sentiment/comparisons.py) and side-by-side judgements (coordination.py).

Hand-written probes (benchmarks/data/brand_pair_probes/probes.jsonl, French and English),
each with the label expected for each brand it names: "comparison" probes compare two
brands ("Veloria est bien meilleur que Trekko", "switched from Trekko to Veloria");
"side_by_side" probes judge them in turn with no contrasting word ("Love Veloria, hate
Trekko"); "trap" probes name both brands without comparing or opposing them, or ask, and
must be left alone. They were written with the patterns, so they show what the patterns
cover, not how well they generalise. Prints per-brand labels right, with and without.

`--corpora` instead lists, for a person to read (no labelled set holds such sentences),
every real text whose per-brand labels these change: the shared corpora's pages and API
payloads and the UMSAB tweets that name two of the names of
benchmarks/data/brand_context/brands.yaml and `COMMON_NAMES`.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_pairs.py [--corpora] [--errors]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from benchmarks.bench_expressions import corpus_paragraphs
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.pipeline import Analyzer
from services.core.models import Brand, Competitor, Mention, utcnow
from services.core.settings import AnalyzerSettings

REPO = Path(__file__).resolve().parent.parent
PROBES = REPO / "benchmarks" / "data" / "brand_pair_probes" / "probes.jsonl"
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


def as_mentions(texts: list[str]) -> list[Mention]:
    """Unanalyzed mentions of `texts`, for the analyzer."""
    now = utcnow()
    return [
        Mention(id=f"p{i}", source_kind="bench", source_name="probes", text=t, published_at=now)
        for i, t in enumerate(texts)
    ]


def analyzers(brands: list[Brand], competitors: list[Competitor]) -> tuple[Analyzer, Analyzer]:
    """The analyzer without and with its reading of brand pairs, sharing one model."""
    with_pairs = Analyzer(AnalyzerSettings(), brands=brands, competitors=competitors)
    without = Analyzer(
        AnalyzerSettings(),
        brands=brands,
        competitors=competitors,
        embedder=with_pairs.embedder,
        judge_pairs=False,
    )
    return without, with_pairs


def list_corpus_changes() -> int:
    document = yaml.safe_load(BRANDS.read_text(encoding="utf-8"))
    names = {b["name"]: b.get("aliases", []) for b in document["brands"]}
    names.update({n: [] for n in COMMON_NAMES if n not in names})
    # Names only, no context judging: the point is how two names in one sentence are
    # judged, not which uses are the brand's.
    brands = [Brand(name=n, aliases=a) for n, a in names.items()]
    tagger = BrandTagger(brands, [])
    texts = corpus_paragraphs() + [
        (f"umsab/{language}/{split}", line)
        for language in ("french", "english")
        for split in ("train", "val")
        for line in (UMSAB / language / f"{split}_text.txt").read_text().splitlines()
    ]
    naming_two = [(n, t) for n, t in texts if len(tagger.tag(t).names) >= 2]
    without, with_pairs = analyzers(brands, [])
    mentions = as_mentions([t for _, t in naming_two])
    changed = 0
    for (name, text), before, after in zip(
        naming_two, without.analyze(mentions), with_pairs.analyze(mentions), strict=True
    ):
        if before.brand_sentiments != after.brand_sentiments:
            changed += 1
            labels = {
                b: f"{before.brand_sentiments[b].label.value} -> {s.label.value}"
                for b, s in after.brand_sentiments.items()
                if s.label != before.brand_sentiments[b].label
            }
            print(f"  {labels} | {name} | {text[:200]}")
    print(
        f"{len(texts)} paragraphs and tweets, {len(naming_two)} naming two of {len(names)} "
        f"names; per-brand sentiment changed in {changed}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", action="store_true", help="what changes on real text")
    parser.add_argument("--errors", action="store_true", help="print the misread brands")
    args = parser.parse_args()
    if args.corpora:
        return list_corpus_changes()

    probes = [json.loads(line) for line in PROBES.read_text(encoding="utf-8").splitlines()]
    kinds = list(dict.fromkeys(p["kind"] for p in probes))
    without, with_pairs = analyzers(
        [Brand(name="Veloria", competitors=["Trekko"])], [Competitor(name="Trekko")]
    )
    mentions = as_mentions([p["text"] for p in probes])
    print("| analyzer | " + " | ".join(f"{k} probes: brands right" for k in kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for title, analyzer in (("without", without), ("with brand pairs", with_pairs)):
        right = {kind: [0, 0] for kind in kinds}
        for probe, mention in zip(probes, analyzer.analyze(mentions), strict=True):
            for brand, label in probe["brands"].items():
                read = mention.brand_sentiments.get(brand)
                ok = read is not None and read.label.value == label
                right[probe["kind"]][0] += ok
                right[probe["kind"]][1] += 1
                if args.errors and not ok:
                    got = read.label.value if read else "untagged"
                    print(f"  {title}: {brand} read {got}, expected {label}: {probe['text']}")
        print(f"| {title} | " + " | ".join(f"{r[0]} / {r[1]}" for r in right.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
