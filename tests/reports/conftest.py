"""Reports over real stores (SQLite file, embedded index) holding two weeks of mentions:
the week of 16 November 2026 (the report's) and the one before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.core.evidence import Evidence, WeightedWord
from services.core.models import Brand, Competitor, Engagement, Mention, Sentiment, SentimentLabel
from services.core.reports import ReportDefinition
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from tests.alerting.notifiers.test_email import Mailbox
from tests.factories import local_settings, make_mention
from tests.smtp_server import smtp_server


def _pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401  (loads Pango: an OSError without it)
    except (ImportError, OSError):
        return False
    return True


requires_pdf = pytest.mark.skipif(
    not _pdf_available(),
    reason="PDF reports need WeasyPrint and Pango: pip install 'veille[reports]' and "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core",
)

WEEK = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday, Paris time 10:00
BEFORE = WEEK - timedelta(days=7)
CONFIGURED = ReportDefinition(
    name="veloria-weekly",
    brand="Veloria",
    period="custom",
    since=WEEK.date(),
    until=(WEEK + timedelta(days=6)).date(),
    language="en",
)
WORKSPACE = Workspace(
    brands=[Brand(name="Veloria", competitors=["Trekko", "Voltaire Cycles"])],
    competitors=[Competitor(name="Trekko"), Competitor(name="Voltaire Cycles")],
    reports=[CONFIGURED],
)


def _sentiment(label: str, *words: str) -> Sentiment:
    evidence = Evidence(
        words=[WeightedWord(text=w, weight=1.0 - i / 10) for i, w in enumerate(words)]
    )
    return Sentiment(label=SentimentLabel(label), score=0.9, evidence=evidence)


def _veloria(
    n: int, when: datetime, label: str, topic: str, *, likes: int = 1, **extra: object
) -> Mention:
    words = {"negative": ("retard", "est", "Veloria", "cassé"), "positive": ("adore", "the")}
    sentiment = _sentiment(label, *words.get(label, ()))
    fields: dict[str, object] = {
        "id": f"v-{when:%m%d}-{n}",
        "text": f"Veloria {topic} {label} {n}",
        "url": f"https://{'forum' if n % 2 else 'blog'}.example.org/{when:%m%d}/{n}",
        "author": f"author{n % 3}",
        "brands": ["Veloria"],
        "sentiment": sentiment,
        "brand_sentiments": {"Veloria": sentiment},
        "topics": [topic],
        "published_at": when + timedelta(hours=n),
        "engagement": Engagement(likes=likes, replies=n),
        "language": "fr" if n % 2 else "en",
    }
    fields.update(extra)
    return make_mention(**fields)


def _competitor(name: str, n: int, when: datetime, label: str) -> Mention:
    sentiment = _sentiment(label)
    return make_mention(
        id=f"{name[:2]}-{when:%m%d}-{n}",
        text=f"{name} review {n}",
        brands=[],
        competitors=[name],
        sentiment=sentiment,
        brand_sentiments={name: sentiment},
        published_at=when + timedelta(hours=n),
        source_name="other-feed",
    )


def seed_mentions() -> list[Mention]:
    """Previous week: 10 mentions of Veloria, 2 negative (price); report's week: 12, 6
    negative (4 about delivery); Trekko and Voltaire Cycles around them; one story copied
    three times."""
    before = [
        *(_veloria(i, BEFORE + timedelta(days=i % 7), "negative", "price") for i in range(2)),
        *(_veloria(i, BEFORE + timedelta(days=i % 7), "positive", "design") for i in range(2, 7)),
        *(_veloria(i, BEFORE + timedelta(days=i % 7), "neutral", "delivery") for i in range(7, 10)),
        *(_competitor("Trekko", i, BEFORE + timedelta(days=i), "positive") for i in range(4)),
    ]
    week = [
        *(_veloria(i, WEEK + timedelta(days=i % 7), "negative", "delivery", likes=10 * i)
          for i in range(4)),
        *(_veloria(i, WEEK + timedelta(days=i % 7), "negative", "price") for i in range(4, 6)),
        *(_veloria(i, WEEK + timedelta(days=i % 7), "positive", "design", likes=5)
          for i in range(6, 10)),
        *(_veloria(i, WEEK + timedelta(days=i % 7), "neutral", "battery") for i in range(10, 12)),
        *(_competitor("Trekko", i, WEEK + timedelta(days=i), "negative") for i in range(2)),
        *(_competitor("Trekko", i, WEEK + timedelta(days=i), "positive") for i in range(2, 5)),
        *(_competitor("Voltaire Cycles", i, WEEK + timedelta(days=i), "neutral") for i in range(3)),
    ]  # fmt: skip
    story = week[6].id
    copies = [
        _veloria(20 + i, WEEK + timedelta(days=2), "positive", "design", story_id=story,
                 url=f"https://copy{i}.example.net/a")
        for i in range(3)
    ]  # fmt: skip
    week[6] = week[6].model_copy(update={"story_id": story})
    return before + week + copies


def make_context(
    tmp_path: Path, *, workspace: Workspace = WORKSPACE, **settings: object
) -> ServiceContext:
    """A context on real stores under `tmp_path`, holding `seed_mentions()`."""
    context = ServiceContext(
        local_settings(tmp_path, data_dir=str(tmp_path / "data"), **settings), workspace
    )
    context.sync_workspace()
    context.index.upsert(seed_mentions())
    return context


def local_smtp(port: int, **more: object) -> dict[str, object]:
    """The `alerting` settings of a plain-text SMTP server on 127.0.0.1:`port`, plus `more`."""
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain", **more}


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) keeping what it receives, and its port."""
    box = Mailbox()
    with smtp_server(box) as port:
        yield box, port


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    context = make_context(tmp_path)
    yield context
    context.close()


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    key = ctx.state.create_api_key("tests")
    with TestClient(create_app(ctx), headers={"X-API-Key": key}) as test_client:
        yield test_client
