"""Analysts' batch interface: tag arbitrary texts with the pipeline collected mentions get.

    veille analyze --config config/veille.yaml --input in.jsonl --output out.jsonl
    veille eval labelled.jsonl

Input: one JSON object per line with `id` and `text` (optionally `title`, `language`).
Output: one JSON object per line with `id`, `language`, `brands`, `competitors`,
`sentiment` (overall `label` and `score`, and `brands`: per brand or competitor its
label, score and `evidence`: the sentences it was judged on and the words that weighed
most, signed) and `topics`.
Nothing is stored: no state store or index is opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from services.analyzer.mentions.fingerprint import overall_text
from services.analyzer.pipeline import Analyzer, brand_passages
from services.core.models import Mention, Sentiment, SentimentLabel

MAX_LINE_BYTES = 1024 * 1024
BATCH = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LABELS = [label.value for label in SentimentLabel]
_LABEL_ALIASES = {
    "0": "negative",
    "1": "neutral",
    "2": "positive",
    "neg": "negative",
    "neu": "neutral",
    "pos": "positive",
    "negatif": "negative",
    "négatif": "negative",
    "neutre": "neutral",
    "positif": "positive",
}


class BatchInputError(ValueError):
    """A line of the input file that cannot be analyzed."""


@dataclass
class InputRow:
    id: str
    text: str
    title: str = ""
    language: str | None = None
    label: str | None = None  # for `veille eval`


@dataclass
class BatchReport:
    read: int = 0
    written: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def read_input(path: Path, report: BatchReport, *, labelled: bool = False) -> Iterator[InputRow]:
    """Yields the valid rows of a JSONL file; bad lines are counted and described."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            report.read += 1
            try:
                yield _row(raw, labelled=labelled)
            except BatchInputError as exc:
                report.skipped += 1
                if len(report.errors) < 50:
                    report.errors.append(f"line {number}: {exc}")


def _row(raw: bytes, *, labelled: bool) -> InputRow:
    if len(raw) > MAX_LINE_BYTES:
        raise BatchInputError("longer than 1 MB")
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BatchInputError("not valid JSON") from None
    if not isinstance(data, dict):
        raise BatchInputError("expected a JSON object")
    identifier, text = data.get("id"), data.get("text")
    if not isinstance(identifier, str | int) or isinstance(identifier, bool) or identifier == "":
        raise BatchInputError("needs an 'id' (a string or a number)")
    if not isinstance(text, str) or not text.strip():
        raise BatchInputError("needs a non-empty 'text'")
    label = None
    if labelled:
        label = _label(data.get("label", data.get("sentiment")))
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    language = data.get("language") if isinstance(data.get("language"), str) else None
    return InputRow(str(identifier), text, title or "", language, label)


def _label(value: Any) -> str:
    text = str(value).strip().lower() if value is not None else ""
    text = _LABEL_ALIASES.get(text, text)
    if text not in _LABELS:
        raise BatchInputError("needs a 'label': negative, neutral or positive (or 0, 1, 2)")
    return text


def _mention(row: InputRow) -> Mention:
    return Mention(
        id=row.id,
        source_kind="batch",
        source_name="batch",
        title=row.title,
        text=row.text,
        published_at=_EPOCH,
        collected_at=_EPOCH,
    )


def _chunks(rows: Iterator[InputRow]) -> Iterator[list[InputRow]]:
    batch: list[InputRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def analyze_rows(analyzer: Analyzer, rows: list[InputRow]) -> list[Mention]:
    """Runs the analyzer on rows; a row's `language` is used when detection is unsure."""
    return analyzer.analyze(
        [_mention(r) for r in rows], declared_languages=[r.language for r in rows]
    )


def result_json(analyzer: Analyzer, mention: Mention) -> dict[str, Any]:
    """The output object of one analyzed text, with the evidence for each brand."""
    text = overall_text(mention)
    passages = brand_passages(text, analyzer.tagger.tag(text))
    per_brand = {
        name: {
            "label": judged.label.value,
            "score": round(judged.score, 4),
            "evidence": _evidence_json(judged, passages.get(name) or text),
        }
        for name, judged in mention.brand_sentiments.items()
    }
    overall = mention.sentiment
    return {
        "id": mention.id,
        "language": mention.language,
        "brands": mention.brands,
        "competitors": mention.competitors,
        "sentiment": {
            "label": overall.label.value if overall else None,
            "score": round(overall.score, 4) if overall else None,
            "evidence": _evidence_json(overall, text) if overall else None,
            "brands": per_brand,
        },
        "topics": mention.topics,
        "story_id": mention.story_id,
    }


def _evidence_json(sentiment: Sentiment, passage: str) -> dict[str, Any]:
    """The label's evidence; a label without one (an older head) shows its passage."""
    if sentiment.evidence is None:
        return {"sentences": [passage], "words": []}
    return sentiment.evidence.model_dump(mode="json")


def analyze_file(
    analyzer: Analyzer,
    source: Path,
    target: IO[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> BatchReport:
    """Analyzes every valid line of `source` and writes one result line per input line."""
    report = BatchReport()
    for rows in _chunks(read_input(source, report)):
        for mention in analyze_rows(analyzer, rows):
            target.write(json.dumps(result_json(analyzer, mention), ensure_ascii=False) + "\n")
            report.written += 1
        if progress:
            progress(len(rows))
    return report


@dataclass
class Evaluation:
    count: int
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    macro_f1: float
    accuracy: float
    per_language: dict[str, float]  # language -> macro-F1


def evaluate(pairs: list[tuple[str, str, str | None]]) -> Evaluation:
    """Scores (gold, predicted, language) triples: precision, recall, F1 per class, macro-F1."""
    per_class = {label: _class_scores(pairs, label) for label in _LABELS}
    macro = sum(c["f1"] for c in per_class.values()) / len(per_class)
    correct = sum(1 for gold, predicted, _ in pairs if gold == predicted)
    languages = sorted({lang for _, _, lang in pairs if lang})
    per_language = {
        lang: sum(
            _class_scores([p for p in pairs if p[2] == lang], label)["f1"] for label in _LABELS
        )
        / len(_LABELS)
        for lang in languages
    }
    return Evaluation(
        count=len(pairs),
        per_class=per_class,
        macro_f1=macro,
        accuracy=correct / len(pairs) if pairs else 0.0,
        per_language=per_language,
    )


def _class_scores(pairs: list[tuple[str, str, str | None]], label: str) -> dict[str, float]:
    tp = sum(1 for gold, predicted, _ in pairs if gold == label and predicted == label)
    predicted_n = sum(1 for _, predicted, _ in pairs if predicted == label)
    support = sum(1 for gold, _, _ in pairs if gold == label)
    precision = tp / predicted_n if predicted_n else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": float(support)}


def evaluate_file(
    analyzer: Analyzer, source: Path, *, progress: Callable[[int], None] | None = None
) -> tuple[Evaluation, BatchReport]:
    """Analyzes a labelled JSONL file and scores the overall sentiment against its labels."""
    report = BatchReport()
    pairs: list[tuple[str, str, str | None]] = []
    for rows in _chunks(read_input(source, report, labelled=True)):
        for row, mention in zip(rows, analyze_rows(analyzer, rows), strict=True):
            predicted = mention.sentiment.label.value if mention.sentiment else "neutral"
            assert row.label is not None
            pairs.append((row.label, predicted, row.language or mention.language))
        if progress:
            progress(len(rows))
    return evaluate(pairs), report
