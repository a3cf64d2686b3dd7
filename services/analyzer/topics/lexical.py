"""The lexical channel of topics: words a post shares with one topic's own wording.

The heads read e5 vectors, which blur explicit wording: "you have now lost my bag" is
near every travel complaint, and a short taxonomy's heads leave it under the
threshold. A word the user wrote for one topic only is strong evidence, so each topic
gets a bonus on its logit for the stems a post shares with that topic's name,
description and examples and with no other topic of the taxonomy (a word two topics
share says nothing about which one; "lost" in "lost luggage" and "lost my bag").

Words are folded as everywhere else (services.core.text.fold: case, accents, "œ" -> "oe"),
then stemmed by Snowball's English and French stemmers (PyStemmer, a few microseconds a
post): every word is stemmed both ways, as posts mix languages and we need no language
detection here; a word whose two stems both match counts 1, one stem 0.5. Words of other
scripts match by their folded form only (the stemmers leave them as they are). Stop words
(spaCy's English and French lists), words under three letters, words with digits ("5G"),
handles and links are left out (words of hashtags count). The bonus is `LEXICAL_WEIGHT`
per matching word, at most `MAX_MATCHES`; the weight was chosen on
benchmarks/eval_topics_dev.py's dev split (pooled micro-F1 0.52 -> 0.62 with the default
rule unchanged; leave one taxonomy out chose it every time, 0.60), the cap made no
difference there; see docs/model-card.md, Topics.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np
import Stemmer
from numpy.typing import NDArray

from services.core.text import fold
from services.core.topics import Topic

LEXICAL_WEIGHT = 1.0  # logit per matching stem (English and French stems count half each)
MAX_MATCHES = 3.0  # a long post repeating the topic's words gets no more than this

_NOISE = re.compile(r"https?://\S+|@\w+")  # links and handles (a hashtag's word counts)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")  # "week-end" is one word, "weekend"


@cache
def _stop_words() -> frozenset[str]:
    """spaCy's English and French stop words, folded. Imported on first use: importing spaCy
    takes seconds and hundreds of MB, and commands that only load a topic model (`veille
    config check`, tests/test_hostile_config.py) never read a text's words."""
    from spacy.lang.en.stop_words import STOP_WORDS as english
    from spacy.lang.fr.stop_words import STOP_WORDS as french

    return frozenset(fold(w) for w in english | french)


# A PyStemmer instance must not be called from two threads at once (its docs), and the
# analyzer runs in worker threads: one pair per thread.
_stemmers = threading.local()


def _stemmer_pair() -> tuple[Stemmer.Stemmer, Stemmer.Stemmer]:
    pair: tuple[Stemmer.Stemmer, Stemmer.Stemmer] | None = getattr(_stemmers, "pair", None)
    if pair is None:
        pair = _stemmers.pair = (Stemmer.Stemmer("english"), Stemmer.Stemmer("french"))
    return pair


def stems(text: str) -> frozenset[str]:
    """The content words of `text`, each as its English ("e:") and French ("f:") stem."""
    # Folded before splitting, so decomposed accents ("re\u0301seau") stay in their word.
    words = [w.replace("-", "") for w in _WORD.findall(fold(_NOISE.sub(" ", text)))]
    stop_words = _stop_words()
    kept = [w for w in words if len(w) >= 3 and w not in stop_words]
    english, french = _stemmer_pair()
    return frozenset(
        [f"e:{s}" for s in english.stemWords(kept)] + [f"f:{s}" for s in french.stemWords(kept)]
    )


class TopicVocabulary:
    """Each topic's distinctive stems, and the bonus they give a post."""

    def __init__(self, vocabularies: Sequence[Iterable[str]]) -> None:
        sets = [frozenset(v) for v in vocabularies]
        shared = Counter(s for v in sets for s in v)
        # Only stems of one topic: close topics' common words give neither a bonus.
        self.stems = [frozenset(s for s in v if shared[s] == 1) for v in sets]

    @classmethod
    def of(cls, topics: Sequence[Topic]) -> TopicVocabulary:
        """From each topic's name, description and examples."""
        return cls(
            [frozenset().union(*(stems(text) for text in (t.name, *t.anchors()))) for t in topics]
        )

    def matches(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(texts, topics) how many distinctive stems each text shares with each topic,
        English and French stems counting half each, at most `MAX_MATCHES`."""
        out = np.zeros((len(texts), len(self.stems)), dtype=np.float32)
        for i, text in enumerate(texts):
            found = stems(text)
            for j, vocabulary in enumerate(self.stems):
                out[i, j] = len(found & vocabulary) / 2
        return np.minimum(out, MAX_MATCHES)

    def bonus(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(texts, topics) what the lexical channel adds to each head's logit."""
        return LEXICAL_WEIGHT * self.matches(texts)
