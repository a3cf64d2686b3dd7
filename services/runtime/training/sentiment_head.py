"""`veille train`: adapt the workspace's sentiment head to its analysts' corrections.

The current head (the workspace's, else the shipped one) is adapted on the base data
(UMSAB train) plus the sentiment corrections (see `services.analyzer.sentiment.head_delta`). A fixed
share of the corrections is held back, chosen by a hash of their content, so the same
texts are held back at every run and never trained on; the report compares the old and
the new head on them, and on UMSAB val, so a user sees both the gain on their domain
and that the base did not break. The new head is written as a new version; it becomes
the one in use only when it is no worse on the held-back corrections and loses at
most `MAX_BASE_DROP` macro-F1 on UMSAB val (`force` overrides).

English texts are read with a second opinion mixed into the shared head's reading
(services/analyzer/sentiment/second_opinion.py): that head is adapted inside the mix, the opinion's
readings held fixed, and judged the same way.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.analyzer.pipeline import Analyzer
from services.analyzer.readers import FRENCH
from services.analyzer.sentiment.head import OpinionReading, SentimentHead
from services.analyzer.sentiment.head_delta import adapt_head
from services.analyzer.sentiment.head_store import next_version_stem, set_current
from services.analyzer.sentiment.second_opinion import OpinionUnavailable
from services.runtime.data.batch import evaluate
from services.runtime.training.examples import (
    HOLD_BACK,
    Example,
    Progress,
    TrainingError,
    correction_examples,
    embed_cached,
    read_base,
    split_held_back,
)

log = logging.getLogger("veille.train")

MIN_CORRECTIONS = 10  # sentiment corrections needed before training makes sense
MAX_BASE_DROP = 0.02
MAX_CORRECTION_WEIGHT = 10.0
CORRECTIONS_SHARE = 0.3  # of the base data's weight that corrections may carry, at most
OPINION_BATCH = 256  # texts per progress step of the second opinion


@dataclass(frozen=True)
class Figures:
    count: int
    macro_f1: float
    accuracy: float


@dataclass
class TrainReport:
    corrections: int
    trained_on: int
    held_back: int
    base_examples: int
    correction_weight: float
    held_back_before: Figures
    held_back_after: Figures
    base_val_before: Figures
    base_val_after: Figures
    head: Path
    previous: str
    adopted: bool
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)
    french: bool = False  # the head judging French texts read by the tuned encoder

    @property
    def title(self) -> str:
        return "sentiment head for French texts" if self.french else "sentiment head"


def _opinions(
    analyzer: Analyzer,
    rows: Sequence[Example],
    texts: list[str],
    progress: Progress | None = None,
) -> OpinionReading | None:
    """What the analyzer's second opinion says of the texts it would read, with a share
    of 0 for the others (services/analyzer/sentiment/second_opinion.py); None if it reads none.
    Raises OpinionUnavailable when it cannot run."""
    opinions = [analyzer.reader(r.language).opinion for r in rows]
    asked = [i for i, o in enumerate(opinions) if o is not None]
    if not asked:
        return None
    opinion = opinions[asked[0]]
    assert opinion is not None
    log_probs = np.zeros((len(rows), 3), dtype=np.float32)
    shares = np.zeros(len(rows), dtype=np.float32)
    stage = "reading English texts with the second opinion"
    for start in range(0, len(asked), OPINION_BATCH):
        if progress:
            progress(stage, start, len(asked))
        chosen = asked[start : start + OPINION_BATCH]
        log_probs[chosen] = opinion.log_probabilities([texts[i] for i in chosen])
    shares[asked] = opinion.mix
    if progress:
        progress(stage, len(asked), len(asked))
    return log_probs, shares


def _figures(
    head: SentimentHead,
    vectors: NDArray[np.float32],
    texts: list[str],
    gold: list[Example],
    opinions: OpinionReading | None = None,
) -> Figures:
    predicted = head.predict(vectors, texts, opinion=opinions) if len(texts) else []
    evaluation = evaluate(
        [(g.label.value, p.label.value, g.language) for g, p in zip(gold, predicted, strict=True)]
    )
    return Figures(count=len(gold), macro_f1=evaluation.macro_f1, accuracy=evaluation.accuracy)


def train_head(
    analyzer: Analyzer,
    corrections: Sequence[dict[str, Any]],
    *,
    data_dir: Path,
    base_data: Path,
    force: bool = False,
    start_from: SentimentHead | None = None,
    progress: Progress | None = None,
    french: bool = False,
) -> TrainReport:
    """Adapts `start_from` (default: the head in use) to the corrections, compares it with
    the head in use, and writes the new version; see the module.

    With `french`, the head adapted is the one judging French texts when they are read by
    the tuned encoder (`Analyzer.routes_french`), on the French corrections; without, the
    shared head, on the corrections of the texts it judges (all but French ones when
    those have their own head).

    Starting each run from the shipped head, with all the corrections, makes `veille train`
    a retraining, not a drift that piles up adaptations of adaptations."""
    reader = analyzer.reader(FRENCH if french else None)
    every = correction_examples(corrections, analyzer)
    examples = [e for e in every if analyzer.reader(e.language).head is reader.head]
    if len(examples) < MIN_CORRECTIONS:
        which = ""
        if len(every) >= MIN_CORRECTIONS:
            which = "French " if french else "non-French "
        raise TrainingError(
            f"only {len(examples)} {which}sentiment correction(s) so far: training needs at "
            f"least {MIN_CORRECTIONS}, so that {HOLD_BACK:.0%} of them can be held back to "
            "check the result (correct more mentions with POST /api/v1/mentions/{id}/sentiment)"
        )
    try:
        import scipy.optimize  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        raise TrainingError("training needs scipy: install veille[train]") from None
    base_train, base_val = read_base(base_data, "train"), read_base(base_data, "val")
    trained, held = split_held_back(examples)
    current, embedder = reader.head, reader.embedder
    head = current
    if start_from is not None and start_from.preparation == current.preparation:
        head = start_from
    cache = data_dir / "heads" / "cache"

    def prepared(rows: Sequence[Example]) -> list[str]:
        return [head.prepare(r.text) for r in rows]

    texts = {
        "base": prepared(base_train),
        "val": prepared(base_val),
        "trained": prepared(trained),
        "held": prepared(held),
    }
    of = " (French head)" if french else ""
    stages = {
        "base": (f"embedding base data{of}", cache),
        "val": (f"embedding base val{of}", cache),
        "trained": (f"embedding corrections{of}", None),
        "held": (f"embedding held-back{of}", None),
    }
    vectors = {
        name: embed_cached(embedder, texts[name], cache_dir=where, stage=stage, progress=progress)
        for name, (stage, where) in stages.items()
    }
    weight = min(
        MAX_CORRECTION_WEIGHT, max(1.0, CORRECTIONS_SHARE * len(base_train) / len(trained))
    )
    rows = [*base_train, *trained]
    labels = np.asarray([head.labels.index(r.label) for r in rows], dtype=np.int64)
    weights = np.concatenate([np.ones(len(base_train)), np.full(len(trained), weight)])
    recipe = head.metadata.get("recipe", {}) if isinstance(head.metadata, dict) else {}
    # The shared head reads English texts with the second opinion mixed in: it is adapted
    # inside that mix, and so are its figures (the French head never reads English).
    parts = {
        "fit": (rows, [*texts["base"], *texts["trained"]]),
        "val": (base_val, texts["val"]),
        "held": (held, texts["held"]),
    }
    opinions: dict[str, OpinionReading | None] = dict.fromkeys(parts)
    try:
        if not french:
            opinions = {
                name: _opinions(analyzer, part, part_texts, progress)
                for name, (part, part_texts) in parts.items()
            }
    except OpinionUnavailable as exc:
        log.warning("training without the English second opinion: %s", exc)
    if progress:
        progress(f"fitting{of}", 0, 1)
    new_head = adapt_head(
        head,
        np.concatenate([vectors["base"], vectors["trained"]]),
        [*texts["base"], *texts["trained"]],
        labels,
        weights,
        c_embedding=float(recipe.get("C_embedding") or 3.0),
        c_ngram=float(recipe.get("C_ngram") or 10.0),
        ngram_rows=np.arange(len(rows)) >= len(base_train),  # the corrections' terms
        opinion=opinions["fit"],
    )
    if progress:
        progress(f"fitting{of}", 1, 1)
    report = TrainReport(
        corrections=len(examples),
        trained_on=len(trained),
        held_back=len(held),
        base_examples=len(base_train),
        correction_weight=weight,
        held_back_before=_figures(current, vectors["held"], texts["held"], held, opinions["held"]),
        held_back_after=_figures(new_head, vectors["held"], texts["held"], held, opinions["held"]),
        base_val_before=_figures(current, vectors["val"], texts["val"], base_val, opinions["val"]),
        base_val_after=_figures(new_head, vectors["val"], texts["val"], base_val, opinions["val"]),
        head=next_version_stem(data_dir, embedder.name),
        previous=current.source,
        extra={"adapted_from": head.source},
        adopted=False,
        reason="",
        french=french,
    )
    report.adopted, report.reason = _verdict(report, force=force)
    _save(new_head, report)
    if report.adopted:
        set_current(data_dir, embedder.name, report.head)
    return report


def _verdict(report: TrainReport, *, force: bool) -> tuple[bool, str]:
    worse_held = report.held_back_after.macro_f1 < report.held_back_before.macro_f1
    base_drop = report.base_val_before.macro_f1 - report.base_val_after.macro_f1
    if worse_held:
        reason = "it is worse on the held-back corrections"
    elif base_drop > MAX_BASE_DROP:
        reason = f"it loses {base_drop:.3f} macro-F1 on UMSAB val (more than {MAX_BASE_DROP})"
    else:
        return True, "no worse on the held-back corrections nor, beyond tolerance, on UMSAB val"
    if force:
        return True, f"--force, although {reason}"
    return False, reason


def _save(head: SentimentHead, report: TrainReport) -> None:
    def figures(f: Figures) -> dict[str, float]:
        return {
            "count": f.count,
            "macro_f1": round(f.macro_f1, 4),
            "accuracy": round(f.accuracy, 4),
        }

    metadata = {
        **head.metadata,
        "workspace_training": {
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "adapted_from": report.extra.get("adapted_from", report.previous),
            "previous_head": report.previous,
            "method": "L2-penalised change of the head's weights"
            " (services/analyzer/sentiment/head_delta.py)",
            "corrections": report.corrections,
            "trained_on": report.trained_on,
            "held_back": report.held_back,
            "correction_weight": round(report.correction_weight, 3),
            "base_examples": report.base_examples,
            "held_back_before": figures(report.held_back_before),
            "held_back_after": figures(report.held_back_after),
            "base_val_before": figures(report.base_val_before),
            "base_val_after": figures(report.base_val_after),
            "adopted": report.adopted,
            "reason": report.reason,
        },
    }
    # A copy with every field of the head (n-grams, offsets, expressions), new metadata.
    dataclasses.replace(head, metadata=metadata).save(report.head)
