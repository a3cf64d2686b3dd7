"""An embedded index written with an older schema is rebuilt on open, every mention kept."""

from __future__ import annotations

from pathlib import Path

import tantivy

from services.core.query import parse_query
from services.store.contracts import MentionFilter
from services.store.embedded import schema
from services.store.embedded.index import EmbeddedIndex
from tests.factories import make_mention


def _old_index(path: Path, count: int) -> list[str]:
    """An index as an older Veille wrote it: no `story` field, mentions kept as JSON."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(schema.ID, tokenizer_name="raw", index_option="basic")
    builder.add_bytes_field(schema.SOURCE, stored=True)
    path.mkdir()
    index = tantivy.Index(builder.build(), path=str(path))
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    mentions = [make_mention(text=f"Veloria numéro {n}") for n in range(count)]
    for mention in mentions:
        writer.add_document(
            tantivy.Document(
                **{schema.ID: mention.id, schema.SOURCE: mention.model_dump_json().encode()}
            )
        )
    writer.commit()
    writer.wait_merging_threads()
    return [m.id for m in mentions]


def test_old_index_is_rebuilt_with_every_mention(tmp_path: Path) -> None:
    path = tmp_path / "index"
    ids = _old_index(path, 1203)
    index = EmbeddedIndex(str(path))
    try:
        assert index.count(MentionFilter()) == len(ids)
        assert index.count(MentionFilter(query=parse_query("is:original numero"))) == len(ids)
        assert index.get(ids[-1]) is not None
    finally:
        index.close()
    assert (tmp_path / "index.old-1").is_dir()  # kept until the user deletes it
    reopened = EmbeddedIndex(str(path))  # now current: opened as is
    reopened.close()
    assert not (tmp_path / "index.old-2").exists()
