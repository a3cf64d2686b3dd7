"""Deterministic mention ids and URL canonicalisation.

A mention's id comes from the platform's own id when there is one, else from the
canonical form of its URL, so the same item collected twice (or through a tracking
link) is one mention.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader; they never change what a page shows.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "xtor",
        "at_medium",
        "at_campaign",
        "ref_src",
        "_hsenc",
        "_hsmi",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Normalises a URL so trivially different spellings of one page compare equal."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def mention_id(*, source_kind: str, platform_id: str | None, url: str | None) -> str:
    """Returns the stable id of a mention: 32 hex characters."""
    if platform_id:
        key = f"{source_kind}:id:{platform_id.strip()}"
    elif url:
        # A URL names the same page whichever source found it: no kind in the key.
        key = f"url:{canonical_url(url)}"
    else:
        raise ValueError("a mention needs a platform id or a URL to be identified")
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()
