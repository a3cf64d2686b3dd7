"""A feed whose declared charset is wrong: detect it, read it right, and say so.

Feeds declare their encoding in the Content-Type header or the XML declaration, and
some declare the wrong one: UTF-8 bytes labelled ISO-8859-1 (read as is, "é" becomes
"Ã©"), or Windows-1252 bytes labelled UTF-8 (undecodable). Both were stored garbled
without a word. `reconcile` checks the declaration against the bytes:

- declared single-byte (Latin-1 and kin) but the bytes are valid UTF-8 with non-ASCII
  characters: UTF-8 it is (Latin-1 text is practically never valid UTF-8 by chance);
- declared (or defaulting to) UTF-8 but invalid as UTF-8: Windows-1252 when that reads
  as Western European text (the usual mislabel of French and English feeds, which
  charset-normalizer misses on short texts: it reads "Très" as ISO-8859-10 "Trčs"),
  else the encoding charset-normalizer finds most plausible (Cyrillic, Central
  European...).

It returns the body re-encoded as UTF-8 with a declaration that says so, and a note
for the source's status; a body whose declaration holds is returned untouched.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

_XML_DECLARATION = re.compile(rb"""^(\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding=['"]([^'"]{1,40})['"]""")
_CHARSET = re.compile(r"charset\s*=\s*['\"]?([\w.:-]{1,40})", re.IGNORECASE)
_UTF8 = "utf-8"
_MAX_DETECT_BYTES = 512 * 1024  # enough for charset-normalizer to decide, bounded in time


@dataclass(frozen=True)
class Reconciled:
    """The body to parse, its Content-Type, and a note when the declaration was wrong."""

    body: bytes
    content_type: str
    note: str | None = None


def reconcile(body: bytes, content_type: str) -> Reconciled:
    """Checks the declared charset against the bytes; see the module docstring."""
    declared_name = _declared(body, content_type)
    declared = _codec(declared_name) if declared_name else None
    if declared is None and declared_name is not None:
        return Reconciled(body, content_type)  # an unknown name: the parser reports it
    if declared in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        return Reconciled(body, content_type)
    if declared in (None, _UTF8, "utf-8-sig"):
        if _valid_utf8(body):
            return Reconciled(body, content_type)
        actual = _detect(body)
        if actual is None or actual in (_UTF8, "utf-8-sig"):
            return Reconciled(body, content_type)
        said = declared_name or "no charset (UTF-8 by default)"
        note = f"the feed declares {said} but its bytes are {actual}: read as {actual}"
        return _as_utf8(body.decode(actual, errors="replace"), content_type, note)
    if body.isascii() or not _valid_utf8(body):
        return Reconciled(body, content_type)  # the declaration may well hold
    note = f"the feed declares {declared_name} but its bytes are UTF-8: read as UTF-8"
    return _as_utf8(body.decode(_UTF8), content_type, note)


def _declared(body: bytes, content_type: str) -> str | None:
    """The charset the HTTP header names, else the XML declaration's (header wins, as
    in RFC 7303 and in feedparser)."""
    match = _CHARSET.search(content_type)
    if match:
        return match[1]
    declaration = _XML_DECLARATION.match(body[:500])
    if declaration:
        return declaration[2].decode("ascii", errors="replace")
    return None


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode(_UTF8)
    except UnicodeDecodeError:
        return False
    return True


# Letters and punctuation of French, English and their Western neighbours.
_WESTERN = frozenset(
    "àâäáãåæçéèêëíìîïñóòôöõøœßúùûüÿýÀÂÄÁÃÅÆÇÉÈÊËÍÌÎÏÑÓÒÔÖÕØŒÚÙÛÜŸÝ’‘“”«»–—…€°·•©®™\xa0"
)


def _detect(body: bytes) -> str | None:
    try:
        western = body.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        if all(ch in _WESTERN for ch in western if not ch.isascii()):
            return "cp1252"
    best = charset_normalizer.from_bytes(body[:_MAX_DETECT_BYTES]).best()
    if best is None:
        return None
    return _codec(best.encoding)


def _as_utf8(text: str, content_type: str, note: str) -> Reconciled:
    body = text.encode(_UTF8)
    declaration = _XML_DECLARATION.match(body[:500])
    if declaration:
        body = body[: declaration.start(2)] + b"utf-8" + body[declaration.end(2) :]
    if _CHARSET.search(content_type):
        content_type = _CHARSET.sub("charset=utf-8", content_type, count=1)
    return Reconciled(body, content_type, note)
