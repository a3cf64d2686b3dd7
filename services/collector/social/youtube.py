"""YouTube Data API v3: videos matching the query (`search`) and their comment threads.

Credentials: VEILLE_YOUTUBE_API_KEY (an API key of a Google Cloud project with the
YouTube Data API enabled), sent as the `key` parameter. `search?type=video&order=date`
lists videos newest first, `publishedAfter` makes runs incremental, `nextPageToken`
pages back. Position: the video's `publishedAt`, in Unix seconds. Each search page
is completed by one `videos.list?part=snippet,statistics` call for all its videos
(views, likes, comment count, declared language, full description) and one
`channels.list?part=statistics` call for their channels (subscribers, as the
author's followers, unless the channel hides them). For each new
video (at most `comment_videos` per page, default 5) its newest comment threads
(`commentThreads?order=time&part=snippet,replies`) are fetched in the same run; when
a thread has more replies than the few inlined, `comments.list?parentId=` pages
through them. A top-level comment's parent and root are the video; a reply's parent
is its top-level comment. Videos are fetched again for new comments on later runs
while younger than the `revisit_hours` option (default 48; 0 turns it off).

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
    as_list,
    as_str,
    iso,
    load_json,
)
from services.collector.social.query_pushdown import Pushdown
from services.collector.social.youtube_items import (
    followers,
    parse_reply,
    parse_thread,
    parse_video,
    video_updates,
)


class YouTubeConnector:
    """Videos and comment threads from the YouTube Data API."""

    kind = "youtube"
    pushdown = Pushdown(or_operator=" | ", phrases=True)

    def __init__(self) -> None:
        self.base_url = "https://www.googleapis.com/youtube/v3"
        self.api_key = ""
        self.comment_videos = 5
        self.revisit_seconds = 48 * 3600

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Needs VEILLE_YOUTUBE_API_KEY; options: base_url, comment_videos, revisit_hours."""
        key = env_value(env, "VEILLE_YOUTUBE_API_KEY")
        if key is None:
            raise NotConfigured("VEILLE_YOUTUBE_API_KEY not set (a YouTube Data API v3 key)")
        self.api_key = key
        self.base_url = base_url(source_options, env, self.kind, self.base_url)
        self.comment_videos = max(0, int(source_options.get("comment_videos", 5)))
        self.revisit_seconds = int(float(source_options.get("revisit_hours", 48)) * 3600)

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

    def statistics_request(self, video_ids: list[str]) -> RequestSpec:
        """Counts, language and full description of up to 50 videos, in one call."""
        return RequestSpec(
            url=f"{self.base_url}/videos",
            params=(
                ("part", "snippet,statistics"),
                ("id", ",".join(video_ids[:50])),
                ("maxResults", "50"),
                ("key", self.api_key),
            ),
            purpose="videos",
        )

    def channels_request(self, videos_by_channel: dict[str, list[str]]) -> RequestSpec:
        """Subscriber counts of up to 50 channels, in one call."""
        channels = list(videos_by_channel)[:50]
        return RequestSpec(
            url=f"{self.base_url}/channels",
            params=(
                ("part", "statistics"),
                ("id", ",".join(channels)),
                ("maxResults", "50"),
                ("key", self.api_key),
            ),
            purpose="channels",
            context={"videos": {c: videos_by_channel[c] for c in channels}},
        )

    def comments_request(self, video_id: str) -> RequestSpec:
        """The newest comment threads of a video, with their first replies inlined."""
        return RequestSpec(
            url=f"{self.base_url}/commentThreads",
            params=(
                ("part", "snippet,replies"),
                ("videoId", video_id),
                ("order", "time"),
                ("maxResults", "100"),
                ("textFormat", "plainText"),
                ("key", self.api_key),
            ),
            purpose="comments",
            context={"thread": video_id, "video_id": video_id},
        )

    def thread_request(self, thread_id: str) -> RequestSpec:
        """The comment threads of a video found earlier."""
        return self.comments_request(thread_id)

    def replies_request(self, comment_id: str, video_id: str, page: str | None) -> RequestSpec:
        """One page of the replies to a top-level comment."""
        params = [
            ("part", "snippet"),
            ("parentId", comment_id),
            ("maxResults", "100"),
            ("textFormat", "plainText"),
            ("key", self.api_key),
        ]
        if page is not None:
            params.append(("pageToken", page))
        return RequestSpec(
            url=f"{self.base_url}/comments",
            params=tuple(params),
            purpose="replies",
            context={"video_id": video_id, "comment_id": comment_id},
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses a search, videos, commentThreads or comments list response."""
        data = load_json(body)
        if not isinstance(data.get("items"), list):
            raise MalformedResponse("no 'items' list in the answer")
        items = [as_dict(raw) for raw in data["items"]]
        if request.purpose == "videos":
            return Page(updates={v: u for v, u in map(video_updates, items) if v is not None})
        if request.purpose == "channels":
            return Page(detail_updates=followers(items, as_dict(request.context.get("videos"))))
        if request.purpose == "comments":
            return self._threads(items, str(request.context.get("video_id", "")))
        if request.purpose == "replies":
            return self._replies(data, items, request)
        page = Page(next_page=as_str(data.get("nextPageToken")))
        for raw in items:
            parsed = parse_video(raw)
            if parsed is not None:
                page.add(parsed)
                video_id = parsed[0].platform_id or ""
                if len(page.follow_ups) < self.comment_videos:
                    page.follow_ups.append(self.comments_request(video_id))
                else:  # over the limit: later runs fetch its comments
                    page.watch.append(video_id)
        if page.items:
            page.enrich.append(self.statistics_request([i.platform_id or "" for i in page.items]))
            by_channel: dict[str, list[str]] = {}
            for video_id, details in page.details.items():
                if details.author_id is not None:
                    by_channel.setdefault(details.author_id, []).append(video_id)
            if by_channel:
                page.enrich.append(self.channels_request(by_channel))
        return page

    def _threads(self, threads: list[dict[str, Any]], video_id: str) -> Page:
        page = Page()
        for thread in threads:
            parsed = parse_thread(thread, video_id)
            if parsed is None:
                continue
            page.add(parsed)
            top, video = parsed[0].platform_id or "", parsed[2].root_id or video_id
            inlined = as_list(as_dict(thread.get("replies")).get("comments"))
            for reply in inlined:
                page.add(parse_reply(as_dict(reply), video))
            total = as_int(as_dict(thread.get("snippet")).get("totalReplyCount")) or 0
            if total > len(inlined):
                page.follow_ups.append(self.replies_request(top, video, None))
        return page

    def _replies(
        self, data: dict[str, Any], replies: list[dict[str, Any]], request: RequestSpec
    ) -> Page:
        video_id = str(request.context.get("video_id", ""))
        page = Page()
        for reply in replies:
            page.add(parse_reply(reply, video_id))
        token = as_str(data.get("nextPageToken"))
        if token is not None:
            comment_id = str(request.context.get("comment_id", ""))
            page.follow_ups.append(self.replies_request(comment_id, video_id, token))
        return page

    def is_quota_error(self, body: bytes) -> bool:
        """True for the 403 bodies that mean a spent quota rather than a refusal."""
        return b"quotaExceeded" in body or b"rateLimitExceeded" in body
