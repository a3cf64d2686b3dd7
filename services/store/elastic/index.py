"""The Elasticsearch mention index (`https://host:9200` index URLs).

Every Veille process opens its own `EsIndex`; the cluster is the only shared state.
Mentions live in time-based indices behind one alias (see mapping.py): an upsert
first looks the ids up through the alias, so a mention written before a rollover
is replaced where it lives instead of being copied into the new write index.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any, Final, TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, SerializationError
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError

from services.core.models import Mention
from services.core.text import fold_keyword
from services.core.triage import Triage
from services.store import story_chain
from services.store.contracts import (
    MAX_PAGE_SIZE,
    TOP_TERMS_SAMPLE,
    AudienceBucket,
    CountBucket,
    Dimension,
    IndexUnavailable,
    Interval,
    MentionFilter,
    MentionIndex,
    Reach,
    SearchPage,
    SearchRequest,
    SortOrder,
    TimeBucket,
    UnservableRequest,
)
from services.store.elastic import mapping
from services.store.elastic.backfill import (
    RewriteReport,
    StaleIndex,
    rewrite_index,
    stale_indices,
)
from services.store.elastic.bulk import (
    Backoff,
    ItemFailure,
    Operation,
    send_bulk,
    send_pipelined,
    with_retries,
)
from services.store.elastic.compile import Query, compile_filter
from services.store.elastic.dead_letters import short_reason, write_dead_letters
from services.store.elastic.documents import (
    decode_cursor,
    document_json,
    encode_cursor,
    load,
    triage_update,
)
from services.store.elastic.pages import open_pit, pit_pages
from services.store.elastic.settings import EsSettings, server_version
from services.store.embedded import aggregations, keys
from services.store.embedded.keys import epoch_us
from services.store.id_digest import DayDigest, fold_ids

log = logging.getLogger("veille.store.elastic")

# Every value of a dimension in one terms aggregation, so counts and ties are exact;
# kept at ES's default `search.max_buckets`.
_ALL_TERMS: Final = 65_536
_LOOKUP_CHUNK: Final = 1000
_PAGE: Final = 5000  # hits per page when reading a field of many documents
# Buckets per page of a composite aggregation: most story reads in one request, below
# the default `search.max_buckets` (65,536).
_COMPOSITE_PAGE: Final = 50_000
_ID_PAGE: Final = 10_000  # sort values only: the most one search returns by default
# Operations per bulk request when writing: about 3 MB of documents, and small enough
# that building the next chunk in Python overlaps sending this one (send_pipelined).
_BULK_CHUNK: Final = 1000
_BULK_DELETES: Final = 5000  # operations per bulk request of a delete by filter
_T = TypeVar("_T")
_FIXED_INTERVALS: Final = {Interval.HOUR: "1h", Interval.DAY: "1d", Interval.WEEK: "7d"}


class EsIndex(MentionIndex):
    """A `MentionIndex` stored in an Elasticsearch cluster (8.13+ or 9.x)."""

    def __init__(
        self,
        settings: EsSettings,
        *,
        refresh: bool | str = True,
        backoff: Backoff | None = None,
        client: Elasticsearch | None = None,
    ) -> None:
        # `refresh=True` makes writes visible when upsert returns, as the contract asks
        # (the indices' periodic refresh is slow: mapping.REFRESH_INTERVAL); "wait_for"
        # does too, but waits for that periodic refresh.
        self._settings = settings
        self.names = mapping.IndexNames(settings.index_prefix)
        self._refresh = refresh
        self._backoff = backoff or Backoff()
        self._client = client or settings.client()
        self._closed = False
        self.lifecycle_managed = False
        # Whether documents carry the Kibana full-text fields (mapping.py): as set, or as
        # the existing write index has them when not set (`_bootstrap` decides).
        self.full_text = bool(settings.kibana_full_text)
        # A server Veille does not support is refused here, before anything is written.
        self.server_version = self._call(
            lambda: server_version(self._client, settings.url), what="reading the server version"
        )
        self._call(self._bootstrap, what="setting up the mention indices")

    def __repr__(self) -> str:
        return f"EsIndex(url={self._settings.url!r}, prefix={self.names.prefix!r})"

    # -- setup ---------------------------------------------------------------------
    def _bootstrap(self) -> None:
        indices = self._client.indices
        self.lifecycle_managed = self._put_policy()
        exists = indices.exists_alias(name=self.names.alias)
        if self._settings.kibana_full_text is None and exists:
            # Not set: an installation made when the fields were always there keeps them.
            self.full_text = self._write_index_has_full_text()
        indices.put_index_template(
            name=self.names.template,
            **mapping.index_template(
                self.names, with_lifecycle=self.lifecycle_managed, full_text=self.full_text
            ),
        )
        if exists:
            self._add_new_fields()
            self._warn_if_stale()
            return
        try:
            indices.create(
                index=self.names.first_index,
                aliases={self.names.alias: {"is_write_index": True}},
            )
        except ApiError as error:
            if "resource_already_exists" not in str(error):  # another process won the race
                raise

    def _write_index_has_full_text(self) -> bool:
        answer = self._client.indices.get_alias(name=self.names.alias).body
        alias = self.names.alias
        writers = [
            name
            for name, body in answer.items()
            if body.get("aliases", {}).get(alias, {}).get("is_write_index") or len(answer) == 1
        ]
        if not writers:
            return False
        current = self._client.indices.get_mapping(index=writers[0])
        properties = current.body[writers[0]].get("mappings", {}).get("properties", {})
        return all(name in properties for name in mapping.FULL_TEXT_FIELDS)

    def _add_new_fields(self) -> None:
        # Indices made by an older version lack fields added since (`dynamic: strict`
        # would refuse their documents). Only the missing fields are sent: adding a field
        # is allowed, changing one (as the template changed `terms`) is refused.
        wanted = mapping.mappings(full_text=self.full_text)["properties"]
        try:
            current = self._client.indices.get_mapping(index=self.names.alias)
            for name, body in current.body.items():
                have = body.get("mappings", {}).get("properties", {})
                missing = {field: spec for field, spec in wanted.items() if field not in have}
                if missing:
                    self._client.indices.put_mapping(index=name, properties=missing)
        except ApiError as error:
            log.warning("could not add new fields to the mention indices: %s", error)

    def _warn_if_stale(self) -> None:
        try:
            stale = stale_indices(self._client, self.names.alias, full_text=self.full_text)
        except ApiError as error:
            log.warning("could not read the fields of the mention indices: %s", error)
            return
        if stale:
            log.warning(
                "%d mention index(es) hold documents without fields this setup indexes "
                "(added by a later version of Veille, such as negative:NAME, or the Kibana "
                "full-text fields turned on since): searches on those fields miss them "
                "until `veille reindex` writes them again",
                len(stale),
            )

    def stale_indices(self, *, count_documents: bool = False) -> list[StaleIndex]:
        """The indices whose documents lack fields added by a later version (`reindex`)."""
        return self._call(
            lambda: stale_indices(
                self._client,
                self.names.alias,
                count_documents=count_documents,
                full_text=self.full_text,
            ),
            what="reading the fields of the mention indices",
        )

    def outdated_parts(self) -> int:
        """The number of stale indices."""
        return len(self.stale_indices())

    def rewrite_stale(
        self, *, batch_size: int = 500, progress: Callable[[int], None] | None = None
    ) -> list[RewriteReport]:
        """Writes the documents of every stale index again from their stored mentions."""
        self._check_open()
        reports = [
            rewrite_index(
                self._client,
                stale.name,
                backoff=self._backoff,
                batch_size=batch_size,
                progress=progress,
                full_text=self.full_text,
            )
            for stale in self.stale_indices()
        ]
        if reports:
            self.rechain_all()
        return reports

    def rechain_all(self) -> int:
        """Recomputes every story's chain (story_chain.py) over all the documents, for
        those written before the chain existed; returns how many documents changed."""
        members: list[tuple[str, str, story_chain.Member]] = []
        fields = [mapping.ID, mapping.PUBLISHED_US, mapping.STORY_HASH, mapping.STORY_PREVIOUS_US]
        for hits in self._pages({"match_all": {}}, [*fields, mapping.filter_field("story")]):
            for hit in hits:
                source = hit["_source"]
                story = source.get(mapping.STORY_HASH)
                if story is None:
                    story = story_chain.story_hash(_story_of(source))
                member = story_chain.Member(
                    int(story),
                    int(source[mapping.PUBLISHED_US]),
                    keys.id_hash(str(source[mapping.ID])),
                    source.get(mapping.STORY_PREVIOUS_US),
                )
                members.append((hit["_index"], hit["_id"], member))
        previous = story_chain.previous_times(m for _, _, m in members)
        ops: list[Operation] = [
            (
                {"update": {"_index": name, "_id": doc_id}},
                None,
                {
                    "doc": {
                        mapping.STORY_HASH: member.story,
                        mapping.STORY_PREVIOUS_US: previous[member.id_hash],
                    }
                },
            )
            for name, doc_id, member in members
            if previous[member.id_hash] != member.previous_us
        ]
        self._send_in_chunks(ops, chunk=_PAGE, what="chain update")
        return len(ops)

    def _put_policy(self) -> bool:
        try:
            self._client.ilm.put_lifecycle(
                name=self.names.policy, policy=mapping.lifecycle_policy()
            )
        except ApiError as error:
            if error.status_code in {400, 404, 405} and "no handler" in str(error):
                # Elastic's test distribution (no x-pack ILM module) and the emulator.
                log.warning(
                    "this Elasticsearch has no index lifecycle management: mention indices "
                    "roll over only when EsIndex.rollover() is called"
                )
                return False
            raise
        return True

    def rollover(self) -> str:
        """Starts a new write index now (ILM does it by age and size); returns its name."""
        answer = self._call(
            lambda: self._client.indices.rollover(alias=self.names.alias), what="rollover"
        )
        # The new index took the shared template, which the last process to start wrote:
        # give it the fields this process's documents carry.
        self._add_new_fields()
        return str(answer["new_index"])

    def refresh(self) -> None:
        """Makes every write so far visible to searches (for `refresh=False` ingest)."""
        self._call(lambda: self._client.indices.refresh(index=self.names.alias), what="refresh")

    def indices(self) -> list[str]:
        """The concrete indices behind the alias, oldest first."""
        answer = self._call(
            lambda: self._client.indices.get_alias(name=self.names.alias), what="listing indices"
        )
        return sorted(answer.body)

    def drop(self) -> None:
        """Deletes every index, the template and the policy of this prefix (tests, resets)."""
        for name in self.indices():
            self._call(lambda n=name: self._client.indices.delete(index=n), what="drop")  # type: ignore[misc]
        self._call(
            lambda: self._client.indices.delete_index_template(name=self.names.template),
            what="drop",
        )
        if self.lifecycle_managed:
            self._call(
                lambda: self._client.ilm.delete_lifecycle(name=self.names.policy), what="drop"
            )

    # -- writing -------------------------------------------------------------------
    def upsert(self, mentions: Sequence[Mention], *, dead_letter_path: str | None = None) -> int:
        """Writes mentions (replacing any with the same id); returns how many were written.

        Items Elasticsearch refuses for good are appended to the dead-letter file
        (`redrive` writes them again) and not counted.
        """
        self._check_open()
        latest = {mention.id: mention for mention in mentions}  # the last copy of an id wins
        if not latest:
            return 0
        where = self._locate(list(latest))
        incoming = {
            mention_id: story_chain.Member(
                story_chain.story_hash(story_chain.story_key(m)),
                epoch_us(m.published_at),
                keys.id_hash(mention_id),
            )
            for mention_id, m in latest.items()
        }
        previous, updates = self._rechain(removed=sorted(where), incoming=list(incoming.values()))

        def chunks(ids: Iterable[str], first: bool = True) -> Iterator[list[Operation]]:
            """The chain updates (first round only), then the documents of `ids`, built
            one chunk at a time."""
            ops = list(updates) if first else []
            for mention_id in ids:
                mention = latest[mention_id]
                found = where.get(mention_id, [])
                target = found[0] if found else self.names.alias
                document = document_json(
                    mention,
                    previous_us=previous[incoming[mention_id].id_hash],
                    full_text=self.full_text,
                )
                ops.append(({"index": {"_index": target, "_id": mention_id}}, mention, document))
                for stale in found[1:]:  # copies left by an interrupted move: remove them
                    ops.append(({"delete": {"_index": stale, "_id": mention_id}}, mention, None))
                if len(ops) >= _BULK_CHUNK:
                    yield ops
                    ops = []
            if ops:
                yield ops

        failures = self._call(
            lambda: send_pipelined(
                self._client, chunks(latest), backoff=self._backoff, refresh=self._refresh
            ),
            what="upsert",
        )
        refused = {f.mention_id for f in failures if _unmapped_field(f)} & latest.keys()
        if refused and self.full_text:
            # Another process, set without the full-text fields, wrote the shared template
            # and an index made since (a rollover) lacks them: add them, send those again.
            self._add_new_fields()
            again = self._call(
                lambda: send_pipelined(
                    self._client,
                    chunks(sorted(refused), first=False),
                    backoff=self._backoff,
                    refresh=self._refresh,
                ),
                what="upsert",
            )
            failures = [f for f in failures if f.mention_id not in refused] + again
        if self._refresh is True:  # the chunks were sent without: once for them all
            self.refresh()
        if failures:
            path = dead_letter_path or self._settings.dead_letter_path
            write_dead_letters(path, failures, index_prefix=self.names.prefix)
            log.error(
                "%d of %d mentions were refused by Elasticsearch and written to %s "
                "(first reason: %s); fix the cause, then `veille store dead-letters retry`",
                len(failures),
                len(latest),
                path,
                short_reason(failures[0].error),  # its reason quotes the document's values
            )
        return len(latest) - len({f.mention_id for f in failures})

    def set_triage(self, changes: Mapping[str, Triage]) -> int:
        """Partial bulk updates of the triage fields (the text and the story chain are
        not sent again); returns how many of the ids are stored."""
        self._check_open()
        if not changes:
            return 0
        where = self._locate(list(changes))
        ops: list[Operation] = [
            ({"update": {"_index": name, "_id": mention_id}}, None, {"doc": triage_update(triage)})
            for mention_id, triage in changes.items()
            for name in where.get(mention_id, [])
        ]
        self._send_in_chunks(ops, chunk=_LOOKUP_CHUNK, what="triage update")
        return len(where)

    def delete(self, mention_ids: Sequence[str]) -> int:
        """Removes mentions by id; returns how many existed."""
        self._check_open()
        wanted = list(dict.fromkeys(mention_ids))
        if not wanted:
            return 0
        where = self._locate(wanted)
        ops: list[Operation] = []
        if where:
            ops += self._rechain(removed=sorted(where), incoming=[])[1]
        for mention_id, found in where.items():
            for name in found:
                ops.append(({"delete": {"_index": name, "_id": mention_id}}, None, None))
        self._send_in_chunks(ops, chunk=max(len(ops), 1), what="delete")
        return len(where)

    def delete_matching(self, flt: MentionFilter) -> int:
        """Removes every matching mention (retention, erasure), after rewriting the
        previous-copy time of the copies their stories keep.

        Matches are read page by page (ids and story hashes only) and deleted with bulk
        requests: `_delete_by_query` needs the reindex module, which a minimal node
        lacks."""
        self._check_open()
        query = compile_filter(flt)
        stories: set[int] = set()
        doomed: list[Operation] = []
        for hits in self._pages(query, [mapping.STORY_HASH]):
            for hit in hits:
                doomed.append(
                    ({"delete": {"_index": hit["_index"], "_id": hit["_id"]}}, None, None)
                )
                if mapping.STORY_HASH in hit["_source"]:
                    stories.add(int(hit["_source"][mapping.STORY_HASH]))
        if not doomed:
            return 0
        ops = self._survivor_updates(sorted(stories), removed=query) + doomed
        self._send_in_chunks(ops, chunk=_BULK_DELETES, what="delete")
        return len({op[0]["delete"]["_id"] for op in doomed})

    def _send_in_chunks(self, ops: list[Operation], *, chunk: int, what: str) -> None:
        """Sends `ops` as bulk requests of `chunk` operations, then refreshes the whole
        alias once (as `upsert` does): a bulk refresh covers only the shards its own chunk
        touched, and earlier chunks may have gone to other indices after a rollover.
        IndexUnavailable names what was refused."""
        each = "wait_for" if self._refresh == "wait_for" else False
        for first in range(0, len(ops), chunk):
            failures = self._call(
                partial(
                    send_bulk,
                    self._client,
                    ops[first : first + chunk],
                    backoff=self._backoff,
                    refresh=each,
                ),
                what=what,
            )
            if failures:
                raise IndexUnavailable(f"Elasticsearch refused a {what}: {failures[0].error[:300]}")
        if self._refresh is True and ops:
            self.refresh()

    def _survivor_updates(self, stories: list[int], *, removed: Query) -> list[Operation]:
        """The partial updates rechaining the copies of `stories` that `removed` spares."""
        fields = [mapping.ID, mapping.PUBLISHED_US, mapping.STORY_HASH, mapping.STORY_PREVIOUS_US]
        ops: list[Operation] = []
        for start in range(0, len(stories), _LOOKUP_CHUNK):
            chunk = stories[start : start + _LOOKUP_CHUNK]
            query = {
                "bool": {
                    "filter": [{"terms": {mapping.STORY_HASH: chunk}}],
                    "must_not": [removed],
                }
            }
            stored: list[tuple[str, str, story_chain.Member]] = []
            for hits in self._few(query, fields):
                for hit in hits:
                    source = hit["_source"]
                    member = story_chain.Member(
                        int(source[mapping.STORY_HASH]),
                        int(source[mapping.PUBLISHED_US]),
                        keys.id_hash(str(source[mapping.ID])),
                        source.get(mapping.STORY_PREVIOUS_US),
                    )
                    stored.append((hit["_index"], hit["_id"], member))
            previous = story_chain.previous_times(m for _, _, m in stored)
            ops += [
                (
                    {"update": {"_index": name, "_id": doc_id}},
                    None,
                    {"doc": {mapping.STORY_PREVIOUS_US: previous[member.id_hash]}},
                )
                for name, doc_id, member in stored
                if previous[member.id_hash] != member.previous_us
            ]
        return ops

    def close(self) -> None:
        """Closes the connections; reads and writes fail afterwards."""
        if not self._closed:
            self._closed = True
            self._client.close()

    # -- reading -------------------------------------------------------------------
    def get(self, mention_id: str) -> Mention | None:
        """Returns one mention by id, or None."""
        hits = self._search({"term": {mapping.ID: mention_id}}, size=1)["hits"]["hits"]
        return load(hits[0]["_source"]) if hits else None

    def search(self, request: SearchRequest) -> SearchPage:
        """Returns one page of matching mentions, by publication time then id, after the cursor."""
        if not 1 <= request.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {request.limit}")
        after = decode_cursor(request.cursor) if request.cursor is not None else None
        order = "desc" if request.sort == SortOrder.NEWEST else "asc"
        answer = self._search(
            compile_filter(request.filter),
            size=request.limit + 1,  # one more tells whether there is a next page
            sort=[{mapping.PUBLISHED_US: order}, {mapping.ID: order}],
            search_after=list(after) if after is not None else None,
            track_total_hits=True,
        )
        hits = answer["hits"]["hits"]
        page = hits[: request.limit]
        cursor = None
        if len(hits) > request.limit:
            published_us, mention_id = page[-1]["sort"]
            cursor = encode_cursor(int(published_us), str(mention_id))
        return SearchPage(
            mentions=[load(hit["_source"]) for hit in page],
            total=int(answer["hits"]["total"]["value"]),
            next_cursor=cursor,
        )

    def count(self, flt: MentionFilter) -> int:
        """Counts matching mentions."""
        query = compile_filter(flt)
        answer = self._call(
            lambda: self._client.count(index=self.names.alias, query=query), what="count"
        )
        return int(answer["count"])

    def histogram(
        self, flt: MentionFilter, *, interval: Interval, split_by: Dimension | None = None
    ) -> list[TimeBucket]:
        """Counts matches per UTC hour, day or ISO week, oldest first, empty buckets included."""
        interval = Interval(interval)
        query = compile_filter(flt)
        first = epoch_us(flt.since) if flt.since is not None else None
        last = epoch_us(flt.until) - 1 if flt.until is not None else None
        if first is None or last is None:
            bounds = self._aggregate(
                query,
                {
                    "first": {"min": {"field": mapping.PUBLISHED_US}},
                    "last": {"max": {"field": mapping.PUBLISHED_US}},
                },
            )
            if bounds["first"]["value"] is None:
                return []  # no match: an open side has nowhere to end
            first = round(bounds["first"]["value"]) if first is None else first
            last = round(bounds["last"]["value"]) if last is None else last
        if first > last:
            return []
        aggregations.check_bucket_count(first, last, interval)
        # date_histogram on the millisecond date: bucket edges are whole hours, so
        # flooring microseconds to milliseconds never moves a mention across one.
        spec: dict[str, Any] = {
            "date_histogram": {
                "field": mapping.PUBLISHED_AT,
                "fixed_interval": _FIXED_INTERVALS[interval],
                "min_doc_count": 1,
            }
        }
        if interval == Interval.WEEK:
            spec["date_histogram"]["offset"] = "4d"  # the epoch was a Thursday: Mondays
        split_field = mapping.DIMENSION_FIELDS[Dimension(split_by)] if split_by else None
        if split_field is not None:
            spec["aggs"] = {"by": _terms_agg(split_field)}
        result = self._aggregate(query, {"histogram": spec})
        in_us = {
            "buckets": [
                {**bucket, "key": int(bucket["key"]) * 1000}
                for bucket in result["histogram"].get("buckets", [])
            ]
        }
        return aggregations.time_buckets(
            in_us,
            interval=interval,
            first_us=first,
            last_us=last,
            split=split_field is not None,
        )

    def terms(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10
    ) -> list[CountBucket]:
        """Counts matches per displayed value of a field, largest first, ties by key."""
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        field = mapping.DIMENSION_FIELDS[Dimension(dimension)]
        result = self._aggregate(compile_filter(flt), {"terms": _terms_agg(field)})
        return aggregations.largest(aggregations.term_counts(result["terms"]), size)

    def top_terms(
        self, flt: MentionFilter, *, size: int = 20, exclude: Collection[str] = ()
    ) -> list[CountBucket]:
        """The words most matches use (count = mentions using it), as written, without
        function words or the words in `exclude` (folded): a terms aggregation on the
        words stored at write time, over the newest `TOP_TERMS_SAMPLE` matches when more
        match (cut at the publication time of the last of them)."""
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        query = compile_filter(flt)
        last = self._search(
            query,
            size=1,
            from_=TOP_TERMS_SAMPLE - 1,
            sort=[{mapping.PUBLISHED_US: "desc"}, {mapping.ID: "desc"}],
            source_includes=[mapping.ID],
            track_total_hits=TOP_TERMS_SAMPLE + 1,
        )
        hits = last["hits"]["hits"]
        if hits and int(last["hits"]["total"]["value"]) > TOP_TERMS_SAMPLE:
            cut = {"range": {mapping.PUBLISHED_US: {"gte": int(hits[0]["sort"][0])}}}
            query = {"bool": {"filter": [query, cut]}}
        wanted = aggregations.terms_wanted(size, exclude)
        spec = {"terms": {"field": mapping.TERMS, "size": wanted, "shard_size": wanted * 10}}
        result = self._aggregate(query, {"words": spec})
        return aggregations.kept_words(aggregations.term_counts(result["words"]), size, exclude)

    def audience(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10, by_followers: bool
    ) -> list[AudienceBucket]:
        """Per value, its matches and the most followers any reported; see the contract."""
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        spec = _terms_agg(mapping.DIMENSION_FIELDS[Dimension(dimension)])
        spec["aggs"] = {"followers": {"max": {"field": mapping.FOLLOWERS}}}
        result = self._aggregate(compile_filter(flt), {"values": spec})
        return aggregations.audience_buckets(result["values"], size, by_followers=by_followers)

    def reach(self, flt: MentionFilter) -> Reach:
        """The matches and the sum of their authors' followers where given."""
        query = compile_filter(flt)
        result = self._aggregate(query, {"followers": {"stats": {"field": mapping.FOLLOWERS}}})
        return aggregations.reach(self.count(flt), result["followers"])

    def story_hashes(self, flt: MentionFilter) -> set[int]:
        """The stories of the matching mentions, read page by page (exact at any size)."""
        return set(self._story_pages(compile_filter(flt), earliest=False))

    def story_starts(self, flt: MentionFilter) -> dict[int, int]:
        """Per story of the matching mentions, its earliest publication time among them."""
        return self._story_pages(compile_filter(flt), earliest=True)

    def _story_pages(self, query: Query, *, earliest: bool) -> dict[int, int]:
        """{story hash: earliest matching publication µs (0 unless `earliest`)}, from a
        composite aggregation read page by page: doc values only, no document loaded."""
        found: dict[int, int] = {}
        after: dict[str, Any] | None = None
        while True:
            source: dict[str, Any] = {
                "sources": [
                    {"s": {"terms": {"field": mapping.STORY_HASH, "missing_bucket": True}}}
                ],
                "size": _COMPOSITE_PAGE,
            }
            if after is not None:
                source["after"] = after
            spec: dict[str, Any] = {"composite": source}
            if earliest:
                spec["aggs"] = {"first": {"min": {"field": mapping.PUBLISHED_US}}}
            try:
                answer = self._aggregate(query, {"stories": spec})["stories"]
            except UnservableRequest:  # an API without composite aggregations (the emulator)
                return self._story_starts_from_sources(query)
            buckets = answer["buckets"]
            if any(b["key"]["s"] is None for b in buckets):
                # documents written before story_hash: read them
                return self._story_starts_from_sources(query)
            for bucket in buckets:
                # Epoch microseconds stay below 2**53: the double `min` is exact.
                found[int(bucket["key"]["s"])] = round(bucket["first"]["value"]) if earliest else 0
            after = answer.get("after_key")
            if len(buckets) < _COMPOSITE_PAGE or after is None:
                return found

    def _story_starts_from_sources(self, query: Query) -> dict[int, int]:
        found: dict[int, int] = {}
        fields = [
            mapping.STORY_HASH,
            mapping.ID,
            mapping.PUBLISHED_US,
            mapping.filter_field("story"),
        ]
        for hits in self._pages(query, fields):  # oldest first: the first seen is the earliest
            for hit in hits:
                source = hit["_source"]
                story = source.get(mapping.STORY_HASH)
                key = int(story) if story is not None else story_chain.story_hash(_story_of(source))
                found.setdefault(key, int(source[mapping.PUBLISHED_US]))
        return found

    def iter_all(self, flt: MentionFilter, *, batch_size: int = 1000) -> Iterator[Mention]:
        """Yields every matching mention, oldest first, as of the call (a point in time)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._check_open()
        query = compile_filter(flt)
        pit = open_pit(self._client, self.names.alias, self._call)
        return self._iterate(query, pit, batch_size)

    def iter_json(self, flt: MentionFilter, *, batch_size: int = 1000) -> Iterator[bytes]:
        """Yields every matching mention's stored JSON (`Mention.model_dump(mode="json")`,
        as written), oldest first, as of the call: no model is built."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._check_open()
        query = compile_filter(flt)
        pit = open_pit(self._client, self.names.alias, self._call)
        return self._iterate_json(query, pit, batch_size)

    def day_digests(self, flt: MentionFilter) -> dict[date, DayDigest]:
        """Per UTC day, the matches' count and ids' digest, from the sort values of a walk
        through a point in time (publication time and id, doc values): no document is
        loaded."""
        self._check_open()
        query = compile_filter(flt)
        pit = open_pit(self._client, self.names.alias, self._call)
        pages = pit_pages(
            self._client,
            pit,
            call=self._call,
            batch_size=_ID_PAGE,
            query=query,
            with_source=False,
        )
        return fold_ids((int(h["sort"][0]), str(h["sort"][1])) for hits in pages for h in hits)

    # -- helpers -------------------------------------------------------------------
    def _iterate_json(self, query: Query, pit: str, batch_size: int) -> Iterator[bytes]:
        for hits in pit_pages(
            self._client, pit, call=self._call, batch_size=batch_size, query=query
        ):
            for hit in hits:
                yield json.dumps(hit["_source"][mapping.MENTION], ensure_ascii=False).encode()

    def _iterate(self, query: Query, pit: str, batch_size: int) -> Iterator[Mention]:
        for hits in pit_pages(
            self._client, pit, call=self._call, batch_size=batch_size, query=query
        ):
            for hit in hits:
                yield load(hit["_source"])

    def _rechain(
        self, *, removed: list[str], incoming: list[story_chain.Member]
    ) -> tuple[dict[int, int], list[Operation]]:
        """Rechains the stories that gain `incoming` copies or lose the `removed` ids
        (replaced or deleted): `previous_us` by id hash for the incoming copies, and the
        partial updates of the stored copies whose previous copy changed."""
        stories = {m.story for m in incoming}
        for start in range(0, len(removed), _LOOKUP_CHUNK):  # a replaced copy may move
            chunk = removed[start : start + _LOOKUP_CHUNK]
            for hits in self._few({"terms": {mapping.ID: chunk}}, [mapping.STORY_HASH]):
                stories.update(
                    int(h["_source"][mapping.STORY_HASH])
                    for h in hits
                    if mapping.STORY_HASH in h["_source"]
                )
        if not stories:
            return {}, []
        gone = {keys.id_hash(i) for i in removed}
        stored: list[tuple[str, str, story_chain.Member]] = []
        ordered = sorted(stories)
        fields = [mapping.ID, mapping.PUBLISHED_US, mapping.STORY_HASH, mapping.STORY_PREVIOUS_US]
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            query = {"terms": {mapping.STORY_HASH: ordered[start : start + _LOOKUP_CHUNK]}}
            for hits in self._few(query, fields):
                for hit in hits:
                    source = hit["_source"]
                    member = story_chain.Member(
                        int(source[mapping.STORY_HASH]),
                        int(source[mapping.PUBLISHED_US]),
                        keys.id_hash(str(source[mapping.ID])),
                        source.get(mapping.STORY_PREVIOUS_US),
                    )
                    if member.id_hash not in gone:
                        stored.append((hit["_index"], hit["_id"], member))
        previous = story_chain.previous_times([m for _, _, m in stored] + incoming)
        updates: list[Operation] = [
            (
                {"update": {"_index": name, "_id": doc_id}},
                None,
                {"doc": {mapping.STORY_PREVIOUS_US: previous[member.id_hash]}},
            )
            for name, doc_id, member in stored
            if previous[member.id_hash] != member.previous_us
        ]
        return previous, updates

    def _few(self, query: Query, fields: list[str]) -> Iterator[list[Any]]:
        """Every hit of a query that usually has few (a story's copies): one unsorted
        request, or pages when there are more than one request returns."""
        answer = self._search(query, size=_PAGE, source_includes=fields, track_total_hits=True)
        hits = answer["hits"]["hits"]
        if int(answer["hits"]["total"]["value"]) <= len(hits):
            yield hits
            return
        yield from self._pages(query, fields)

    def _pages(self, query: Query, fields: list[str]) -> Iterator[list[Any]]:
        """Every hit of `query` (only `fields` of its source), page by page."""
        after: list[Any] | None = None
        while True:
            hits = self._search(
                query,
                size=_PAGE,
                # unmapped_type: an index made by hand or by an old version may lack them.
                sort=[
                    {mapping.PUBLISHED_US: {"order": "asc", "unmapped_type": "long"}},
                    {mapping.ID: {"order": "asc", "unmapped_type": "keyword"}},
                ],
                search_after=after,
                source_includes=fields,
            )["hits"]["hits"]
            if hits:
                yield hits
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]

    def _search(self, query: Query, *, size: int, **options: Any) -> Any:
        options.setdefault("source_includes", [mapping.MENTION])
        options.setdefault("track_total_hits", False)
        return self._call(
            lambda: self._client.search(index=self.names.alias, query=query, size=size, **options),
            what="search",
        )

    def _aggregate(self, query: Query, aggs: dict[str, Any]) -> Any:
        answer = self._call(
            lambda: self._client.search(
                index=self.names.alias, query=query, size=0, aggs=aggs, track_total_hits=False
            ),
            what="aggregation",
        )
        return answer["aggregations"]

    def _locate(self, mention_ids: list[str]) -> dict[str, list[str]]:
        """The concrete indices holding each of these ids (newest index first)."""
        where: dict[str, list[str]] = {}
        for start in range(0, len(mention_ids), _LOOKUP_CHUNK):
            chunk = mention_ids[start : start + _LOOKUP_CHUNK]
            answer = self._search(
                {"terms": {mapping.ID: chunk}},
                size=len(chunk) * 4,  # room for copies in several indices
                source_includes=[mapping.ID],
            )
            for hit in answer["hits"]["hits"]:
                where.setdefault(hit["_id"], []).append(hit["_index"])
        for found in where.values():
            found.sort(reverse=True)
        return where

    def _check_open(self) -> None:
        if self._closed:
            raise IndexUnavailable(f"the Elasticsearch index at {self._settings.url} is closed")

    def _call(self, run: Callable[[], _T], *, what: str) -> _T:
        """Runs a request with retries, turning transport and server errors into ours."""
        self._check_open()
        try:
            return with_retries(run, backoff=self._backoff, what=what)
        except (TransportConnectionError, ConnectionTimeout) as error:
            raise IndexUnavailable(
                f"cannot reach Elasticsearch at {self._settings.url} ({what}): "
                f"{type(error).__name__}"
            ) from error
        except (SerializationError, UnsupportedProductError) as error:
            # An answer that is not Elasticsearch's JSON (an HTML page, a proxy's 404): the
            # URL points at some other server, which no retry will change.
            raise IndexUnavailable(
                f"{self._settings.url} is not an Elasticsearch server (its answer to "
                f"{what} is not Elasticsearch's): check store.index_url"
            ) from error
        except ApiError as error:
            if error.status_code in {401, 403}:
                raise IndexUnavailable(
                    f"Elasticsearch at {self._settings.url} refused our credentials ({what})"
                ) from error
            if error.status_code == 404:
                raise IndexUnavailable(
                    f"the mention indices {self.names.alias} are missing ({what}): {error.message}"
                ) from error
            if error.status_code == 400:
                raise UnservableRequest(
                    f"Elasticsearch refused the {what}: {error.message}"
                ) from error
            raise IndexUnavailable(
                f"Elasticsearch failed on {what}: {error.status_code} {error.message}"
            ) from error


def _story_of(source: dict[str, Any]) -> str:
    """The story key of a document written before `story_hash` existed."""
    stories = source.get(mapping.filter_field("story")) or []
    if isinstance(stories, str):
        stories = [stories]
    return str(stories[0]) if stories else fold_keyword(str(source[mapping.ID]))


def _terms_agg(field: str) -> dict[str, Any]:
    return {"terms": {"field": field, "size": _ALL_TERMS, "shard_size": _ALL_TERMS}}


def _unmapped_field(failure: ItemFailure) -> bool:
    """A refusal for a field the target index does not map (`dynamic: strict`)."""
    return "strict_dynamic_mapping" in failure.error
