"""GET /metrics: Prometheus' text format, after real activity (a feed collected from a
local HTTP server, a refused source, API requests, an alert delivery)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.alerting.outbox import OutboxWorker
from services.api.app import API_PREFIX
from services.collector.dispatch import SourceCollector
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.runtime.app.context import ServiceContext
from services.store.state.contract import AlertEventRecord
from tests.httpserver import HTTPTestServer

SECRET_TEXT = "Marie Dupont trouve son Veloria génial"
FEED = (
    '<rss version="2.0"><channel><title>t</title>'
    + "".join(
        f"<item><title>{SECRET_TEXT} {n}</title><link>https://blog.example/{n}</link>"
        f"<author>marie.dupont@example.org</author><description>{SECRET_TEXT}</description></item>"
        for n in range(3)
    )
    + "</channel></rss>"
).encode()


@dataclass
class RecordingNotifier:
    """A stand-in receiver (no Slack here): records what it is given."""

    channel: str = "slack"
    safe_to_resend: bool = False
    sent: list[str] = field(default_factory=list)

    def send(self, message: Any, *, idempotency_key: str) -> None:
        self.sent.append(idempotency_key)


def no_message(event: AlertEventRecord, channel: str) -> Any:
    """The recording notifier needs no real message."""
    return {}


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as http_server:
        yield http_server


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, keyed by (name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_collection_requests_deliveries_and_read_the_inbox(
    ctx: ServiceContext, client: TestClient, server: HTTPTestServer
) -> None:
    before = scrape(client)
    server.add("/feed.xml", body=FEED, headers={"Content-Type": "application/rss+xml"})
    settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=5.0)
    collect = SourceCollector()
    good = Source(name="blog", url=server.url("/feed.xml"))
    internal = Source(name="internal", url=server.url("/feed.xml"))
    for source in (good, internal):
        ctx.state.put_source(source, origin="api")
    assert collect(good, state=ctx.state, settings=settings).items_new == 3
    # Loopback is not allowed here: refused, and counted by error kind.
    refused = collect(internal, state=ctx.state, settings=CollectorSettings())
    assert refused.status is RunStatus.ERROR and refused.error_kind == "refused"

    assert client.get(f"{API_PREFIX}/mentions/no-such-id-123").status_code == 404
    assert client.get(f"{API_PREFIX}/mentions/another-id-456").status_code == 404
    assert client.get("/no/such/page").status_code == 404

    ctx.state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="2026-11-01T10:00",
        numbers={"observed": 40, "expected": 5},
        channels=["slack:https://hooks.slack.example/T000/SECRET"],
    )
    notifier = RecordingNotifier()
    report = OutboxWorker(ctx.state, build_message=no_message).deliver_due({"slack": notifier})
    assert report.sent == 1 and len(notifier.sent) == 1

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("veille_mentions_collected_total", source="blog", kind="feed") == 3
    assert delta("veille_collection_runs_total", source="blog", kind="feed", status="ok") == 1
    assert delta("veille_collection_errors_total", kind="feed", error_kind="refused") == 1
    route = f"{API_PREFIX}/mentions/{{mention_id}}"
    assert delta("veille_http_requests_total", method="GET", route=route, status="404") == 2
    assert delta("veille_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("veille_http_request_duration_seconds_count", method="GET", route=route) == 2
    assert delta("veille_alert_deliveries_total", channel="slack", outcome="sent") == 1
    assert value(after, "veille_inbox_items", status="pending") == 3
    assert value(after, "veille_index_mentions") == 0

    # No personal data, ids, paths or secrets in any label.
    text = client.get("/metrics").text
    for private in ("Marie", "marie.dupont", "blog.example", "no-such-id", "SECRET", "hooks."):
        assert private not in text


def test_metrics_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get(f"{API_PREFIX}/openapi.json").json()["paths"]
    assert "/metrics" not in paths


@pytest.mark.slow  # loads the analyzer's models
def test_metrics_count_analyzed_and_indexed_mentions(
    ctx: ServiceContext, client: TestClient
) -> None:
    from services.runtime.workers.analysis import process_batch
    from tests.factories import make_item

    before = scrape(client)
    ctx.state.enqueue_items([make_item(source_name="imported") for _ in range(3)])
    assert value(scrape(client), "veille_inbox_items", status="pending") == 3
    outcome = process_batch(ctx)
    assert outcome.stored == 3
    after = scrape(client)
    analyzed = "veille_mentions_analyzed_total"
    assert (
        value(after, analyzed, outcome="indexed") - value(before, analyzed, outcome="indexed") == 3
    )
    indexed = "veille_mentions_indexed_total"
    assert value(after, indexed) - value(before, indexed) == 3
    batches = "veille_analysis_batch_duration_seconds_count"
    assert value(after, batches) - value(before, batches) == 1
    assert value(after, "veille_inbox_items", status="pending") == 0
    assert value(after, "veille_index_mentions") == 3
