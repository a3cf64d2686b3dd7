"""The Slack Block Kit payload of an alert (pure: slack.py only posts what this returns)."""

from __future__ import annotations

import math
from typing import Any

from services.alerting.notifiers.base import AlertMessage
from services.alerting.notifiers.wording import (
    MAX_MENTIONS,
    Language,
    baseline_text,
    clip,
    counts_text,
    format_number,
    format_value,
    format_window,
    headline,
    numbers_line,
    sentiment_label,
    series_values,
    sparkline,
    text,
)

#: Slack's limits: header text, section text, context elements, button text.
_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000


def _slack_escape(value: str) -> str:
    """Slack mrkdwn control characters (&, <, >) must be escaped."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_slack_payload(message: AlertMessage, *, language: Language = "en") -> dict[str, Any]:
    """The Block Kit payload of an incoming-webhook message (with a plain `text` fallback)."""
    esc = _slack_escape
    title = headline(message, language)
    numbers = numbers_line(message, language)
    fields = [
        f"*{text('observed', language)}*\n{format_value(message, message.observed, language)}",
        f"*{text('expected', language)}*\n{format_value(message, message.expected, language)}",
        f"*{text('window', language)}*\n{format_window(message.window_start, message.window_end)}",
        f"*{text('baseline', language)}*\n{esc(baseline_text(message, language))}",
    ]
    if message.score is not None and math.isfinite(message.score):
        fields.insert(
            2, f"*{text('score', language)}*\n{format_number(message.score, language, decimals=1)}"
        )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(title, _SLACK_HEADER_MAX), "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{esc(numbers)}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, 2000)} for f in fields]},
    ]
    spark = sparkline(series_values(message))
    if spark:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{text('trend', language)}*  `{spark}`"},
            }
        )
    if message.chart_url:  # Slack fetches it; see services/alerting/chart_link.py
        blocks.append(
            {
                "type": "image",
                "image_url": message.chart_url,
                "alt_text": text("chart_alt", language),
            }
        )
    if message.top_mentions:
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{text('top_mentions', language)}*"},
            }
        )
    for mention in message.top_mentions[:MAX_MENTIONS]:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _slack_mention(mention, language)}],
            }
        )
    summary = []
    if message.top_sources:
        summary.append(
            f"*{text('top_sources', language)}*: {esc(counts_text(message.top_sources))}"
        )
    if message.top_topics:
        summary.append(f"*{text('top_topics', language)}*: {esc(counts_text(message.top_topics))}")
    if summary:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip(t, 2000)} for t in summary],
            }
        )
    if message.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": text("open", language)},
                        "url": message.link,
                        "style": "danger" if message.status == "firing" else "primary",
                    }
                ],
            }
        )
    return {"text": clip(f"{title}: {numbers}", _SLACK_TEXT_MAX), "blocks": blocks}


def _slack_mention(mention: dict[str, Any], language: Language) -> str:
    esc = _slack_escape
    title = esc(clip(str(mention.get("title") or text("untitled", language)), 150))
    url = str(mention.get("url") or "")
    head = (
        f"<{url}|{title}>"
        if url.startswith(("http://", "https://")) and "|" not in url
        else f"*{title}*"
    )
    meta = " · ".join(
        part
        for part in (
            esc(str(mention.get("source") or "")),
            sentiment_label(mention.get("sentiment"), language),
        )
        if part
    )
    body = esc(clip(" ".join(str(mention.get("text") or "").split()), 280))
    lines = [f"{head} · {meta}" if meta else head]
    if body:
        lines.append(f">{body}")
    return clip("\n".join(lines), 2000)
