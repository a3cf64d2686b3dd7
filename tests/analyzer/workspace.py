"""The analyzer of the tests' workspace: Veloria and its competitor Trekko."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.analyzer.pipeline import Analyzer
from services.core.models import Brand, Competitor, Mention, SentimentLabel
from services.core.settings import AnalyzerSettings

UMSAB = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "labelled" / "umsab"


def veloria_analyzer(settings: AnalyzerSettings | None = None, **kwargs: Any) -> Analyzer:
    """An analyzer watching Veloria and Trekko; `kwargs` go to Analyzer (`embedder=` to
    share an already loaded model)."""
    return Analyzer(
        settings or AnalyzerSettings(),
        brands=[Brand(name="Veloria", competitors=["Trekko"])],
        competitors=[Competitor(name="Trekko")],
        **kwargs,
    )


def umsab_val_macro_f1(analyzer: Analyzer, language: str) -> float:
    """Macro-F1 of `analyzer` on UMSAB val in `language` ("french", "english"): tweets held
    out from all training, read through the whole analyzer (language detection included)."""
    from sklearn.metrics import f1_score

    from tests.analyzer.test_pipeline import unanalyzed

    texts = (UMSAB / language / "val_text.txt").read_text("utf-8").splitlines()
    gold = [int(x) for x in (UMSAB / language / "val_labels.txt").read_text().split()]
    names = {SentimentLabel.NEGATIVE: 0, SentimentLabel.NEUTRAL: 1, SentimentLabel.POSITIVE: 2}
    read: list[Mention] = analyzer.analyze([unanalyzed(t) for t in texts])
    predicted = [names[m.sentiment.label] if m.sentiment else -1 for m in read]
    return float(f1_score(gold, predicted, average="macro"))
