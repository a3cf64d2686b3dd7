"""The right of access: everything Veille holds by or about an author, as JSON.

The mentions they wrote, those naming their handle, the stories those belong to
(with how many copies each has), the notes the team wrote on them or quoting the handle
on other mentions, the corrections made
on them or quoting the handle, and the samples of them that alert events keep.
"""

from __future__ import annotations

from typing import Any

from services.core.models import utcnow
from services.core.query.ast import FieldFilter, Node, Or
from services.core.text import fold_keyword
from services.runtime.app.context import ServiceContext
from services.runtime.governance.erasure import erasure_query, identifier_words, quotes
from services.store.contracts import MentionFilter


def by_author(handle: str) -> Node:
    """The mentions whose author is the handle, with or without its `@`."""
    bare = handle.strip().removeprefix("@")
    return Or(
        (
            FieldFilter("author", fold_keyword(bare)),
            FieldFilter("author", fold_keyword("@" + bare)),
        )
    )


def author_data(ctx: ServiceContext, handle: str) -> dict[str, Any]:
    """Everything held by or about `handle` (ErasureInputError when it is empty)."""
    words = identifier_words("author", handle)
    written = list(ctx.index.iter_all(MentionFilter(query=by_author(handle))))
    own = {m.id for m in written}
    about = [
        m
        for m in ctx.index.iter_all(MentionFilter(query=erasure_query("author", handle)))
        if m.id not in own
    ]
    every = written + about
    ids = {m.id for m in every}
    stories = sorted({m.story_id for m in every if m.story_id})
    copies = {
        story: ctx.index.count(MentionFilter(query=FieldFilter("story", fold_keyword(story))))
        for story in stories
    }
    corrections = [
        record
        for record in ctx.state.list_corrections(limit=100_000)
        if record["mention_id"] in ids or quotes(str(record.get("text", "")), words)
    ]
    samples = [
        {"event_id": event_id, "sample": sample}
        for event_id, numbers in ctx.governance.alert_samples()
        for sample in numbers.get("top_mentions", [])
        if isinstance(sample, dict)
        and (
            str(sample.get("id")) in ids
            or quotes(f"{sample.get('title') or ''} {sample.get('text') or ''}", words)
        )
    ]
    return {
        "subject": {"author": handle.strip()},
        "generated_at": utcnow().isoformat(),
        "mentions_by_author": [m.model_dump(mode="json") for m in written],
        "mentions_about_author": [m.model_dump(mode="json") for m in about],
        "stories": [{"story_id": s, "copies": copies[s]} for s in stories],
        "triage_notes": [
            _plain(note)
            for mention_id in sorted(ids)
            for note in ctx.state.triage_notes(mention_id)
        ]
        + [_plain(note) for note in _notes_quoting(ctx, words, ids)],
        "corrections": [_plain(r) for r in corrections],
        "alert_samples": samples,
    }


def _notes_quoting(ctx: ServiceContext, words: list[str], ids: set[str]) -> list[dict[str, Any]]:
    """The notes on other mentions that quote the handle (an erasure deletes them too)."""
    quoting = {
        mention_id
        for _, mention_id, text in ctx.governance.triage_note_texts()
        if mention_id not in ids and quotes(text, words)
    }
    return [
        note
        for mention_id in sorted(quoting)
        for note in ctx.state.triage_notes(mention_id, limit=100_000)
        if quotes(str(note["text"]), words)
    ]


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
