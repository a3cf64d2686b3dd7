"""A report rendered: its figures laid into a Jinja2 template (autoescaped: mention texts
and author names are untrusted), then into a PDF by WeasyPrint. The HTML holds everything
it shows (styles inline, charts as data URIs): no outside resource is fetched."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.alerting.notifiers.wording import baseline_text, format_value
from services.core.reports import Section
from services.reports import wording
from services.reports.figures import ReportFigures, engagement_of, site_of
from services.store.contracts import Interval

logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its progress is logged at INFO
logging.getLogger("fontTools").setLevel(logging.WARNING)

_ENV = Environment(
    loader=PackageLoader("services.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes | None
    html_seconds: float  # template and charts
    pdf_seconds: float  # WeasyPrint's layout (0 without a PDF)
    pages: int = 0

    @property
    def seconds(self) -> float:
        """Rendering time, the figures excluded."""
        return self.html_seconds + self.pdf_seconds


def web_link(url: str | None) -> str | None:
    """The URL when it is an http(s) one: a `javascript:` link in a mention stays text."""
    if url and urlsplit(url).scheme.lower() in {"http", "https"}:
        return url
    return None


def context(figures: ReportFigures) -> dict[str, Any]:
    """What the template reads: the figures, their readings and charts, and the words."""
    from services.reports import charts  # matplotlib: loaded when a report is drawn

    lang = figures.definition.language
    width = timedelta(days=7) if figures.interval == Interval.WEEK else timedelta(days=1)
    points = charts.displayed(figures.series, figures.window.since)
    sections = figures.definition.sections
    chart: dict[str, str] = {}
    if Section.VOLUME_SENTIMENT in sections and len(points) > 0:
        chart["volume"] = charts.volume_chart(points, figures.alerts, lang=lang, width=width)
    if Section.SHARE_OF_VOICE in sections and figures.competitors:
        chart["share"], chart["net"] = charts.competitor_charts(
            figures.competitors, lang=lang, since=figures.window.since
        )
    local = figures.generated_at.astimezone(figures.definition.zone)
    unit = wording.label("week" if figures.interval == Interval.WEEK else "day", lang)
    trend_unit = wording.label("week" if figures.trend_interval == Interval.WEEK else "day", lang)
    return {
        "f": figures,
        "lang": lang,
        "sections": sections,
        "S": Section,
        "readings": {s: wording.READINGS[s](figures, lang) for s in sections},
        "chart": chart,
        "unit": unit,
        "trend_unit": trend_unit,
        "colon": "\u00a0: " if lang == "fr" else ": ",
        "t": lambda key: wording.label(key, lang),
        "period": wording.period_text(figures.window, lang),
        "previous_period": wording.period_text(figures.previous, lang),
        "num": lambda v: wording.number(v, lang),
        "pct": lambda v: wording.percent(v, lang),
        "signed": lambda v: wording.signed(v, lang),
        "delta": wording.delta,
        "day": lambda v: wording.day(v.astimezone(figures.definition.zone), lang),
        "clip": wording.clip,
        "quote": lambda v: wording.quote(v, lang),
        "site": site_of,
        "link": web_link,
        "engagement": engagement_of,
        "alert_title": lambda i: wording.alert_title(figures, i, lang),
        "alert_value": lambda a, v: format_value(a.message, v, "fr" if lang == "fr" else "en"),
        "alert_baseline": lambda a: baseline_text(a.message, "fr" if lang == "fr" else "en"),
        "generated": f"{wording.day(local, lang, year=True)} {wording.label('at', lang)} "
        f"{local:%H:%M}",
    }


def render_html(figures: ReportFigures) -> str:
    """The report as one self-contained HTML page."""
    return _ENV.get_template("report.html.j2").render(context(figures))


def html_to_pdf(html: str) -> tuple[bytes, int]:
    """The HTML laid out on A4 pages, and how many; only `data:` URLs are fetched (the
    charts)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    document = HTML(string=html, url_fetcher=fetcher).render()
    pdf: bytes = document.write_pdf()
    return pdf, len(document.pages)


def render(figures: ReportFigures, *, pdf: bool = True) -> Rendered:
    """HTML, and the PDF when asked."""
    started = time.perf_counter()
    html = render_html(figures)
    laid_out = time.perf_counter()
    document, pages = html_to_pdf(html) if pdf else (None, 0)
    done = time.perf_counter()
    return Rendered(html, document, laid_out - started, done - laid_out, pages)
