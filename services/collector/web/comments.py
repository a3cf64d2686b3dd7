"""Comments under an article, from the markup the common blog engines write.

WordPress (`li.comment` / `article.comment-body`), Blogger (`.comment-block`) and
schema.org `Comment` microdata. Pure parsing of an lxml tree: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import lxml.html  # type: ignore[import-untyped]  # no stubs in the venv

from services.collector.web.dates import parse_date

_MAX_COMMENTS = 500

# (comment container, author, date, text), XPath relative to the container.
_PATTERNS: tuple[tuple[str, str, str, str], ...] = (
    (  # WordPress and most themes built on its comment walker
        "//li[contains(concat(' ', normalize-space(@class), ' '), ' comment ')]"
        "[starts-with(@id, 'comment-') or starts-with(@id, 'li-comment-')]",
        ".//*[contains(@class, 'comment-author')]//*[contains(@class, 'fn')]"
        " | .//*[contains(@class, 'comment-author')]//cite",
        ".//time/@datetime",
        ".//*[contains(@class, 'comment-content')] | .//*[@class='comment-body']/p"
        " | .//*[contains(@class, 'comment-text')]",
    ),
    (  # comment bodies of other WordPress comment plugins (Epoch, wpDiscuz-like themes)
        "//article[contains(@class, 'comment-body')]",
        ".//*[contains(@class, 'comment-author')]//a[contains(@class, 'author')]"
        " | .//*[contains(@class, 'comment-author')]//*[contains(@class, 'fn')]",
        ".//time/@datetime",
        ".//*[contains(@class, 'comment-content')]",
    ),
    (  # schema.org microdata
        "//*[@itemtype and contains(@itemtype, 'schema.org/Comment')]",
        ".//*[@itemprop='author']//*[@itemprop='name'] | .//*[@itemprop='author']",
        ".//*[@itemprop='dateCreated' or @itemprop='datePublished']/@datetime"
        " | .//*[@itemprop='dateCreated' or @itemprop='datePublished']/@content",
        ".//*[@itemprop='text' or @itemprop='commentText']",
    ),
    (  # Blogger
        "//*[contains(@class, 'comment-thread')]//li[contains(@class, 'comment')]",
        ".//*[contains(@class, 'user')]",
        ".//*[contains(@class, 'datetime')]//a/@title",
        ".//*[contains(@class, 'comment-content')]",
    ),
)


@dataclass(frozen=True)
class Comment:
    """One comment as written on the page."""

    text: str
    position: int
    author: str | None = None
    published_at: datetime | None = None
    platform_id: str | None = None
    parent_id: str | None = None


def find_comments(tree: lxml.html.HtmlElement, *, page_url: str | None = None) -> list[Comment]:
    """The page's comments in page order, from the first markup pattern that finds any."""
    for container, author_xp, date_xp, text_xp in _PATTERNS:
        nodes = tree.xpath(container)
        found = list(_read(nodes[:_MAX_COMMENTS], author_xp, date_xp, text_xp))
        if found:
            return found
    return []


def _read(
    nodes: list[lxml.html.HtmlElement], author_xp: str, date_xp: str, text_xp: str
) -> Iterator[Comment]:
    position = 0
    for node in nodes:
        text = _first_text(node, text_xp, own_only=True)
        if not text:
            continue
        position += 1
        dates = node.xpath(date_xp)
        parent = _parent_comment_id(node)
        yield Comment(
            text=text,
            position=position,
            author=_first_text(node, author_xp) or None,
            published_at=parse_date(str(dates[0])) if dates else None,
            platform_id=node.get("id") or None,
            parent_id=parent,
        )


def _first_text(node: lxml.html.HtmlElement, xpath: str, *, own_only: bool = False) -> str:
    for match in node.xpath(xpath):
        if not isinstance(match, lxml.html.HtmlElement):
            continue
        if own_only and _nested_comment(match, node):
            continue
        text = _text(match)
        if text:
            return text
    return ""


def _nested_comment(match: lxml.html.HtmlElement, owner: lxml.html.HtmlElement) -> bool:
    """True when `match` belongs to a reply nested inside `owner`, not to owner itself."""
    for ancestor in match.iterancestors():
        if ancestor is owner:
            return False
        if ancestor.tag == "li" and "comment" in (ancestor.get("class") or ""):
            return True
    return False


def _parent_comment_id(node: lxml.html.HtmlElement) -> str | None:
    for ancestor in node.iterancestors():
        if ancestor.tag == "li" and re.match(r"(li-)?comment-\d+", ancestor.get("id") or ""):
            return str(ancestor.get("id"))
    return None


def _text(node: lxml.html.HtmlElement) -> str:
    parts: list[str] = []
    for piece in node.itertext():
        parts.append(piece)
    lines = [" ".join(line.split()) for line in "".join(parts).splitlines()]
    return "\n".join(line for line in lines if line).replace("\x00", "")[:20_000]
