"""Social connectors: one module per platform, a runner, a registry of kinds.

See `base.py` for what a connector is, `query_pushdown.py` for how a query reaches a
platform, `ratelimit.py` and `calls.py` for politeness and tokens, `runner.py` for a
run (`harvest.py`: what it keeps and the next cursor; `threads.py`: the threads it
revisits) and `registry.py` for built-ins and entry-point plugins.
"""

from services.collector.social.base import (
    Connector,
    ItemDetails,
    MalformedResponse,
    NotConfigured,
    Page,
    RequestSpec,
    SocialSource,
)
from services.collector.social.registry import KindInfo, available_kinds, create
from services.collector.social.runner import SocialRun, collect_social

__all__ = [
    "Connector",
    "ItemDetails",
    "KindInfo",
    "MalformedResponse",
    "NotConfigured",
    "Page",
    "RequestSpec",
    "SocialRun",
    "SocialSource",
    "available_kinds",
    "collect_social",
    "create",
]
