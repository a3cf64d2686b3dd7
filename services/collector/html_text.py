"""Plain text from HTML: what a reader sees, without scripts, styles or markup.

Used for feed summaries and, later, pages. Hostile input is bounded (length cut
before parsing) and cleaned of characters no database stores (NUL, lone surrogates).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_TEXT_CHARS = 100_000
_MAX_HTML_CHARS = 20 * MAX_TEXT_CHARS


# Elements whose content is never text a reader sees.
_SKIPPED = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "head",
        "title",
        "select",
        "textarea",
        "button",
        "canvas",
        "audio",
        "video",
    }
)
# Elements that start a new line of text.
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "hr",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "tr",
        "table",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "nav",
        "main",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "address",
        "details",
        "summary",
    }
)
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s+")
_NEWLINES = re.compile(r"\s*\n\s*")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.size = 0
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED and tag not in _VOID:
            self.skip_depth += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and tag not in _VOID:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip_depth == 0 and self.size <= MAX_TEXT_CHARS * 2:
            # In HTML a line break in text is a space; only blocks break lines.
            text = _WHITESPACE.sub(" ", data)
            self.parts.append(text)
            self.size += len(text)


def html_to_text(html: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """Converts an HTML fragment to plain text: tags, scripts and styles dropped,
    entities decoded, spaces collapsed (one line per block), at most `limit` chars."""
    extractor = _TextExtractor()
    try:
        extractor.feed(clean(html[:_MAX_HTML_CHARS]))
        extractor.close()
    except Exception:  # HTMLParser is lenient; this is a last line of defence
        pass
    return collapse("".join(extractor.parts))[:limit].rstrip()


def clean(text: str) -> str:
    """Drops control characters and lone surrogates (which no database stores)."""
    return _CONTROL.sub("", text)


def collapse(text: str) -> str:
    text = _SPACES.sub(" ", clean(text).replace("\r", "\n"))
    return _NEWLINES.sub("\n", text).strip()
