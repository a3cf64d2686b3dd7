"""The embedded mention index: tantivy in a local directory, no server to run.

Readers in any number of processes share the directory; writers take turns on
tantivy's writer lock (see writer.py). Every read reloads the reader first (a cheap
check of meta.json), so a commit made by another process is visible at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, ParamSpec, TypeVar

import tantivy
from tantivy import FieldType, Order, Query

from services.core.models import Mention
from services.core.query.ast import MatchAll
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
    StoryCopies,
    TimeBucket,
    UnservableRequest,
)
from services.store.embedded import aggregations, documents, keys, reindex, schema
from services.store.embedded.compile import QueryCompiler
from services.store.embedded.writer import WriterLease
from services.store.id_digest import DayDigest, fold_hashes

_T = TypeVar("_T")
_STORY_CHUNK = 20_000  # stories per look-up of surviving copies
_LARGEST_PAGE = 20_000  # addresses held at once by iter_all and iter_json: about 2 MB
_P = ParamSpec("_P")
# Reading one more hit costs about a tenth of looking up one more term of a term set
# (measured on 200,000 mentions; see `_matching`).
_HITS_PER_STORY_TERM = 10
# Matches whose stories a distinct count reads at once (about 12 MB of addresses at most).
_DIRECT_STORIES = 100_000
_DAY_US = 86_400_000_000
_NEWEST_TRIES = 4  # windows counted to find the newest matches for top terms
_LONGEST_SPAN_US = 100 * 366 * _DAY_US
_RANK_ALL = 3  # top terms rank up to this many samples' worth of matches without a window


def _hit_count(result: tantivy.SearchResult) -> int:
    # `count` exists at runtime (search(count=True)) but is missing from tantivy's stubs.
    count: int = getattr(result, "count")  # noqa: B009
    return count


class EmbeddedIndex(MentionIndex):
    """A `MentionIndex` stored with tantivy in the directory `path`."""

    def __init__(
        self,
        path: str,
        *,
        lock_timeout: float = 5.0,
        writer_idle_seconds: float = 1.0,
        writer_heap_size: int = 128_000_000,
        writer_threads: int = 1,
    ) -> None:
        # One indexing thread: each thread writes its own segment at every commit, and
        # every upsert commits, so more threads mean smaller segments and more merging.
        self._path = path
        self._schema = schema.build_schema()
        try:
            os.makedirs(path, exist_ok=True)
            self._index = tantivy.Index(self._schema, path=path, reuse=True)
        except ValueError as error:
            if not reindex.is_schema_mismatch(error):
                raise IndexUnavailable(f"cannot open the index at {path}: {error}") from error
            self._index = self._rebuilt(path)
        except OSError as error:
            raise IndexUnavailable(
                f"cannot open the index at {path}: {error} (an index written by another "
                "version of Veille needs a reindex)"
            ) from error
        schema.register_analyzers(self._index)
        self._index.config_reader("Manual")  # we reload before each read instead
        self._writer = WriterLease(
            self._index,
            path=path,
            heap_size=writer_heap_size,
            num_threads=writer_threads,
            lock_timeout=lock_timeout,
            idle_seconds=writer_idle_seconds,
        )
        self._closed = False

    # -- writing -----------------------------------------------------------------
    def upsert(self, mentions: Sequence[Mention]) -> int:
        """Writes mentions (replacing any with the same id); returns how many were written."""
        self._check_open()
        latest = {mention.id: mention for mention in mentions}  # the last copy of an id wins
        if not latest:
            return 0
        batch = list(latest.values())
        hashed = [keys.id_hash(mention.id) for mention in batch]
        published = [keys.epoch_us(mention.published_at) for mention in batch]
        wanted = [(h, keys.base_key(us, h)) for h, us in zip(hashed, published, strict=True)]
        with self._writer.hold() as writer:
            # Holding the writer, nobody else commits: this view of the index is final.
            self._index.reload()
            searcher = self._index.searcher()
            existing = self._existing(searcher, list(latest))
            sort_keys = keys.assign_keys(wanted, lambda ks: self._key_holders(searcher, ks))
            incoming = [
                story_chain.Member(story_chain.story_hash(story_chain.story_key(m)), us, h)
                for m, us, h in zip(batch, published, hashed, strict=True)
            ]
            previous = self._restamp(searcher, writer, removed=sorted(existing), incoming=incoming)
            # Tokenizing here, not before taking the writer, lets tantivy's indexing
            # threads work on one mention while Python prepares the next.
            for mention, hashed_id, published_us, sort_key in zip(
                batch, hashed, published, sort_keys, strict=True
            ):
                if mention.id in existing:
                    writer.delete_documents_by_term(schema.ID, mention.id)
                fields = documents.to_fields(
                    mention,
                    sort_key=sort_key,
                    hashed_id=hashed_id,
                    published_us=published_us,
                    previous_us=previous[hashed_id],
                )
                writer.add_document(tantivy.Document.from_dict(fields, self._schema))
            writer.commit()
        self._index.reload()
        return len(batch)

    def set_triage(self, changes: Mapping[str, Triage]) -> int:
        """Rewrites the documents of these mentions with their new triage, in one commit.

        A document cannot be changed in place: each is written again with its sort key,
        publication time and place in its story as stored, so no story is rechained."""
        self._check_open()
        if not changes:
            return 0
        with self._writer.hold() as writer:
            self._index.reload()
            searcher = self._index.searcher()
            query = Query.term_set_query(self._schema, schema.ID, list(changes))
            hits = self._all_hits(searcher, query, len(changes))
            addresses = [a for _, a in hits]
            columns = [
                searcher.fast_field_values(field, addresses)
                for field in (schema.ID_HASH, schema.PUBLISHED_US, schema.STORY_PREVIOUS_US)
            ]
            written = found = 0
            for (sort_key, address), hashed, published, previous in zip(
                hits, *columns, strict=True
            ):
                mention = self._load(searcher, address)
                triage = changes.get(mention.id)
                if triage is None:
                    continue
                found += 1
                if triage == mention.triage:
                    continue
                writer.delete_documents_by_term(schema.ID, mention.id)
                fields = documents.to_fields(
                    mention.model_copy(update={"triage": triage}),
                    sort_key=int(sort_key),
                    hashed_id=int(hashed),
                    published_us=int(published),
                    previous_us=int(previous),
                )
                writer.add_document(tantivy.Document.from_dict(fields, self._schema))
                written += 1
            if written:
                writer.commit()
        self._index.reload()
        return found

    def delete(self, mention_ids: Sequence[str]) -> int:
        """Removes mentions by id; returns how many existed."""
        self._check_open()
        wanted = list(dict.fromkeys(mention_ids))
        if not wanted:
            return 0
        with self._writer.hold() as writer:
            self._index.reload()
            searcher = self._index.searcher()
            existing = self._existing(searcher, wanted)
            if existing:
                self._restamp(searcher, writer, removed=sorted(existing), incoming=[])
                for mention_id in existing:
                    writer.delete_documents_by_term(schema.ID, mention_id)
                writer.commit()
        self._index.reload()
        return len(existing)

    def delete_matching(self, flt: MentionFilter) -> int:
        """Removes every matching mention with one delete-by-query (retention, erasure).

        Only the surviving copies of the stories that lose copies are read and rewritten
        (their previous copy may change); the deleted mentions are never loaded."""
        self._check_open()
        with self._writer.hold() as writer:
            self._index.reload()
            searcher = self._index.searcher()
            query = QueryCompiler(self._schema, searcher).compile_filter(flt)
            total = self._count(searcher, query)
            if not total:
                return 0
            hits = _guard(searcher.search, query, total, count=False).hits
            found = searcher.fast_field_values(schema.STORY_HASH, [a for _, a in hits])
            stories = sorted({int(v) for v in found if v is not None})
            self._restamp_survivors(searcher, writer, stories=stories, removed=query)
            writer.delete_documents_by_query(query)
            writer.commit()
        self._index.reload()
        return total

    def _restamp_survivors(
        self,
        searcher: tantivy.Searcher,
        writer: tantivy.IndexWriter,
        *,
        stories: list[int],
        removed: Query,
    ) -> None:
        """Rechains the copies left in `stories` once the `removed` ones are gone."""
        for start in range(0, len(stories), _STORY_CHUNK):
            chunk = stories[start : start + _STORY_CHUNK]
            in_stories = Query.term_set_query(self._schema, schema.STORY_HASH, chunk)
            survivors = Query.boolean_query(
                [(tantivy.Occur.Must, in_stories), (tantivy.Occur.MustNot, removed)]
            )
            hits = self._all_hits(searcher, survivors, len(chunk))
            if not hits:
                continue
            members = self._columns(searcher, hits)
            previous = story_chain.previous_times(m for _, _, m in members)
            for address, sort_key, member in members:
                if previous[member.id_hash] != member.previous_us:
                    self._rewrite(searcher, writer, address, sort_key, member, previous)

    def _rewrite(
        self,
        searcher: tantivy.Searcher,
        writer: tantivy.IndexWriter,
        address: tantivy.DocAddress,
        sort_key: int,
        member: story_chain.Member,
        previous: dict[int, int],
    ) -> None:
        """Writes a stored copy again with its new previous copy time."""
        mention = self._load(searcher, address)
        writer.delete_documents_by_term(schema.ID, mention.id)
        fields = documents.to_fields(
            mention,
            sort_key=sort_key,
            hashed_id=member.id_hash,
            published_us=member.published_us,
            previous_us=previous[member.id_hash],
        )
        writer.add_document(tantivy.Document.from_dict(fields, self._schema))

    def _rebuilt(self, path: str) -> tantivy.Index:
        try:
            return reindex.rebuild_and_open(path, self._schema, fresh_index=EmbeddedIndex)
        except (OSError, ValueError) as error:
            raise IndexUnavailable(
                f"cannot open the index at {path}: {error} (it was written by another "
                "version of Veille and could not be rebuilt)"
            ) from error

    def close(self) -> None:
        """Waits for merges and releases the writer lock; reads and writes fail afterwards."""
        if not self._closed:
            self._closed = True
            self._writer.release()

    # -- reading -----------------------------------------------------------------
    def get(self, mention_id: str) -> Mention | None:
        """Returns one mention by id, or None."""
        searcher = self._searcher()
        query = Query.term_query(self._schema, schema.ID, mention_id, index_option="basic")
        hits = searcher.search(query, 1, count=False).hits
        return self._load(searcher, hits[0][1]) if hits else None

    def search(self, request: SearchRequest) -> SearchPage:
        """Returns one page of matching mentions, by publication time, after the cursor."""
        if not 1 <= request.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {request.limit}")
        after = keys.decode_cursor(request.cursor) if request.cursor is not None else None
        searcher = self._searcher()
        compiler = QueryCompiler(self._schema, searcher)
        matching = compiler.compile_filter(request.filter)
        newest = request.sort == SortOrder.NEWEST
        query = matching
        if after is not None:
            beyond = compiler.key_range(below=after) if newest else compiler.key_range(above=after)
            query = matching.and_must_match(beyond)
        result = _guard(
            searcher.search,
            query,
            request.limit + 1,  # one more tells whether there is a next page
            order_by_field=schema.SORT_KEY,
            order=Order.Desc if newest else Order.Asc,
        )
        page = result.hits[: request.limit]
        more = len(result.hits) > request.limit
        total = _hit_count(result) if after is None else self._count(searcher, matching)
        return SearchPage(
            mentions=[self._load(searcher, address) for _, address in page],
            total=total,
            next_cursor=keys.encode_cursor(int(page[-1][0])) if more else None,
        )

    def count(self, flt: MentionFilter) -> int:
        """Counts matching mentions."""
        searcher = self._searcher()
        return self._count(searcher, QueryCompiler(self._schema, searcher).compile_filter(flt))

    def histogram(
        self, flt: MentionFilter, *, interval: Interval, split_by: Dimension | None = None
    ) -> list[TimeBucket]:
        """Counts matches per UTC hour, day or ISO week, oldest first, empty buckets included.

        The window is `since`..`until` (exclusive); an open side ends at the first or
        last match, and with no match there an open window has no buckets.
        """
        interval = Interval(interval)
        searcher = self._searcher()
        query = QueryCompiler(self._schema, searcher).compile_filter(flt)
        first = keys.epoch_us(flt.since) if flt.since is not None else None
        last = keys.epoch_us(flt.until) - 1 if flt.until is not None else None
        if first is None or last is None:
            bounds = _guard(
                searcher.aggregate,
                query,
                {
                    "first": {"min": {"field": schema.PUBLISHED_US}},
                    "last": {"max": {"field": schema.PUBLISHED_US}},
                },
            )
            if bounds["first"]["value"] is None:
                first = last = None  # no match: an open side has nowhere to end
            else:
                first = round(bounds["first"]["value"]) if first is None else first
                last = round(bounds["last"]["value"]) if last is None else last
        if first is None or last is None or first > last:
            return []
        aggregations.check_bucket_count(first, last, interval)
        split_field = schema.DIMENSION_FIELDS[Dimension(split_by)] if split_by else None
        spec = aggregations.histogram_agg(interval, split_field)
        result = _guard(searcher.aggregate, query, {"histogram": spec})
        return aggregations.time_buckets(
            result["histogram"],
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
        field = schema.DIMENSION_FIELDS[Dimension(dimension)]
        searcher = self._searcher()
        query = QueryCompiler(self._schema, searcher).compile_filter(flt)
        try:
            result = _guard(searcher.aggregate, query, {"terms": aggregations.terms_agg(field)})
        except _TooManyBuckets:  # story ids in a large window: the largest values only
            bounded = aggregations.terms_agg(field, aggregations.bounded_terms_size(size))
            result = _guard(searcher.aggregate, query, {"terms": bounded})
        return aggregations.largest(aggregations.term_counts(result["terms"]), size)

    def top_terms(
        self, flt: MentionFilter, *, size: int = 20, exclude: Collection[str] = ()
    ) -> list[CountBucket]:
        """The words most matches use (count = mentions using it), as written, without
        function words or the words in `exclude` (folded).

        A terms aggregation on the words each document stored at write time: no text is
        read again. Over the newest `TOP_TERMS_SAMPLE` matches when more match (cut at
        the sort key of the last of them); counts are exact when a word is among the top
        of every segment.
        """
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        searcher = self._searcher()
        compiler = QueryCompiler(self._schema, searcher)
        query = self._newest(searcher, compiler, flt)
        last = _guard(
            searcher.search,
            query,
            1,
            count=False,
            offset=TOP_TERMS_SAMPLE - 1,
            order_by_field=schema.SORT_KEY,
            order=Order.Desc,
        )
        if last.hits:  # at least TOP_TERMS_SAMPLE match: from the last of the newest on
            query = query.and_must_match(compiler.key_range(above=int(last.hits[0][0]) - 1))
        wanted = aggregations.terms_wanted(size, exclude)
        spec = {"terms": {"field": schema.TERMS, "size": wanted, "segment_size": wanted * 10}}
        result = _guard(searcher.aggregate, query, {"words": spec})
        return aggregations.kept_words(aggregations.term_counts(result["words"]), size, exclude)

    def _newest(
        self, searcher: tantivy.Searcher, compiler: QueryCompiler, flt: MentionFilter
    ) -> Query:
        """`query` narrowed to its matches published from some time on, when those hold at
        least `TOP_TERMS_SAMPLE` of them; else `query`. Ranking a million matches by sort
        key to find the newest few thousand costs more than their count and times (one
        `stats` pass) and a count or two over recent windows, each window's length
        guessed from the last count; up to `_RANK_ALL` samples' worth are ranked as is.
        Windows start on a millisecond, the unit of sort keys: every match left out has
        a lower key than every match kept, so the newest matches are the same."""
        query = compiler.compile_filter(flt)
        times = _guard(
            searcher.aggregate, query, {"times": {"stats": {"field": schema.PUBLISHED_US}}}
        )["times"]
        matched, newest, oldest = int(times.get("count") or 0), times["max"], times["min"]
        if matched <= _RANK_ALL * TOP_TERMS_SAMPLE or newest is None or oldest is None:
            return query  # few enough to rank them all
        floor = keys.epoch_us(flt.since) if flt.since is not None else None
        # The first window: twice the sample, as if matches were spread evenly over time.
        span = max(1000, round((newest - oldest) * 2 * TOP_TERMS_SAMPLE / matched))
        for _ in range(_NEWEST_TRIES):
            start = (round(newest) - span) // 1000 * 1000
            if span > _LONGEST_SPAN_US or (floor is not None and start <= floor):
                return query  # the whole window: few match
            if flt.copies == StoryCopies.ALL:  # one range on the column, not two
                narrowed = compiler.compile_filter(replace(flt, since=keys.from_epoch_us(start)))
            else:  # which copy is first depends on `since`: keep it, add the window
                window = Query.range_query(
                    self._schema, schema.PUBLISHED_US, FieldType.Integer, start, None
                )
                narrowed = query.and_must_match(window)
            found = self._count(searcher, narrowed)
            if found >= TOP_TERMS_SAMPLE:
                return narrowed
            # Aim at twice the sample, as if matches were spread evenly over time.
            span = max(2 * span, span * 2 * TOP_TERMS_SAMPLE // max(found, 1))
        return query

    def audience(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10, by_followers: bool
    ) -> list[AudienceBucket]:
        """Per value, its matches and the most followers any reported; see the contract."""
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        field = schema.DIMENSION_FIELDS[Dimension(dimension)]
        searcher = self._searcher()
        query = QueryCompiler(self._schema, searcher).compile_filter(flt)
        spec = aggregations.terms_agg(field)
        spec["aggs"] = {"followers": {"max": {"field": schema.FOLLOWERS}}}
        result = _guard(searcher.aggregate, query, {"values": spec})
        return aggregations.audience_buckets(result["values"], size, by_followers=by_followers)

    def reach(self, flt: MentionFilter) -> Reach:
        """The matches and the sum of their authors' followers where given."""
        searcher = self._searcher()
        query = QueryCompiler(self._schema, searcher).compile_filter(flt)
        result = _guard(
            searcher.aggregate, query, {"followers": {"stats": {"field": schema.FOLLOWERS}}}
        )
        return aggregations.reach(self._count(searcher, query), result["followers"])

    def story_hashes(self, flt: MentionFilter) -> set[int]:
        """The stories of the matching mentions, read from a fast field (no document loads)."""
        searcher = self._searcher()
        values = searcher.fast_field_values(schema.STORY_HASH, self._matching(searcher, flt))
        found: set[Any] = set(values)  # i64 column: ints, and None where a segment lacks it
        found.discard(None)
        return found & flt.stories if flt.stories is not None else found

    def distinct_story_count(self, flt: MentionFilter) -> int | None:
        """With a query, the distinct story hashes of the matches, read from a fast field
        in one pass when at most `_DIRECT_STORIES` match. The general way (first copies
        counted, then the stories matched only by a later copy) passes over the matches
        up to five times, each as costly as this one; without a query it is one plain
        count, so None then (and when more match)."""
        if isinstance(flt.query, MatchAll) or flt.copies != StoryCopies.ALL:
            return None
        searcher = self._searcher()
        query = QueryCompiler(self._schema, searcher).compile_filter(flt)
        result = _guard(
            searcher.search, Query.const_score_query(query, 1.0), _DIRECT_STORIES, count=True
        )
        hits = result.hits
        if _hit_count(result) > len(hits):
            return None
        found: set[Any] = set(searcher.fast_field_values(schema.STORY_HASH, [a for _, a in hits]))
        if None in found:  # a segment without the column: let the general way count
            return None
        return len(found & flt.stories if flt.stories is not None else found)

    def story_starts(self, flt: MentionFilter) -> dict[int, int]:
        """Per story of the matching mentions, its earliest publication time among them
        (fast fields only)."""
        searcher = self._searcher()
        addresses = self._matching(searcher, flt)
        stories = searcher.fast_field_values(schema.STORY_HASH, addresses)
        published = searcher.fast_field_values(schema.PUBLISHED_US, addresses)
        pairs = [
            (int(s), int(p))
            for s, p in zip(stories, published, strict=True)
            if s is not None and p is not None
        ]
        found: dict[int, int] = {}
        for story, at in sorted(pairs, reverse=True):
            found[story] = at  # the earliest of each story comes last
        if flt.stories is not None:
            return {story: at for story, at in found.items() if story in flt.stories}
        return found

    def day_digests(self, flt: MentionFilter) -> dict[date, DayDigest]:
        """Per UTC day, the matches' count and ids' digest, from two fast fields (the
        publication time and the id hash): no stored document is read."""
        searcher = self._searcher()
        addresses = self._matching(searcher, flt)
        published = searcher.fast_field_values(schema.PUBLISHED_US, addresses)
        hashes = searcher.fast_field_values(schema.ID_HASH, addresses)
        pairs = [
            (p, h)
            for p, h in zip(published, hashes, strict=True)
            if isinstance(p, int) and isinstance(h, int)
        ]
        if len(pairs) < len(addresses):  # a segment without the columns (None)
            return super().day_digests(flt)
        return fold_hashes(pairs)

    def iter_all(self, flt: MentionFilter, *, batch_size: int = 1000) -> Iterator[Mention]:
        """Yields every matching mention, oldest first, as of the call (one snapshot)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        searcher = self._searcher()
        compiler = QueryCompiler(self._schema, searcher)
        return self._iterate(
            searcher, compiler, compiler.compile_filter(flt), batch_size, self._load
        )

    def iter_json(self, flt: MentionFilter, *, batch_size: int = 1000) -> Iterator[bytes]:
        """Yields every matching mention's stored JSON, oldest first (one snapshot): no
        model is built, a third of the cost of `iter_all` per mention."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        searcher = self._searcher()
        compiler = QueryCompiler(self._schema, searcher)
        return self._iterate(
            searcher, compiler, compiler.compile_filter(flt), batch_size, self._source
        )

    # -- helpers -----------------------------------------------------------------
    def _iterate(
        self,
        searcher: tantivy.Searcher,
        compiler: QueryCompiler,
        matching: Query,
        batch_size: int,
        read: Callable[[tantivy.Searcher, tantivy.DocAddress], _T],
    ) -> Iterator[_T]:
        # Each page is a search over every match after the last one read, so a million
        # matches in pages of 1,000 cost a million visits a page: after the first page
        # (soon there, for a caller that answers early) the pages grow to _LARGEST_PAGE.
        after: int | None = None
        size = batch_size
        while True:
            query = (
                matching
                if after is None
                else matching.and_must_match(compiler.key_range(above=after))
            )
            hits = _guard(
                searcher.search,
                query,
                size,
                count=False,
                order_by_field=schema.SORT_KEY,
                order=Order.Asc,
            ).hits
            for _, address in hits:
                yield read(searcher, address)
            if len(hits) < size:
                return
            after = int(hits[-1][0])
            size = max(size, min(size * 4, _LARGEST_PAGE))

    def _searcher(self) -> tantivy.Searcher:
        self._check_open()
        self._index.reload()  # ~20 µs when nothing changed; shows other processes' commits
        return self._index.searcher()

    def _check_open(self) -> None:
        if self._closed:
            raise IndexUnavailable(f"the index at {self._path} is closed")

    def _count(self, searcher: tantivy.Searcher, query: Query) -> int:
        return _hit_count(_guard(searcher.search, query, 1, count=True))

    def _matching(self, searcher: tantivy.Searcher, flt: MentionFilter) -> list[tantivy.DocAddress]:
        """The addresses of the matching documents, in no order, for reading fast fields;
        when many stories are asked for, of the documents of *any* story (the caller
        keeps those of `flt.stories`): a set of many terms costs more in tantivy (it
        reads the whole term dictionary of every segment) than a few more hits."""
        compiler = QueryCompiler(self._schema, searcher)
        broad = compiler.compile_filter(replace(flt, stories=None))
        total = self._count(searcher, broad)
        query = broad
        if flt.stories is not None and len(flt.stories) * _HITS_PER_STORY_TERM < total:
            query = compiler.compile_filter(flt)
            total = self._count(searcher, query)
        if not total:
            return []
        # A constant score: no scoring, and about half the cost for many hits.
        hits = _guard(searcher.search, Query.const_score_query(query, 1.0), total, count=False)
        return [address for _, address in hits.hits]

    def _source(self, searcher: tantivy.Searcher, address: tantivy.DocAddress) -> bytes:
        source = searcher.doc(address).get_first(schema.SOURCE)
        if not isinstance(source, bytes):
            raise IndexUnavailable(f"the index at {self._path} holds a document without a mention")
        return source

    def _load(self, searcher: tantivy.Searcher, address: tantivy.DocAddress) -> Mention:
        return documents.load(self._source(searcher, address))

    def _all_hits(
        self, searcher: tantivy.Searcher, query: Query, expected: int
    ) -> list[tuple[Any, tantivy.DocAddress]]:
        limit = max(expected, 1)
        while True:
            result = searcher.search(query, limit, order_by_field=schema.SORT_KEY)
            if len(result.hits) >= _hit_count(result):
                return result.hits
            limit = _hit_count(result)

    def _restamp(
        self,
        searcher: tantivy.Searcher,
        writer: tantivy.IndexWriter,
        *,
        removed: list[str],
        incoming: list[story_chain.Member],
    ) -> dict[int, int]:
        """Rechains the stories that gain `incoming` copies or lose the `removed` ids
        (replaced or deleted): rewrites the stored copies whose previous copy changed
        and returns `previous_us` by id hash for the incoming ones."""
        stories = {m.story for m in incoming}
        if removed:  # a replaced copy may leave its old story (reanalysis)
            query = Query.term_set_query(self._schema, schema.ID, removed)
            hits = self._all_hits(searcher, query, len(removed))
            found = searcher.fast_field_values(schema.STORY_HASH, [a for _, a in hits])
            stories |= {int(v) for v in found if v is not None}
        if not stories:
            return {}
        gone = {keys.id_hash(i) for i in removed}
        members = self._members(searcher, stories)
        stored = [(a, k, m) for a, k, m in members if m.id_hash not in gone]
        previous = story_chain.previous_times([m for _, _, m in stored] + incoming)
        for address, sort_key, member in stored:
            if previous[member.id_hash] != member.previous_us:
                self._rewrite(searcher, writer, address, sort_key, member, previous)
        return previous

    def _members(
        self, searcher: tantivy.Searcher, stories: set[int]
    ) -> list[tuple[tantivy.DocAddress, int, story_chain.Member]]:
        """The stored copies of these stories, with their address and sort key."""
        query = Query.term_set_query(self._schema, schema.STORY_HASH, sorted(stories))
        return self._columns(searcher, self._all_hits(searcher, query, len(stories)))

    def _columns(
        self, searcher: tantivy.Searcher, hits: list[tuple[Any, tantivy.DocAddress]]
    ) -> list[tuple[tantivy.DocAddress, int, story_chain.Member]]:
        """The story chain fields of these hits (sort key first), from fast fields."""
        addresses = [a for _, a in hits]
        columns = [
            searcher.fast_field_values(field, addresses)
            for field in (
                schema.STORY_HASH,
                schema.PUBLISHED_US,
                schema.ID_HASH,
                schema.STORY_PREVIOUS_US,
            )
        ]
        return [
            (address, int(sort_key), story_chain.Member(int(s), int(p), int(h), int(prev)))
            for (sort_key, address), s, p, h, prev in zip(hits, *columns, strict=True)
        ]

    def _existing(self, searcher: tantivy.Searcher, mention_ids: list[str]) -> set[str]:
        """Which of these ids the index holds (read by id hash: no stored document loads)."""
        query = Query.term_set_query(self._schema, schema.ID, mention_ids)
        hits = self._all_hits(searcher, query, len(mention_ids))
        if not hits:
            return set()
        found = set(searcher.fast_field_values(schema.ID_HASH, [a for _, a in hits]))
        return {i for i in mention_ids if keys.id_hash(i) in found}

    def _key_holders(
        self, searcher: tantivy.Searcher, wanted: Iterable[int]
    ) -> dict[int, set[int]]:
        query = Query.term_set_query(self._schema, schema.SORT_KEY, sorted(wanted))
        hits = self._all_hits(searcher, query, 16)
        if not hits:
            return {}
        hashes = searcher.fast_field_values(schema.ID_HASH, [a for _, a in hits])
        holders: dict[int, set[int]] = {}
        for (sort_key, _), hashed in zip(hits, hashes, strict=True):
            if hashed is not None:
                holders.setdefault(int(sort_key), set()).add(int(hashed))
        return holders


class _TooManyBuckets(UnservableRequest):
    """tantivy refused an aggregation with more buckets than it returns at once."""


def _guard(run: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Runs a tantivy call, turning its refusal of a too-broad wildcard or of too many
    buckets into a clear error."""
    try:
        return run(*args, **kwargs)
    except ValueError as error:
        if "bucket limit" in str(error):
            raise _TooManyBuckets(
                "the counts would need more than "
                f"{aggregations.MAX_AGGREGATION_BUCKETS} buckets (a split by story over a "
                "large window?): split by another dimension, or use a shorter window"
            ) from error
        if "max expansions" in str(error):
            raise UnservableRequest(
                "a wildcard next to NEAR matches too many different words; use a longer prefix"
            ) from error
        raise
