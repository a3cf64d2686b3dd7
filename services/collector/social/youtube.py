"""YouTube Data API v3: videos matching the query (`search`) and their comment threads.

Credentials: VEILLE_YOUTUBE_API_KEY (an API key of a Google Cloud project with the
YouTube Data API enabled), sent as the `key` parameter. `search?type=video&order=date`
lists videos newest first, `publishedAfter` makes runs incremental, `nextPageToken`
pages back. Position: the video's `publishedAt`, in Unix seconds. For each new video
(at most `comment_videos` per page, default 5) its newest comment threads
(`commentThreads?order=time`, top-level comments with their reply counts) are fetched
in the same run. Views and likes of videos need `videos.list` and are not fetched.

A 403 whose reason is `quotaExceeded` or `rateLimitExceeded` is a rate limit (the
daily quota resets at midnight Pacific time).

Pushed down: words, phrases, NEAR as both sides, OR (as `|`). Not pushed: NOT,
prefixes and every field filter. `lang:` is not pushed because `relevanceLanguage`
only ranks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.collector.social.base import (
    JSON,
    ItemDetails,
    MalformedResponse,
    NotConfigured,
    Page,
    RequestSpec,
    base_url,
    env_value,
)
from services.collector.social.parsing import (
    as_dict,
    as_int,
    as_str,
    epoch,
    iso,
    language,
    load_json,
    parse_time,
)
from services.collector.social.query_pushdown import Pushdown
from services.core.models import Engagement, RawItem

WATCH = "https://www.youtube.com/watch?v="


class YouTubeConnector:
    """Videos and comment threads from the YouTube Data API."""

    kind = "youtube"
    pushdown = Pushdown(or_operator=" | ", phrases=True)

    def __init__(self) -> None:
        self.base_url = "https://www.googleapis.com/youtube/v3"
        self.api_key = ""
        self.comment_videos = 5

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Needs VEILLE_YOUTUBE_API_KEY; options: base_url, comment_videos."""
        key = env_value(env, "VEILLE_YOUTUBE_API_KEY")
        if key is None:
            raise NotConfigured("VEILLE_YOUTUBE_API_KEY not set (a YouTube Data API v3 key)")
        self.api_key = key
        self.base_url = base_url(source_options, env, self.kind, self.base_url)
        self.comment_videos = max(0, int(source_options.get("comment_videos", 5)))

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """A search call for one page of videos, newest first."""
        params = [
            ("part", "snippet"),
            ("type", "video"),
            ("order", "date"),
            ("maxResults", "50"),
            ("q", query),
            ("key", self.api_key),
        ]
        if since is not None:
            params.append(("publishedAfter", iso(since)))
        if page is not None:
            params.append(("pageToken", str(page)))
        return RequestSpec(url=f"{self.base_url}/search", params=tuple(params))

    def comments_request(self, video_id: str) -> RequestSpec:
        """The newest comment threads of a video."""
        return RequestSpec(
            url=f"{self.base_url}/commentThreads",
            params=(
                ("part", "snippet"),
                ("videoId", video_id),
                ("order", "time"),
                ("maxResults", "100"),
                ("textFormat", "plainText"),
                ("key", self.api_key),
            ),
            purpose="comments",
            context={"parent_id": video_id},
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses a searchListResponse or a commentThreadListResponse."""
        data = load_json(body)
        if not isinstance(data.get("items"), list):
            raise MalformedResponse("no 'items' list in the answer")
        comments = request.purpose == "comments"
        page = Page(next_page=None if comments else as_str(data.get("nextPageToken")))
        for raw in data["items"]:
            parsed = parse_thread(as_dict(raw)) if comments else parse_video(as_dict(raw))
            if parsed is None:
                continue
            item, position, details = parsed
            assert item.platform_id is not None
            page.items.append(item)
            if position is not None:
                page.positions[item.platform_id] = position
            page.details[item.platform_id] = details
            if not comments and len(page.follow_ups) < self.comment_videos:
                page.follow_ups.append(self.comments_request(item.platform_id))
        return page

    def is_quota_error(self, body: bytes) -> bool:
        """True for the 403 bodies that mean a spent quota rather than a refusal."""
        return b"quotaExceeded" in body or b"rateLimitExceeded" in body


def parse_video(result: dict[str, Any]) -> tuple[RawItem, int | None, ItemDetails] | None:
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
        title=as_str(snippet.get("title")) or "",
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


def parse_thread(thread: dict[str, Any]) -> tuple[RawItem, int | None, ItemDetails] | None:
    """A comment thread's top-level comment as an item (replies counted, not fetched)."""
    snippet = as_dict(thread.get("snippet"))
    top = as_dict(snippet.get("topLevelComment"))
    comment_id = as_str(top.get("id")) or as_str(thread.get("id"))
    comment = as_dict(top.get("snippet"))
    video_id = as_str(snippet.get("videoId")) or as_str(comment.get("videoId"))
    if comment_id is None:
        return None
    published = parse_time(comment.get("publishedAt"))
    channel = as_str(as_dict(comment.get("authorChannelId")).get("value"))
    url = f"{WATCH}{video_id}&lc={comment_id}" if video_id else None
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
        parent_id=video_id,
        root_id=video_id,
        thread_url=WATCH + video_id if video_id else None,
    )
    return item, epoch(published), details
