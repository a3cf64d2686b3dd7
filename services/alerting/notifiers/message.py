"""Pure builders: an AlertMessage as a Slack Block Kit payload, an email, a webhook body.

No I/O here (spidermon's `get_message()`): the transports in slack.py, email.py and
webhook.py only send what these return, so every word and number is tested without a
server. User-facing strings exist in English and French (`language="en" | "fr"`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Literal

from services.alerting.notifiers.base import AlertMessage
from services.alerting.notifiers.chart import line_chart_png

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")
CHART_CID = "veille-chart"
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
#: Slack's limits: header text, section text, context elements, button text.
_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000
MAX_MENTIONS = 5
MAX_SERIES_POINTS = 48

_STRINGS: dict[str, dict[Language, str]] = {
    "volume_spike": {"en": "Volume spike", "fr": "Pic de volume"},
    "negative_share_spike": {"en": "Negative share spike", "fr": "Hausse de la part négative"},
    "drop": {"en": "Unusual drop", "fr": "Baisse inhabituelle"},
    "new_mention": {"en": "New mentions", "fr": "Nouvelles mentions"},
    "digest": {"en": "Alert digest", "fr": "Résumé des alertes"},
    "digest_count": {"en": "alerts", "fr": "alertes"},
    "resolved": {"en": "Resolved", "fr": "Terminée"},
    "observed": {"en": "Observed", "fr": "Observé"},
    "expected": {"en": "Expected", "fr": "Attendu"},
    "vs": {"en": "vs", "fr": "contre"},
    "expected_short": {"en": "expected", "fr": "attendu"},
    "score": {"en": "Robust z-score", "fr": "Score z robuste"},
    "window": {"en": "Window", "fr": "Fenêtre"},
    "baseline": {"en": "Baseline", "fr": "Référence"},
    "trend": {"en": "Recent trend", "fr": "Tendance récente"},
    "top_mentions": {"en": "Top mentions", "fr": "Principales mentions"},
    "top_sources": {"en": "Top sources", "fr": "Principales sources"},
    "top_topics": {"en": "Top topics", "fr": "Principaux sujets"},
    "open": {"en": "Open the mentions", "fr": "Voir les mentions"},
    "rule": {"en": "Rule", "fr": "Règle"},
    "untitled": {"en": "(untitled)", "fr": "(sans titre)"},
    "chart_alt": {"en": "Chart of recent buckets", "fr": "Graphique des dernières périodes"},
    "new_count": {"en": "new mentions", "fr": "nouvelles mentions"},
    "footer": {
        "en": "Sent by Veille. The numbers compare this window with its seasonal baseline.",
        "fr": "Envoyé par Veille. Les chiffres comparent cette fenêtre à sa référence saisonnière.",
    },
    "positive": {"en": "positive", "fr": "positif"},
    "negative": {"en": "negative", "fr": "négatif"},
    "neutral": {"en": "neutral", "fr": "neutre"},
    "mixed": {"en": "mixed", "fr": "mitigé"},
}


def text(key: str, language: Language) -> str:
    """One user-facing string in the given language."""
    return _STRINGS[key][language]


def check_language(language: str) -> Language:
    """'fr-FR' -> 'fr'; anything not French is English."""
    return "fr" if language.lower().startswith("fr") else "en"


# -- numbers, dates, sparkline ----------------------------------------------------------


def format_number(value: float, language: Language, *, decimals: int | None = None) -> str:
    """1234.5 -> '1,234.5' (en) or '1 234,5' (fr, narrow no-break space); integers bare."""
    if not math.isfinite(value):
        return str(value)
    if decimals is None:
        decimals = 0 if float(value).is_integer() else (1 if abs(value) >= 10 else 2)
    formatted = f"{value:,.{decimals}f}"
    if language == "fr":
        formatted = formatted.replace(",", "\u202f").replace(".", ",")
    return formatted


def format_value(message: AlertMessage, value: float, language: Language) -> str:
    """A share is shown as a percentage, a count as a number."""
    if message.kind == "negative_share_spike":
        return format_number(value * 100, language, decimals=1) + (
            " %" if language == "fr" else "%"
        )
    return format_number(value, language)


def format_window(start: datetime, end: datetime) -> str:
    """'2026-11-22 03:00 → 04:00 UTC' (date repeated only when it changes)."""
    start_utc, end_utc = _utc(start), _utc(end)
    tail = "%H:%M" if start_utc.date() == end_utc.date() else "%Y-%m-%d %H:%M"
    return f"{start_utc:%Y-%m-%d %H:%M} → {end_utc.strftime(tail)} UTC"


def sparkline(values: Sequence[float]) -> str:
    """A text sparkline: '▁▂▃▅▇' scaled between the series' minimum and maximum."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    top = len(SPARK_LEVELS) - 1
    if high == low:
        return SPARK_LEVELS[0 if high == 0 else top // 2] * len(finite)
    return "".join(SPARK_LEVELS[round((v - low) / (high - low) * top)] for v in finite)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _title(message: AlertMessage, language: Language) -> str:
    kind = _STRINGS.get(message.kind, {"en": message.kind, "fr": message.kind})[language]
    if message.status == "resolved":
        return f"{text('resolved', language)}{_colon(language)}{kind} · {message.rule_name}"
    return f"{kind} · {message.rule_name}"


def _colon(language: Language) -> str:
    """French typography puts a (no-break) space before a colon."""
    return "\u00a0: " if language == "fr" else ": "


def _numbers_line(message: AlertMessage, language: Language) -> str:
    observed = format_value(message, message.observed, language)
    if message.kind == "new_mention":  # nothing is "expected" of a match: just count them
        return f"{observed} {text('new_count', language)}"
    if message.kind == "digest":
        return f"{observed} {text('digest_count', language)}"
    expected = format_value(message, message.expected, language)
    line = f"{observed} {text('vs', language)} {expected} {text('expected_short', language)}"
    if message.score is not None and math.isfinite(message.score):
        line += f" ({text('score', language)} {format_number(message.score, language, decimals=1)})"
    return line


def _sentiment(value: Any, language: Language) -> str:
    label = str(value or "").lower()
    return (
        _STRINGS[label][language]
        if label in ("positive", "negative", "neutral", "mixed")
        else label
    )


def _series_values(message: AlertMessage) -> list[float]:
    return [value for _ts, value in message.series[-MAX_SERIES_POINTS:]]


def _counts(items: Sequence[tuple[str, int]], limit: int = 5) -> str:
    return ", ".join(f"{name} ({count})" for name, count in items[:limit])


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# -- Slack ------------------------------------------------------------------------------


def _slack_escape(value: str) -> str:
    """Slack mrkdwn control characters (&, <, >) must be escaped."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_slack_payload(message: AlertMessage, *, language: Language = "en") -> dict[str, Any]:
    """The Block Kit payload of an incoming-webhook message (with a plain `text` fallback)."""
    esc = _slack_escape
    title = _title(message, language)
    numbers = _numbers_line(message, language)
    fields = [
        f"*{text('observed', language)}*\n{format_value(message, message.observed, language)}",
        f"*{text('expected', language)}*\n{format_value(message, message.expected, language)}",
        f"*{text('window', language)}*\n{format_window(message.window_start, message.window_end)}",
        f"*{text('baseline', language)}*\n{esc(message.baseline)}",
    ]
    if message.score is not None and math.isfinite(message.score):
        fields.insert(
            2, f"*{text('score', language)}*\n{format_number(message.score, language, decimals=1)}"
        )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(title, _SLACK_HEADER_MAX), "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{esc(numbers)}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(f, 2000)} for f in fields]},
    ]
    spark = sparkline(_series_values(message))
    if spark:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{text('trend', language)}*  `{spark}`"},
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
        summary.append(f"*{text('top_sources', language)}*: {esc(_counts(message.top_sources))}")
    if message.top_topics:
        summary.append(f"*{text('top_topics', language)}*: {esc(_counts(message.top_topics))}")
    if summary:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _clip(t, 2000)} for t in summary],
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
    return {"text": _clip(f"{title}: {numbers}", _SLACK_TEXT_MAX), "blocks": blocks}


def _slack_mention(mention: dict[str, Any], language: Language) -> str:
    esc = _slack_escape
    title = esc(_clip(str(mention.get("title") or text("untitled", language)), 150))
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
            _sentiment(mention.get("sentiment"), language),
        )
        if part
    )
    body = esc(_clip(" ".join(str(mention.get("text") or "").split()), 280))
    lines = [f"{head} · {meta}" if meta else head]
    if body:
        lines.append(f">{body}")
    return _clip("\n".join(lines), 2000)


# -- email ------------------------------------------------------------------------------


def email_subject(message: AlertMessage, *, language: Language) -> str:
    """'[Veille] Volume spike · Brand: 120 vs 30 expected'."""
    title, numbers = _title(message, language), _numbers_line(message, language)
    return f"[Veille] {title}{_colon(language)}{numbers}".replace("\n", " ")


def email_text(message: AlertMessage, *, language: Language) -> str:
    """The plain-text part."""
    lines = [
        _title(message, language),
        "",
        _numbers_line(message, language),
        f"{text('window', language)}{_colon(language)}"
        f"{format_window(message.window_start, message.window_end)}",
        f"{text('baseline', language)}{_colon(language)}{message.baseline}",
    ]
    spark = sparkline(_series_values(message))
    if spark:
        lines.append(f"{text('trend', language)}{_colon(language)}{spark}")
    if message.top_mentions:
        lines += ["", f"{text('top_mentions', language)}{_colon(language).rstrip()}"]
        for mention in message.top_mentions[:MAX_MENTIONS]:
            title = _clip(str(mention.get("title") or text("untitled", language)), 150)
            meta = ", ".join(
                p
                for p in (
                    str(mention.get("source") or ""),
                    _sentiment(mention.get("sentiment"), language),
                )
                if p
            )
            lines.append(f"- {title}" + (f" ({meta})" if meta else ""))
            body = _clip(" ".join(str(mention.get("text") or "").split()), 280)
            if body:
                lines.append(f"  {body}")
            if mention.get("url"):
                lines.append(f"  {mention['url']}")
    if message.top_sources:
        lines += [
            "",
            f"{text('top_sources', language)}{_colon(language)}{_counts(message.top_sources)}",
        ]
    if message.top_topics:
        lines.append(
            f"{text('top_topics', language)}{_colon(language)}{_counts(message.top_topics)}"
        )
    if message.link:
        lines += ["", f"{text('open', language)}{_colon(language)}{message.link}"]
    lines += ["", "-- ", text("footer", language)]
    return "\n".join(lines) + "\n"


def email_html(message: AlertMessage, *, language: Language, with_chart: bool) -> str:
    """The HTML part; the chart is `<img src="cid:...">` when `with_chart`."""
    e = html.escape
    rows = [
        (text("observed", language), format_value(message, message.observed, language)),
        (text("expected", language), format_value(message, message.expected, language)),
    ]
    if message.score is not None and math.isfinite(message.score):
        rows.append((text("score", language), format_number(message.score, language, decimals=1)))
    rows += [
        (text("window", language), format_window(message.window_start, message.window_end)),
        (text("baseline", language), message.baseline),
    ]
    color = "#dc2626" if message.status == "firing" else "#16a34a"
    parts = [
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{e(_title(message, language))}</title></head>",
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#111827;max-width:640px">',
        f'<h2 style="color:{color};margin-bottom:4px">{e(_title(message, language))}</h2>',
        '<p style="font-size:18px;margin-top:0">'
        f"<strong>{e(_numbers_line(message, language))}</strong></p>",
        '<table cellpadding="4" style="border-collapse:collapse">',
        *(f'<tr><th align="left">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in rows),
        "</table>",
    ]
    if with_chart:
        parts.append(
            f'<p><img src="cid:{CHART_CID}" alt="{e(text("chart_alt", language))}" '
            'width="480" height="120"></p>'
        )
    if message.top_mentions:
        parts.append(f"<h3>{e(text('top_mentions', language))}</h3><ul>")
        for mention in message.top_mentions[:MAX_MENTIONS]:
            title = e(_clip(str(mention.get("title") or text("untitled", language)), 150))
            url = str(mention.get("url") or "")
            head = (
                f'<a href="{e(url)}">{title}</a>'
                if url.startswith(("http://", "https://"))
                else title
            )
            meta = ", ".join(
                p
                for p in (
                    str(mention.get("source") or ""),
                    _sentiment(mention.get("sentiment"), language),
                )
                if p
            )
            body = _clip(" ".join(str(mention.get("text") or "").split()), 280)
            parts.append(
                f"<li>{head}"
                + (f" <small>({e(meta)})</small>" if meta else "")
                + (f'<br><span style="color:#4b5563">{e(body)}</span>' if body else "")
                + "</li>"
            )
        parts.append("</ul>")
    for key, counts in (("top_sources", message.top_sources), ("top_topics", message.top_topics)):
        if counts:
            label = e(text(key, language) + _colon(language))
            parts.append(f"<p><strong>{label}</strong>{e(_counts(counts))}</p>")
    if message.link:
        parts.append(
            f'<p><a href="{e(message.link)}" style="background:#2563eb;color:#ffffff;'
            'padding:8px 14px;text-decoration:none;border-radius:4px">'
            f"{e(text('open', language))}</a></p>"
        )
    parts.append(
        f'<p style="color:#6b7280;font-size:12px">{e(text("footer", language))}</p></body></html>'
    )
    return "\n".join(parts) + "\n"


def build_email(
    message: AlertMessage,
    *,
    language: Language,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (HTML + inline PNG chart)."""
    values = _series_values(message)
    with_chart = len(values) >= 2
    email = EmailMessage()
    email["Subject"] = email_subject(message, language=language)
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email["Message-ID"] = message_id
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    email.set_content(email_text(message, language=language))
    email.add_alternative(
        email_html(message, language=language, with_chart=with_chart), subtype="html"
    )
    if with_chart:
        html_part = next(
            part for part in email.iter_parts() if part.get_content_subtype() == "html"
        )
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            line_chart_png(values),
            maintype="image",
            subtype="png",
            cid=f"<{CHART_CID}>",
            filename="chart.png",
            disposition="inline",
        )
    email["Content-Language"] = language  # after the parts: Content-* headers move into them
    return email


# -- webhook ----------------------------------------------------------------------------


def build_webhook_body(message: AlertMessage, *, idempotency_key: str) -> dict[str, Any]:
    """Every field of the message as JSON-ready data, dates in ISO 8601 (UTC)."""
    return {
        "idempotency_key": idempotency_key,
        "rule_name": message.rule_name,
        "kind": message.kind,
        "status": message.status,
        "observed": _json_number(message.observed),
        "expected": _json_number(message.expected),
        "score": None if message.score is None else _json_number(message.score),
        "window_start": _utc(message.window_start).isoformat(),
        "window_end": _utc(message.window_end).isoformat(),
        "baseline": message.baseline,
        "top_mentions": [_json_safe(m) for m in message.top_mentions],
        "top_sources": [{"name": n, "count": c} for n, c in message.top_sources],
        "top_topics": [{"name": n, "count": c} for n, c in message.top_topics],
        "link": message.link,
        "series": [
            {"ts": _utc(ts).isoformat(), "value": _json_number(v)} for ts, v in message.series
        ],
    }


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None  # JSON has no NaN or Infinity


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, float):
        return _json_number(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
