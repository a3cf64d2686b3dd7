"""Brand and competitor tagging: which watched names a text uses, and where.

Texts and aliases are folded the same way as everywhere else (services.core.text.fold:
case and accents don't matter) and cut into tokens by spaCy's blank multilingual
tokenizer, with '@' and '#' split off as prefixes and apostrophes as infixes, so that
"@Veloria", "#veloria", "l'Orange" and "SOCIÉTÉ GÉNÉRALE" contain the tokens of
"veloria", "orange" and "societe generale". Names glued to the next word by a full stop
("fondé Apple.Steve Jobs", "SFR.Belle journée") or to an emoji ("▶️Amazon Music") are cut
off it too; only addresses with a scheme or "www." stay whole. A PhraseMatcher then finds
whole-token occurrences of every name and alias (multi-word aliases included). An occurrence lying
inside an occurrence of one of the same brand's exclusion phrases ("jus d'orange") does
not count, and an occurrence inside a longer occurrence of another watched name
("Orange Bank" for a competitor of that name vs. the brand "Orange") counts for the
longer name only. A single-word name inside a street name ("J'habite rue Voltaire",
"Voltaire Street") does not count either.

An alias that is also a common word ("Orange" the fruit, "Total" the sum) can be judged
in context before it counts: see services.analyzer.brands.disambiguation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import spacy
from spacy.matcher import PhraseMatcher
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

from services.analyzer.brands.disambiguation import (
    ContextJudge,
    Correction,
    Embed,
    Occurrence,
    is_place_name,
)
from services.core.models import Brand, Competitor
from services.core.text import fold

Kind = Literal["brand", "competitor"]

# spaCy's vocabulary keeps every word it has seen: start afresh now and then so a
# long-running analyzer does not grow without bound.
_REFRESH_AFTER_TEXTS = 20_000
_BATCH = 256


@dataclass(frozen=True)
class TagSpan:
    """One occurrence of a watched name: character offsets into the original text."""

    name: str
    kind: Kind
    start: int
    end: int
    # How sure the tagger is that this occurrence is the brand: 1.0 for an alias never
    # judged, else the context model's probability (see services.analyzer.brands.disambiguation).
    confidence: float = 1.0


@dataclass(frozen=True)
class TagResult:
    """Canonical names of the brands and competitors a text names (in order of first
    appearance) and every occurrence that counts."""

    brands: list[str] = field(default_factory=list)
    competitors: list[str] = field(default_factory=list)
    spans: list[TagSpan] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Brands then competitors."""
        return [*self.brands, *self.competitors]

    def spans_of(self, name: str) -> list[TagSpan]:
        """Occurrences of one brand or competitor."""
        return [s for s in self.spans if s.name == name]


@dataclass(frozen=True)
class _Entity:
    name: str
    kind: Kind
    aliases: tuple[str, ...]
    exclusions: tuple[str, ...]


# Emoji variation selectors, joiners and keycaps: glued to a name, they are cut off it.
_GLUE = r"[\ufe0e\ufe0f\u200d\u20e3]"
_DOT_BETWEEN_WORDS = r"(?<=[^\W\d_])\.(?=[^\W\d_])"  # "apple.steve", "sfr.belle"
_QUOTE = r"[\"“”«»]"  # 'au Figaro"les écologistes'
_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$")


def _tokenizer_nlp() -> Any:
    nlp = spacy.blank("xx")
    defaults: Any = nlp.Defaults
    tokenizer: Any = nlp.tokenizer
    tokenizer.prefix_search = compile_prefix_regex([*defaults.prefixes, "@", "#", _GLUE]).search
    tokenizer.infix_finditer = compile_infix_regex(
        [*defaults.infixes, "'", "@", "#", _GLUE, _DOT_BETWEEN_WORDS, _QUOTE]
    ).finditer
    tokenizer.suffix_search = compile_suffix_regex([*defaults.suffixes, "'", _GLUE, r"\+"]).search
    # spaCy's own URL pattern takes "apple.steve" for a domain: only real addresses
    # stay one token.
    tokenizer.url_match = _ADDRESS.match
    return nlp


