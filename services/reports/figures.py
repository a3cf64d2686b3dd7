"""A report's figures, computed through the aggregations the stats API calls
(`services.stats.aggregates`), so that a report and `GET /stats/...` for the same window
always agree.

Only what the stats API does not offer is computed here: the stories' copies (searches),
the most engaged mentions (a pass over the stored JSON of the period's negative or
positive mentions, keeping one per story), and the alerts of the period (the state store's events).
"""

from __future__ import annotations

import ast
import heapq
import importlib.util
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from services.alerting import saved_searches as ss
from services.alerting.evaluator import message_from_event
from services.alerting.notifiers.base import AlertMessage
from services.core.models import Mention, Sentiment
from services.core.query import parse_query
from services.core.reports import ReportDefinition, Section
from services.reports.period import Window, interval_for, trend_interval_for
from services.stats import aggregates
from services.store.contracts import (
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
    SortOrder,
)
from services.store.state.contract import AlertEventRecord, StateStore

TOP = 5
MAX_ALERT_EVENTS = 500


def quoted(name: str) -> str:
    """A name as a query-language value: `"Voltaire Cycles"`."""
    return '"' + name.replace('"', " ") + '"'


@dataclass(frozen=True)
class Subject:
    """What a report measures: query texts for the stats functions."""

    title: str  # heads the document and the email subject only
    brand: str | None  # sentiment is toward it when set, overall otherwise
    competitors: list[str]
    scope: str  # the saved search's query ("" for a brand report): share of voice's q
    base: str  # the mentions the report is about
    name: str = ""  # what the sentences call it: the brand's or the saved search's name

    def narrowed(self, clause: str) -> str:
        """The report's mentions that also match `clause`."""
        return f"({self.base}) {clause}" if self.base else clause

    def polar(self, label: str) -> str:
        """Its mentions negative (or positive) toward the brand, or overall without one."""
        if self.brand:
            return self.narrowed(f"{label}:{quoted(self.brand)}")
        return self.narrowed(f"sentiment:{label}")


def saved_search_text(search: ss.SavedSearch) -> str:
    """A saved search (its filters included) as one query-language text."""
    parts = [f"({search.query})"] if search.query.strip() else []
    for field_name, values in (
        ("lang", search.filters.languages),
        ("source", search.filters.sources),
        ("sentiment", [str(s) for s in search.filters.sentiments]),
    ):
        if values:
            parts.append("(" + " OR ".join(f"{field_name}:{quoted(v)}" for v in values) + ")")
    return " ".join(parts)


def subject_of(definition: ReportDefinition, state: StateStore) -> Subject:
    """Resolves the brand and saved search; NotFoundError when either is unknown."""
    scope = ""
    title = definition.title
    search_name = ""
    if definition.saved_search:
        search = ss.get_saved_search(state, definition.saved_search)
        scope = saved_search_text(search)
        search_name = search.name
        title = title or search.name
    if definition.brand:
        brand = state.get_brand(definition.brand)
        named = f"brand:{quoted(brand.name)}"
        base = f"{scope} {named}" if scope else named
        return Subject(
            title or brand.name, brand.name, list(brand.competitors), scope, base, brand.name
        )
    return Subject(title, None, [], scope, scope, search_name)


# -- the figures, section by section ---------------------------------------------------


@dataclass(frozen=True)
class KeyFigures:
    mentions: int
    previous_mentions: int
    negative: int
    previous_negative: int
    positive: int
    previous_positive: int
    net_sentiment: float | None
    previous_net_sentiment: float | None
    share_of_voice: float | None  # of the brand against its competitors
    previous_share_of_voice: float | None

    @staticmethod
    def share(part: int, whole: int) -> float | None:
        """part / whole, or None when there is nothing to divide."""
        return part / whole if whole else None


@dataclass(frozen=True)
class Point:
    start: datetime
    count: int
    by: dict[str, int]


@dataclass(frozen=True)
class AlertMark:
    at: datetime
    message: AlertMessage
    target: str


@dataclass(frozen=True)
class CompetitorRow:
    name: str
    role: str
    count: int
    share: float
    net_sentiment: float | None
    previous_share: float | None
    previous_net_sentiment: float | None
    series: list[Point]  # mentions toward it per bucket, split by sentiment


@dataclass(frozen=True)
class Change:
    key: str
    count: int
    previous: int


@dataclass(frozen=True)
class Story:
    key: str
    copies: int
    first: Mention
    copy_sources: list[str]


