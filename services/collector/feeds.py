"""Feed parsing: response bytes and headers in, collected items out. No I/O.

RSS 0.9x/1.0/2.0, RDF and Atom go through feedparser; JSON Feed 1.x (which
feedparser does not read) is parsed here. Every item becomes a `RawItem` with plain
text (HTML stripped), an absolute http(s) URL and a timezone-aware UTC date when the
feed gives one. A declared charset that the bytes contradict is corrected
(`charset.reconcile`) and noted. Anything in the input, however broken or hostile,
either yields items (with a warning when the feed was ill-formed) or raises
`FeedParseError`.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit

import feedparser

from services.collector.charset import reconcile
from services.collector.html_text import MAX_TEXT_CHARS, clean, collapse, html_to_text
from services.core.ids import canonical_url
from services.core.models import RawItem, Source

MAX_TITLE_CHARS = 1_000
MAX_AUTHOR_CHARS = 200
MAX_URL_CHARS = 4_096
MAX_ID_CHARS = 2_048
# HTML beyond this many characters cannot add text under MAX_TEXT_CHARS in practice.

_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_LEADING = b" \t\r\n\xef\xbb\xbf"  # whitespace and a UTF-8 byte order mark


class FeedParseError(ValueError):
    """The bytes are not a usable feed; the message starts with 'not a feed: '."""


@dataclass(frozen=True)
class ParsedFeed:
    """The items of one feed document, a warning when it was not well-formed, and a
    note when its declared charset was wrong (the text was read in the right one)."""

    items: list[RawItem]
    warning: str | None = None
    charset_note: str | None = None


def parse_feed(
    body: bytes,
    *,
    source: Source,
    base_url: str,
    headers: Mapping[str, str],
    collected_at: datetime | None = None,
) -> ParsedFeed:
    """Parses an RSS, RDF, Atom or JSON Feed document into items."""
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    try:
        if not body.strip(_LEADING):
            raise FeedParseError("not a feed: empty document")
        fixed = reconcile(body, lowered.get("content-type", ""))
        if fixed.note is not None:
            body = fixed.body
            lowered["content-type"] = fixed.content_type
        if _looks_like_json(body, lowered.get("content-type", "")):
            parsed = _parse_json_feed(body, source=source, base_url=base_url, now=collected_at)
        else:
            parsed = _parse_xml_feed(
                body, source=source, base_url=base_url, headers=lowered, now=collected_at
            )
        return replace(parsed, charset_note=fixed.note) if fixed.note else parsed
    except FeedParseError:
        raise
    except Exception as error:  # hostile input must never escape as anything else
        raise FeedParseError(f"not a feed: unreadable ({type(error).__name__})") from error


# -- XML feeds (feedparser) -----------------------------------------------------------


def _parse_xml_feed(
    body: bytes,
    *,
    source: Source,
    base_url: str,
    headers: dict[str, str],
    now: datetime | None,
) -> ParsedFeed:
    location = headers.get("content-location", "").strip()
    headers["content-location"] = _join(base_url, location) if location else base_url
    try:
        # A BytesIO, never bytes: feedparser would treat bytes as a file name. No HTML
        # sanitising: we keep only text, and html_to_text drops more than it would
        # (feedparser keeps the text inside <iframe>, <noscript>...).
        result = feedparser.parse(
            io.BytesIO(_repair_char_refs(_repair_xml_declaration(body))),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as error:
        raise FeedParseError(f"not a feed: the parser failed ({type(error).__name__})") from error

    feed = result.get("feed") or {}
    entries = result.get("entries") or []
    version = result.get("version") or ""
    # Header and encoding quibbles (feedparser's "ThingsNobodyCaresAboutButMe") are
    # recovered from completely; only real ill-formedness is worth a warning.
    bozo_error = result.get("bozo_exception")
    ill_formed = bool(result.get("bozo")) and not isinstance(
        bozo_error, feedparser.ThingsNobodyCaresAboutButMe
    )
    problem = _bozo_reason(bozo_error) if ill_formed else None
    if not entries and (not version or ill_formed):
        _not_a_feed(body, headers, problem)

    feed_language = _language(feed.get("language"))
    feed_author = _author_of(feed) if version.startswith("atom") else None
    convert = _entry_converter(source, base_url, feed_language, feed_author, now)
    items, skipped = _convert_all(entries, convert)
    if ill_formed and not items:
        _not_a_feed(body, headers, problem)
    warnings = []
    if problem:
        recovered = f"{len(items)} {'item' if len(items) == 1 else 'items'} recovered"
        warnings.append(f"the feed is not well-formed ({problem}); {recovered}")
    warnings.extend(skipped)
    return ParsedFeed(items, "; ".join(warnings) or None)


# feedparser's own pattern (encodings.RE_XML_PI_ENCODING), so we see what it will see.
_XML_ENCODING = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")
_ENCODING_NAME = re.compile(rb"^[A-Za-z][A-Za-z0-9._:-]{0,39}$")


def _repair_xml_declaration(body: bytes) -> bytes:
    """Replaces an encoding declaration that names no encoding at all (binary junk,
    on which feedparser crashes) by UTF-8, which the parsers then check."""
    match = _XML_ENCODING.match(body, 0)
    if match is None or _ENCODING_NAME.match(match[1]):
        return body
    return body[: match.start(1)] + b"utf-8" + body[match.end(1) :]


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _repair_char_refs(body: bytes) -> bytes:
    """Rewrites numeric character references that name no character: UTF-16 surrogate
    pairs written as two references (some CMSs do) become one, and the rest (lone
    surrogates, NUL, beyond U+10FFFF) become U+FFFD; feedparser crashes on them."""
    if b"&#" not in body:
        return body
    out: list[bytes] = []
    position = 0
    pending: re.Match[bytes] | None = None  # a high surrogate waiting for its pair
    for match in _CHAR_REF.finditer(body):
        code = int(match[1], 16) if match[1] else int(match[2])
        if pending is not None:
            high = int(pending[1], 16) if pending[1] else int(pending[2])
            out.append(body[position : pending.start()])
            if match.start() == pending.end() and 0xDC00 <= code <= 0xDFFF:
                combined = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                out.append(b"&#%d;" % combined)
                position, pending = match.end(), None
                continue
            out.append(b"&#xFFFD;")
            position, pending = pending.end(), None
        if 0xD800 <= code <= 0xDBFF:
            pending = match
        elif code == 0 or 0xDC00 <= code <= 0xDFFF or code > 0x10FFFF:
            out.append(body[position : match.start()])
            out.append(b"&#xFFFD;")
            position = match.end()
    if pending is not None:
        out.append(body[position : pending.start()])
        out.append(b"&#xFFFD;")
        position = pending.end()
    out.append(body[position:])
    return b"".join(out)


def _not_a_feed(body: bytes, headers: Mapping[str, str], problem: str | None) -> NoReturn:
    if _looks_like_html(body, headers.get("content-type", "")):
        raise FeedParseError("not a feed: the document is an HTML page")
    raise FeedParseError(f"not a feed: {problem or 'no RSS, Atom or RDF content found'}")


def _entry_converter(
    source: Source,
    base_url: str,
    feed_language: str | None,
    feed_author: str | None,
    now: datetime | None,
) -> Callable[[Any], RawItem | None]:
    def convert(entry: Any) -> RawItem | None:
        link = _http_url(entry.get("link"), base_url)
        if link is None:
            # feedparser resolves against xml:base; fall back to any alternate link.
            for candidate in entry.get("links") or []:
                if candidate.get("rel", "alternate") == "alternate":
                    link = _http_url(candidate.get("href"), base_url)
                    if link:
                        break
        platform_id = None if link else _identifier(entry.get("id"))
        if link is None and platform_id is None:
            return None
        content = _best_content(entry)
        language = (
            source.language
            or _language(entry.get("language") or (content[2] if content else None))
            or feed_language
        )
        return _item(
            source,
            platform_id=platform_id,
            url=link,
            title=_text_of(entry.get("title"), _detail_type(entry.get("title_detail"))),
            text=_text_of(content[0], content[1]) if content else "",
            author=_author_of(entry) or feed_author,
            published_at=_struct_date(entry, ("published", "updated", "created")),
            language=language,
            now=now,
        )

    return convert


def _best_content(entry: Any) -> tuple[str, str, str | None] | None:
    """(value, type, language) of the fullest body: content:encoded/atom content, else
    the summary."""
    for part in entry.get("content") or []:
        value = part.get("value")
        if isinstance(value, str) and value.strip():
            return value, str(part.get("type") or "text/html"), part.get("language")
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        detail = entry.get("summary_detail") or {}
        return summary, _detail_type(detail), detail.get("language")
    return None


def _detail_type(detail: Any) -> str:
    if isinstance(detail, Mapping):
        return str(detail.get("type") or "text/html")
    return "text/html"


def _author_of(node: Any) -> str | None:
    detail = node.get("author_detail")
    name = detail.get("name") if isinstance(detail, Mapping) else None
    return _short_text(name or node.get("author"), MAX_AUTHOR_CHARS)


def _struct_date(entry: Any, fields: tuple[str, ...]) -> datetime | None:
    for name in fields:
        parsed = entry.get(f"{name}_parsed")
        if parsed:
            try:
                year, month, day, hour, minute, second = tuple(parsed)[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                pass
        date = _date_from_text(entry.get(name))
        if date:
            return date
    return None


def _bozo_reason(error: Any) -> str:
    if error is None:
        return "ill-formed"
    text = " ".join(str(error).split())
    # SAX messages look like "<unknown>:5:3: mismatched tag".
    match = re.match(r"<unknown>:(\d+):(\d+): (.*)", text)
    if match:
        text = f"line {match[1]}, column {match[2]}: {match[3]}"
    return (text or type(error).__name__)[:200]


# -- JSON Feed ------------------------------------------------------------------------


def _parse_json_feed(
    body: bytes, *, source: Source, base_url: str, now: datetime | None
) -> ParsedFeed:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise FeedParseError(f"not a feed: invalid JSON ({where}: {error.msg})") from None
    except (UnicodeDecodeError, RecursionError, ValueError) as error:
        raise FeedParseError(f"not a feed: invalid JSON ({type(error).__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedParseError("not a feed: the JSON document is not a JSON Feed (no items list)")

    warnings = []
    version = document.get("version")
    if not (isinstance(version, str) and version.startswith(_JSON_FEED_VERSION)):
        warnings.append("the JSON document does not declare a JSON Feed version")
    feed_base = _http_url(document.get("feed_url"), base_url) or base_url
    feed_language = _language(document.get("language"))
    feed_author = _json_author(document)

    def convert(entry: Any) -> RawItem | None:
        if not isinstance(entry, dict):
            return None
        link = _http_url(entry.get("url"), feed_base) or _http_url(
            entry.get("external_url"), feed_base
        )
        raw_id = entry.get("id")
        if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)  # the spec says string; numbers are common
        platform_id = None if link else _identifier(raw_id)
        if link is None and platform_id is None:
            return None
        text = ""
        if isinstance(entry.get("content_text"), str) and entry["content_text"].strip():
            text = _text_of(entry["content_text"], "text/plain")
        elif isinstance(entry.get("content_html"), str):
            text = _text_of(entry["content_html"], "text/html")
        elif isinstance(entry.get("summary"), str):
            text = _text_of(entry["summary"], "text/plain")
        return _item(
            source,
            platform_id=platform_id,
            url=link,
            title=_text_of(entry.get("title"), "text/plain"),
            text=text,
            author=_json_author(entry) or feed_author,
            published_at=_date_from_text(entry.get("date_published"))
            or _date_from_text(entry.get("date_modified")),
            language=source.language or _language(entry.get("language")) or feed_language,
            now=now,
        )

    items, skipped = _convert_all(document["items"], convert)
    warnings.extend(skipped)
    return ParsedFeed(items, "; ".join(warnings) or None)


def _json_author(node: dict[str, Any]) -> str | None:
    """JSON Feed 1.1 `authors` (a list) or 1.0 `author` (an object)."""
    candidates = node.get("authors")
    if not isinstance(candidates, list):
        candidates = [node.get("author")]
    for author in candidates:
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            name = _short_text(author["name"], MAX_AUTHOR_CHARS)
            if name:
                return name
    return None


# -- shared helpers -------------------------------------------------------------------


def _convert_all(
    entries: Any, convert: Callable[[Any], RawItem | None]
) -> tuple[list[RawItem], list[str]]:
    """Converts entries to items, dropping repeats; returns them and skip notes."""
    items: list[RawItem] = []
    seen: set[str] = set()
    unidentified = broken = 0
    for entry in entries:
        try:
            item = convert(entry)
        except Exception:  # one hostile entry must not cost the others
            broken += 1
            continue
        if item is None:
            unidentified += 1
            continue
        if item.mention_id not in seen:
            seen.add(item.mention_id)
            items.append(item)
    notes = []
    if unidentified:
        notes.append(f"{_entries(unidentified)} skipped (no link or id)")
    if broken:
        notes.append(f"{_entries(broken)} skipped (unreadable)")
    return items, notes


def _entries(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"


def _item(
    source: Source,
    *,
    platform_id: str | None,
    url: str | None,
    title: str,
    text: str,
    author: str | None,
    published_at: datetime | None,
    language: str | None,
    now: datetime | None,
) -> RawItem:
    fields: dict[str, Any] = {
        "source_kind": source.kind,
        "source_name": source.name,
        "platform_id": platform_id,
        "url": url,
        "title": title[:MAX_TITLE_CHARS],
        "text": text,
        "author": author,
        "published_at": published_at,
        "language": language,
    }
    if now is not None:
        fields["collected_at"] = now
    return RawItem(**fields)


def _looks_like_json(body: bytes, content_type: str) -> bool:
    start = body.lstrip(_LEADING)[:1]
    if start == b"{":
        return True
    if start == b"<":
        return False
    return "json" in content_type.lower()


def _looks_like_html(body: bytes, content_type: str) -> bool:
    if "html" in content_type.lower() and "xhtml" not in content_type.lower():
        return True
    start = body.lstrip(_LEADING)[:200].lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _join(base: str, link: str) -> str:
    try:
        return urljoin(base, link)
    except ValueError:
        return base


def _http_url(value: Any, base: str) -> str | None:
    """An absolute http(s) URL that canonical ids can be built from, else None."""
    if not isinstance(value, str):
        return None
    link = clean(value).strip()
    if not link or len(link) > MAX_URL_CHARS or any(ch.isspace() for ch in link):
        return None
    try:
        absolute = urljoin(base, link)
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        canonical_url(absolute)  # raises on what the id function could not digest
    except ValueError:
        return None
    return absolute


def _identifier(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    identifier = clean(value).strip()
    if not identifier or len(identifier) > MAX_ID_CHARS:
        return None
    return identifier


_LANGUAGE = re.compile(r"^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$")


def _language(value: Any) -> str | None:
    """A BCP 47-looking tag, lower-cased ('en-us'); None for anything else."""
    if not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-").lower()
    return tag if len(tag) <= 35 and _LANGUAGE.match(tag) else None


def _date_from_text(value: Any) -> datetime | None:
    """Parses RFC 3339 / ISO 8601 or RFC 822 dates to aware UTC; None otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return None
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _text_of(value: Any, content_type: str) -> str:
    if not isinstance(value, str):
        return ""
    if "html" in content_type.lower():
        return html_to_text(value)
    return collapse(clean(value))[:MAX_TEXT_CHARS]


def _short_text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(clean(value).split())[:limit]
    return text or None
