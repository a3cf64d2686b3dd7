"""Sentiment expressions: idioms, informal spellings and emoji with a known polarity.

The head learns from 3,678 tweets, too few to see "pas mal du tout", "de la bombe" or an
eye-roll emoji often enough to read them right. A short hand-written list
(`lexicon/expressions.yaml`, plus a workspace's own file) names them; the head adds
`weight * polarity` to the positive log-probability and takes it from the negative one,
summed over the distinct expressions found after the last contrast ("mais", "but") and
capped at two. The weight (1.0 in the shipped heads) is fixed, not fitted: fewer than 1% of
the training tweets hold an expression. Matched expressions are shown in the evidence.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.core.expression_patterns import Expression, ExpressionsError, parse_expressions

__all__ = ["Expression", "ExpressionLexicon", "ExpressionsError", "load_expressions", "normalise"]

SHIPPED = Path(__file__).resolve().parent / "lexicon" / "expressions.yaml"
MAX_POLARITY = 2.0  # several cues agree: stronger, but never drown the models
_ELONGATED = re.compile(r"(\w)\1{2,}")
_CONTRAST = re.compile(
    r"\b(mais|cependant|pourtant|sauf que|par contre|en revanche|but|however|though|except)\b"
)


def normalise(text: str) -> str:
    """Lower case, no accents, letters repeated three times or more written once."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _ELONGATED.sub(r"\1", plain.replace("’", "'"))


@dataclass(frozen=True)
class ExpressionLexicon:
    expressions: tuple[Expression, ...]

    def find(self, text: str) -> list[tuple[str, int]]:
        """(matched words as written in the normalised text, polarity), in text order.

        After a contrast ("..., mais", "but", "sauf que") only what follows counts:
        "pas mal sur le papier, mais la batterie a lâché" is a complaint."""
        plain = normalise(text)
        contrasts = [m.end() for m in _CONTRAST.finditer(plain)]
        start = contrasts[-1] if contrasts else 0
        found = []
        for expression in self.expressions:
            hit = expression.pattern.search(plain, start)
            if hit:
                found.append((hit.start(), hit.group(0).strip(), expression.polarity))
        return [(words, polarity) for _, words, polarity in sorted(found)]

    def polarity(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Each text's summed polarity, capped at +-MAX_POLARITY."""
        totals = [sum(p for _, p in self.find(t)) for t in texts]
        return np.clip(np.asarray(totals, dtype=np.float32), -MAX_POLARITY, MAX_POLARITY)


@functools.cache
def load_expressions(extra: Path | None = None) -> ExpressionLexicon:
    """The shipped expressions, plus a workspace's file if given (read once per process)."""
    sources = [SHIPPED] if extra is None else [SHIPPED, extra]
    expressions: list[Expression] = []
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ExpressionsError(f"{path}: cannot read ({exc.strerror})") from None
        expressions += parse_expressions(text, str(path))
    return ExpressionLexicon(tuple(expressions))
