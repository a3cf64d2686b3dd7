"""Retention: mentions older than their source kind's limit are deleted, once a day.

The days kept per source kind come from `settings.retention.days` (the YAML), then
from what the API set for this workspace (which wins). A mention's age counts from
its publication. Each run records the counts it deleted per kind (never a handle or a
text) in `retention_runs` and the log. Deleting also drops what hangs off the deleted
mentions: the corrections made on them, their samples kept in alert events, and their
triage records and notes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.core.models import SourceKind, utcnow
from services.core.query.ast import FieldFilter
from services.core.settings import MAX_RETENTION_DAYS, Settings
from services.core.text import fold_keyword
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter, MentionIndex, SearchRequest, SortOrder
from services.store.state.governance import RetentionRun

log = logging.getLogger("veille.governance")

# Kinds that no connector provides: feeds, crawled sites, imports, demo data, batches.
CORE_KINDS = ("feed", "web", SourceKind.IMPORT.value, SourceKind.DEMO.value, "batch")
_PAGE = 500
SamplePredicate = Callable[[dict[str, Any]], bool]


class RetentionError(ValueError):
    """A retention setting Veille refuses; `field` names it (`days.x`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def known_kinds() -> list[str]:
    """Every source kind a mention can have: the core ones and every connector's."""
    from services.collector.social import registry

    return list(dict.fromkeys([*CORE_KINDS, *registry.kinds()]))


def validate_changes(changes: Mapping[str, object]) -> dict[str, int | None]:
    """Checks days per kind (None: back to the YAML's value); RetentionError naming the
    first wrong field, so nothing is changed."""
    if not changes:
        raise RetentionError("days", "name at least one source kind")
    kinds = known_kinds()
    checked: dict[str, int | None] = {}
    for kind, days in changes.items():
        if kind not in kinds:
            raise RetentionError(
                f"days.{kind}", f"unknown source kind; known kinds: {', '.join(kinds)}"
            )
        if days is None:
            checked[kind] = None
            continue
        if isinstance(days, bool) or not isinstance(days, int):
            raise RetentionError(f"days.{kind}", f"must be a whole number of days, not {days!r}")
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise RetentionError(
                f"days.{kind}", f"must be between 1 and {MAX_RETENTION_DAYS} days, not {days}"
            )
        checked[kind] = days
    return checked


@dataclass(frozen=True)
class PolicyEntry:
    kind: str
    days: int
    origin: str  # "config" (the YAML) or "api"


def effective_policy(ctx: ServiceContext) -> list[PolicyEntry]:
    """The days kept per kind: the YAML's, then the API's on top; by kind."""
    entries = {k: PolicyEntry(k, d, "config") for k, d in ctx.settings.retention.days.items()}
    for kind, days in ctx.governance.retention_overrides().items():
        entries[kind] = PolicyEntry(kind, days, "api")
    return [entries[k] for k in sorted(entries)]


def check_configured(ctx: ServiceContext) -> None:
    """RetentionError when the YAML names a kind no source has (`settings.retention...`)."""
    check_settings(ctx.settings)


def check_settings(settings: Settings) -> None:
    """RetentionError naming the first kind of `settings.retention.days` Veille does not know."""
    kinds = known_kinds()
    for kind in settings.retention.days:
        if kind not in kinds:
            raise RetentionError(
                f"settings.retention.days.{kind}",
                f"unknown source kind; known kinds: {', '.join(kinds)}",
            )


def kind_filter(kind: str, cutoff: datetime) -> MentionFilter:
    """Mentions of a source kind published before `cutoff`.

    `source:` matches a source's name as well as its kind; `_colliding` names the
    sources whose name is another kind's, handled apart."""
    return MentionFilter(query=FieldFilter("source", kind), until=cutoff)


def _colliding(ctx: ServiceContext, kind: str) -> bool:
    """True when a configured source of another kind is named like `kind`."""
    return any(fold_keyword(s.name) == kind and s.kind != kind for s in ctx.state.list_sources())


def _exact(index: MentionIndex, flt: MentionFilter, kind: str, *, delete: bool) -> int:
    """Counts (and deletes) the matches whose kind is `kind`, reading them: the slow
    path, only where a source's name is another kind's."""
    total = 0
    cursor: str | None = None
    while True:
        page = index.search(
            SearchRequest(filter=flt, sort=SortOrder.OLDEST, limit=_PAGE, cursor=cursor)
        )
        ids = [m.id for m in page.mentions if m.source_kind == kind]
        total += index.delete(ids) if delete else len(ids)
        if page.next_cursor is None:
            return total
        cursor = page.next_cursor  # a key cursor: still valid once its page is deleted


def apply_retention(
    ctx: ServiceContext,
    *,
    dry_run: bool = False,
    trigger: str = "cli",
    now: datetime | None = None,
) -> RetentionRun:
    """Deletes (or, with `dry_run`, counts) the mentions past their kind's retention;
    records the run with its counts per kind and returns it."""
    check_configured(ctx)
    moment = now or utcnow()
    policy = {entry.kind: entry.days for entry in effective_policy(ctx)}
    store = ctx.governance
    run_id = store.start_retention_run(trigger=trigger, dry_run=dry_run, policy=policy)
    deleted: dict[str, int] = {}
    try:
        for kind, days in policy.items():
            flt = kind_filter(kind, moment - timedelta(days=days))
            if _colliding(ctx, kind):
                deleted[kind] = _exact(ctx.index, flt, kind, delete=not dry_run)
            elif dry_run:
                deleted[kind] = ctx.index.count(flt)
            else:
                deleted[kind] = ctx.index.delete_matching(flt)
        if not dry_run and any(deleted.values()):
            deleted.update(prune_orphans(ctx))
    except Exception as exc:
        store.finish_retention_run(run_id, deleted=deleted, error=f"{type(exc).__name__}: {exc}")
        log.error("retention run %d stopped after deleting %s: %s", run_id, deleted, exc)
        raise
    run = store.finish_retention_run(run_id, deleted=deleted)
    log.info(
        "retention run %d (%s%s): %s",
        run_id,
        trigger,
        ", dry run" if dry_run else "",
        ", ".join(f"{k} {n}" for k, n in deleted.items()) or "no policy set",
    )
    return run


def prune_orphans(ctx: ServiceContext) -> dict[str, int]:
    """Drops the corrections, the alert samples and the triage records and notes of
    mentions no longer held; returns their counts (`corrections`, `alert_samples`,
    `triage`)."""
    store = ctx.governance
    held: dict[str, bool] = {}

    def gone(mention_id: str) -> bool:
        if mention_id not in held:
            held[mention_id] = ctx.index.get(mention_id) is not None
        return not held[mention_id]

    doomed = [cid for cid, mention_id, _ in store.corrections() if gone(mention_id)]
    removed = {"corrections": store.delete_corrections(doomed) if doomed else 0}
    if doomed:  # the running brand tagger learned from some: it relearns without them
        ctx.brands_changed()
    removed["alert_samples"] = drop_alert_samples(ctx, lambda s: gone(str(s.get("id", ""))))
    removed["triage"] = ctx.state.delete_triage([m for m in store.triaged_mention_ids() if gone(m)])
    return removed


def drop_alert_samples(ctx: ServiceContext, doomed: SamplePredicate) -> int:
    """Removes the sample mentions `doomed` picks from every alert event; returns how many."""
    changed: dict[int, dict[str, Any]] = {}
    removed = 0
    for event_id, numbers in ctx.governance.alert_samples():
        samples = list(numbers.get("top_mentions", []))
        kept = [s for s in samples if not (isinstance(s, dict) and doomed(s))]
        if len(kept) < len(samples):
            removed += len(samples) - len(kept)
            changed[event_id] = {**numbers, "top_mentions": kept}
    if changed:
        ctx.governance.set_alert_numbers(changed)
    return removed
