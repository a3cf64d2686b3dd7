"""Backfills mentions from a JSON Lines export, analyzed like collected ones.

One JSON object per line: `text` (required), and optionally `id` (the platform's
id), `url`, `title`, `author`, `published_at` (ISO 8601), `language`, `source`,
`engagement` ({likes, replies, shares, views}). Bad lines are reported with their
number and skipped; good ones are imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.core.models import Engagement, RawItem, SourceKind

MAX_LINE_BYTES = 1024 * 1024
CHUNK = 1000


class ImportRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=4000)
    title: str = Field(default="", max_length=10_000)
    text: str = Field(min_length=1, max_length=200_000)
    author: str | None = Field(default=None, max_length=500)
    published_at: datetime | None = None
    language: str | None = Field(default=None, max_length=8)
    source: str | None = Field(default=None, max_length=100)
    engagement: Engagement = Field(default_factory=Engagement)


@dataclass
class ImportReport:
    read: int = 0
    queued: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def read_rows(
    path: Path, *, source_kind: str, default_source: str, report: ImportReport
) -> Iterator[RawItem]:
    """Yields one item per valid line; records each bad line in `report`."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            report.read += 1
            item = _parse_line(raw, number, source_kind, default_source, report)
            if item is not None:
                yield item


def _parse_line(
    raw: bytes, number: int, source_kind: str, default_source: str, report: ImportReport
) -> RawItem | None:
    def skip(reason: str) -> None:
        report.skipped += 1
        if len(report.errors) < 50:
            report.errors.append(f"line {number}: {reason}")

    if len(raw) > MAX_LINE_BYTES:
        skip("longer than 1 MB")
        return None
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        skip(f"not valid JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else exc})")
        return None
    if not isinstance(data, dict):
        skip("expected a JSON object")
        return None
    try:
        row = ImportRow.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        skip(f"{where}: {first['msg']}")
        return None
    if not row.id and not row.url:
        skip("needs an 'id' or a 'url' to identify the mention")
        return None
    return RawItem(
        source_kind=source_kind,
        source_name=row.source or default_source,
        platform_id=row.id,
        url=row.url,
        title=row.title,
        text=row.text,
        author=row.author,
        published_at=row.published_at,
        engagement=row.engagement,
        language=row.language,
    )


def chunks(items: Iterator[RawItem], size: int = CHUNK) -> Iterator[list[RawItem]]:
    """Groups items into lists of `size`."""
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def enqueue_file(
    path: Path,
    enqueue: Callable[[list[RawItem]], int],
    *,
    source_kind: str = SourceKind.IMPORT,
    default_source: str | None = None,
) -> ImportReport:
    """Reads a JSONL file into the inbox; returns counts and the bad lines."""
    report = ImportReport()
    rows = read_rows(
        path, source_kind=source_kind, default_source=default_source or path.stem, report=report
    )
    for batch in chunks(rows):
        report.queued += enqueue(batch)
    return report


def demo_items(now: datetime | None = None) -> list[RawItem]:
    """The bundled demo mentions, dated so the newest is `now`."""
    text = resources.files("services.runtime.data").joinpath("demo/mentions.jsonl").read_bytes()
    report = ImportReport()
    items = [
        item
        for number, line in enumerate(text.splitlines(), start=1)
        if (item := _parse_line(line, number, SourceKind.DEMO, "demo", report)) is not None
    ]
    newest = max(i.published_at for i in items if i.published_at)
    shift = (now or datetime.now(UTC)) - newest
    return [
        i.model_copy(update={"published_at": i.published_at + shift if i.published_at else None})
        for i in items
    ]
