"""The collector: fetch sources safely, parse them into items, hand them to the store.

`fetching` does the HTTP (SSRF-guarded, bounded), `feeds` the pure parsing, `runner`
one collection of one source, and `scheduler` runs every source on its interval.
"""

from services.collector.feeds import FeedParseError, ParsedFeed, parse_feed
from services.collector.fetching import FetchError, FetchResult, fetch
from services.collector.html_text import html_to_text
from services.collector.runner import collect_source
from services.collector.scheduler import CollectorScheduler

__all__ = [
    "CollectorScheduler",
    "FeedParseError",
    "FetchError",
    "FetchResult",
    "ParsedFeed",
    "collect_source",
    "fetch",
    "html_to_text",
    "parse_feed",
]
