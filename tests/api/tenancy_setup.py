"""Builds an installation with two workspaces full of data, over real stores.

Workspace `default` holds the "alpha" data, workspace `acme` the "bravo" data: every
name, text and handle of a workspace contains its label, so a leak is a substring.
The index is embedded (a folder) or a real Elasticsearch node (ELASTICSEARCH_URL),
each workspace under its own prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.core.models import Sentiment, SentimentLabel
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation
from tests.apps import app_for
from tests.factories import BASE_TIME, make_mention

ES_URL = os.environ.get("ELASTICSEARCH_URL") or None
BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "elasticsearch",
        id="elasticsearch",
        marks=[
            pytest.mark.elasticsearch,
            pytest.mark.skipif(
                ES_URL is None, reason="set ELASTICSEARCH_URL to run against a real node"
            ),
        ],
    ),
]
LABELS = {"default": "alpha", "acme": "bravo"}


@dataclass
class Tenancy:
    app: FastAPI
    installation: Installation
    admin_keys: dict[str, str]
    names: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # ws -> param -> values

    def client(self, key: str) -> TestClient:
        """A client sending `key`."""
        return TestClient(self.app, headers={"X-API-Key": key})


@contextmanager
def two_workspaces(tmp_path: Path, backend: str) -> Iterator[Tenancy]:
    """`default` and `acme`, each seeded through the API with its own key."""
    prefix = f"veille-test-{uuid.uuid4().hex[:10]}"
    index_url = (
        f"embedded:{tmp_path}/index" if backend == "embedded" else f"{ES_URL}?prefix={prefix}"
    )
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {"state_url": f"sqlite:///{tmp_path}/veille.db", "index_url": index_url},
        }
    )
    default = ServiceContext(settings, Workspace())
    app = app_for(default)
    installation: Installation = app.state.installation
    installation.tenancy.create_workspace("acme", "Acme")
    keys = {
        ws: installation.tenancy.create_key(name=f"{ws}-admin", workspace=ws, service="tests")
        for ws in LABELS
    }
    tenancy = Tenancy(app, installation, keys)
    try:
        for ws, label in LABELS.items():
            tenancy.names[ws] = _seed(tenancy, ws, label)
        yield tenancy
    finally:
        contexts = installation.opened()
        if backend == "elasticsearch":
            for ctx in contexts:
                ctx.index.drop()  # type: ignore[attr-defined]
        installation.close()
        default.close()


def _seed(tenancy: Tenancy, ws: str, label: str) -> dict[str, list[str]]:
    brand = f"{label.title()}mark"
    ctx = tenancy.installation.context(ws)
    neg = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    ctx.index.upsert(
        [
            make_mention(
                id=f"{label}-m{i}",
                text=f"{brand} {label}quartz livraison en retard {i}",
                author=f"{label}_author",
                source_name=f"{label}-feed",
                url=f"https://{label}.example.org/posts/{i}",
                brands=[brand],
                sentiment=neg,
                language="fr",
                published_at=BASE_TIME - timedelta(hours=i),
            )
            for i in range(6)
        ]
    )
    refresh = getattr(ctx.index, "refresh", None)  # Elasticsearch: make them searchable now
    if refresh is not None:
        refresh()
    event_id = ctx.state.record_alert_event(
        rule_name=f"{label}-rule",
        kind="volume_spike",
        status="firing",
        dedupe_key=f"{label}-k",
        numbers={"observed": 40, "expected": 2.5, "brand": brand},
        channels=[],
    )
    with tenancy.client(tenancy.admin_keys[ws]) as client:
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/api/v1/brands", {"name": brand}),
            ("POST", "/api/v1/competitors", {"name": f"{label.title()}rival"}),
            (
                "POST",
                "/api/v1/sources",
                {"name": f"{label}-feed", "url": f"https://{label}.example.org/feed.xml"},
            ),
            ("POST", "/api/v1/saved-searches", {"name": f"{label}-search", "query": brand}),
            (
                "POST",
                "/api/v1/alert-rules",
                {
                    "name": f"{label}-rule",
                    "target_type": "brand",
                    "target": brand,
                    "kind": "volume_spike",
                    "channels": [],
                },
            ),
            (
                "POST",
                "/api/v1/reports",
                {
                    "name": f"{label}-report",
                    "brand": brand,
                    "period": "custom",
                    "since": "2026-11-16",
                    "until": "2026-11-22",
                    "language": "en",
                    "sections": ["key_figures"],
                },
            ),
            (
                "POST",
                "/api/v1/topics",
                {"name": f"{label}-topic", "description": f"{label} things", "examples": []},
            ),
            ("POST", f"/api/v1/mentions/{label}-m0/sentiment", {"label": "positive"}),
        ]
        for method, url, body in calls:
            answer = client.request(method, url, json=body)
            assert answer.status_code in (200, 201), (url, answer.text)
    return {
        "name": [
            brand,
            f"{label}-feed",
            f"{label}-search",
            f"{label}-rule",
            f"{label}-report",
            f"{label}-topic",
        ],
        "mention_id": [f"{label}-m0"],
        "author": [f"{label}_author"],
        "event_id": [str(event_id)],
        "brand": [brand],
    }
