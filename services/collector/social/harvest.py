"""What a run received, and the cursor saved once it is stored (see `runner.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.collector.social.base import JSON, ItemDetails, Page
from services.collector.social.threads import ThreadWatch
from services.core.models import AuthorDetails, RawItem, ThreadLink


@dataclass
class Harvest:
    """What a run received so far, and what `since` becomes once it is stored."""

    since: int | None
    newest: int | None
    keep: Callable[[RawItem], bool]
    source_name: str
    items: dict[str, RawItem] = field(default_factory=dict)
    details: dict[str, ItemDetails] = field(default_factory=dict)
    seen_new: dict[str, int | None] = field(default_factory=dict)  # id -> published (Unix)

    def take(self, page: Page, *, bounded: bool) -> None:
        """Keeps a page's items that the query accepts (and, when bounded, are new)."""
        since = self.since
        for found in page.items:
            item = found.model_copy(update={"source_name": self.source_name})
            position = page.positions.get(item.platform_id or "")
            if bounded and since is not None and position is not None and position < since:
                continue
            # Follow-ups (comments) do not move `since`: it tracks the search's order.
            if bounded and position is not None and (self.newest is None or position > self.newest):
                self.newest = position
            published = item.published_at
            self.seen_new[item.platform_id or ""] = (
                int(published.timestamp()) if published is not None else None
            )
            if self.keep(item):
                self.items[item.mention_id] = item
                if item.platform_id in page.details:
                    self.details[item.platform_id] = page.details[item.platform_id]

    def kept(self) -> list[RawItem]:
        """The items to store, carrying their details."""
        return [
            _with_details(item, self.details.get(item.platform_id or ""))
            for item in self.items.values()
        ]


def next_cursor(
    harvest: Harvest, *, page_token: JSON, complete: bool, failed: bool, watch: ThreadWatch
) -> dict[str, Any]:
    """`since` moved past what was stored, or where to resume (see the module doc)."""
    newest, since = harvest.newest, harvest.since
    cursor: dict[str, Any]
    if complete or (since is None and not failed):
        cursor = {"since": newest} if newest is not None else {}
    elif page_token is None:  # the saved page was refused: page down to `since` anew
        cursor = {"since": since} if since is not None else {}
    else:
        cursor = {"resume": page_token}
        if since is not None:
            cursor["since"] = since
        if newest is not None:
            cursor["pending_since"] = newest
    threads = watch.to_cursor()
    if threads:
        cursor["threads"] = threads
    return cursor


def _with_details(item: RawItem, details: ItemDetails | None) -> RawItem:
    """The item carrying what the platform said about its author and thread."""
    if details is None:
        return item
    return item.model_copy(
        update={
            "author_details": AuthorDetails(
                id=details.author_id,
                display_name=details.author_name,
                followers=details.author_followers,
                deleted=details.author_deleted,
            ),
            "thread": ThreadLink(
                item_kind=details.kind,
                parent_id=details.parent_id,
                root_id=details.root_id,
                url=details.thread_url,
            ),
        }
    )
