"""What the hand-written sentiment expressions change (services/analyzer/sentiment/expressions.py).

Two measures, for each expression weight:
- hand-written probes (benchmarks/data/sentiment_probes/probes.jsonl, 48 short posts,
  French and English): "expression" probes hold an idiom, informal spelling or emoji the
  lexicon names; "trap" probes are where a lexicon could mislead ("pas mal de soucis",
  praise followed by a complaint, sarcasm) or plain posts it should leave alone. They
  were written with the lexicon, so they show what it covers, not how well it
  generalises;
- UMSAB val macro-F1, to show the expressions cost nothing on real tweets (fewer than 1%
  of which hold one).

`--corpora` instead lists every match in the shared corpora's real pages and API payloads
(paragraphs of 20 to 1,500 characters), for a person to read whether each is used in the
listed sense: the only check on real text, since no labelled set holds these phenomena.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_expressions.py [--corpora]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder
from services.analyzer.sentiment.expressions import load_expressions
from services.analyzer.sentiment.head import load_head
from services.runtime.data.batch import evaluate

REPO = Path(__file__).resolve().parent.parent
PROBES = REPO / "benchmarks" / "data" / "sentiment_probes" / "probes.jsonl"
CORPORA = REPO.parent / "shared" / "corpora"
UMSAB = CORPORA / "labelled" / "umsab"
_SPACES = re.compile(r"\s+")
_TEXT_FIELD = re.compile(
    r'"(?:body|text|selftext|content|textDisplay|textOriginal|title|description)"'
    r'\s*:\s*"((?:[^"\\]|\\.)*)"'
)
WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0)


def corpus_paragraphs() -> list[tuple[str, str]]:
    """(file, paragraph) of the corpora's HTML pages and the text fields of its API payloads."""
    import lxml.html  # type: ignore[import-untyped]

    found: list[tuple[str, str]] = []
    for path in sorted(CORPORA.glob("pages/**/*.html")):
        try:
            document = lxml.html.fromstring(path.read_bytes())
        except (ValueError, lxml.etree.ParserError):
            continue
        for element in document.xpath("//script|//style"):
            element.drop_tree()
        blocks = "//p|//li|//blockquote|//td|//div[not(.//div) and not(.//p)]"
        for element in document.xpath(blocks):
            found.append((path.name, _SPACES.sub(" ", element.text_content()).strip()))
    for path in sorted(CORPORA.glob("api/**/*.json")):
        for raw in _TEXT_FIELD.findall(path.read_text(encoding="utf-8", errors="replace")):
            try:
                text = json.loads(f'"{raw}"')
            except json.JSONDecodeError:
                continue
            found.append((path.name, _SPACES.sub(" ", re.sub(r"<[^>]+>", " ", text)).strip()))
    return list(dict.fromkeys((name, t) for name, t in found if 20 < len(t) < 1500))


def list_corpus_matches() -> int:
    lexicon = load_expressions()
    paragraphs = corpus_paragraphs()
    matches = [(name, text, lexicon.find(text)) for name, text in paragraphs]
    matches = [m for m in matches if m[2]]
    print(f"{len(paragraphs)} paragraphs of real pages and API payloads, {len(matches)} match:")
    for name, text, found in matches:
        print(f"  {found} | {name} | {text[:200]}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING)
    parser.add_argument("--errors", action="store_true", help="print the misread probes")
    parser.add_argument("--corpora", action="store_true", help="list matches in real text")
    args = parser.parse_args()
    if args.corpora:
        return list_corpus_matches()

    embedder = load_embedder(args.embedding)
    head = load_head(None, embedding_name=embedder.name)
    lexicon = load_expressions()

    probes = [json.loads(line) for line in PROBES.read_text(encoding="utf-8").splitlines()]
    prepared = [head.prepare(p["text"]) for p in probes]
    vectors = embedder.embed(prepared)
    val: dict[str, tuple[list[str], list[str], np.ndarray]] = {}
    for language in ("french", "english"):
        folder = UMSAB / language
        texts = [head.prepare(t) for t in (folder / "val_text.txt").read_text().splitlines()]
        # UMSAB labels are row numbers of the head: 0 negative, 1 neutral, 2 positive.
        gold = [head.labels[int(v)].value for v in (folder / "val_labels.txt").read_text().split()]
        val[language] = (gold, texts, embedder.embed(texts))
        found = int(np.count_nonzero(lexicon.polarity(texts)))
        print(f"UMSAB val {language}: {found} of {len(texts)} tweets hold an expression")

    print(f"\nhead {head.source}, shipped weight {head.expression_weight}")
    print("| weight | expression probes right | trap probes right | UMSAB val fr | val en |")
    print("|---|---|---|---|---|")
    for weight in WEIGHTS:
        weighed = dataclasses.replace(head, expression_weight=weight, expressions=lexicon)
        predicted = [s.label.value for s in weighed.predict(vectors, prepared)]
        right = {"expression": [0, 0], "trap": [0, 0]}
        for probe, label in zip(probes, predicted, strict=True):
            right[probe["kind"]][0] += label == probe["label"]
            right[probe["kind"]][1] += 1
            if args.errors and weight == head.expression_weight and label != probe["label"]:
                print(f"  misread ({probe['kind']}, {label}): {probe['text']}")
        figures = []
        for gold, texts, x in val.values():
            read = [s.label.value for s in weighed.predict(x, texts)]
            figures.append(
                evaluate([(g, r, None) for g, r in zip(gold, read, strict=True)]).macro_f1
            )
        print(
            f"| {weight} | {right['expression'][0]} / {right['expression'][1]} "
            f"| {right['trap'][0]} / {right['trap'][1]} | {figures[0]:.3f} | {figures[1]:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
