"""A forum thread as read from one page (or API answer), and the items it gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.core.models import RawItem, ThreadLink


@dataclass(frozen=True)
class ForumPost:
    """One post of a thread; `position` is 1 for the opening post when known."""

    text: str
    position: int
    author: str | None = None
    published_at: datetime | None = None
    post_id: str | None = None
    url: str | None = None
    reply_to: str | None = None  # post_id of the post it answers, when the page shows it


@dataclass(frozen=True)
class ForumThread:
    """The posts of one page of a thread, with where the next page is."""

    title: str
    url: str | None
    engine: str
    posts: tuple[ForumPost, ...]
    next_page_url: str | None = None


def thread_items(
    thread: ForumThread, *, source_name: str, source_kind: str = "forum"
) -> list[RawItem]:
    """One item per post, each linked to its thread (and the post it answers)."""
    by_post_id = {post.post_id: _platform_id(thread, post) for post in thread.posts if post.post_id}
    items = []
    for post in thread.posts:
        parent = None
        if post.reply_to:
            parent = by_post_id.get(post.reply_to) or (
                f"{thread.url}#{post.reply_to}" if thread.url else post.reply_to
            )
        items.append(
            RawItem(
                source_kind=source_kind,
                source_name=source_name,
                platform_id=_platform_id(thread, post),
                url=post.url or thread.url,
                title=thread.title if post.position == 1 else f"Re: {thread.title}",
                text=post.text,
                author=post.author,
                published_at=post.published_at,
                thread=ThreadLink(
                    item_kind="post" if post.position == 1 else "reply",
                    parent_id=parent,
                    root_id=thread.url,
                    url=thread.url,
                ),
            )
        )
    return items


def _platform_id(thread: ForumThread, post: ForumPost) -> str:
    if post.url:
        return post.url
    key = post.post_id or f"position-{post.position}"
    return f"{thread.url}#{key}" if thread.url else key
