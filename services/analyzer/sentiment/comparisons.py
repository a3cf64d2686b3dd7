"""Comparisons between two watched names: "Veloria est bien meilleur que Trekko".

A sentence that names two brands and compares them says opposite things about each, but
the model reads the sentence as a whole: without this module both brands would get its
label. A comparison is found between two names of the same clause, from the words
between them ("X is better than Y", "X est moins fiable que Y", "X > Y", "X beats Y",
"X plutôt que Y", "X -> Y", "X est moins cher que Y") or around them ("switched from X to
Y", "j'ai quitté X pour Y", "je préfère X à Y").

The model reads a clause about its subject, so the subject (`kept`: the first name; the
new one in "switched from X to Y" or "X -> Y") is judged on the clause's probabilities
and the other (`mirrored`) on the same with positive and negative swapped: what the
clause says for one it says against the other.

When the words name a winner ("better", "pire", "beats", ">", "je préfère", "plutôt que",
"switched from ... to", and price: "cheaper", "moins cher", "plus cher"), neither side is
neutral: the kept name is positive or negative, whichever is more probable once the
clause's log-probabilities are moved by `SHIFT` toward its side winning. So "we moved
from X to Y and it's been a nightmare" stays negative for Y, and a plain fact told with
such words ("the servers moved from X to Y") is read as a choice. A plain "more/less ...
than" ("plus léger que", "feels cheaper than") names no winner: the model's reading of
the clause decides, neutral included. So it does for a negated comparison ("n'est pas
meilleur que").

A question asks rather than judges ("Is Veloria better than Trekko?", "Trekko ou Veloria
pour débuter ?", "Veloria vs Trekko, who wins?"): its comparing words name no winner, two
names offered as a choice ("X ou Y", "X or Y", "X vs Y") are judged alike, and the
clause's positive and negative log-probabilities are moved by `SHIFT` toward neutral. So
only a loaded question keeps a polarity ("Why is Veloria so much worse than Trekko?":
negative for Veloria, positive for Trekko). A yes/no question ("Veloria est-il vraiment
meilleur que Trekko ?", "Is Veloria better than Trekko?": no "why", "how", "pourquoi",
"comment" first) asks the very thing its comparing words say, so it is moved further,
by `YES_NO_DOUBT`. A rhetorical question ("Who else thinks...", "Je suis le seul à
trouver...") states an opinion: the pipeline reads it as a statement.

A name is judged by its comparisons only when every sentence that names it holds one,
always in the same role; otherwise its usual passage stands.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.analyzer.brands.tagging import TagResult, TagSpan
from services.analyzer.sentiment.evidence import MAX_WORDS
from services.analyzer.sentiment.expressions import normalise
from services.analyzer.sentiment.head import SentimentHead
from services.core.evidence import Evidence, WeightedWord
from services.core.models import Sentiment, SentimentLabel

SHIFT = 1.0  # one expression's worth at the shipped weight (expressions.py)
YES_NO_DOUBT = 3 * SHIFT  # a yes/no question's comparing words are what it asks about
MAX_BETWEEN = 80  # characters between the two names: more is not one comparison
_BEFORE_CHARS = 40  # of the clause before the first name, for "switched from X to Y"

_THAN = r"\s+(?:the\s+|that\s+of\s+|those\s+of\s+|with\s+)?"
_QUE = r"\s*(?:celles?\s+d(?:e\s+|')|ceux\s+d(?:e\s+|')|celui\s+d(?:e\s+|')|chez\s+)?"
_GAP = r"[^.!?;]{0,40}?"


def _ending(*alternatives: str) -> re.Pattern[str]:
    """Words that end right before the second name."""
    return re.compile(r"(?:" + "|".join(alternatives) + r")\s*$")


# All matched on normalised text (services.analyzer.sentiment.expressions.normalise).
_FIRST_BETTER = _ending(
    rf"\b(?:better|superior|nicer|preferable){_GAP}\bthan{_THAN}",
    r"\b(?:superior|preferable)\s+to\s+(?:the\s+|that\s+of\s+|those\s+of\s+)?",
    rf"\b(?:meilleure?s?|mieux|superieure?s?|preferable){_GAP}\bqu(?:e\b|')?{_QUE}",
    # Price: cheaper is better for the buyer, unless it "feels" or "looks" cheaper.
    rf"(?<!feel\s)(?<!feels\s)(?<!look\s)(?<!looks\s)\b(?:cheaper|less\s+expensive"
    rf"|more\s+affordable){_GAP}\bthan{_THAN}",
    rf"\b(?:moins\s+chere?s?|plus\s+abordables?){_GAP}\bqu(?:e\b|')?{_QUE}",
    rf"\bsuperieure?s?\s+(?:a|aux?)\s*{_QUE}",
    r"^\s*(?:>+|>=|≥)\s*",
    r"\b(?:beats?|outperforms?|outperformed|crushes|trumps|destroys|surpassent|surpasse"
    r"|battent|bat|ecrase|ecrasent|enterre)(?:\s+\w+)?\s+(?:les?\s+|la\s+|l')?",
    r"\b(?:plutot\s+qu(?:e\b|')|rather\s+than|instead\s+of|au\s+lieu\s+d(?:e\b|'))"
    r"\s*(?:chez\s+)?",
)
_FIRST_WORSE = _ending(
    rf"\b(?:worse|inferior|weaker|poorer){_GAP}\bthan{_THAN}",
    r"\binferior\s+to\s+(?:the\s+|that\s+of\s+|those\s+of\s+)?",
    rf"\b(?:pires?|inferieure?s?|moins\s+bien|moins\s+bons?|moins\s+bonnes?){_GAP}"
    rf"\bqu(?:e\b|')?{_QUE}",
    rf"\binferieure?s?\s+(?:a|aux?)\s*{_QUE}",
    r"^\s*(?:<+|<=|≤)\s*",
    rf"\b(?:pricier|more\s+expensive|less\s+affordable){_GAP}\bthan{_THAN}",
    rf"\b(?:plus\s+chere?s?|moins\s+abordables?){_GAP}\bqu(?:e\b|')?{_QUE}",
)
_PLAIN = _ending(
    rf"\b(?:more|less|(?!other\b)\w{{3,}}er){_GAP}\bthan{_THAN}",
    rf"\b(?:plus|moins){_GAP}\bqu(?:e\b|')?{_QUE}",
)
# Words before the first name, with the words between the names that go with them.
_SWITCH = (
    re.compile(
        r"(?:\b(?:switch(?:ed|ing)?|mov(?:ed|ing)|migrat(?:ed|ing)|went|changed)\s+"
        r"(?:over\s+)?from\s+(?:the\s+)?"
        r"|\b(?:quitte[rz]?|lache[rz]?|abandonne[rz]?|delaisse[rz]?)\s+(?:\w+\s+)?"
        r"|\b(?:passee?s?|migree?s?|change)\s+de\s+(?:chez\s+)?)$"
    ),
    re.compile(r"^\s*(?:\w+\s+){0,3}?(?:to|for|pour|a|vers|chez)\s+(?:chez\s+)?$"),
)
_PREFER = (
    re.compile(
        r"\b(?:prefers?|preferred|prefere[rsz]?|preferent|choose|chose|chosen|picked|pick"
        r"|choisie?s?)\s+(?:\w+\s+){0,2}$"
    ),
    re.compile(r"^\s*(?:\w+\s+){0,3}?(?:to|over|than|a|plutot\s+que|rather\s+than)\s+$"),
)
_ARROW = re.compile(r"^\s*(?:-+>|→)\s*$")
_CHOICE = re.compile(r"^\s*(?:,|/|\bou\b|\bor\b|\bvs\b\.?|\bversus\b|\bcontre\b)\s*$")
_NEGATION = re.compile(r"\b(?:not|never|no|pas|jamais|ne|n)\b|n't\b")
# A question opened so is loaded: it presumes what its comparing words say.
_LOADED = re.compile(
    r"^\W*(?:why|how|since\s+when|what\s+makes|pourquoi|comment|depuis\s+quand"
    r"|qu'est-ce\s+qui\s+fait)\b"
)


@dataclass(frozen=True)
class Reading:
    """How the two sides of a comparison are judged on their clause."""

    mirrored: bool  # swap positive and negative: the side the clause is not about
    shift: float  # log-probability moved toward positive (< 0: toward negative); when the
    # words name a winner (shift != 0), neither side can be neutral
    asked: bool = False  # in a question: moved by SHIFT toward neutral instead
    yes_no: bool = False  # in a yes/no question: by YES_NO_DOUBT


@dataclass(frozen=True)
class Comparison:
    """Two names compared in one clause of a text."""

    kept: str  # the subject: judged on the clause's probabilities
    mirrored: str  # judged on them with positive and negative swapped
    shift: float  # toward positive for `kept` (< 0: toward negative), 0 if no winner
    cue: str  # the comparing words, as written
    start: int  # the clause, offsets into the text
    end: int
    asked: bool = False  # in a question
    choice: bool = False  # offered as a choice ("X ou Y ?"): both judged alike
    yes_no: bool = False  # in a question that is not loaded (`_LOADED`)

    def reading(self, name: str) -> Reading:
        mirrored = name == self.mirrored and not self.choice
        return Reading(mirrored=mirrored, shift=self.shift, asked=self.asked, yes_no=self.yes_no)


@dataclass(frozen=True)
class ComparedName:
    """How one name is judged: on `passage` (its comparing clauses), as `reading` says."""

    passage: str
    reading: Reading
    cue: str


def _compare(
    text: str, clause_start: int, first: TagSpan, second: TagSpan, *, asked: bool
) -> tuple[TagSpan, float, str, bool] | None:
    """(kept, shift, cue, choice) when `first` and `second` are compared."""
    raw_between = text[first.end : second.start]
    if not raw_between.strip() or len(raw_between) > MAX_BETWEEN:
        return None
    between = normalise(raw_between)
    if asked and _CHOICE.match(between):  # "Trekko ou Veloria ?": which one, not which is
        return first, 0.0, " ".join(raw_between.split()), True
    compared = _compare_words(text, clause_start, first, second, between, raw_between)
    if compared is None:
        return None
    kept, shift, cue = compared
    return kept, 0.0 if asked else shift, cue, False  # a question names no winner


def _compare_words(
    text: str, clause_start: int, first: TagSpan, second: TagSpan, between: str, raw_between: str
) -> tuple[TagSpan, float, str] | None:
    """(kept, shift, cue) when the words between or around the names compare them."""
    before_start = max(clause_start, first.start - _BEFORE_CHARS)
    before = normalise(text[before_start : first.start])
    cue = " ".join(raw_between.split())
    if _ARROW.match(between):  # "Trekko -> Veloria": moved from one to the other
        return second, SHIFT, cue
    for (before_words, between_words), kept in ((_SWITCH, second), (_PREFER, first)):
        verb = before_words.search(before)
        if verb and between_words.search(between):
            # The verb as written (`before` is normalised): as many words, counted back.
            written = text[before_start : first.start].split()[-len(verb.group(0).split()) :]
            return kept, SHIFT, f"{' '.join(written)} … {cue}"
    if _FIRST_BETTER.search(between):
        shift = SHIFT
    elif _FIRST_WORSE.search(between):
        shift = -SHIFT
    elif _PLAIN.search(between):
        shift = 0.0
    else:
        return None
    if _NEGATION.search(between):  # "n'est pas meilleur que": the model decides
        shift = 0.0
    return first, shift, cue


def find_comparisons(
    text: str, tags: TagResult, clauses: Sequence[tuple[int, int]], *, asked: bool = False
) -> list[Comparison]:
    """The comparisons between two different watched names next to each other in one of
    the `clauses` of `text` (offsets), which are clauses of questions if `asked`."""
    found: list[Comparison] = []
    for c_start, c_end in clauses:
        inside = [sp for sp in tags.spans if c_start <= sp.start and sp.end <= c_end]
        for first, second in itertools.pairwise(inside):
            if first.name == second.name:
                continue
            compared = _compare(text, c_start, first, second, asked=asked)
            if compared is not None:
                kept, shift, cue, choice = compared
                other = second if kept is first else first
                yes_no = False
                if asked:
                    cue = f"{cue} … ?"  # the question mark is part of what it says
                    yes_no = not choice and not _LOADED.match(normalise(text[c_start:c_end]))
                found.append(
                    Comparison(
                        kept.name, other.name, shift, cue, c_start, c_end, asked, choice, yes_no
                    )
                )
    return found


def compared_names(
    text: str,
    tags: TagResult,
    sentences: Sequence[tuple[int, int]],
    clauses: Sequence[tuple[int, int]],
    asked_clauses: Sequence[tuple[int, int]] = (),
) -> dict[str, ComparedName]:
    """The names to judge by their comparisons (found in `clauses`, and in the clauses of
    questions, `asked_clauses`): those every sentence naming them compares, always in the
    same role."""
    found = find_comparisons(text, tags, clauses)
    found += find_comparisons(text, tags, asked_clauses, asked=True)
    comparisons = [_with_what_follows(c, tags, sentences) for c in found]
    out: dict[str, ComparedName] = {}
    for name in dict.fromkeys(n for c in comparisons for n in (c.kept, c.mirrored)):
        own = [c for c in comparisons if name in (c.kept, c.mirrored)]
        readings = {c.reading(name) for c in own}
        naming = {
            (s, e)
            for s, e in sentences
            if any(sp.name == name and s <= sp.start < e for sp in tags.spans)
        }
        compared = {(s, e) for s, e in naming for c in own if s <= c.start < e}
        if len(readings) != 1 or compared != naming:
            continue
        own_clauses = sorted({(c.start, c.end) for c in own})
        out[name] = ComparedName(
            passage=" ".join(text[s:e].strip() for s, e in own_clauses),
            reading=readings.pop(),
            cue=own[0].cue,
        )
    return out


def _with_what_follows(
    comparison: Comparison, tags: TagResult, sentences: Sequence[tuple[int, int]]
) -> Comparison:
    """The comparison read to the end of its sentence when the rest, after a contrasting
    word, names no one else: "X est plus cher que Y mais tellement mieux fini" is about X,
    and what follows "mais" outweighs the comparing words, so they name no winner."""
    end = next((e for s, e in sentences if s <= comparison.start < e), comparison.end)
    if end <= comparison.end or any(comparison.end <= sp.start < end for sp in tags.spans):
        return comparison
    return dataclasses.replace(comparison, end=end, shift=0.0)


def judge_compared(
    head: SentimentHead, probs: NDArray[np.float32], prepared: str, compared: ComparedName
) -> Sentiment:
    """The sentiment toward a compared name, from its clause's probabilities (`probs`,
    one row of `head.probabilities`), with the clause and the comparing words as evidence
    (weighed by the shift they gave)."""
    positive = head.labels.index(SentimentLabel.POSITIVE)
    negative = head.labels.index(SentimentLabel.NEGATIVE)
    reading = compared.reading
    kept = probs.astype(np.float64)
    kept[positive] *= np.exp(reading.shift)
    kept[negative] *= np.exp(-reading.shift)
    doubt = YES_NO_DOUBT if reading.yes_no else SHIFT
    if reading.asked:  # toward neutral: asking is not judging
        kept[[positive, negative]] *= np.exp(-doubt)
    if reading.shift:  # a winner is named: positive against negative only
        kept[[i for i in range(len(kept)) if i not in (positive, negative)]] = 0.0
    kept /= max(float(kept.sum()), 1e-12)
    kept_label = head.labels[int(kept.argmax())]
    final = kept.copy()
    if reading.mirrored:
        final[[positive, negative]] = kept[[negative, positive]]
    [sentiment] = head.labelled(final[None, :].astype(np.float32))
    moved = doubt if reading.asked else abs(reading.shift)
    words = [WeightedWord(text=compared.cue, weight=moved)]
    words += [
        WeightedWord(text=w, weight=weight)
        for w, weight in head.weighed_words(prepared, kept_label, MAX_WORDS - 1)
    ]
    return sentiment.model_copy(
        update={"evidence": Evidence(sentences=[compared.passage], words=words)}
    )
