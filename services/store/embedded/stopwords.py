"""The function words top terms leave out (kept here for older imports)."""

from services.core.function_words import STOP_WORDS

__all__ = ["STOP_WORDS"]
