"""The email of an alert: subject, plain text, HTML and the inline PNG chart (pure: no I/O;
email.py only sends what this returns)."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from email.message import EmailMessage

from services.alerting.notifiers.base import AlertMessage
from services.alerting.notifiers.chart import line_chart_png
from services.alerting.notifiers.wording import (
    MAX_MENTIONS,
    Language,
    baseline_text,
    clip,
    colon,
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

CHART_CID = "veille-chart"


_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str) -> str:
    """`text` for a header: names are user input, and a line break (CR as well as LF) in
    a header makes the message unbuildable, or would start another header."""
    return _CONTROLS.sub(" ", text)


def email_subject(message: AlertMessage, *, language: Language) -> str:
    """'[Veille] Volume spike · Brand: 120 vs 30 expected'."""
    title, numbers = headline(message, language), numbers_line(message, language)
    return one_line(f"[Veille] {title}{colon(language)}{numbers}")


def email_text(message: AlertMessage, *, language: Language) -> str:
    """The plain-text part."""
    lines = [
        headline(message, language),
        "",
        numbers_line(message, language),
        f"{text('window', language)}{colon(language)}"
        f"{format_window(message.window_start, message.window_end)}",
        f"{text('baseline', language)}{colon(language)}{baseline_text(message, language)}",
    ]
    spark = sparkline(series_values(message))
    if spark:
        lines.append(f"{text('trend', language)}{colon(language)}{spark}")
    if message.top_mentions:
        lines += ["", f"{text('top_mentions', language)}{colon(language).rstrip()}"]
        for mention in message.top_mentions[:MAX_MENTIONS]:
            title = clip(str(mention.get("title") or text("untitled", language)), 150)
            meta = ", ".join(
                p
                for p in (
                    str(mention.get("source") or ""),
                    sentiment_label(mention.get("sentiment"), language),
                )
                if p
            )
            lines.append(f"- {title}" + (f" ({meta})" if meta else ""))
            body = clip(" ".join(str(mention.get("text") or "").split()), 280)
            if body:
                lines.append(f"  {body}")
            if mention.get("url"):
                lines.append(f"  {mention['url']}")
    if message.top_sources:
        lines += [
            "",
            f"{text('top_sources', language)}{colon(language)}{counts_text(message.top_sources)}",
        ]
    if message.top_topics:
        lines.append(
            f"{text('top_topics', language)}{colon(language)}{counts_text(message.top_topics)}"
        )
    if message.link:
        lines += ["", f"{text('open', language)}{colon(language)}{message.link}"]
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
        (text("baseline", language), baseline_text(message, language)),
    ]
    color = "#dc2626" if message.status == "firing" else "#16a34a"
    parts = [
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{e(headline(message, language))}</title></head>",
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#111827;max-width:640px">',
        f'<h2 style="color:{color};margin-bottom:4px">{e(headline(message, language))}</h2>',
        '<p style="font-size:18px;margin-top:0">'
        f"<strong>{e(numbers_line(message, language))}</strong></p>",
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
            title = e(clip(str(mention.get("title") or text("untitled", language)), 150))
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
                    sentiment_label(mention.get("sentiment"), language),
                )
                if p
            )
            body = clip(" ".join(str(mention.get("text") or "").split()), 280)
            parts.append(
                f"<li>{head}"
                + (f" <small>({e(meta)})</small>" if meta else "")
                + (f'<br><span style="color:#4b5563">{e(body)}</span>' if body else "")
                + "</li>"
            )
        parts.append("</ul>")
    for key, counts in (("top_sources", message.top_sources), ("top_topics", message.top_topics)):
        if counts:
            label = e(text(key, language) + colon(language))
            parts.append(f"<p><strong>{label}</strong>{e(counts_text(counts))}</p>")
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
    values = series_values(message)
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
