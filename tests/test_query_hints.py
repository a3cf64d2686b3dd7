"""The hints of filters that name nothing known, on parsed queries (no store)."""

from __future__ import annotations

import pytest

from services.core.brand_names import BrandNames
from services.core.models import Brand, Competitor
from services.core.query import parse_query
from services.core.query.hints import Known, name_warning, query_warnings

KNOWN = Known(
    names=BrandNames(
        [Brand(name="Veloria", aliases=["@veloria", "Veloria Bikes"])],
        [Competitor(name="Trekko"), Competitor(name="Voltaire Cycles", aliases=["Voltaire"])],
    ),
    topics=["delivery", "price"],
)


@pytest.mark.parametrize(
    "query",
    [
        "brand:veloria",
        "marque:VÉLORIA",
        'competitor:"voltaire cycles"',
        "negative:Trekko",
        "brand:velo*",
        "topic:deliv*",
        "lang:en",
        "lang:f*",
        "retard -promo source:blog",
    ],
)
def test_known_names_give_no_warning(query: str) -> None:
    assert query_warnings(parse_query(query), KNOWN) == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("brand:Velorya", "did you mean Veloria?"),
        ("NOT brand:Velorya", "no brand is named 'velorya'"),  # negated: still a typo
        ("brand:@veloria", "alias of Veloria; mentions carry the name: use brand:Veloria"),
        ("competitor:voltaire", 'use competitor:"Voltaire Cycles"'),
        ("brand:Trekko", "a competitor, not a brand: use competitor:trekko"),
        ("competitor:Veloria", "a brand, not a competitor: use brand:veloria"),
        ("positive:Trekk", "did you mean Trekko?"),
        ("topic:livraison", "no topic 'livraison' (topics: delivery, price)"),
        ("lang:français", "use lang:fr"),
        ("lang:klingon", "lang takes an ISO 639-1 code such as fr or en"),
        ("brand:zz*", "no brand is named 'zz'"),
    ],
)
def test_unknown_names_say_what_to_write(query: str, fragment: str) -> None:
    [line] = query_warnings(parse_query(query), KNOWN)
    assert fragment in line, line


def test_one_line_per_distinct_filter() -> None:
    lines = query_warnings(parse_query("brand:Velorya OR brand:velorya topic:x"), KNOWN)
    assert len(lines) == 2


def test_toward_names_any_brand_or_competitor() -> None:
    assert name_warning("trekko", KNOWN, label="toward=trekko") is None
    line = name_warning("Velorya", KNOWN, label="toward=Velorya")
    assert line is not None and line.startswith("toward=Velorya: no brand or competitor")
