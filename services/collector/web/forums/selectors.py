"""Forum threads read with CSS or XPath selectors: the engines' built-in sets, and any
other forum configured in YAML, without code.

A selector is XPath when it starts with '/', './', '../', '(', '@' or 'xpath:', else
CSS (which may end with '/@attr' or '::attr(name)'). Within a post, selectors are
relative to the post element. YAML example (a source's options):

    forum:
      post: "div.message"                 # one element per post
      text: ".message-body"
      author: ".author a"
      date: "time/@datetime"              # XPath may end on an attribute
      post_id: "@id"
      title: "h1.thread-title"            # relative to the page
      next_page: "a[rel=next]/@href"      # CSS may end on /@attr too
      reply_to: "blockquote/@data-post"   # optional
      remove: [".signature", "blockquote"] # dropped from the text
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

import lxml.html  # type: ignore[import-untyped]  # no stubs in the venv
import yaml
from cssselect import GenericTranslator, SelectorError
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.collector.web.dates import parse_loose_date
from services.collector.web.forums.model import ForumPost, ForumThread
from services.core.yaml_loading import safe_load_bounded

_MAX_POSTS = 1000
_MAX_POST_CHARS = 50_000


class ForumSelectors(BaseModel):
    """Where a forum's pages keep each part of a post."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: str = "selectors"
    post: str
    text: str
    author: str | None = None
    date: str | None = None
    post_id: str | None = None
    post_id_pattern: str | None = Field(
        default=None, description="regex whose first group is the post id in post_id's value"
    )
    permalink: str | None = None
    position: str | None = None
    reply_to: str | None = None
    reply_to_pattern: str | None = Field(
        default=None, description="regex whose first group is the post id in reply_to's value"
    )
    title: str | None = None
    next_page: str | None = None
    remove: tuple[str, ...] = ()

    @field_validator(
        "post",
        "text",
        "author",
        "date",
        "post_id",
        "permalink",
        "position",
        "reply_to",
        "title",
        "next_page",
    )
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)  # raises ValueError with the selector in the message
        return value

    @field_validator("remove")
    @classmethod
    def _removals_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for selector in value:
            _compile(selector)
        return value


