"""Where a mention was said: the community (forum, subreddit, blog, feed) it belongs to.

A community is a place people gather around a subject and a brand can be discussed in:
a subreddit (`r/velo`), a forum, a blog or a news site (its host name), or a feed with
no web address (its source name). Timelines of people (Mastodon, Bluesky, X, YouTube
channels) are authors, not communities: they have none.
"""

from __future__ import annotations

import re
from typing import Final

from services.core.models import Mention

TIMELINE_KINDS: Final = frozenset({"mastodon", "bluesky", "x", "youtube"})
# scheme://[user@]host[:port]/path: read with one regex, an export calls this per mention.
_URL: Final = re.compile(r"^[a-zA-Z][\w+.-]*://(?:[^@/?#]*@)?([^/?#:]*)(?::\d*)?([^?#]*)")
_SUBREDDIT: Final = re.compile(r"^/r/([A-Za-z0-9_]{2,32})(?:/|$)")


def community_of(mention: Mention) -> str | None:
    """`r/NAME` for a subreddit, the site's host for forums, blogs and news, the source's
    name for a feed without a web address; None for a person's timeline."""
    return community_at(mention.source_kind, mention.url, mention.source_name)


def community_at(source_kind: str, url: str | None, source_name: str) -> str | None:
    """`community_of` from the three fields it reads (an export has no `Mention`)."""
    if source_kind in TIMELINE_KINDS:
        return None
    found = _URL.match(url) if url else None
    if found:
        host = found.group(1).lower().removeprefix("www.")
        if host == "reddit.com" or host.endswith(".reddit.com"):
            subreddit = _SUBREDDIT.match(found.group(2))
            return f"r/{subreddit.group(1).lower()}" if subreddit else None
        if host:
            return host
    return source_name or None
