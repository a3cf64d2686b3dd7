"""Forum threads: each post an item, on real captures (phpBB, XenForo) and on pages and
payloads written in the engines' published shapes (vBulletin, Invision, Discourse)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.collector.web.detect import detect
from services.collector.web.forums import ENGINES, load_selectors, parse_thread, thread_items
from services.collector.web.forums.discourse import (
    more_posts_url,
    parse_topic,
    topic_id,
    topic_json_url,
)
from tests.web.conftest import page_bytes

KATZEN = "https://www.katzen-forum.net/threads/jede-nacht-verliert-pepe-soviel-dreck-aus-dem-fell.230143/"


@pytest.mark.parametrize(
    ("relative", "engine"),
    [
        ("trafilatura/foren.myoos.de.html", "phpbb"),
        ("trafilatura/katzen-forum.net-Pepe.html", "xenforo"),
        ("trafilatura/villagersandheroes.com.forums.patchnotes.html", "xenforo"),
        ("forums/vbulletin-thread.html", "vbulletin"),
        ("forums/invision-topic.html", "invision"),
        ("trafilatura/lemire.me.json.html", None),
        ("readability/lemonde-1.html", None),
    ],
)
def test_engine_detection(relative: str, engine: str | None) -> None:
    detection = detect(page_bytes(relative), content_type="text/html; charset=utf-8")
    assert detection.engine == engine
    assert detection.kind == ("forum" if engine else "article")


def test_detection_of_discourse_and_feeds() -> None:
    head = b'<html><head><meta name="generator" content="Discourse 3.2.0"></head></html>'
    assert detect(head, url="https://f.example/t/slug/42").engine == "discourse"
    assert detect(head, url="https://f.example/latest").kind == "unknown"
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>'
    assert detect(rss, content_type="text/xml").kind == "feed"


def test_xenforo_posts_with_authors_dates_positions_and_replies() -> None:
    thread = parse_thread(
        page_bytes("trafilatura/katzen-forum.net-Pepe.html"),
        url=KATZEN,
        selectors=ENGINES["xenforo"],
    )
    assert thread.title == "Jede Nacht verliert Pepe soviel Dreck aus dem Fell"
    assert len(thread.posts) == 18
    first = thread.posts[0]
    assert (first.author, first.position, first.post_id) == ("Pepemaus", 1, "6331411")
    assert first.published_at == datetime(2018, 9, 27, 12, 51, 9, tzinfo=UTC)
    assert first.text.startswith("Hallo,\nPepe schläft nachts mit mir")
    assert [p.position for p in thread.posts] == list(range(1, 19))
    replies = [p for p in thread.posts if p.reply_to]
    assert {p.reply_to for p in replies} == {"6331459", "6331930"}
    # a quoted post is not repeated in the reply's text
    quoted = next(p for p in thread.posts if p.post_id == "6331459")
    reply = next(p for p in replies if p.reply_to == "6331459")
    assert quoted.text.splitlines()[0] not in reply.text

    items = thread_items(thread, source_name="katzen")
    assert len({item.mention_id for item in items}) == 18
    assert items[0].thread is not None and items[0].thread.item_kind == "post"
    answer = items[thread.posts.index(reply)]
    assert answer.title == f"Re: {thread.title}"
    assert answer.thread is not None
    assert answer.thread.parent_id == items[thread.posts.index(quoted)].platform_id
    assert answer.thread.root_id == KATZEN


def test_phpbb_post() -> None:
    url = "https://foren.myoos.de/viewtopic.php?f=4&t=167"
    thread = parse_thread(
        page_bytes("trafilatura/foren.myoos.de.html"), url=url, selectors=ENGINES["phpbb"]
    )
    assert thread.title == "Was ist Freie Software"
    [post] = thread.posts
    assert post.author == "r23"
    assert post.published_at == datetime(2009, 1, 21, 5, 42, tzinfo=UTC)
    assert post.url == f"{url}#p453"
    assert "Freie Software ist Software, die ohne Ansicht der Person" in post.text
    assert "Beiträge" not in post.text  # the profile column is not the post


@pytest.mark.parametrize("engine", ["vbulletin", "invision"])
def test_vbulletin_and_invision_threads(engine: str) -> None:
    relative = {
        "vbulletin": "forums/vbulletin-thread.html",
        "invision": "forums/invision-topic.html",
    }
    thread = parse_thread(
        page_bytes(relative[engine]),
        url="https://forum.example.org/thread/77",
        selectors=ENGINES[engine],
    )
    assert thread.title == "Veloria battery drain"
    assert [p.author for p in thread.posts] == ["rider_ann", "mechanic_bob"]
    assert thread.posts[0].text == "My Veloria loses half its range in winter."
    assert thread.posts[1].text == "Cold weather does that to every lithium battery."
    assert thread.posts[1].reply_to == thread.posts[0].post_id
    assert thread.posts[1].published_at is not None
    assert thread.posts[1].published_at.hour == 10
    assert thread.next_page_url is not None and "2" in thread.next_page_url


def test_discourse_topic_from_its_json_api() -> None:
    url = "https://forum.example.org/t/velo-electrique/4242"
    assert topic_id(url) == 4242
    assert topic_json_url(url + "/3?u=x") == "https://forum.example.org/t/4242.json"
    payload = json.loads(page_bytes("forums/discourse-topic.json"))
    thread = parse_topic(payload, url=url)
    assert thread.title == "Vélo électrique Veloria : la batterie ne tient pas"
    assert [p.position for p in thread.posts] == [1, 2, 4]  # the empty system post is skipped
    second = thread.posts[1]
    assert (second.author, second.reply_to) == ("bob42", "1")
    assert second.text == "Le froid fait ça à toutes les batteries lithium."
    assert second.published_at == datetime(2024, 3, 2, 10, 1, 12, tzinfo=UTC)
    items = thread_items(thread, source_name="forum")
    assert items[1].thread is not None and items[1].thread.parent_id == items[0].platform_id
    seen = {91001, 91002, 91003, 91004}
    assert more_posts_url(url, payload, seen=seen) == (
        "https://forum.example.org/t/4242/posts.json?post_ids%5B%5D=91005&post_ids%5B%5D=91006"
    )
    assert more_posts_url(url, payload, seen=seen | {91005, 91006}) is None


def test_any_forum_from_yaml_selectors() -> None:
    selectors = load_selectors(
        """
        forum:
          post: "article.message--post"
          text: ".bbWrapper"
          author: "::attr(data-author)"
          date: "time.u-dt/@datetime"
          title: "h1.p-title-value"
          remove: ["blockquote"]
        """
    )
    thread = parse_thread(
        page_bytes("trafilatura/katzen-forum.net-Pepe.html"), url=KATZEN, selectors=selectors
    )
    assert thread.engine == "selectors"
    assert len(thread.posts) == 18
    assert thread.posts[0].author == "Pepemaus"


def test_bad_selectors_are_refused_with_the_selector_named() -> None:
    with pytest.raises(ValueError, match="invalid selector"):
        load_selectors({"post": "div[", "text": "p"})
    with pytest.raises(ValueError, match="post"):
        load_selectors("text: p")
