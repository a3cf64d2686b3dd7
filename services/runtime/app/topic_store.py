"""Topics added through the API or `veille topics add`, kept apart from the workspace YAML.

The YAML belongs to the user, so added topics live in `<data_dir>/topics.json`, which
every process of the service reads (the API, workers, `veille reanalyze`). Writes take a
file lock and replace the file atomically, so two writers never lose each other's topic
and a reader never sees half a file. The taxonomy is the YAML's topics, then the added
ones; a name is unique across both, whatever its case.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from services.analyzer.topics.head_store import current_topic_stem, load_topic_heads
from services.analyzer.topics.model import LabelledTopics, taxonomy_digest
from services.core.topics import Topic

log = logging.getLogger("veille.topics")

FILE_NAME = "topics.json"


class TopicConflictError(ValueError):
    """The name is already taken, or the topic cannot be removed from here."""


class TopicNotFoundError(LookupError):
    """No topic has that name."""


class TopicEntry(Topic):
    """A topic of the taxonomy and where it is defined."""

    origin: Literal["workspace", "api"] = Field(
        description="workspace: the YAML file (edit it to change the topic); "
        "api: added with POST /api/v1/topics or `veille topics add` (DELETE removes it)"
    )
    added_at: datetime | None = None


class TopicStore:
    """The added topics of one data folder."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FILE_NAME

    def added(self) -> list[TopicEntry]:
        """The added topics, oldest first; a file that cannot be read is logged and
        skipped (it is left as it is, for the user to fix)."""
        try:
            return self._read()
        except ValueError as exc:
            log.warning("ignoring %s: %s", self.path, exc)
            return []

    def _read(self) -> list[TopicEntry]:
        if not self.path.is_file():
            return []
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            return [TopicEntry(**{**row, "origin": "api"}) for row in document.get("topics", [])]
        except (OSError, ValueError, TypeError, AttributeError, ValidationError) as exc:
            raise ValueError(f"{self.path} cannot be read ({exc}); fix or remove it") from None

    def add(self, topic: Topic, *, workspace: Sequence[Topic]) -> TopicEntry:
        """Adds `topic`; TopicConflictError when its name is taken."""
        with self._locked():
            added = self._read()
            taken = {t.name.casefold(): t for t in workspace}
            if topic.name.casefold() in taken:
                raise TopicConflictError(
                    f"topic {taken[topic.name.casefold()].name!r} is defined in the workspace "
                    "YAML: choose another name, or edit the YAML to change it"
                )
            if any(t.name.casefold() == topic.name.casefold() for t in added):
                raise TopicConflictError(
                    f"topic {topic.name!r} was already added: delete it first to replace it"
                )
            entry = TopicEntry(**topic.model_dump(), origin="api", added_at=datetime.now(UTC))
            self._write([*added, entry])
        log.info("topic %s added", topic.name)
        return entry

    def remove(self, name: str, *, workspace: Sequence[Topic]) -> None:
        """Removes an added topic; TopicConflictError for a YAML one, else TopicNotFoundError."""
        if any(t.name.casefold() == name.casefold() for t in workspace):
            raise TopicConflictError(
                f"topic {name!r} is defined in the workspace YAML: remove it there"
            )
        with self._locked():
            added = self._read()
            kept = [t for t in added if t.name.casefold() != name.casefold()]
            if len(kept) == len(added):
                raise TopicNotFoundError(f"no topic is named {name!r}")
            self._write(kept)
        log.info("topic %s removed", name)

    def _write(self, entries: Sequence[TopicEntry]) -> None:
        rows: list[dict[str, Any]] = [
            e.model_dump(mode="json", exclude={"origin"}) for e in entries
        ]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"topics": rows}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def taxonomy(workspace: Sequence[Topic], data_dir: str | Path) -> list[TopicEntry]:
    """The whole taxonomy: the YAML's topics, then the added ones."""
    own = [TopicEntry(**t.model_dump(), origin="workspace") for t in workspace]
    taken = {t.name.casefold() for t in workspace}
    added = []
    for topic in TopicStore(data_dir).added():
        if topic.name.casefold() in taken:  # the YAML got the name since: the YAML wins
            log.warning(
                "topic %s is now in the workspace YAML; the added one is ignored", topic.name
            )
        else:
            added.append(topic)
    return [*own, *added]


class WorkspaceTaxonomy:
    """The analyzer's `TaxonomySource`: YAML + added topics, and the adopted topic heads."""

    def __init__(self, workspace: Sequence[Topic], *, data_dir: str | Path, embedding: str):
        self._workspace = list(workspace)
        self._data_dir = Path(data_dir)
        self._embedding = embedding
        self._yaml_digest = taxonomy_digest(self._workspace)

    def version(self) -> str:
        path = TopicStore(self._data_dir).path
        try:
            stat = path.stat()
            added = f"{stat.st_mtime_ns}:{stat.st_size}"
        except FileNotFoundError:
            added = "-"
        heads = current_topic_stem(self._data_dir, self._embedding)
        return f"{self._yaml_digest}|{added}|{heads.name if heads else '-'}"

    def load(self) -> tuple[list[Topic], LabelledTopics | None]:
        topics = [Topic(**t.model_dump(include=set(Topic.model_fields))) for t in self.topics()]
        stem = current_topic_stem(self._data_dir, self._embedding)
        labelled = load_topic_heads(stem) if stem is not None else None
        if stem is not None:
            log.info("topic heads: %s (trained on analysts' corrections)", stem)
        return topics, labelled

    def topics(self) -> list[TopicEntry]:
        """The current taxonomy."""
        return taxonomy(self._workspace, self._data_dir)
