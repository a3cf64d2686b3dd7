"""The analyzer of the tests' workspace: Veloria and its competitor Trekko."""

from __future__ import annotations

from typing import Any

from services.analyzer.pipeline import Analyzer
from services.core.models import Brand, Competitor
from services.core.settings import AnalyzerSettings


def veloria_analyzer(settings: AnalyzerSettings | None = None, **kwargs: Any) -> Analyzer:
    """An analyzer watching Veloria and Trekko; `kwargs` go to Analyzer (`embedder=` to
    share an already loaded model)."""
    return Analyzer(
        settings or AnalyzerSettings(),
        brands=[Brand(name="Veloria", competitors=["Trekko"])],
        competitors=[Competitor(name="Trekko")],
        **kwargs,
    )
