"""Articles from HTML pages: main text, title, author, date, language, and comments.

The main text comes from trafilatura (a maintained extractor, with its own fallbacks);
a short list of multilingual boilerplate lines it tends to keep ("À lire aussi...",
photo credits, "you must be logged in to comment") is dropped afterwards. Comments
come from common comment markup (WordPress, Blogger, schema.org `Comment`), each its
own item linked to the article.

Hostile input is bounded: pages over `max_bytes` are refused with an `ExtractionError`
before parsing (a 5 MB page takes trafilatura ~20 s), and trees too deep for lxml give
"no article text found" instead of a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import lxml.html  # type: ignore[import-untyped]  # no stubs in the venv
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from services.collector.web.comments import Comment, find_comments
from services.collector.web.dates import parse_date
from services.collector.web.html_tree import load_tree

if TYPE_CHECKING:  # imported when making items: pool workers only extract
    from services.core.models import RawItem

MAX_HTML_BYTES = 2 * 1024 * 1024
_MAX_TEXT_CHARS = 200_000

# Lines trafilatura keeps although a reader sees them as page furniture, in the
# languages Veille watches. Anchored at the line start, so a sentence quoting them
# in the middle of a paragraph stays.
_BOILERPLATE_LINE = re.compile(
    r"""^\s*(?:
        (?:à|a)\s+lire\s+(?:aussi|également|egalement)\b
      | lire\s+(?:aussi|également|la\s+suite)\b
      | voir\s+aussi\b | read\s+(?:also|more|next)\b | see\s+also\b | related\s*:
      | (?:crédits?|credits?)\s+(?:photos?|images?)\b | photo\s+credits?\b
      | image\s+illustrative\b | illustration\s*: | ©\s
      | (?:du\s+musst|sie\s+müssen|you\s+must|vous\s+devez)\b.{0,40}
        (?:eingeloggt|angemeldet|logged\s+in|log\s+in|connecté|identifié)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# A short metadata line: "January 13, 2020 | categories: Python | View Comments".
_META_LINE = re.compile(
    r"(?:\|\s*)?(?:view|show|leave\s+a|post\s+a|\d+)\s+comments?\s*$"
    r"|\bcategor(?:y|ies)\s*:.*\|",
    re.IGNORECASE,
)


class ExtractionError(Exception):
    """The page could not be read as an article; `str(error)` is for people."""


@dataclass(frozen=True)
class Article:
    """What a reader takes from an article page."""

    url: str | None
    title: str
    text: str
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    comments: tuple[Comment, ...] = ()


def extract_article(
    html: bytes | str, *, url: str | None = None, max_bytes: int = MAX_HTML_BYTES
) -> Article:
    """Extracts an article and its comments; raises ExtractionError when there is none."""
    size = len(html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html)
    if size > max_bytes:
        raise ExtractionError(
            f"page too large: {size / 1048576:.1f} MB (limit {max_bytes / 1048576:.1f} MB)"
        )
    tree = parse_html(html)
    if tree is None:
        raise ExtractionError("not an HTML page (or nested too deeply to parse)")
    language = _declared_language(tree)
    comments = tuple(find_comments(tree, page_url=url))
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        config=_config(),
    )
    result: dict[str, Any] = {}
    if isinstance(document, dict):
        result = document
    elif document is not None:
        result = document.as_dict()
    text = clean_text(str(result.get("text") or ""))
    if not text:
        raise ExtractionError("no article text found")
    return Article(
        url=url,
        title=_clean_field(result.get("title")) or "",
        text=text[:_MAX_TEXT_CHARS],
        author=_clean_field(result.get("author")),
        published_at=_to_datetime(result.get("date")),
        language=language,  # only what the page declares: the analyzer identifies the rest
        site_name=_clean_field(result.get("sitename")),
        comments=comments,
    )


def parse_html(html: bytes | str) -> lxml.html.HtmlElement | None:
    """Parses HTML leniently; None when nothing usable comes out."""
    try:
        # trafilatura's decoding and repairs, with a faster element class lookup
        tree = load_tree(html)
    except (etree.ParserError, ValueError, TypeError, etree.XMLSyntaxError):
        return None
    return tree if isinstance(tree, lxml.html.HtmlElement) else None


def clean_text(text: str) -> str:
    """Drops boilerplate lines and characters no database stores."""
    kept = [
        line
        for line in text.replace("\x00", "").splitlines()
        if not _BOILERPLATE_LINE.match(line) and not (len(line) < 160 and _META_LINE.search(line))
    ]
    return "\n".join(kept).strip()


def article_items(article: Article, *, source_name: str, source_kind: str = "web") -> list[RawItem]:
    """The article as a post item, followed by one comment item per comment."""
    from services.core.models import RawItem, ThreadLink

    root_id = article.url
    items = [
        RawItem(
            source_kind=source_kind,
            source_name=source_name,
            platform_id=article.url,
            url=article.url,
            title=article.title,
            text=article.text,
            author=article.author,
            published_at=article.published_at,
            language=article.language,
            thread=ThreadLink(item_kind="article", root_id=root_id, url=article.url),
        )
    ]
    for comment in article.comments:
        comment_id = f"{article.url}#{comment.platform_id or f'comment-{comment.position}'}"
        parent = f"{article.url}#{comment.parent_id}" if comment.parent_id else root_id
        items.append(
            RawItem(
                source_kind=source_kind,
                source_name=source_name,
                platform_id=comment_id,
                url=comment_id if article.url else None,
                title=f"Re: {article.title}" if article.title else "",
                text=comment.text,
                author=comment.author,
                published_at=comment.published_at,
                language=article.language,
                thread=ThreadLink(
                    item_kind="comment", parent_id=parent, root_id=root_id, url=article.url
                ),
            )
        )
    return items


@cache
def _config() -> Any:
    config = use_config()
    # trafilatura's timeout uses signals (main thread only); we bound input size instead.
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


def _declared_language(tree: lxml.html.HtmlElement) -> str | None:
    for value in (
        tree.get("lang"),
        tree.get("xml:lang"),
        *tree.xpath("//meta[@http-equiv='content-language']/@content"),
        *tree.xpath("//meta[@property='og:locale']/@content"),
    ):
        code = re.split(r"[-_]", str(value or "").strip().lower(), maxsplit=1)[0]
        if re.fullmatch(r"[a-z]{2,3}", code):
            return code
    return None


def _clean_field(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split()).replace("\x00", "")
    return text[:500] or None


def _to_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return parse_date(str(value)) if value else None
