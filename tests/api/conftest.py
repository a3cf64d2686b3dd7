"""An API over real stores (SQLite file, embedded index) in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.core.models import Brand, Competitor, Sentiment, SentimentLabel
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from tests.apps import app_for
from tests.factories import BASE_TIME, make_mention

WORKSPACE = Workspace(
    brands=[Brand(name="Veloria", aliases=["@veloria"], competitors=["Trekko"])],
    competitors=[Competitor(name="Trekko")],
)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )
    context = ServiceContext(settings, WORKSPACE)
    context.sync_workspace()
    yield context
    context.close()


@pytest.fixture
def seeded(ctx: ServiceContext) -> ServiceContext:
    neg = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    pos = Sentiment(label=SentimentLabel.POSITIVE, score=0.8)
    mentions = [
        make_mention(
            id=f"v{i}",
            text=f"Livraison en retard pour mon Veloria numéro {i}",
            language="fr",
            brands=["Veloria"],
            sentiment=neg,
            published_at=BASE_TIME - timedelta(days=i),
        )
        for i in range(5)
    ] + [
        make_mention(
            id=f"t{i}",
            text=f"Trekko bike review {i}: great value",
            language="en",
            brands=[],
            competitors=["Trekko"],
            sentiment=pos,
            published_at=BASE_TIME - timedelta(hours=i),
        )
        for i in range(3)
    ]
    ctx.index.upsert(mentions)
    return ctx


@pytest.fixture
def api_key(ctx: ServiceContext) -> str:
    return ctx.state.create_api_key("tests")


@pytest.fixture
def client(ctx: ServiceContext, api_key: str) -> Iterator[TestClient]:
    with TestClient(app_for(ctx), headers={"X-API-Key": api_key}) as test_client:
        yield test_client
