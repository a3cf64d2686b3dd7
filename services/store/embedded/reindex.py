"""Rebuilds an embedded index written with an older schema, keeping every mention.

tantivy refuses to open an index whose schema differs from the one asked for, and a
new version of Veille may index a new field (`story:` did). Each document keeps its
mention as JSON, so the index can be rebuilt from itself: the mentions are read with
the old schema, written to a fresh index beside it, and the fresh one takes its place.
The old directory is kept as `<path>.old-<n>` until the new one is complete.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

from services.core.models import Mention
from services.store.contracts import MentionIndex
from services.store.embedded import documents, schema

log = logging.getLogger("veille.store")

_BATCH = 1000


def is_schema_mismatch(error: BaseException) -> bool:
    """Whether tantivy refused to open an index because its schema differs."""
    return "schema does not match" in str(error)


def _old_mentions(path: str) -> Iterator[Mention]:
    old = tantivy.Index.open(path)
    old.reload()
    searcher = old.searcher()
    total = searcher.num_docs
    for offset in range(0, total, _BATCH):
        result = searcher.search(tantivy.Query.all_query(), _BATCH, offset=offset)
        for _, address in result.hits:
            source = searcher.doc(address).get_first(schema.SOURCE)
            if isinstance(source, bytes):
                yield documents.load(source)


@contextmanager
def _exclusive(path: str) -> Iterator[None]:
    # Two processes starting at once (the API and a worker) must not both rebuild.
    with open(f"{path}.rebuild.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def rebuild_and_open(
    path: str, current: tantivy.Schema, fresh_index: Callable[[str], MentionIndex]
) -> tantivy.Index:
    """Opens the index at `path` with the `current` schema, rebuilding it first when it
    was written with another one; `fresh_index(dir)` opens an empty current index."""
    with _exclusive(path):
        try:
            return tantivy.Index(current, path=path, reuse=True)
        except ValueError as error:
            if not is_schema_mismatch(error):
                raise
        target = Path(path)
        fresh_path = target.with_name(target.name + ".rebuild")
        shutil.rmtree(fresh_path, ignore_errors=True)
        fresh = fresh_index(str(fresh_path))
        moved, batch = 0, []
        try:
            for mention in _old_mentions(path):
                batch.append(mention)
                if len(batch) >= _BATCH:
                    moved += fresh.upsert(batch)
                    batch = []
            moved += fresh.upsert(batch) if batch else 0
        finally:
            fresh.close()
        n = 1
        while target.with_name(f"{target.name}.old-{n}").exists():
            n += 1
        backup = target.with_name(f"{target.name}.old-{n}")
        os.replace(target, backup)
        os.replace(fresh_path, target)
        log.warning(
            "the mention index at %s was written by an older version: rebuilt with %d "
            "mentions (the old files are in %s; delete them once all is well)",
            path,
            moved,
            backup,
        )
        return tantivy.Index(current, path=path, reuse=True)