@dataclass(frozen=True)
class Sample:
    mention: Mention
    label: str
    engagement: int
    words: list[str]


@dataclass
class ReportFigures:
    """Everything the template shows, for one report and one window."""

    definition: ReportDefinition
    subject: Subject
    window: Window
    previous: Window
    interval: Interval  # of the volume series
    trend_interval: Interval  # of the competitors' series
    generated_at: datetime
    key: KeyFigures | None = None
    series: list[Point] = field(default_factory=list)
    alerts: list[AlertMark] = field(default_factory=list)
    competitors: list[CompetitorRow] = field(default_factory=list)
    topics: list[Change] = field(default_factory=list)
    negative_topics: list[Change] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    authors: list[Change] = field(default_factory=list)
    sites: list[Change] = field(default_factory=list)
    sources: list[Change] = field(default_factory=list)
    negative_samples: list[Sample] = field(default_factory=list)
    positive_samples: list[Sample] = field(default_factory=list)


def compute(
    definition: ReportDefinition,
    *,
    index: MentionIndex,
    state: StateStore,
    window: Window,
    previous: Window,
    now: datetime,
) -> ReportFigures:
    """The figures of every section the definition asks for (the key figures and the
    series are always computed: the other sections' readings use them)."""
    subject = subject_of(definition, state)
    figures = ReportFigures(
        definition,
        subject,
        window,
        previous,
        interval_for(window),
        trend_interval_for(window),
        generated_at=now,
    )
    sections = set(definition.sections)
    figures.key = _key_figures(index, state, subject, window, previous)
    figures.series = _series(index, subject, window, figures.interval, subject.brand)
    figures.alerts = _alerts(state, subject, definition, window)
    if Section.SHARE_OF_VOICE in sections and subject.brand:
        figures.competitors = _competitors(index, state, subject, window, previous, figures)
    if sections & {Section.TOPICS, Section.VOLUME_SENTIMENT, Section.KEY_FIGURES}:
        figures.topics = _changes(index, subject.base, Dimension.TOPIC, window, previous, 10)
        figures.negative_topics = _changes(
            index, subject.polar("negative"), Dimension.TOPIC, window, previous, 10
        )
    if Section.TOP_STORIES in sections:
        figures.stories = _stories(index, subject, window)
    if Section.AUTHORS_SOURCES in sections:
        figures.sources = _changes(index, subject.base, Dimension.SOURCE, window, previous, TOP)
        figures.authors, figures.sites = _authors_and_sites(index, subject, window, previous)
    # The most engaged negative is worked out whatever the sections: the email names it.
    figures.negative_samples = _samples(index, subject, window, "negative")
    if Section.SAMPLES in sections:
        figures.positive_samples = _samples(index, subject, window, "positive")
    return figures


def _key_figures(
    index: MentionIndex, state: StateStore, subject: Subject, window: Window, previous: Window
) -> KeyFigures:
    def one(w: Window) -> tuple[int, int, int, float | None, float | None]:
        if subject.brand:
            sov = aggregates.share_of_voice(
                index, state, subject.brand, _window_filter(subject.scope, w), dedup=False
            )
            row = sov.shares[0]
            return (
                row.count,
                row.sentiment.get("negative", 0),
                row.sentiment.get("positive", 0),
                row.net_sentiment,
                row.share if sov.total else None,
            )
        split = aggregates.breakdown(
            index, Dimension.SENTIMENT, _window_filter(subject.base, w), size=10, dedup=False
        )
        by = {c.key: c.count for c in split.counts}
        neg, pos = by.get("negative", 0), by.get("positive", 0)
        net = (pos - neg) / (pos + neg) if pos + neg else None
        return split.total, neg, pos, net, None

    now, before = one(window), one(previous)
    return KeyFigures(
        mentions=now[0],
        previous_mentions=before[0],
        negative=now[1],
        previous_negative=before[1],
        positive=now[2],
        previous_positive=before[2],
        net_sentiment=now[3],
        previous_net_sentiment=before[3],
        share_of_voice=now[4],
        previous_share_of_voice=before[4],
    )


def _series(
    index: MentionIndex, subject: Subject, window: Window, interval: Interval, toward: str | None
) -> list[Point]:
    q = subject.scope if toward else subject.base
    series = aggregates.sentiment(index, _window_filter(q, window), interval, toward, dedup=False)
    return [Point(b.start, b.count, dict(b.by)) for b in series.buckets]


