"""YouTube Data API v3 resources as items: pure parsers for `youtube.py`."""

from __future__ import annotations

import html
from typing import Any

from services.collector.social.base import ItemDetails
from services.collector.social.parsing import (
    as_dict,
    as_int,
    as_list,
    as_str,
    epoch,
    language,
    parse_time,
)
from services.core.models import Engagement, RawItem

WATCH = "https://www.youtube.com/watch?v="
Parsed = tuple[RawItem, int | None, ItemDetails]


def video_updates(video: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A videos.list resource as the RawItem fields it completes (counts are strings)."""
    stats = as_dict(video.get("statistics"))
    snippet = as_dict(video.get("snippet"))
    updates: dict[str, Any] = {
        "engagement": Engagement(
            views=as_int(stats.get("viewCount")),
            likes=as_int(stats.get("likeCount")),
            replies=as_int(stats.get("commentCount")),
        )
    }
    declared = language(snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage"))
    if declared is not None:
        updates["language"] = declared
    description = as_str(snippet.get("description"))
    if description is not None:
        updates["text"] = description  # search results cut descriptions short
    return as_str(video.get("id")), updates


def followers(channels: list[dict[str, Any]], videos: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Video id -> {"author_followers": subscribers} from a channels.list answer."""
    found: dict[str, dict[str, Any]] = {}
    for channel in channels:
        stats = as_dict(channel.get("statistics"))
        count = None if stats.get("hiddenSubscriberCount") else as_int(stats.get("subscriberCount"))
        for video_id in as_list(videos.get(as_str(channel.get("id")) or "")):
            if count is not None and isinstance(video_id, str):
                found[video_id] = {"author_followers": count}
    return found


def parse_video(result: dict[str, Any]) -> Parsed | None:
    """A search result of kind video as an item; None for channels and playlists."""
    video_id = as_str(as_dict(result.get("id")).get("videoId"))
    if video_id is None:
        return None
    snippet = as_dict(result.get("snippet"))
    published = parse_time(snippet.get("publishedAt"))
    item = RawItem(
        source_kind="youtube",
        source_name="",
        platform_id=video_id,
        url=WATCH + video_id,
        # search.list sends titles HTML-escaped ("World&#39;s best", "PIPE &amp; BACKDOOR")
        # but descriptions as plain text: stored escaped, a title would read so everywhere.
        title=html.unescape(as_str(snippet.get("title")) or ""),
        text=as_str(snippet.get("description")) or "",
        author=as_str(snippet.get("channelTitle")),
        published_at=published,
        language=language(snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage")),
    )
    details = ItemDetails(
        kind="video",
        author_id=as_str(snippet.get("channelId")),
        author_name=as_str(snippet.get("channelTitle")),
        root_id=video_id,
        thread_url=WATCH + video_id,
    )
    return item, epoch(published), details


def parse_thread(thread: dict[str, Any], video_id: str = "") -> Parsed | None:
    """A comment thread's top-level comment as an item (its replies are items of their own)."""
    snippet = as_dict(thread.get("snippet"))
    top = as_dict(snippet.get("topLevelComment"))
    comment_id = as_str(top.get("id")) or as_str(thread.get("id"))
    comment = as_dict(top.get("snippet"))
    video = as_str(snippet.get("videoId")) or as_str(comment.get("videoId")) or video_id or None
    if comment_id is None:
        return None
    published = parse_time(comment.get("publishedAt"))
    channel = as_str(as_dict(comment.get("authorChannelId")).get("value"))
    url = f"{WATCH}{video}&lc={comment_id}" if video else None
    item = RawItem(
        source_kind="youtube",
        source_name="",
        platform_id=comment_id,
        url=url,
        text=as_str(comment.get("textOriginal")) or as_str(comment.get("textDisplay")) or "",
        author=as_str(comment.get("authorDisplayName")),
        published_at=published,
        engagement=Engagement(
            likes=as_int(comment.get("likeCount")),
            replies=as_int(snippet.get("totalReplyCount")),
        ),
    )
    details = ItemDetails(
        kind="comment",
        author_id=channel,
        author_name=as_str(comment.get("authorDisplayName")),
        author_deleted=channel is None and comment.get("authorDisplayName") is None,
        parent_id=video,
        root_id=video,
        thread_url=WATCH + video if video else None,
    )
    return item, epoch(published), details


def parse_reply(comment: dict[str, Any], video_id: str) -> Parsed | None:
    """A reply (a comment resource with a parentId) as an item; None without an id."""
    comment_id = as_str(comment.get("id"))
    snippet = as_dict(comment.get("snippet"))
    video = as_str(snippet.get("videoId")) or video_id or None
    if comment_id is None:
        return None
    published = parse_time(snippet.get("publishedAt"))
    channel = as_str(as_dict(snippet.get("authorChannelId")).get("value"))
    author = as_str(snippet.get("authorDisplayName"))
    item = RawItem(
        source_kind="youtube",
        source_name="",
        platform_id=comment_id,
        url=f"{WATCH}{video}&lc={comment_id}" if video else None,
        text=as_str(snippet.get("textOriginal")) or as_str(snippet.get("textDisplay")) or "",
        author=author,
        published_at=published,
        engagement=Engagement(likes=as_int(snippet.get("likeCount"))),
    )
    details = ItemDetails(
        kind="reply",
        author_id=channel,
        author_name=author,
        author_deleted=channel is None and author is None,
        parent_id=as_str(snippet.get("parentId")),
        root_id=video,
        thread_url=WATCH + video if video else None,
    )
    return item, epoch(published), details
