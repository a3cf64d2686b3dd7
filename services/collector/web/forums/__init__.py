"""Forum threads: one module per engine, and YAML selectors for any other forum.

Each engine module holds pure parsing (no I/O): `phpbb`, `xenforo`, `vbulletin`,
`invision` are selector sets for `selectors.parse_thread`; `discourse` parses the JSON
API. `ENGINES` maps an engine name to its selectors.
"""

from __future__ import annotations

from services.collector.web.forums.invision import SELECTORS as INVISION
from services.collector.web.forums.model import ForumPost, ForumThread, thread_items
from services.collector.web.forums.phpbb import SELECTORS as PHPBB
from services.collector.web.forums.selectors import ForumSelectors, load_selectors, parse_thread
from services.collector.web.forums.vbulletin import SELECTORS as VBULLETIN
from services.collector.web.forums.xenforo import SELECTORS as XENFORO

ENGINES: dict[str, ForumSelectors] = {
    "phpbb": PHPBB,
    "xenforo": XENFORO,
    "vbulletin": VBULLETIN,
    "invision": INVISION,
}

__all__ = [
    "ENGINES",
    "ForumPost",
    "ForumSelectors",
    "ForumThread",
    "load_selectors",
    "parse_thread",
    "thread_items",
]
