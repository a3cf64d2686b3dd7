#!/usr/bin/env python
"""What an analyst's brand corrections buy: precision and recall of a brand's tags after
the tagger learned k verdicts on that brand's real posts, for k = 0 (the workspace alone)
and more, on the same held-out posts.

The posts are the development split of benchmarks/data/brand_dev and brand_real (the
test split is never read here). Each brand's posts are shuffled (seeded by its name) and
cut in two halves: the analyst's verdicts are drawn from the first half, in that order,
and every k is scored on the second half. The shared weights judging a brand are fitted
on the other brands only (leave-one-brand-out, as in bench_brand_recognition.py), so no
figure has seen the brand's posts except through the k verdicts. Learning is the
product's own (BrandTagger.learn: the passages join the brand's examples of each sense,
and with 8 of each kind choose its threshold), the tagging too (BrandTagger.tag_many).

    .venv/bin/python benchmarks/bench_brand_corrections.py [--k 0 2 4 8]
        [--embedding-cache FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_context import CachedEmbed  # noqa: E402
from benchmarks.bench_brand_recognition import (  # noqa: E402
    CORPORA,
    REAL,
    Row,
    _fit,
    all_brands,
    is_test,
    load_rows,
    real_brands,
    scores,
    shipped_setting,
)
from services.analyzer.brands.disambiguation import Correction  # noqa: E402
from services.analyzer.brands.tagging import BrandTagger  # noqa: E402
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder  # noqa: E402
from services.core.models import Brand  # noqa: E402

MIN_POSTS = 6  # a brand with fewer development posts gives no held-out half worth scoring


def _halves(name: str, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    cut = len(shuffled) // 2
    return shuffled[:cut], shuffled[cut:]


def _text(row: Row) -> str | None:
    return row.occurrences[0].text if row.occurrences else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, help="embedding model")
    parser.add_argument("--k", type=int, nargs="+", default=[0, 2, 4, 8])
    parser.add_argument("--embedding-cache", type=Path, help="a file keeping the vectors")
    args = parser.parse_args(argv)

    embed = CachedEmbed(load_embedder(args.embedding).embed)
    if args.embedding_cache and args.embedding_cache.exists():
        with np.load(args.embedding_cache) as saved:
            embed.remember(list(saved["texts"]), saved["vectors"])
    sets: list[tuple[dict[str, Brand], list[Row]]] = []
    for brands, folder in ((all_brands(), None), (real_brands(), REAL)):
        tagger = BrandTagger(brands, [], embed=embed)
        rows = (
            load_rows(tagger, args.corpora)
            if folder is None
            else load_rows(tagger, args.corpora, folder)
        )
        sets.append(({b.name: b for b in brands}, [r for r in rows if not is_test(r.unit)]))
    c, keep = shipped_setting(BrandTagger([], [], embed=embed).judge.model)
    every_row = [r for _, rows in sets for r in rows]

    scored: dict[int, list[tuple[Row, bool]]] = {k: [] for k in args.k}
    brands_scored = 0
    for workspace, rows in sets:
        for name in sorted({r.brand for r in rows}):
            mine = [r for r in rows if r.brand == name]
            if len(mine) < MIN_POSTS or name not in workspace:
                continue
            model = _fit([r for r in every_row if r.brand != name], c, keep)
            first, held = _halves(name, mine)
            brands_scored += 1
            for k in args.k:
                tagger = BrandTagger([workspace[name]], [], embed=embed)
                tagger.judge.model = model
                verdicts = [
                    Correction(name, text, r.about_brand)
                    for r in first[:k]
                    if (text := _text(r)) is not None
                ]
                if verdicts:
                    tagger.learn(verdicts)
                texts = [_text(r) or "" for r in held]
                tagged = [name in tag.names for tag in tagger.tag_many(texts)]
                scored[k] += list(zip(held, tagged, strict=True))
    print(f"{brands_scored} brands with {MIN_POSTS}+ development posts; held-out halves:")
    for k in args.k:
        pairs = scored[k]
        line = [f"k={k:>2}"]
        for language in ("en", "fr", None):
            part = [(r, p) for r, p in pairs if language is None or r.language == language]
            if not part:
                continue
            s = scores([r for r, _ in part], [p for _, p in part])
            label = language or "all"
            line.append(f"{label} P {s['precision']:.3f} R {s['recall']:.3f} ({len(part)})")
        print("  " + "  ".join(line))
    if args.embedding_cache:
        texts, vectors = embed.contents()
        np.savez(args.embedding_cache, texts=np.array(texts), vectors=vectors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
