"""The faster page loader builds the tree trafilatura's own loader builds."""

from __future__ import annotations

import lxml.html  # type: ignore[import-untyped]
import pytest
from lxml import etree
from trafilatura.utils import load_html

from services.collector.web.html_tree import load_tree
from tests.web.conftest import page_bytes


@pytest.mark.parametrize(
    "relative",
    [
        "trafilatura/bondyblog.fr.paris-8.html",
        "trafilatura/katzen-forum.net-Pepe.html",
        "readability/wordpress.html",
    ],
)
def test_same_tree_as_trafilaturas_loader(relative: str) -> None:
    body = page_bytes(relative)
    ours, theirs = load_tree(body), load_html(body)
    assert ours is not None and theirs is not None
    assert etree.tostring(ours) == etree.tostring(theirs)
    assert all(isinstance(e, lxml.html.HtmlElement) for e in ours.iter("div", "p", "form"))


@pytest.mark.parametrize(
    "odd",
    [
        b"plain words, no markup",
        b"<p>a fragment alone</p>",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>\u00e9t\u00e9</p></body></html>",
        b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00",
    ],
)
def test_odd_input_is_read_as_trafilatura_reads_it(odd: bytes | str) -> None:
    ours, theirs = load_tree(odd), load_html(odd)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert etree.tostring(ours) == etree.tostring(theirs)
