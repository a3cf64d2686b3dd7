"""The report's charts, drawn with matplotlib (Agg, no display) as SVG data URIs that the
HTML embeds: no outside resource, the same picture in the browser and in the PDF."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from services.reports.figures import AlertMark, CompetitorRow, Point

MIN_POLAR = 3  # positive + negative mentions a bucket needs for its net sentiment
COLOURS = {"negative": "#c8414b", "neutral": "#b9bec7", "positive": "#2f8f5b"}
LINES = ["#1f4e79", "#e07b39", "#7b5ea7", "#3a9e9e", "#b0883a", "#8c564b"]
SHORT_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": [
        "janv.", "févr.", "mars", "avr.", "mai", "juin",
        "juil.", "août", "sept.", "oct.", "nov.", "déc.",
    ],
}  # fmt: skip
SENTIMENT_NAMES = {
    "en": {"negative": "negative", "neutral": "neutral", "positive": "positive"},
    "fr": {"negative": "négatives", "neutral": "neutres", "positive": "positives"},
}

plt.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#888888",
        "svg.fonttype": "path",  # text drawn as paths: the same in every viewer
        "svg.hashsalt": "veille",  # stable ids: the same figures give the same SVG
    }
)


def displayed(points: Sequence[Point], since: datetime) -> list[Point]:
    """The buckets to draw: the API's UTC buckets, the one that starts before the window
    (a report in Paris time starts at 23:00 UTC) added into the next one."""
    out: list[Point] = []
    carry: dict[str, int] = {}
    carry_count = 0
    for p in points:
        if p.start < since and len(points) > 1:
            carry_count += p.count
            for k, v in p.by.items():
                carry[k] = carry.get(k, 0) + v
            continue
        by = {k: p.by.get(k, 0) + carry.get(k, 0) for k in set(p.by) | set(carry)}
        out.append(Point(p.start, p.count + carry_count, by))
        carry, carry_count = {}, 0
    return out


def tick(moment: datetime, lang: str) -> str:
    """'30 Nov' / '30 nov.'."""
    month = SHORT_MONTHS[lang][moment.month - 1]
    return f"{moment.day} {month}"


def _data_uri(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue().encode()).decode()
    return f"data:image/svg+xml;base64,{encoded}"


def _ticks(ax: Any, starts: list[datetime], lang: str) -> None:
    step = max(1, len(starts) // 10)
    positions = list(range(0, len(starts), step))
    ax.set_xticks(positions, [tick(starts[i], lang) for i in positions])
    ax.tick_params(axis="x", length=0)


def volume_chart(
    points: Sequence[Point],
    alerts: Sequence[AlertMark],
    *,
    lang: str,
    width: timedelta,
) -> str:
    """Stacked bars of the mentions per bucket by sentiment, alerts marked with a flag."""
    fig, ax = plt.subplots(figsize=(7.2, 1.75))
    starts = [p.start for p in points]
    bottom = [0] * len(points)
    for label in ("negative", "neutral", "positive"):
        values = [p.by.get(label, 0) for p in points]
        ax.bar(
            range(len(points)),
            values,
            bottom=bottom,
            color=COLOURS[label],
            width=0.75,
            label=SENTIMENT_NAMES[lang][label],
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    top = max(bottom, default=0) or 1
    for n, mark in enumerate(alerts):
        slot = next((i for i, s in enumerate(starts) if s <= mark.at < s + width), len(starts) - 1)
        ax.axvline(slot, color="#333333", linestyle=(0, (2, 2)), linewidth=0.8)
        ax.annotate(
            f"▲{n + 1}",
            (slot, top * 1.04),
            ha="center",
            fontsize=7,
            color="#333333",
            annotation_clip=False,
        )
    ax.set_ylim(0, top * 1.12)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _ticks(ax, starts, lang)
    ax.legend(frameon=False, ncols=3, loc="upper left", bbox_to_anchor=(0, 1.2))
    return _data_uri(fig)


def competitor_charts(
    rows: Sequence[CompetitorRow], *, lang: str, since: datetime
) -> tuple[str, str]:
    """Two line charts: each name's share of voice per bucket, and its net sentiment."""
    series = {r.name: displayed(r.series, since) for r in rows}
    starts = [p.start for p in next(iter(series.values()), [])]
    totals = [sum(s[i].count for s in series.values() if i < len(s)) for i in range(len(starts))]
    share_fig, share_ax = plt.subplots(figsize=(3.5, 1.6))
    net_fig, net_ax = plt.subplots(figsize=(3.5, 1.6))
    for n, (name, points) in enumerate(series.items()):
        colour = LINES[n % len(LINES)]
        shares = [
            100 * p.count / totals[i] if totals[i] else float("nan") for i, p in enumerate(points)
        ]
        nets = []
        pos = neg = 0
        for p in points:  # cumulated from the window's start: a day's 1 or 2 opinions
            pos, neg = pos + p.by.get("positive", 0), neg + p.by.get("negative", 0)
            polar = pos + neg  # make a ±1 that means nothing
            nets.append((pos - neg) / polar if polar >= MIN_POLAR else float("nan"))
        width = 2.2 if n == 0 else 1.3
        share_ax.plot(range(len(points)), shares, color=colour, linewidth=width, label=name)
        net_ax.plot(range(len(points)), nets, color=colour, linewidth=width, marker="o",
                    markersize=2.5, label=name)  # fmt: skip
    share_ax.set_ylim(0, 100)
    share_ax.yaxis.set_major_formatter("{x:.0f}\u202f%" if lang == "fr" else "{x:.0f}%")
    net_ax.set_ylim(-1.05, 1.05)
    net_ax.axhline(0, color="#999999", linewidth=0.6)
    for ax in (share_ax, net_ax):
        _ticks(ax, starts, lang)
        if len(starts) > 5:  # half a page wide: a week of days needs room
            ax.tick_params(axis="x", labelrotation=45)
    share_ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(0, 1.25),
                    ncols=3)  # fmt: skip
    return _data_uri(share_fig), _data_uri(net_fig)
