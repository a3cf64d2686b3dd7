"""The analyzer: language, brands and competitors, sentiment overall and per brand.

One small step per module: `language`, `brands`, `embeddings`, `sentiment`, and
`pipeline`, which runs them on batches of mentions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.analyzer.pipeline import Analyzer

__all__ = ["Analyzer"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing one step (e.g. embeddings) does not load spaCy.
    if name == "Analyzer":
        from services.analyzer.pipeline import Analyzer

        return Analyzer
    raise AttributeError(name)
