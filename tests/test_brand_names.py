"""The one resolver of user-typed brand names (services.core.brand_names)."""

from __future__ import annotations

import pytest

from services.core.brand_names import BrandNames, UnknownBrand, names_in
from services.core.models import Brand, Competitor

NAMES = BrandNames(
    [
        Brand(name="Veloria", aliases=["@veloria", "Veloria Bikes"], competitors=["Trekko"]),
        Brand(name="Société Générale", aliases=["SocGen"]),
    ],
    [Competitor(name="Trekko"), Competitor(name="Voltaire Cycles", aliases=["Voltaire"])],
)


@pytest.mark.parametrize(
    ("typed", "name", "role", "by_alias"),
    [
        ("Veloria", "Veloria", "brand", False),
        ("VÉLORIA", "Veloria", "brand", False),
        ("  veloria   bikes ", "Veloria", "brand", True),
        ("@VELORIA", "Veloria", "brand", True),
        ("societe generale", "Société Générale", "brand", False),
        ("socgen", "Société Générale", "brand", True),
        ("trekko", "Trekko", "competitor", False),
        ("voltaire", "Voltaire Cycles", "competitor", True),
    ],
)
def test_a_name_or_alias_resolves_to_the_declared_name_and_role(
    typed: str, name: str, role: str, by_alias: bool
) -> None:
    found = NAMES.resolve(typed)
    assert (found.name, found.role, found.by_alias) == (name, role, by_alias)


def test_a_name_wins_over_another_entrys_alias() -> None:
    names = BrandNames([Brand(name="Veloria", aliases=["Trekko"])], [Competitor(name="Trekko")])
    assert names.resolve("trekko").role == "competitor"
    assert names.resolve("trekko", ("brand",)).name == "Veloria"  # asked as a brand


def test_an_unknown_name_lists_the_known_ones_and_the_closest() -> None:
    with pytest.raises(UnknownBrand) as caught:
        NAMES.resolve("Velorya")
    assert str(caught.value) == (
        "no brand or competitor is named 'Velorya' (brands: Veloria, Société Générale; "
        "competitors: Trekko, Voltaire Cycles); did you mean Veloria?"
    )
    assert caught.value.found is None
    with pytest.raises(UnknownBrand, match=r"'Pear' \(brands: .*\)$"):
        NAMES.resolve("Pear")  # nothing close: no guess


def test_a_competitor_asked_as_a_brand_is_unknown_but_found() -> None:
    with pytest.raises(UnknownBrand, match="no brand is named 'voltaire'") as caught:
        NAMES.resolve("voltaire", ("brand",))
    assert caught.value.found is not None and caught.value.found.name == "Voltaire Cycles"


def test_merged_names_are_the_yamls_and_those_added_which_win() -> None:
    merged = BrandNames.merged(
        brands=[Brand(name="Veloria")],
        competitors=[Competitor(name="Trekko")],
        added_brands=[Brand(name="Veloria", aliases=["VLR"]), Brand(name="Nouvelle")],
        added_competitors=[],
    )
    assert [w.name for w in merged.watched()] == ["Veloria", "Nouvelle", "Trekko"]
    assert merged.resolve("vlr").name == "Veloria"  # the API's edit, with its alias


def test_a_prefix_finds_the_first_name_starting_so() -> None:
    assert NAMES.find("volt", prefix=True) is not None
    assert NAMES.find("volt") is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Merci @Veloria pour le SAV !", True),
        ("J'ai testé les VÉLORIA BIKES hier", True),  # a two-word alias, case aside
        ("#veloria au top", True),
        ("Superbe vélo, rien à redire", False),
        ("Velorianne est une autre marque", False),  # a longer word is not the name
        ("Veloria", True),
        ("", False),
    ],
)
def test_names_in_finds_the_name_or_an_alias_as_whole_words(text: str, named: bool) -> None:
    assert names_in(text, NAMES.brands[0]) is named
