"""The expressions file format (`analyzer.sentiment_expressions`): patterns with a polarity.

Parsed and checked here, below the analyzer, so the settings can refuse a bad file at load
time; `services.analyzer.sentiment.expressions` matches the patterns on texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from services.core.yaml_loading import safe_load_bounded

# A repeated group that itself repeats ("(a+)+", "(\w*)*") can take exponential time on
# a hostile post; Python's re has no time-out, so such patterns are refused.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)[+*{]")


class ExpressionsError(ValueError):
    """An expressions file that cannot be read or holds a bad pattern."""


@dataclass(frozen=True)
class Expression:
    pattern: re.Pattern[str]
    polarity: int  # +1 positive, -1 negative


def parse_expressions(text: str, source: str) -> list[Expression]:
    """The patterns of one expressions file; ExpressionsError names what is wrong."""
    try:
        document = safe_load_bounded(text) or {}  # no alias bomb
    except yaml.YAMLError as exc:
        raise ExpressionsError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(document, dict) or set(document) - {"positive", "negative"}:
        raise ExpressionsError(f"{source}: expected only 'positive:' and 'negative:' lists")
    out = []
    for key, polarity in (("positive", 1), ("negative", -1)):
        patterns = document.get(key) or []
        if not isinstance(patterns, list):
            raise ExpressionsError(f"{source}: '{key}' must be a list of patterns")
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern.strip():
                raise ExpressionsError(f"{source}: '{key}' holds an empty or non-text pattern")
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ExpressionsError(f"{source}: bad pattern {pattern!r} ({exc})") from None
            if compiled.search(""):
                raise ExpressionsError(f"{source}: pattern {pattern!r} matches empty text")
            if _NESTED_REPEAT.search(pattern):
                raise ExpressionsError(
                    f"{source}: pattern {pattern!r} repeats a repeated group, which can "
                    "take exponential time: write it without the nesting"
                )
            out.append(Expression(compiled, polarity))
    return out
