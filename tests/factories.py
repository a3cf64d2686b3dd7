"""Builders for test data, shared by every test package."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.core.models import Mention, RawItem, Sentiment, SentimentLabel
from services.core.settings import Settings, build_settings

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from services.analyzer.encoding.embeddings import Embedder

_counter = itertools.count()
BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def local_settings(folder: Path, **settings: Any) -> Settings:
    """Settings keeping everything under `folder`: a real SQLite file and an embedded
    index; `settings` are added to them or replace them (`data_dir` is `folder` unless given)."""
    return build_settings(
        {
            "data_dir": str(folder),
            "store": {
                "state_url": f"sqlite:///{folder}/veille.db",
                "index_url": f"embedded:{folder}/index",
            },
            **settings,
        }
    )


def make_mention(**fields: Any) -> Mention:
    """A valid analyzed mention; any field can be overridden."""
    n = next(_counter)
    defaults: dict[str, Any] = {
        "id": f"m{n:06d}",
        "source_kind": "feed",
        "source_name": "test-feed",
        "url": f"https://www.example.org/posts/{n}",
        "title": "",
        "text": "Veloria makes bikes",
        "author": "someone",
        "published_at": BASE_TIME + timedelta(minutes=n),
        "language": "en",
        "brands": ["Veloria"],
        "sentiment": Sentiment(label=SentimentLabel.NEUTRAL, score=0.9),
    }
    defaults.update(fields)
    return Mention(**defaults)


def make_item(**fields: Any) -> RawItem:
    """A collected, unanalyzed item; any field can be overridden."""
    n = next(_counter)
    defaults: dict[str, Any] = {
        "source_kind": "feed",
        "source_name": "test-feed",
        "url": f"https://www.example.org/items/{n}",
        "title": f"Item {n}",
        "text": "J'adore mon vélo Veloria",
        "published_at": BASE_TIME + timedelta(minutes=n),
    }
    defaults.update(fields)
    return RawItem(**defaults)


class CountingEmbedder:
    """The real embedder, recording its calls and the texts it embeds (a spy, not a fake)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[int] = []
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls.append(len(texts))
        self.texts.extend(texts)
        return self.inner.embed(texts)