def load_selectors(config: str | dict[str, Any]) -> ForumSelectors:
    """Builds selectors from YAML text or a mapping (a source's `forum:` option)."""
    try:
        data = safe_load_bounded(config) if isinstance(config, str) else config
    except yaml.YAMLError as exc:  # a ValueError for callers, like every other mistake
        raise ValueError(f"forum selectors are not valid YAML: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("forum"), dict):
        data = data["forum"]
    if not isinstance(data, dict):
        raise ValueError("forum selectors must be a mapping (post, text, author, date...)")
    return ForumSelectors.model_validate(data)


def parse_thread(
    page: bytes | str | lxml.html.HtmlElement, *, url: str | None, selectors: ForumSelectors
) -> ForumThread:
    """Reads the posts of one thread page with the given selectors."""
    tree = page if isinstance(page, lxml.html.HtmlElement) else _parse(page)
    posts: list[ForumPost] = []
    for index, node in enumerate(_select(tree, selectors.post)[:_MAX_POSTS], start=1):
        if not isinstance(node, etree._Element):
            continue
        post = _read_post(node, index, url, selectors)
        if post is not None:
            posts.append(post)
    title = _first_string(tree, selectors.title) if selectors.title else None
    if not title:
        title = " ".join((tree.findtext(".//title") or "").split())
    next_page = _first_string(tree, selectors.next_page) if selectors.next_page else None
    return ForumThread(
        title=title[:500],
        url=url,
        engine=selectors.engine,
        posts=tuple(posts),
        next_page_url=urljoin(url or "", next_page) if next_page else None,
    )


def _read_post(
    node: etree._Element, index: int, url: str | None, selectors: ForumSelectors
) -> ForumPost | None:
    text_nodes = [n for n in _select(node, selectors.text) if isinstance(n, etree._Element)]
    if not text_nodes:
        return None
    text = _text(text_nodes[0], selectors.remove)
    if not text:
        return None
    post_id = _first_string(node, selectors.post_id) if selectors.post_id else None
    if post_id and selectors.post_id_pattern:
        match = re.search(selectors.post_id_pattern, post_id)
        post_id = match.group(1) if match else post_id
    permalink = _first_string(node, selectors.permalink) if selectors.permalink else None
    position = index
    if selectors.position:
        digits = re.sub(r"\D", "", _first_string(node, selectors.position) or "")
        position = int(digits) if digits and len(digits) < 9 else index
    reply_to = _first_string(node, selectors.reply_to) if selectors.reply_to else None
    if reply_to and selectors.reply_to_pattern:
        match = re.search(selectors.reply_to_pattern, reply_to)
        reply_to = match.group(1) if match else None
    return ForumPost(
        text=text,
        position=position,
        author=(_first_string(node, selectors.author) or None) if selectors.author else None,
        published_at=parse_loose_date(_first_string(node, selectors.date))
        if selectors.date
        else None,
        post_id=post_id or None,
        url=urljoin(url or "", permalink) if permalink else None,
        reply_to=reply_to or None,
    )


def _parse(page: bytes | str) -> lxml.html.HtmlElement:
    try:
        tree = lxml.html.fromstring(page)
    except (etree.ParserError, ValueError):
        return lxml.html.fromstring("<html></html>")
    return tree if isinstance(tree, lxml.html.HtmlElement) else lxml.html.fromstring("<html/>")


@lru_cache(maxsize=512)
def _compile(selector: str) -> etree.XPath:
    """Compiles a CSS or XPath selector; CSS may end with '/@attr' or '::attr(name)'."""
    source = selector.strip()
    try:
        if source.startswith("xpath:"):
            return etree.XPath(source.removeprefix("xpath:").strip())
        if source == "." or source.startswith(("/", "./", "../", "(", "@")):
            return etree.XPath(source)
        attribute = None
        match = re.search(r"(?:/@|::attr\()([\w:-]+)\)?$", source)
        if match:
            attribute = match.group(1)
            source = source[: match.start()].strip()
            if not source:  # an attribute of the element itself
                return etree.XPath(f"@{attribute}")
        xpath = GenericTranslator().css_to_xpath(source, prefix="descendant-or-self::")
        return etree.XPath(f"{xpath}/@{attribute}" if attribute else xpath)
    except (etree.XPathSyntaxError, SelectorError) as error:
        raise ValueError(f"invalid selector {selector!r}: {error}") from None


def _select(node: etree._Element, selector: str) -> list[Any]:
    result = _compile(selector)(node)
    return list(result) if isinstance(result, list) else [result]


def _first_string(node: etree._Element, selector: str | None) -> str:
    if not selector:
        return ""
    for match in _select(node, selector):
        value = match if isinstance(match, str) else "".join(match.itertext())
        value = " ".join(str(value).split())
        if value:
            return value
    return ""


def _text(node: etree._Element, remove: tuple[str, ...]) -> str:
    if remove:
        node = _copy(node)
        for selector in remove:
            for unwanted in _select(node, selector):
                if isinstance(unwanted, etree._Element):
                    _drop(unwanted)
    lines: list[str] = []
    for block in _block_texts(node):
        line = " ".join(block.split())
        if line:
            lines.append(line)
    return "\n".join(lines).replace("\x00", "")[:_MAX_POST_CHARS]


def _drop(element: etree._Element) -> None:
    """Removes an element but keeps the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _copy(node: etree._Element) -> etree._Element:
    return lxml.html.fromstring(lxml.html.tostring(node))


_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "blockquote", "pre", "tr", "h1", "h2", "h3", "h4"})


def _block_texts(node: etree._Element) -> list[str]:
    """The element's text, with a line break at each block element and <br>."""
    parts: list[str] = []

    def walk(element: etree._Element) -> None:
        if element.tag in ("script", "style", "noscript") or not isinstance(element.tag, str):
            if element.tail and element is not node:
                parts.append(element.tail)
            return
        if element.tag in _BLOCK_TAGS:
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
        if element.tag in _BLOCK_TAGS:
            parts.append("\n")
        if element.tail and element is not node:
            parts.append(element.tail)

    walk(node)
    return "".join(parts).split("\n")
