"""Operator metrics, in Prometheus' format (prometheus-client), served at `/metrics`.

Counters count what this process did since it started: under `veille up` that is the whole
service (collectors, analyzer, alerts and API share one process). The inbox and index gauges
are read from the stores at scrape time, so they hold whichever process serves them.

Labels carry no personal data and stay few: a source's configured name and kind, an error
kind, a channel kind ("slack", never the URL), a route template ("/api/v1/mentions/{id}",
never the path a client sent).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Veille's own registry, so a test or an embedding program never mixes in other metrics.
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "veille_http_requests",
    "API requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "veille_http_request_duration_seconds",
    "Time to answer an API request (whole body sent), by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
COLLECTION_RUNS = Counter(
    "veille_collection_runs",
    "Collection runs, by source, source kind and status (ok, not_modified, error).",
    ["source", "kind", "status"],
    registry=REGISTRY,
)
MENTIONS_COLLECTED = Counter(
    "veille_mentions_collected",
    "New items a collection run put in the inbox, by source and source kind.",
    ["source", "kind"],
    registry=REGISTRY,
)
COLLECTION_ERRORS = Counter(
    "veille_collection_errors",
    "Collection runs that failed, by source kind and error kind (timeout, refused, ...).",
    ["kind", "error_kind"],
    registry=REGISTRY,
)
MENTIONS_ANALYZED = Counter(
    "veille_mentions_analyzed",
    "Inbox items the analyzer finished, by outcome: indexed, dropped (not matching their "
    "source's filter) or failed (back in the inbox).",
    ["outcome"],
    registry=REGISTRY,
)
MENTIONS_INDEXED = Counter(
    "veille_mentions_indexed",
    "Mentions written to the mention index by the analyzer.",
    registry=REGISTRY,
)
ANALYSIS_LATENCY = Histogram(
    "veille_analysis_batch_duration_seconds",
    "Time to analyze and index one inbox batch.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
ALERT_DELIVERIES = Counter(
    "veille_alert_deliveries",
    "Alert deliveries attempted, by channel kind and outcome (sent, retried, failed, unknown).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
INBOX_ITEMS = Gauge(
    "veille_inbox_items",
    "Items in the inbox between collection and analysis, by status (read at scrape time).",
    ["status"],
    registry=REGISTRY,
)
INDEX_MENTIONS = Gauge(
    "veille_index_mentions",
    "Mentions in the mention index (read at scrape time).",
    registry=REGISTRY,
)


def channel_kind(channel: str) -> str:
    """'slack:HOOK' -> 'slack': the kind only, never the address or the secret's name."""
    return channel.partition(":")[0] or "unknown"
