"""Article extraction on real pages fetched from a local server, and on hostile HTML."""

from __future__ import annotations

import time

import pytest

from services.collector.fetching import fetch
from services.collector.web.extract import (
    ExtractionError,
    article_items,
    clean_text,
    extract_article,
)
from services.core.settings import CollectorSettings
from tests.httpserver import HTTPTestServer
from tests.web.conftest import gold_for, page_bytes, serve_page

SELECTION = [
    # French articles
    "bondyblog.fr.paris-8.html",
    "regards.fr.enquetes.html",
    "madame.lefigaro.fr.dintestin.html",
    "soundofscience.fr.1927.html",
    # blogs
    "caktusgroup.com.django.html",
    "lemire.me.json.html",
    # forum threads
    "foren.myoos.de.html",
    "katzen-forum.net-Pepe.html",
    "villagersandheroes.com.forums.patchnotes.html",
    "wolfsrebellen-netz.forumieren.com.regeln.html",
]


@pytest.mark.parametrize("file_name", SELECTION)
def test_snippets_found_and_boilerplate_left_out(
    file_name: str, server: HTTPTestServer, settings: CollectorSettings
) -> None:
    page_url, entry = gold_for(file_name)
    local = serve_page(server, "/article", f"trafilatura/{file_name}")
    article = extract_article(fetch(local, settings=settings).body, url=page_url)
    text = "\n".join([article.text, *(comment.text for comment in article.comments)])
    assert [s for s in entry["with"] if s not in text] == []
    assert [s for s in entry["without"] if s in text] == []


def test_metadata_of_a_french_article() -> None:
    article = extract_article(page_bytes("readability/lemonde-1.html"), url="https://lemonde.fr/a")
    title = "Le projet de loi sur le renseignement massivement approuvé à l'Assemblée"
    assert article.title == title
    assert article.author is not None and "Martin Untersinger" in article.author
    assert article.language == "fr"
    assert article.published_at is not None and article.published_at.year == 2015
    assert "Les députés ont, sans surprise, adopté" in article.text


def test_comments_become_items_linked_to_their_article() -> None:
    url = "https://lemire.me/blog/2019/08/02/json-parsing-simdjson-vs-json-for-modern-c/"
    article = extract_article(page_bytes("trafilatura/lemire.me.json.html"), url=url)
    items = article_items(article, source_name="lemire")
    post, comments = items[0], items[1:]
    assert post.thread is not None and post.thread.item_kind == "article"
    assert len(comments) == 5
    first = comments[0]
    assert first.author == "degski"
    assert first.published_at is not None
    assert first.published_at.isoformat().startswith("2019-08-03")
    assert first.thread is not None
    assert first.thread.item_kind == "comment"
    assert first.thread.root_id == url and first.thread.parent_id == url
    # a reply names the comment it answers
    reply = comments[2]
    assert reply.author == "Daniel Lemire"
    assert reply.thread is not None and reply.thread.parent_id == f"{url}#comment-422154"
    assert len({item.mention_id for item in items}) == len(items)


def test_comments_of_a_wordpress_plugin() -> None:
    article = extract_article(
        page_bytes("readability/wordpress.html"), url="https://wptavern.com/a"
    )
    assert len(article.comments) == 13
    assert article.comments[0].author == "Sallie Goetsch (rhymes with sketch)"
    assert "no demand for WordPress developers" in article.comments[0].text
    assert "no demand for WordPress developers" not in article.text


def test_boilerplate_lines_are_dropped_but_sentences_kept() -> None:
    text = "Le texte.\nÀ lire aussi » Autre chose\nCrédits photos : Agence\nOn lit aussi ceci."
    assert clean_text(text) == "Le texte.\nOn lit aussi ceci."


def test_scripts_are_not_text() -> None:
    body = "<p>Une phrase assez longue pour être retenue comme le texte principal.</p>" * 5
    html = f"<html><head><script>var secret = 'leak';</script></head><body><article>{body}"
    html += "<script>document.write('leak2')</script></article></body></html>"
    article = extract_article(html, url="https://example.org/a")
    assert "leak" not in article.text
    assert "texte principal" in article.text


def test_huge_nesting_gives_a_clear_error_quickly() -> None:
    html = b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=r"no article text|nested too deeply"):
        extract_article(html + b"</body></html>")
    assert time.monotonic() - started < 5


def test_a_5_mb_page_is_refused_before_parsing() -> None:
    html = b"<html><body><article>" + b"<p>Some words in a paragraph.</p>" * 170_000
    assert len(html) > 5_000_000
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=r"page too large: 5\.\d MB \(limit 2\.0 MB\)"):
        extract_article(html)
    assert time.monotonic() - started < 1


def test_not_html_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError):
        extract_article(b"")
    with pytest.raises(ExtractionError):
        extract_article(b"\x00\x01\x02 binary")