def _alerts(
    state: StateStore, subject: Subject, definition: ReportDefinition, window: Window
) -> list[AlertMark]:
    """Events that fired in the window about the report's brand or saved search (or a saved
    search whose query names the brand)."""
    marks: list[AlertMark] = []
    before: int | None = None
    seen = 0
    while seen < MAX_ALERT_EVENTS:
        page = state.list_alert_events(before_id=before, limit=100)
        if not page:
            break
        for event in page:
            if event.created_at < window.since:
                return sorted(marks, key=lambda m: m.at)
            if event.status == "firing" and _about(event, subject, definition, state):
                message = message_from_event(event)
                if window.since <= message.window_start < window.until:
                    marks.append(AlertMark(message.window_start, message, _target(event)))
        seen += len(page)
        before = page[-1].id
    return sorted(marks, key=lambda m: m.at)


def _target(event: AlertEventRecord) -> str:
    target = event.numbers.get("target") or {}
    return str(target.get("name") or event.rule_name)


def _about(
    event: AlertEventRecord, subject: Subject, definition: ReportDefinition, state: StateStore
) -> bool:
    target = event.numbers.get("target") or {}
    kind, name = target.get("type"), str(target.get("name") or "")
    if kind == "brand":
        return subject.brand is not None and name.casefold() == subject.brand.casefold()
    if kind == "saved_search":
        if definition.saved_search and name == definition.saved_search:
            return True
        if subject.brand:
            try:
                query = ss.get_saved_search(state, name).query
            except KeyError:
                return False
            return subject.brand.casefold() in query.casefold()
    return False


def _competitors(
    index: MentionIndex,
    state: StateStore,
    subject: Subject,
    window: Window,
    previous: Window,
    figures: ReportFigures,
) -> list[CompetitorRow]:
    assert subject.brand is not None
    now = aggregates.share_of_voice(
        index, state, subject.brand, _window_filter(subject.scope, window), dedup=False
    )
    before = aggregates.share_of_voice(
        index, state, subject.brand, _window_filter(subject.scope, previous), dedup=False
    )
    earlier = {s.name: s for s in before.shares}
    rows = []
    for share in now.shares:
        old = earlier.get(share.name)
        series = (
            figures.series
            if share.role == "brand" and figures.trend_interval == figures.interval
            else _series(index, subject, window, figures.trend_interval, share.name)
        )
        rows.append(
            CompetitorRow(
                name=share.name,
                role=share.role,
                count=share.count,
                share=share.share,
                net_sentiment=share.net_sentiment,
                previous_share=old.share if old and before.total else None,
                previous_net_sentiment=old.net_sentiment if old else None,
                series=series,
            )
        )
    return rows


def _changes(
    index: MentionIndex,
    q: str,
    dimension: Dimension,
    window: Window,
    previous: Window,
    size: int,
) -> list[Change]:
    now = aggregates.breakdown(index, dimension, _window_filter(q, window), size, dedup=False)
    keys = [c.key for c in now.counts]
    before = {
        c.key: c.count
        for c in aggregates.breakdown(
            index, dimension, _window_filter(q, previous), size=100, dedup=False
        ).counts
    }
    counts = {c.key: c.count for c in now.counts}
    return [Change(k, counts[k], before.get(k, 0)) for k in keys]


def _window_filter(q: str, window: Window) -> MentionFilter:
    """`q`'s matches in the window (the filter `GET /stats/...?q=&since=&until=` builds)."""
    return MentionFilter(
        query=parse_query(q), since=window.since.astimezone(UTC), until=window.until.astimezone(UTC)
    )


def _stories(index: MentionIndex, subject: Subject, window: Window) -> list[Story]:
    largest = aggregates.breakdown(
        index, Dimension.STORY, _window_filter(subject.base, window), size=TOP, dedup=False
    )
    stories = []
    for count in largest.counts:
        flt = _window_filter(subject.narrowed(f"story:{quoted(count.key)}"), window)
        page = index.search(SearchRequest(filter=flt, sort=SortOrder.OLDEST, limit=50))
        if not page.mentions:
            continue
        first, *rest = page.mentions
        first_site = site_of(first.url) or first.source_name
        sources = sorted({site_of(m.url) or m.source_name for m in rest} - {first_site})
        stories.append(Story(count.key, count.count, first, sources))
    return stories