def fold_aligned(text: str) -> tuple[str, list[int] | None]:
    """`fold(text)` and, when folding changed the length, each folded char's source index."""
    folded = fold(text)
    if len(folded) == len(text):
        return folded, None
    pieces: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        f = fold(ch)
        pieces.append(f)
        index.extend([i] * len(f))
    return "".join(pieces), index


class BrandTagger:
    """Finds the workspace's brands and competitors in texts."""

    def __init__(
        self,
        brands: Sequence[Brand],
        competitors: Sequence[Competitor],
        *,
        embed: Embed | None = None,
        remembered: Embed | None = None,
    ) -> None:
        """`remembered`: see ContextJudge (what keeps vectors across rebuilds)."""
        entities = [
            *(_Entity(b.name, "brand", tuple(b.all_names()), tuple(b.exclusions)) for b in brands),
            *(
                _Entity(c.name, "competitor", tuple(c.all_names()), tuple(c.exclusions))
                for c in competitors
            ),
        ]
        self._entities = entities
        # `embed` reads ambiguous aliases in context; without it only terms decide.
        self._judge = ContextJudge(
            [
                (e.name, e.aliases, c)
                for e, c in zip(entities, [*brands, *competitors], strict=True)
            ],
            embed=embed,
            remembered=remembered,
        )
        self._lock = threading.Lock()
        self._texts_seen = 0
        self._build()

    def _build(self) -> None:
        nlp = _tokenizer_nlp()
        matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
        keys: dict[int, tuple[int, bool]] = {}
        for number, entity in enumerate(self._entities):
            for excluded, phrases in ((False, entity.aliases), (True, entity.exclusions)):
                docs = [nlp.make_doc(fold(p)) for p in dict.fromkeys(phrases) if p.strip()]
                docs = [d for d in docs if len(d)]
                if not docs:
                    continue
                key = f"{'x' if excluded else 'n'}{number}"
                matcher.add(key, docs)
                keys[nlp.vocab.strings[key]] = (number, excluded)
        self._nlp = nlp
        self._matcher = matcher
        self._keys = keys

    @property
    def judge(self) -> ContextJudge:
        """What decides on ambiguous aliases (its `threshold` can be tuned)."""
        return self._judge

    def names_of(self, name: str) -> tuple[str, ...]:
        """A brand's or competitor's name and aliases (empty for a name it does not know)."""
        return next((e.aliases for e in self._entities if e.name == name), ())

    @property
    def empty(self) -> bool:
        """True when there is nothing to look for."""
        return not self._entities

    def tag(self, text: str) -> TagResult:
        """Tags one text."""
        return self.tag_many([text])[0]

    def tag_many(self, texts: Iterable[str]) -> list[TagResult]:
        """Tags texts in a batch (one tokenizer pass)."""
        texts = list(texts)
        if self.empty:
            return [TagResult() for _ in texts]
        found = self._found(texts)
        aligned = [(folded, index) for index, folded, _ in found]
        kept = self._judged(texts, aligned, [dict.fromkeys(hits, 1.0) for _, _, hits in found])
        return [self._result(hits, index) for hits, (index, _, _) in zip(kept, found, strict=True)]

    def _found(self, texts: list[str]) -> list[tuple[list[int] | None, str, set[_Hit]]]:
        aligned = [fold_aligned(t) for t in texts]
        with self._lock:
            if self._texts_seen > _REFRESH_AFTER_TEXTS:
                self._build()
                self._texts_seen = 0
            self._texts_seen += len(texts)
            docs = list(self._nlp.tokenizer.pipe((f for f, _ in aligned), batch_size=_BATCH))
            found = [
                [
                    _Hit(*self._keys[key], doc[start].idx, doc[end - 1].idx + len(doc[end - 1]))
                    for key, start, end in self._matcher(doc)
                ]
                for doc in docs
            ]
        return [
            (index, folded, self._kept(hits))
            for (folded, index), hits in zip(aligned, found, strict=True)
        ]

    def occurrences(self, texts: Sequence[str]) -> list[list[tuple[str, Occurrence | None]]]:
        """For each text, its occurrences of watched names as (name, the occurrence to
        judge, or None for an alias that is never judged), before any judging."""
        out = []
        for text, (index, folded, hits) in zip(texts, self._found(list(texts)), strict=True):
            row = []
            for hit in sorted(hits, key=lambda h: (h.start, h.number)):
                alias = folded[hit.start : hit.end]
                start, end = _original(hit, index)
                judged = self._judge.is_ambiguous(hit.number, alias)
                occurrence = Occurrence(hit.number, alias, text, folded, start, end)
                row.append((self._entities[hit.number].name, occurrence if judged else None))
            out.append(row)
        return out

    def learn(self, corrections: Sequence[Correction]) -> int:
        """Takes an analyst's corrections in (see ContextJudge.learn); returns how many
        name an ambiguous alias of their brand and could be used."""
        pairs = []
        for correction, row in zip(
            corrections, self.occurrences([c.text for c in corrections]), strict=True
        ):
            found = next((o for name, o in row if name == correction.brand and o), None)
            if found is not None:
                pairs.append((correction, found))
        self._judge.learn([c for c, _ in pairs], [o for _, o in pairs])
        return len(pairs)

    def _judged(
        self,
        texts: list[str],
        aligned: list[tuple[str, list[int] | None]],
        kept: list[dict[_Hit, float]],
    ) -> list[dict[_Hit, float]]:
        """Gives each occurrence of an ambiguous alias its confidence and drops those not
        about their brand; drops single-word names inside street names."""
        to_judge: list[tuple[int, _Hit]] = []
        occurrences: list[Occurrence] = []
        out = [dict(hits) for hits in kept]
        for row, hits in enumerate(kept):
            folded, index = aligned[row]
            for hit in hits:
                alias = folded[hit.start : hit.end]
                start, end = _original(hit, index)
                if self._judge.is_ambiguous(hit.number, alias):
                    to_judge.append((row, hit))
                    occurrences.append(
                        Occurrence(hit.number, alias, texts[row], folded, start, end)
                    )
                elif is_place_name(texts[row], start, end):
                    del out[row][hit]
        if not occurrences:
            return out
        for (row, hit), (keep, confidence) in zip(
            to_judge, self._judge.verdicts(occurrences), strict=True
        ):
            if keep:
                out[row][hit] = confidence
            else:
                del out[row][hit]
        return out

    def _kept(self, hits: list[_Hit]) -> set[_Hit]:
        names = [h for h in hits if not h.excluded]
        exclusions = [h for h in hits if h.excluded]
        kept: set[_Hit] = set()
        for hit in names:
            if any(x.number == hit.number and x.contains(hit) for x in exclusions):
                continue
            # "@veloria" over "veloria", "Orange Bank" over "Orange": the longest name wins.
            if any(other.contains(hit) and other.width > hit.width for other in names):
                continue
            kept.add(hit)
        return kept

    def _result(self, kept: dict[_Hit, float], index: list[int] | None) -> TagResult:
        if not kept:
            return TagResult()
        brands: list[str] = []
        competitors: list[str] = []
        spans: list[TagSpan] = []
        for hit in sorted(kept, key=lambda h: (h.start, h.end, h.number)):
            entity = self._entities[hit.number]
            bucket = brands if entity.kind == "brand" else competitors
            if entity.name not in bucket:
                bucket.append(entity.name)
            start, end = _original(hit, index)
            spans.append(TagSpan(entity.name, entity.kind, start, end, round(kept[hit], 4)))
        return TagResult(brands=brands, competitors=competitors, spans=spans)


def _original(hit: _Hit, index: list[int] | None) -> tuple[int, int]:
    """The hit's offsets in the original (unfolded) text."""
    if index is None:
        return hit.start, hit.end
    return index[hit.start], index[hit.end - 1] + 1


@dataclass(frozen=True)
class _Hit:
    number: int
    excluded: bool
    start: int  # character offsets into the folded text
    end: int

    @property
    def width(self) -> int:
        return self.end - self.start

    def contains(self, other: _Hit) -> bool:
        return self.start <= other.start and other.end <= self.end
