"""The analyzer: language, brands and competitors, sentiment overall and per brand.

A room per role: `language`, `brands`, `sentiment`, `topics`, `stories`, `mentions`
(the judged text, fingerprints, corrections) and `encoding` (the embedding models).
`readers` says which encoder and head read each language, and `pipeline` runs them all
on batches of mentions. Lower rooms never import higher ones (the import contracts in
pyproject.toml): encoding < language < brands < sentiment < topics | readers < pipeline.
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
