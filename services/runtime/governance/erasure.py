"""Erasure of everything by or about an author handle or a free-text identifier.

A job, persisted in the state store (`erasures`), goes through steps, each recorded
before the next starts, so a process killed at any point resumes where it was
(`resume_erasures`, at `veille up` and before each `veille erase`):

1. plan: reads the matching mentions once, keeps their counts per source kind, their
   stories and ids (the later steps match corrections and alert samples on them);
2. mentions: deletes them page by page (a page, then its progress, recorded);
3. inbox: collected items not analyzed yet (or failed) by or about it;
4. corrections made on them or quoting the identifier, their triage records and notes,
   and the notes on other mentions quoting the identifier (a note is deleted whole:
   the words around a name often say who it is);
5. alert samples (the mentions alert events keep to show) of them or quoting it;
6. reports: the stored renders quoting the identifier or one of the mentions are
   deleted, and named in the receipt.

Matching: an author erasure takes the mentions whose author is the handle (with or
without its `@`) and those whose title or text has the handle's words; a text
erasure, those whose title or text has the identifier's words in a row (the query
language's phrase). Exports are streamed, never kept, so there are none to erase.

Once done, the identifier itself is cleared; only its hash (`identifier_hash`: an HMAC,
keyed with the installation secret, of the SHA-256 of the folded words) stays, and
while the erasure holds, new posts by or about it are dropped at ingest
(`held_indices`, called by the analysis worker). `lift_erasure` ends the hold (the
person agreed to be followed again, or the identifier was too broad).
Logs carry the job id and counts, never the identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.core.models import Mention, RawItem, utcnow
from services.core.query.ast import FieldFilter, Node, Or, Phrase, Term
from services.core.text import fold_keyword, tokenize
from services.runtime.app.context import ServiceContext
from services.runtime.governance.installation_secret import installation_secret
from services.runtime.governance.retention import drop_alert_samples
from services.store.contracts import MentionFilter, SearchRequest, SortOrder
from services.store.state.governance import ErasureJob, Hold
from services.store.state.leases import new_owner_id

log = logging.getLogger("veille.governance")

KINDS = ("author", "text")
MAX_IDENTIFIER_CHARS = 500
DEFAULT_BATCH = 200
LEASE_SECONDS = 30.0  # a killed process's job is free again after this
_TAG = re.compile(r"<[^>]+>")

Progress = Callable[[int], None]


class ErasureInputError(ValueError):
    """What was asked cannot be erased (empty, too long, no words); nothing changed."""


class ErasureTakenOver(RuntimeError):
    """Another process took the job over (this one's lease lapsed): it finishes it."""


def identifier_words(kind: str, identifier: str) -> list[str]:
    """The folded words an identifier is matched on; ErasureInputError when it has none."""
    if kind not in KINDS:
        raise ErasureInputError(f"unknown erasure kind {kind!r}: use author or text")
    value = identifier.strip() if isinstance(identifier, str) else ""
    if not value:
        raise ErasureInputError(f"the {kind} to erase is empty: give a handle or a text")
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise ErasureInputError(
            f"the {kind} to erase is too long ({len(value)} characters, at most "
            f"{MAX_IDENTIFIER_CHARS})"
        )
    words = tokenize(value.removeprefix("@") if kind == "author" else value)
    if not words:
        raise ErasureInputError(
            f"the {kind} to erase has no letters or digits to look for: {len(value)} "
            "characters of punctuation"
        )
    return words


def words_hash(words: Sequence[str]) -> str:
    """The hash kept of an identifier, and compared at ingest."""
    return hashlib.sha256(("veille-erasure:" + " ".join(words)).encode("utf-8")).hexdigest()


def erasure_query(kind: str, identifier: str) -> Node:
    """The mentions an erasure removes, in the query language."""
    words = identifier_words(kind, identifier)
    in_text: Node = Term(words[0]) if len(words) == 1 else Phrase(tuple(words))
    if kind == "text":
        return in_text
    handle = identifier.strip().removeprefix("@")
    return Or(
        (
            FieldFilter("author", fold_keyword(handle)),
            FieldFilter("author", fold_keyword("@" + handle)),
            in_text,
        )
    )


def start_erasure(
    ctx: ServiceContext,
    *,
    kind: str,
    identifier: str,
    requested_by: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> ErasureJob:
    """Records an erasure (holding at once) and runs it to the end; returns the job."""
    words = identifier_words(kind, identifier)
    job = ctx.governance.create_erasure(
        kind=kind,
        identifier=identifier.strip(),
        identifier_hash=keyed_hash(erasure_key(ctx), words_hash(words)),
        words=len(words),
        requested_by=requested_by,
        hash_scheme=KEYED,
    )
    log.info("erasure %s of an %s started", job.id, kind if kind == "author" else "identifier")
    return run_erasure(ctx, job.id, batch_size=batch_size, progress=progress)


def resume_erasures(
    ctx: ServiceContext, *, batch_size: int = DEFAULT_BATCH, wait: float = 0.0
) -> list[ErasureJob]:
    """Finishes the erasures a stopped process left running; returns them. One that
    another live process is running is left to it (after `wait` seconds for its lease:
    a killed process's lease lapses after LEASE_SECONDS)."""
    rekey_erasures(ctx)
    finished = []
    for job in ctx.governance.erasures(unfinished=True):
        log.info("resuming erasure %s at step %s", job.id, job.step)
        finished.append(run_erasure(ctx, job.id, batch_size=batch_size, wait=wait))
    return finished


def run_erasure(
    ctx: ServiceContext,
    job_id: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> ErasureJob:
    """Runs an erasure's remaining steps under its lease (one process at a time); returns
    the job as it ends, or as it is when another process holds it."""
    store = ctx.governance
    job = store.erasure(job_id)
    if job.status != "running":
        return job
    if job.identifier is None:  # cannot happen unless the row was edited by hand
        store.update_erasure(job_id, status="failed", error="the identifier was lost")
        return store.erasure(job_id)
    owner, lease = new_owner_id(), f"erasure:{job_id}"
    deadline = time.monotonic() + wait

    def keep() -> bool:
        return lease in ctx.leases.acquire([lease], owner=owner, ttl=LEASE_SECONDS)

    while not keep():
        if time.monotonic() >= deadline:
            log.info("erasure %s is being run by another process", job_id)
            return store.erasure(job_id)
        time.sleep(1.0)
    try:
        _run_steps(ctx, job, batch_size=batch_size, progress=progress, keep=keep)
    except Exception as exc:
        log.error(
            "erasure %s stopped: %s (it resumes at the next start)", job_id, type(exc).__name__
        )
        raise
    finally:
        ctx.leases.release(owner=owner, names=[lease])
    done = store.erasure(job_id)
    log.info(
        "erasure %s done: %d mentions, %d stories, %s corrections, %s notes quoting it, "
        "%s alert samples, %d report renders",
        job_id,
        sum(done.counts.get("mentions", {}).values()),
        done.counts.get("stories", 0),
        done.counts.get("corrections", 0),
        done.counts.get("triage_notes", 0),
        done.counts.get("alert_samples", 0),
        len(done.counts.get("reports", [])),
    )
    return done


def _run_steps(
    ctx: ServiceContext,
    job: ErasureJob,
    *,
    batch_size: int,
    progress: Progress | None,
    keep: Callable[[], bool],
) -> None:
    store = ctx.governance
    assert job.identifier is not None
    words = identifier_words(job.kind, job.identifier)
    flt = MentionFilter(query=erasure_query(job.kind, job.identifier))
    plan = job.plan
    counts = dict(job.counts)
    step = job.step
    if step == "plan" or plan is None:
        plan = _plan(ctx, flt)
        counts.update(mentions=plan["mentions"], stories=plan["stories"])
        store.update_erasure(job.id, plan=plan, counts=counts, step="mentions")
        step = "mentions"
    ids = set(plan["ids"])
    if step == "mentions":
        done = job.progress
        while True:
            page = ctx.index.search(
                SearchRequest(filter=flt, sort=SortOrder.OLDEST, limit=batch_size)
            )
            if not page.mentions:
                break
            done += ctx.index.delete([m.id for m in page.mentions])
            store.update_erasure(job.id, progress=done)
            if not keep():  # another process took the job over: leave it to it
                raise ErasureTakenOver(f"erasure {job.id} was taken over by another process")
            if progress:
                progress(len(page.mentions))
        _forget_stories(ctx, set(plan["story_ids"]))
        store.update_erasure(job.id, step="inbox")
        step = "inbox"
    if step == "inbox":  # collected, not analyzed yet (or failed): never stored
        hold = [Hold(job.kind, job.identifier_hash, job.words, job.hash_scheme)]
        waiting = store.waiting_items()
        items = [RawItem.model_validate(payload).to_mention() for _, payload in waiting]
        held = held_indices(hold, items, key=erasure_key(ctx))
        doomed_items = [waiting[i][0] for i in sorted(held)]
        counts.setdefault("inbox_items", len(doomed_items))
        store.update_erasure(job.id, counts=counts)
        store.drop_items(doomed_items)
        store.update_erasure(job.id, step="corrections")
        step = "corrections"
    if step == "corrections":
        doomed = [
            cid
            for cid, mention_id, text in store.corrections()
            if mention_id in ids or quotes(text, words)
        ]
        counts.setdefault("corrections", len(doomed))  # kept as first counted on a resume
        # Triage records and notes: a note may quote the person ("called Mr Dupont"),
        # on their mentions, and on others ("same complaint as @jdupont").
        counts.setdefault("triage", len(ctx.state.triage_records(sorted(ids))))
        quoting = [
            nid
            for nid, mention_id, text in store.triage_note_texts()
            if mention_id not in ids and quotes(text, words)
        ]
        counts.setdefault("triage_notes", len(quoting))
        store.update_erasure(job.id, counts=counts)
        ctx.state.delete_triage(sorted(ids))
        store.delete_triage_notes(quoting)
        store.delete_corrections(doomed)
        if doomed:  # the running brand tagger learned from some: it relearns without them
            ctx.brands_changed()
        store.update_erasure(job.id, step="alerts")
        step = "alerts"
    if step == "alerts":

        def doomed_sample(sample: dict[str, Any]) -> bool:
            quoted = " ".join(str(sample.get(f) or "") for f in ("title", "text"))
            return str(sample.get("id")) in ids or quotes(quoted, words)

        removed = drop_alert_samples(ctx, doomed_sample)
        counts["alert_samples"] = counts.get("alert_samples", 0) + removed
        store.update_erasure(job.id, counts=counts, step="reports")
        step = "reports"
    if step == "reports":
        deleted = _erase_renders(Path(ctx.settings.data_dir), words, plan)
        counts["reports"] = sorted({*counts.get("reports", []), *deleted})
        store.update_erasure(job.id, counts=counts)
    # Only counts stay: the identifier, the ids and URLs of what was erased go.
    store.update_erasure(
        job.id,
        step="done",
        status="done",
        identifier=None,
        plan={"mentions": plan["mentions"], "stories": plan["stories"]},
        finished_at=utcnow(),
    )


def _plan(ctx: ServiceContext, flt: MentionFilter) -> dict[str, Any]:
    kinds: Counter[str] = Counter()
    ids: list[str] = []
    urls: list[str] = []
    stories: set[str] = set()
    for mention in ctx.index.iter_all(flt):
        kinds[mention.source_kind] += 1
        ids.append(mention.id)
        if mention.url:
            urls.append(mention.url)
        stories.add(mention.story_id or mention.id)
    return {
        "mentions": dict(sorted(kinds.items())),
        "stories": len(stories),
        "story_ids": sorted(stories),
        "ids": ids,
        "urls": urls,
    }


def quotes(text: str, words: Sequence[str]) -> bool:
    """True when `text` has the words in a row (as the query language's phrase)."""
    return f" {' '.join(words)} " in f" {' '.join(tokenize(text))} "


def _forget_stories(ctx: ServiceContext, story_ids: set[str]) -> None:
    """Makes this process's story memory forget the erased stories (when loaded)."""
    analyzer = ctx.__dict__.get("analyzer")
    if analyzer is not None and story_ids:
        analyzer.stories.forget(story_ids)


def _erase_renders(data_dir: Path, words: Sequence[str], plan: dict[str, Any]) -> list[str]:
    """Deletes the kept report renders quoting the identifier or an erased mention;
    returns them as `REPORT/RENDER`."""
    from services.reports.store import Renders

    root = Renders(data_dir).root
    if not root.is_dir():
        return []
    urls = [u for u in plan.get("urls", []) if u]
    deleted = []
    for page in sorted(root.glob("*/*/report.html")):
        render = page.parent
        if render.parent.name == "definitions" or render.name.startswith(".tmp-"):
            continue
        raw = page.read_text(encoding="utf-8", errors="replace")
        text = html.unescape(_TAG.sub(" ", raw))
        if quotes(text, words) or any(u in raw or html.escape(u) in raw for u in urls):
            shutil.rmtree(render)
            deleted.append(f"{render.parent.name}/{render.name}")
    return deleted


def lift_erasure(ctx: ServiceContext, job_id: str) -> ErasureJob:
    """Stops an erasure from holding: posts by or about it are accepted again from now
    on (what it erased stays erased). NotFoundError when unknown; ErasureInputError while
    it still runs or once lifted (nothing changes)."""
    job = ctx.governance.erasure(job_id)
    if job.status == "running":
        raise ErasureInputError(
            f"erasure {job.id} is still running: let it finish (`veille erase --resume`), "
            "then lift it"
        )
    if not job.holds:
        raise ErasureInputError(f"erasure {job.id} was already lifted")
    ctx.governance.update_erasure(job.id, holds=False)
    log.info("erasure %s lifted: new posts matching it are accepted again", job.id)
    return ctx.governance.erasure(job.id)


def held_indices(
    holds: Sequence[Hold], mentions: Sequence[Mention], *, key: bytes | None = None
) -> set[int]:
    """The positions of the mentions an erasure holds against: by the erased author, or
    with the erased words in their title or text (compared by hash: keyed with `key`,
    the installation secret, for the holds made or re-keyed with it)."""
    if not holds:
        return set()
    if key is None and any(h.hash_scheme == KEYED for h in holds):
        raise ValueError("keyed erasure holds need the installation secret")
    match = _Matcher(holds, key)
    held = set()
    for position, mention in enumerate(mentions):
        if mention.author and match.authors:
            handle = tokenize(mention.author.strip().removeprefix("@"))
            if handle and match.author(words_hash(handle)):
                held.add(position)
                continue
        if _has_held_words(mention, match, sorted({h.words for h in holds})):
            held.add(position)
    return held


class _Matcher:
    """Whether the SHA-256 of some words is one a hold keeps, as is or keyed."""

    def __init__(self, holds: Sequence[Hold], key: bytes | None) -> None:
        self.key = key or b""
        keyed = [h for h in holds if h.hash_scheme == KEYED]
        plain = [h for h in holds if h.hash_scheme != KEYED]
        self.plain = {h.identifier_hash for h in plain}
        self.keyed = {h.identifier_hash for h in keyed}
        self.author_plain = {h.identifier_hash for h in plain if h.kind == "author"}
        self.author_keyed = {h.identifier_hash for h in keyed if h.kind == "author"}
        self.authors = bool(self.author_plain or self.author_keyed)

    def author(self, digest: str) -> bool:
        return digest in self.author_plain or (
            bool(self.author_keyed) and keyed_hash(self.key, digest) in self.author_keyed
        )

    def any(self, digest: str) -> bool:
        return digest in self.plain or (
            bool(self.keyed) and keyed_hash(self.key, digest) in self.keyed
        )


def _has_held_words(mention: Mention, match: _Matcher, lengths: list[int]) -> bool:
    for field in (mention.title, mention.text):
        tokens = tokenize(field)
        for n in lengths:
            for start in range(len(tokens) - n + 1):
                if match.any(words_hash(tokens[start : start + n])):
                    return True
    return False


KEYED = "hmac-sha256"


def keyed_hash(key: bytes, digest: str) -> str:
    """The HMAC-SHA256, keyed with the installation secret, of a `words_hash` digest:
    what an erasure record keeps (a plain hash of a handle is reversed by trying
    handles; this one needs the secret too)."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def erasure_key(ctx: ServiceContext) -> bytes:
    """The installation secret of this workspace's data folder."""
    return installation_secret(ctx.settings.data_dir)


def rekey_erasures(ctx: ServiceContext) -> int:
    """Replaces the plain SHA-256 of erasures made before keyed hashes (migration 0016)
    by their keyed hash; returns how many. Idempotent; run at each start."""
    legacy = [
        job
        for job in ctx.governance.erasures(limit=1_000_000)
        if job.hash_scheme != KEYED and job.status != "running"
    ]
    if not legacy:
        return 0
    key = erasure_key(ctx)
    for job in legacy:
        ctx.governance.update_erasure(
            job.id, identifier_hash=keyed_hash(key, job.identifier_hash), hash_scheme=KEYED
        )
    log.info("%d erasure records re-keyed with the installation secret", len(legacy))
    return len(legacy)


def receipt(job: ErasureJob) -> dict[str, Any]:
    """What an erasure did, for the API and the CLI: never the identifier in clear."""
    mentions = job.counts.get("mentions", {})
    return {
        "id": job.id,
        "asked": {
            "kind": job.kind,
            "identifier_hash": job.identifier_hash,
            "hash_scheme": job.hash_scheme,
        },
        "status": job.status,
        "step": job.step,
        "holds": job.holds,
        "counts": {
            "mentions": dict(mentions),
            "mentions_total": sum(mentions.values()),
            "stories": job.counts.get("stories", 0),
            "corrections": job.counts.get("corrections", 0),
            "triage": job.counts.get("triage", 0),
            "triage_notes_quoting": job.counts.get("triage_notes", 0),
            "alert_samples": job.counts.get("alert_samples", 0),
            "inbox_items": job.counts.get("inbox_items", 0),
            "report_renders_deleted": list(job.counts.get("reports", [])),
        },
        "progress": job.progress,
        "requested_by": job.requested_by,
        "started_at": job.created_at,
        "finished_at": job.finished_at,
        "error": job.error,
    }
