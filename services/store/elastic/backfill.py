"""Rewrites the documents an older version of Veille wrote without a field added since.

A new version may derive a new search field from what every document already stores
(the mention itself, under `mention`), as `negative:NAME` was. At start-up Elasticsearch
gains the field in its mapping, but a document only gets a value once written again.
So each mention index records in its mapping's `_meta` the fields its documents were
written with (an index made before that record existed counts as lacking them all);
`stale_indices` names the indices lacking a current field, and `rewrite_index` writes
their documents again from the stored mentions, without the analyzer.

A document is rewritten only if nobody wrote it since it was read (`if_seq_no`): an
analyst's correction or a re-analysis landing meanwhile is newer, already has every
field, and is never undone.

    for stale in stale_indices(client, names.alias):
        report = rewrite_index(client, stale.name, backoff=Backoff())
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from elasticsearch import Elasticsearch
from pydantic import ValidationError

from services.store.elastic import mapping
from services.store.elastic.bulk import Backoff, Operation, send_bulk, with_retries
from services.store.elastic.documents import document_json, load
from services.store.elastic.pages import open_pit, pit_pages

log = logging.getLogger("veille.store.elastic")

_CONFLICT: Final = 409


def current_fields(*, full_text: bool = False) -> list[str]:
    """The fields a document written by this version has in its mapping (`full_text`:
    with the Kibana full-text fields, mapping.py)."""
    return list(mapping.mappings(full_text=full_text)["_meta"][mapping.WRITTEN_FIELDS])


@dataclass(frozen=True)
class StaleIndex:
    """A mention index whose documents may lack some fields of the current mapping."""

    name: str
    missing: tuple[str, ...]  # every current field when the index has no record
    recorded: bool  # False: made by a version that kept no record of its fields
    documents: int | None  # None unless counted (one more request per index)


def stale_indices(
    client: Elasticsearch, alias: str, *, count_documents: bool = False, full_text: bool = False
) -> list[StaleIndex]:
    """The indices behind `alias` whose documents lack a current field, oldest first (with
    their number of documents if `count_documents`: health checks need only the list).
    An index written with the Kibana full-text fields is not stale without them; one
    written without them is when `full_text` asks for them."""
    answer = client.indices.get_mapping(index=alias)
    current = current_fields(full_text=full_text)
    stale = []
    for name, body in sorted(answer.body.items()):
        written = body.get("mappings", {}).get("_meta", {}).get(mapping.WRITTEN_FIELDS)
        missing = tuple(field for field in current if field not in set(written or ()))
        if missing:
            documents = int(client.count(index=name)["count"]) if count_documents else None
            stale.append(
                StaleIndex(
                    name=name, missing=missing, recorded=written is not None, documents=documents
                )
            )
    return stale


@dataclass
class RewriteReport:
    """What rewriting one index did."""

    index: str
    rewritten: int = 0
    skipped: int = 0  # written by someone else after we read it: already current
    refused: int = 0  # the cluster refused the new copy; the old one stays as it was
    first_refusal: str = ""

    @property
    def complete(self) -> bool:
        """Every document now has every current field."""
        return self.refused == 0


def rewrite_index(
    client: Elasticsearch,
    name: str,
    *,
    backoff: Backoff,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
    full_text: bool = False,
) -> RewriteReport:
    """Writes every document of index `name` again from its stored mention.

    Once all are rewritten the index records the current fields, so it is no longer
    stale; after a refusal it stays stale and a re-run tries again (rewriting is
    idempotent). `progress` is called with the number of documents handled per batch.
    """
    report = RewriteReport(index=name)

    def call(run: Callable[[], Any], *, what: str) -> Any:
        return with_retries(run, backoff=backoff, what=what)

    pit = open_pit(client, name, call)  # the documents as of now, whatever is written next
    with _refresh_paused(client, name, call):
        for hits in pit_pages(client, pit, call=call, batch_size=batch_size, seq_no=True):
            rewrite_hits(client, name, hits, backoff=backoff, report=report, full_text=full_text)
            if progress is not None:
                progress(len(hits))
    if report.complete:
        with_retries(
            lambda: client.indices.put_mapping(
                index=name, meta={mapping.WRITTEN_FIELDS: current_fields(full_text=full_text)}
            ),
            backoff=backoff,
            what="recording the fields of a rewritten index",
        )
    with_retries(lambda: client.indices.refresh(index=name), backoff=backoff, what="refresh")
    return report


@contextmanager
def _refresh_paused(client: Elasticsearch, name: str, call: Callable[..., Any]) -> Iterator[None]:
    """Turns the index's periodic refresh off while its documents are rewritten (each
    refresh would make a small segment to merge later), and sets it back as it was.
    Veille's own writes refresh explicitly meanwhile, so they stay visible at once."""
    answer = call(
        lambda: client.indices.get_settings(index=name, name="index.refresh_interval"),
        what="reading the refresh interval",
    )
    before = answer.body.get(name, {}).get("settings", {}).get("index", {}).get("refresh_interval")
    call(
        lambda: client.indices.put_settings(index=name, settings={"index.refresh_interval": "-1"}),
        what="pausing refreshes",
    )
    try:
        yield
    finally:
        # None (no value of its own) gives the index back the cluster's default.
        call(
            lambda: client.indices.put_settings(
                index=name, settings={"index.refresh_interval": before}
            ),
            what="restoring the refresh interval",
        )


def rewrite_hits(
    client: Elasticsearch,
    name: str,
    hits: list[dict[str, Any]],
    *,
    backoff: Backoff,
    report: RewriteReport | None = None,
    full_text: bool = False,
) -> RewriteReport:
    """Rewrites these hits (read with their sequence numbers) into index `name`, adding
    to `report` (a new one if None), which it returns."""
    report = report or RewriteReport(index=name)
    ops: list[Operation] = []
    for hit in hits:
        try:
            mention = load(hit["_source"])
        except (KeyError, ValidationError) as error:
            _refuse(report, f"{hit['_id']}: the stored mention cannot be read ({error})")
            continue
        action = {
            "_index": name,
            "_id": hit["_id"],
            "if_seq_no": hit["_seq_no"],
            "if_primary_term": hit["_primary_term"],
        }
        ops.append(({"index": action}, mention, document_json(mention, full_text=full_text)))
    failures = send_bulk(client, ops, backoff=backoff, refresh=False) if ops else []
    for failure in failures:
        if failure.status == _CONFLICT:
            report.skipped += 1
        else:
            _refuse(report, f"{failure.mention_id}: {failure.error[:300]}")
    report.rewritten += len(ops) - len(failures)
    return report


def _refuse(report: RewriteReport, reason: str) -> None:
    report.refused += 1
    if not report.first_refusal:
        report.first_refusal = reason
