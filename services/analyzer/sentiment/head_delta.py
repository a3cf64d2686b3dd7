"""Adapting a sentiment head to a workspace: learn a correction of its weights.

The new head is the old one plus deltas (`weights + dW`, `bias + db`, and
`ngram_weights + dN` when it has an n-gram block), fitted by L-BFGS on the mixed
model's cross-entropy over weighted examples (the base data plus the analysts'
corrections), with an L2 penalty on the deltas. Penalising the change rather than
the weights keeps the head close to what it learned from the base data: a few
corrections move it where they agree, not everywhere.

Gradient of the mixed model: with `m = (1 - mix) log_softmax(z_emb) + mix log_softmax(z_ngram)`
and `p = softmax(m)`, d loss / d z_emb = (1 - mix) (p - y) and d loss / d z_ngram =
mix (p - y), because the rows of `p - y` sum to zero.

Where a second opinion is mixed in (English: services/analyzer/sentiment/second_opinion.py), the
head is adapted inside that mix, `(1 - s) log_softmax(m) + s o` with the opinion's
log-probabilities `o` held fixed: the head learns what the pair gets wrong, not what it
alone gets wrong, and each gradient is scaled by `1 - s` on those rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.analyzer.sentiment.head import (
    OpinionReading,
    SentimentHead,
    ngram_counts,
    ngram_tfidf,
)


def _log_softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    out: NDArray[np.float64] = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return out


def adapt_head(
    head: SentimentHead,
    vectors: NDArray[np.float32],
    texts: Sequence[str],
    labels: NDArray[np.int64],
    weights: NDArray[np.float64],
    *,
    c_embedding: float = 3.0,
    c_ngram: float = 10.0,
    ngram_rows: NDArray[np.bool_] | None = None,
    opinion: OpinionReading | None = None,
    max_iter: int = 200,
) -> SentimentHead:
    """A copy of `head` adapted to the (prepared) examples; `labels` index `head.labels`,
    `weights` are per-example sample weights, `c_*` the inverse L2 strength (as in
    scikit-learn) of each block's change.

    Only the n-gram terms found in the `ngram_rows` examples (default: all) may change:
    the new vocabulary of a domain, a few thousand terms, instead of all 2**bits, which
    keeps the optimisation small. `opinion` is the second opinion's log-probabilities of
    the examples and its share (per row, 0 where it does not read), as the analyzer mixes
    them (`SentimentHead.probabilities`)."""
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    x = vectors.astype(np.float64)
    n, dim = x.shape
    k = len(head.labels)
    y = np.zeros((n, k))
    y[np.arange(n), labels] = 1.0
    w = weights.astype(np.float64)[:, None]
    other = np.zeros((n, k))
    share = np.zeros((n, 1))
    if opinion is not None:
        other = np.asarray(opinion[0], dtype=np.float64)
        share = np.asarray(opinion[1], dtype=np.float64).reshape(-1, 1)
        if other.shape != (n, k) or share.shape[0] not in (1, n):
            raise ValueError(f"opinion {other.shape} for {n} examples")
    z_emb0 = x @ head.weights.T.astype(np.float64) + head.bias
    use_ngrams = head.uses_text
    mix = head.ngram_mix if use_ngrams else 0.0
    tfidf: Any = None
    z_ng0 = np.zeros((n, k))
    size = 0
    columns: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
    if use_ngrams:
        assert head.ngram_weights is not None and head.ngram_idf is not None
        assert head.ngram_bias is not None
        bits = head.ngram_weights.shape[1].bit_length() - 1
        full = ngram_tfidf(ngram_counts(list(texts), bits), head.ngram_idf).astype(np.float64)
        full = full.tocsr()
        z_ng0 = np.asarray(full @ head.ngram_weights.T.astype(np.float64)) + head.ngram_bias
        chosen = full if ngram_rows is None else full[np.flatnonzero(ngram_rows)]
        columns = np.unique(chosen.indices)
        tfidf = full[:, columns].tocsr()
        size = len(columns)
    n_emb = k * dim + k

    def loss(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        d_w = params[: k * dim].reshape(k, dim)
        d_b = params[k * dim : n_emb]
        z_emb = z_emb0 + x @ d_w.T + d_b
        mixed = (1 - mix) * _log_softmax(z_emb)
        if use_ngrams:
            d_n = params[n_emb:].reshape(k, size)
            mixed = mixed + mix * _log_softmax(z_ng0 + np.asarray(tfidf @ d_n.T))
        if opinion is not None:
            mixed = (1 - share) * _log_softmax(mixed) + share * other
        if head.class_offsets is not None:  # constant shifts: the gradient is unchanged
            mixed = mixed + head.class_offsets
        log_p = _log_softmax(mixed)
        value = float(-(w * y * log_p).sum()) + 0.5 / c_embedding * float((d_w * d_w).sum())
        # d loss / d (the head's own mixed log-probabilities); the opinion's share of
        # each row does not reach the head
        residual = (1 - share) * w * (np.exp(log_p) - y)
        grad = np.zeros_like(params)
        grad[: k * dim] = ((1 - mix) * residual.T @ x + d_w / c_embedding).ravel()
        grad[k * dim : n_emb] = (1 - mix) * residual.sum(axis=0)
        if use_ngrams:
            value += 0.5 / c_ngram * float((d_n * d_n).sum())
            grad[n_emb:] = (mix * np.asarray((tfidf.T @ residual).T) + d_n / c_ngram).ravel()
        return value, grad

    start = np.zeros(n_emb + (k * size if use_ngrams else 0))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    params = result.x
    changes: dict[str, Any] = {
        "weights": (head.weights + params[: k * dim].reshape(k, dim)).astype(np.float32),
        "bias": (head.bias + params[k * dim : n_emb]).astype(np.float32),
    }
    if use_ngrams:
        assert head.ngram_weights is not None
        ngram_weights = head.ngram_weights.copy()
        ngram_weights[:, columns] += params[n_emb:].reshape(k, size).astype(np.float32)
        changes["ngram_weights"] = ngram_weights
    return replace(head, **changes)
