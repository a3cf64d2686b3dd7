"""The brand-recognition failures issue 24 names, checked with workspaces written the way the
example workspace is: brand_dev's own (benchmarks/data/brand_dev/brands.yaml) for the brands
it has, four more below in the same style, and config/veille.yaml for the demo's
competitor Voltaire Cycles. Prints each probe with what the tagger found and its
confidence, and how many fail. The probes are the issue's examples: they show whether the
named failures are gone, not how well recognition generalises (that is
bench_brand_recognition.py's cross-validation).

    PYTHONPATH=. .venv/bin/python benchmarks/probe_brand_failures.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder
from services.core.models import Brand, Competitor

REPO = Path(__file__).resolve().parents[1]
MORE_BRANDS = """
- name: Corona
  description: Corona, the Mexican beer brand (Corona Extra) by AB InBev
  ambiguous: true
  other_meanings: ["corona: a crown, the sun's corona; the coronavirus; Corona, California"]
  examples: ["a cold Corona with lime on the beach", "Corona beer sales are up"]
  other_examples: ["the solar corona during the eclipse", "corona cases are rising again"]
- name: Leclerc
  description: E.Leclerc, la chaîne française d'hypermarchés et de supermarchés
  ambiguous: true
  other_meanings: ["Leclerc, nom de famille : le général Leclerc, Charles Leclerc le pilote"]
  examples: ["les courses chez Leclerc ce matin", "le drive Leclerc était plein"]
  other_examples: ["la 2e DB du général Leclerc", "Charles Leclerc en pole position"]
- name: SFR
  description: SFR, opérateur télécom français (mobile, box internet, fibre)
  aliases: ["@SFR", "SFR Box"]
- name: Bouygues
  description: Bouygues Telecom, opérateur mobile et internet français (Bbox)
  aliases: ["Bouygues Telecom", "@bouyguestelecom", "Bbox"]
  ambiguous: true
  other_meanings: ["le groupe Bouygues de BTP et TF1; Martin Bouygues"]
  examples: ["Bouygues Telecom a coupé ma ligne", "la Bbox de Bouygues ne marche plus"]
  other_examples: ["Bouygues Construction remporte le chantier", "Martin Bouygues et TF1"]
"""
# (text, watched name, whether it must be found)
PROBES = [
    ("Sunset drinks @ Apple Valley with the crew", "Apple", False),
    ("Beach day @ Corona del Mar, perfect weather", "Corona", False),
    ("Low tide this morning @ Shell Beach", "Shell", False),
    ("Back to school shopping @ Target", "Target", True),
    ("Il a fondé Apple.Steve Jobs était un génie", "Apple", True),
    ("Encore une panne chez SFR.Belle journée quand même", "SFR", True),
    ("▶️Amazon Music: la nouvelle playlist est en ligne", "Amazon", True),
    ("Bouygues en ce moment ça va pas du tout", "Bouygues", True),
    ("L'application my orange marche chez vous?", "Orange", True),
    ("Pâte à tartiner banania 0.88 chez Leclerc", "Leclerc", True),
    ("Twitter is dead", "Twitter", True),
    ("J'habite rue Voltaire depuis dix ans", "Voltaire Cycles", False),
]
DEV_BRANDS = ("Apple", "Amazon", "Target", "Shell", "Orange", "Twitter")


def _brand(entry: dict[str, Any]) -> Brand:
    return Brand(**{k: v for k, v in entry.items() if k != "competitors"})


def main() -> int:
    dev = yaml.safe_load((REPO / "benchmarks/data/brand_dev/brands.yaml").read_text())
    by_name = {b["name"]: b for b in dev["brands"]}
    brands = [_brand(by_name[n]) for n in DEV_BRANDS]
    brands += [_brand(b) for b in yaml.safe_load(MORE_BRANDS)]
    demo = yaml.safe_load((REPO / "config/veille.yaml").read_text())
    embed = load_embedder(DEFAULT_EMBEDDING).embed
    watched = BrandTagger(brands, [], embed=embed)
    example = BrandTagger(
        [_brand(b) for b in demo["brands"]],
        [Competitor(**c) for c in demo["competitors"]],
        embed=embed,
    )
    failures = 0
    for text, name, expected in PROBES:
        result = (watched if any(b.name == name for b in brands) else example).tag(text)
        found = name in result.names
        confidence = [s.confidence for s in result.spans_of(name)]
        failures += found != expected
        verdict = "ok  " if found == expected else "FAIL"
        print(f"{verdict} expected {expected!s:5} found {found!s:5} {confidence} {text!r}")
    print(f"{failures} of {len(PROBES)} probes fail")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