def site_of(url: str | None) -> str | None:
    """The web site of a URL, without `www.`."""
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _authors_and_sites(
    index: MentionIndex, subject: Subject, window: Window, previous: Window
) -> tuple[list[Change], list[Change]]:
    """Top authors and communities (forums, subreddits, blogs, feeds: where it was said) by
    mentions, from the index's counts as `GET /stats/breakdown` gives them."""
    return (
        _changes(index, subject.base, Dimension.AUTHOR, window, previous, TOP),
        _changes(index, subject.base, Dimension.COMMUNITY, window, previous, TOP),
    )


_KEPT = frozenset({"pas", "ne", "jamais", "rien", "plus", "not", "no", "never", "nothing"})


@cache
def _function_words() -> frozenset[str]:
    """spaCy's French and English stop-word lists, read from their files: importing them
    would import spaCy itself, seconds for two lists of words."""
    spec = importlib.util.find_spec("spacy")
    words: set[str] = set()
    if spec is not None and spec.origin is not None:
        for lang in ("fr", "en"):
            path = Path(spec.origin).parent / "lang" / lang / "stop_words.py"
            module = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(module):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    words.update(node.value.split())
    return frozenset(w.casefold() for w in words) - _KEPT


_TAG = re.compile(r"<[^<>]*>|<[^<>]*$|^[^<>]*>")  # whole tags, and tags cut at either end


def without_markup(word: str) -> str:
    """An evidence word without the markup a hostile or badly extracted text left in it
    (`script>alert(1)</script><img` -> `alert(1)`): words are read, never markup."""
    text = _TAG.sub(" ", word)
    return " ".join(text.replace("<", " ").replace(">", " ").split())


def meaningful(words: list[str], subject: Subject) -> list[str]:
    """The evidence words without function words ('est', 'the') and the brands' own names:
    what a reader can act on. A stand-in until the analyzer's "why" words skip them
    themselves (issue 21, "words that mean something"); phrases are kept whole."""
    names = {n.casefold() for n in [subject.brand or "", *subject.competitors] if n}
    kept = []
    for raw in words:
        word = without_markup(raw)
        if not word:
            continue
        folded = word.casefold().strip("'’")
        if folded in names or (" " not in folded and folded in _function_words()):
            continue
        kept.append(word)
    return kept


def engagement_of(mention: Mention) -> int:
    """Likes, replies and shares together (views left out: they dwarf the rest)."""
    e = mention.engagement
    return (e.likes or 0) + (e.replies or 0) + (e.shares or 0)


class _Engaged(TypedDict, total=False):
    likes: int | None
    replies: int | None
    shares: int | None


class _Ranked(TypedDict, total=False):
    """What ranking a sample reads of a stored mention (the rest is skipped)."""

    id: str
    story_id: str | None
    engagement: _Engaged


_RANKED = TypeAdapter(_Ranked)


def _rank(position: int, source: bytes) -> tuple[str, tuple[int, int, str]]:
    """(story, (-engagement, position, id)): the most engaged first, then the oldest (the
    mentions come oldest first)."""
    m = _RANKED.validate_json(source)
    e = m.get("engagement") or {}
    reactions = (e.get("likes") or 0) + (e.get("replies") or 0) + (e.get("shares") or 0)
    return m.get("story_id") or m["id"], (-reactions, position, m["id"])


def _samples(index: MentionIndex, subject: Subject, window: Window, label: str) -> list[Sample]:
    """The three most engaged mentions of the period, one per story: each story's most
    engaged copy published in the window, whether it is the story's first copy or a
    repost of one first posted earlier (a week whose negatives are all reposts still
    shows them). One pass over the stored JSON keeping a rank per story (no model per
    mention), then the three best read whole."""
    flt = _window_filter(subject.polar(label), window)
    best_of_story: dict[str, tuple[int, int, str]] = {}
    for story, rank in itertools.starmap(_rank, enumerate(index.iter_json(flt))):
        kept = best_of_story.get(story)
        if kept is None or rank < kept:
            best_of_story[story] = rank
    best = heapq.nsmallest(3, best_of_story.values())
    samples = []
    for _, _, mention_id in best:
        mention = index.get(mention_id)
        if mention is None:  # deleted since
            continue
        sentiment: Sentiment | None = (
            mention.brand_sentiments.get(subject.brand) if subject.brand else None
        ) or mention.sentiment
        words = []
        if sentiment is not None and sentiment.evidence is not None:
            words = meaningful([w.text for w in sentiment.evidence.words if w.weight > 0], subject)[
                :5
            ]
        samples.append(Sample(mention, label, engagement_of(mention), words))
    return samples
