"""The terms the n-gram sentiment model reads, each with the words of the text it comes
from, so a label can be explained by the words that weighed most.

Terms version 1: character 2- to 5-grams of each lower-cased word padded with spaces
("c" prefix), word unigrams ("w "), word bigrams ("b "). Version 2 adds cues the plain
n-grams see badly in tweets: words in the scope of a negation ("pas mal du tout", "not
bad": "n mal", "n bad"), emoji and emoticons by polarity, letters repeated for emphasis
("trooop" is read as "troop" plus an "x elong" cue), shouting in capitals, "!" and "?".
"""

from __future__ import annotations

import re
from itertools import pairwise

TERMS_VERSIONS = (1, 2)

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~…«»“”‘’"
_ELONGATED = re.compile(r"(\w)\1{2,}")
_NEGATIONS = frozenset(
    [
        "ne",
        "n",
        "pas",
        "jamais",
        "rien",
        "aucun",
        "aucune",
        "personne",
        "ni",
        "sans",
        "plus",
        "non",
        "nope",
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "nor",
        "without",
        "cannot",
        "t",
        "dont",
        "don",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "cant",
        "wont",
        "aint",
    ]
)
_SCOPE_ENDS = frozenset(".,!?;:()[]\"'…")
_NEGATION_SCOPE = 4  # words after a negation that it colours
_POSITIVE_EMOJI = frozenset(
    "😀😃😄😁😆😊☺😍🥰😘😗😙😚🙂🤗👍👌👏🙌💪🎉🎊❤♥💕💖💗💙💚💛💜🧡😎🤩😻✨💯✌😋😇🥳🙏⭐🌟😉"
)
_NEGATIVE_EMOJI = frozenset("😡😠🤬😤😢😭😞😔😟😕🙁☹😣😖😫😩😒🙄👎💔😱😨😰😥😓🤮🤢💩😬😪😑😐")
_POSITIVE_EMOTICON = re.compile(r"(?::|;|=)-?(?:\)|d\b|p\b|\]|3)|<3|\^\^|\^_\^|xd\b", re.I)
_NEGATIVE_EMOTICON = re.compile(r"(?::|=)'?-?(?:\(|\[|/|\\|\|)|>:|d:", re.I)


def surfaced_terms(text: str, version: int = 1) -> list[tuple[str, str]]:
    """(term, the word or phrase of `text` it comes from) for every term of a prepared
    text, in the order the model counts them."""
    if version not in TERMS_VERSIONS:
        raise ValueError(f"unknown n-gram terms version {version}")
    lowered = text.lower()
    if version >= 2:
        lowered = _ELONGATED.sub(r"\1\1", lowered)
    out: list[tuple[str, str]] = []
    for word in lowered.split():
        padded = f" {word} "
        surface = word.strip(_PUNCTUATION) or word  # "catastrophe," reads "catastrophe"
        for n in range(2, 6):
            if len(padded) < n:
                break
            out.extend(("c" + padded[i : i + n], surface) for i in range(len(padded) - n + 1))
    tokens = _TOKEN.findall(lowered)
    out.extend(("w " + t, t) for t in tokens)
    out.extend((f"b {a} {b}", f"{a} {b}") for a, b in pairwise(tokens))
    if version >= 2:
        out.extend(_cues(text, tokens))
    return out


def terms(text: str, version: int = 1) -> list[str]:
    """The terms of a prepared text (see `surfaced_terms`)."""
    if version == 1:
        return _terms_v1(text)
    return [term for term, _ in surfaced_terms(text, version)]


def _terms_v1(text: str) -> list[str]:
    # The hot path of version 1, without building the surfaces.
    text = text.lower()
    out: list[str] = []
    for word in text.split():
        padded = f" {word} "
        for n in range(2, 6):
            if len(padded) < n:
                break
            out.extend("c" + padded[i : i + n] for i in range(len(padded) - n + 1))
    tokens = _TOKEN.findall(text)
    out.extend("w " + t for t in tokens)
    out.extend(f"b {a} {b}" for a, b in pairwise(tokens))
    return out


def _cues(text: str, tokens: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    elongated = _ELONGATED.search(text.lower())
    if elongated:
        out.append(("x elong", elongated.group(0)))
    shouted = [w for w in text.split() if len(w) > 2 and w.isalpha() and w.isupper()]
    out.extend(("x caps", w) for w in shouted[:1])
    if "!" in text:
        out.append(("x excl", "!"))
    if "?" in text:
        out.append(("x quest", "?"))
    for ch in text:
        if ch in _POSITIVE_EMOJI:
            out.append(("x emo+", ch))
        elif ch in _NEGATIVE_EMOJI:
            out.append(("x emo-", ch))
    lowered = text.lower()
    out.extend(("x emo+", m.group(0)) for m in _POSITIVE_EMOTICON.finditer(lowered))
    out.extend(("x emo-", m.group(0)) for m in _NEGATIVE_EMOTICON.finditer(lowered))
    scope = 0
    cue = ""
    for token in tokens:
        if token in _SCOPE_ENDS:
            scope = 0
        elif token in _NEGATIONS:
            scope, cue = _NEGATION_SCOPE, token
        elif scope:
            out.append(("n " + token, f"{cue} … {token}"))
            scope -= 1
    return out
