"""Reading every document of a search in pages, through a point in time.

A point in time fixes what is read as of when it was opened, whatever is written
meanwhile; `search_after` on (publication time, id) walks it oldest first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

from elasticsearch import Elasticsearch

from services.store.elastic import mapping

log = logging.getLogger("veille.store.elastic")

KEEP_ALIVE: Final = "2m"  # between two pages, not for the whole walk


class Call(Protocol):
    """Runs one request (with retries); `what` it is for goes in the error messages."""

    def __call__(self, run: Callable[[], Any], *, what: str) -> Any: ...


def open_pit(client: Elasticsearch, index: str, call: Call) -> str:
    """Opens a point in time on `index` (an index or an alias)."""
    answer = call(
        lambda: client.open_point_in_time(index=index, keep_alive=KEEP_ALIVE),
        what="opening a point in time",
    )
    return str(answer["id"])


def pit_pages(
    client: Elasticsearch,
    pit: str,
    *,
    call: Call,
    batch_size: int,
    query: dict[str, Any] | None = None,
    seq_no: bool = False,
    with_source: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """The hits (`_source` holding only the mention) of the point in time `pit`, a page at
    a time, oldest first; with `seq_no`, each carries `_seq_no` and `_primary_term` for
    a conditional write. Without `with_source`, a hit is its `sort` values alone
    (publication time, id: read from doc values, no stored document loaded). Closes the
    point in time at the end."""
    after: list[Any] | None = None
    # Without the source, only the sort values come back (no _index, _id, _score: a
    # third of the JSON to parse per hit).
    source: dict[str, Any] = (
        {"source_includes": [mapping.MENTION]}
        if with_source
        else {"source": False, "filter_path": ["pit_id", "hits.hits.sort"]}
    )
    try:
        while True:
            point = {"id": pit, "keep_alive": KEEP_ALIVE}
            answer = call(
                lambda: client.search(
                    pit=point,  # noqa: B023
                    query=query or {"match_all": {}},
                    size=batch_size,
                    sort=[{mapping.PUBLISHED_US: "asc"}, {mapping.ID: "asc"}],
                    search_after=after,  # noqa: B023
                    seq_no_primary_term=seq_no,
                    track_total_hits=False,
                    **source,
                ),
                what="search",
            )
            pit = answer.get("pit_id", pit)
            hits: list[dict[str, Any]] = answer.get("hits", {}).get("hits", [])
            if hits:
                yield hits
            if len(hits) < batch_size:
                return
            after = hits[-1]["sort"]
    finally:
        try:
            client.close_point_in_time(id=pit)
        except Exception:  # whatever went wrong, it expires by itself
            log.warning("could not close a point in time; it expires by itself")
