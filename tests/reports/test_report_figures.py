"""A report's figures equal the stats API's for the same window, and its readings say them
in words, in English and in French."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.core.reports import ReportDefinition, Section
from services.reports import wording
from services.reports.figures import ReportFigures, compute
from services.reports.period import windows
from services.reports.render import render
from services.runtime.app.context import ServiceContext
from tests.reports.conftest import CONFIGURED, requires_pdf

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _figures(ctx: ServiceContext, definition: ReportDefinition = CONFIGURED) -> ReportFigures:
    window, previous = windows(definition, now=NOW)
    return compute(
        definition, index=ctx.index, state=ctx.state, window=window, previous=previous, now=NOW
    )


def _get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1/stats/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_key_figures_and_series_equal_the_stats_api(
    ctx: ServiceContext, client: TestClient
) -> None:
    figures = _figures(ctx)
    assert figures.key is not None
    window, previous = figures.window, figures.previous
    assert window.since.isoformat() == "2026-11-15T23:00:00+00:00"  # midnight in Paris
    for w, mentions, negative, positive in (
        (window, figures.key.mentions, figures.key.negative, figures.key.positive),
        (
            previous,
            figures.key.previous_mentions,
            figures.key.previous_negative,
            figures.key.previous_positive,
        ),
    ):
        sov = _get(
            client,
            "share-of-voice",
            brand="Veloria",
            since=w.since.isoformat(),
            until=w.until.isoformat(),
        )
        brand = sov["shares"][0]
        assert (mentions, negative, positive) == (
            brand["count"],
            brand["sentiment"]["negative"],
            brand["sentiment"]["positive"],
        )
    assert (figures.key.mentions, figures.key.negative) == (15, 6)  # 12 + 3 copies
    assert (figures.key.previous_mentions, figures.key.previous_negative) == (10, 2)

    series = _get(
        client,
        "sentiment",
        toward="Veloria",
        since=window.since.isoformat(),
        until=window.until.isoformat(),
        interval="day",
    )
    assert [
        (p.start.isoformat().replace("+00:00", "Z"), p.count, p.by) for p in figures.series
    ] == [(b["start"].replace("+00:00", "Z"), b["count"], b["by"]) for b in series["buckets"]]

    sov = _get(
        client,
        "share-of-voice",
        brand="Veloria",
        since=window.since.isoformat(),
        until=window.until.isoformat(),
    )
    assert [(r.name, r.count, r.share, r.net_sentiment) for r in figures.competitors] == [
        (s["name"], s["count"], s["share"], s["net_sentiment"]) for s in sov["shares"]
    ]

    def breakdown(dimension: str, q: str) -> list[tuple[str, int]]:
        body = _get(
            client,
            "breakdown",
            dimension=dimension,
            q=q,
            since=window.since.isoformat(),
            until=window.until.isoformat(),
            size=10,
        )
        return [(c["key"], c["count"]) for c in body["counts"]]

    assert [(c.key, c.count) for c in figures.topics] == breakdown("topic", 'brand:"Veloria"')
    assert [(c.key, c.count) for c in figures.negative_topics] == breakdown(
        "topic", '(brand:"Veloria") negative:"Veloria"'
    )
    assert [(c.key, c.count) for c in figures.sources] == breakdown("source", 'brand:"Veloria"')[:5]
    assert [(s.key, s.copies) for s in figures.stories] == breakdown("story", 'brand:"Veloria"')[:5]
    # Authors and communities come from the index's counts, as the API gives them.
    assert figures.authors and figures.sites
    assert [(c.key, c.count) for c in figures.authors] == breakdown("author", 'brand:"Veloria"')[:5]
    assert [(c.key, c.count) for c in figures.sites] == breakdown("community", 'brand:"Veloria"')[
        :5
    ]
    top = _get(
        client,
        "authors",
        q='brand:"Veloria"',
        since=window.since.isoformat(),
        until=window.until.isoformat(),
        size=5,
    )
    assert {(a.key, a.count) for a in figures.authors} == {
        (a["author"], a["mentions"]) for a in top["authors"]
    }


@requires_pdf
def test_the_html_shows_the_figures_it_computed(ctx: ServiceContext) -> None:
    figures = _figures(ctx)
    rendered = render(figures, pdf=True)
    assert rendered.pdf is not None and rendered.pdf.startswith(b"%PDF")
    html = rendered.html
    key = re.search(r'<section id="key_figures">.*?</section>', html, re.S)
    assert key is not None
    assert '<div class="v">15</div>' in key.group(0)
    assert '<div class="v">40%</div>' in key.group(0)  # 6 of 15 negative toward Veloria
    assert "http" not in re.sub(r'href="https?://[^"]*"', "", html)  # nothing fetched


def test_the_readings_say_what_changed_in_english(ctx: ServiceContext) -> None:
    f = _figures(ctx)
    assert wording.key_figures_reading(f, "en") == (
        "Veloria was named in 15 mentions, up 50% on the previous period (10); 40% of them "
        "were negative toward it, against 20% before."
    )
    assert wording.volume_reading(f, "en").startswith(
        "Negative mentions toward Veloria rose from 20% to 40%, driven by delivery;"
    )
    assert wording.topics_reading(f, "en") == (
        "“design” is the most discussed topic (7 mentions) and the one that grew the most (+2)."
    )
    assert wording.stories_reading(f, "en").startswith(
        "The most repeated story was published 4 times, first by"
    )
    negative = f.negative_samples[0]
    assert negative.engagement == 30 + 3  # likes 10*3, replies 3: the most engaged
    assert negative.words == ["retard", "cassé"]  # no "est", no brand name
    assert wording.samples_reading(f, "en").startswith(
        "The most engaged negative mention drew 33 reactions (words that weighed: “retard”"
    )


def test_the_readings_are_french_for_a_french_report(ctx: ServiceContext) -> None:
    f = _figures(ctx, CONFIGURED.model_copy(update={"language": "fr"}))
    assert wording.key_figures_reading(f, "fr") == (
        "15 mentions citent Veloria, soit 50\u202f% de plus que la période précédente (10)"
        "\u00a0; 40\u202f% sont négatives envers la marque, contre 20\u202f% auparavant."
    )
    assert wording.volume_reading(f, "fr").startswith(
        "La part des mentions négatives envers Veloria passe de 20\u202f% à 40\u202f%, "
        "portée par le sujet «\u00a0delivery\u00a0»"
    )
    assert wording.period_text(f.window, "fr") == "du 16 au 22 novembre 2026"
    html = render(f, pdf=False).html
    assert 'lang="fr"' in html and "Chiffres clés" in html


def test_texts_from_mentions_are_escaped(ctx: ServiceContext) -> None:
    from tests.reports.conftest import WEEK, _veloria

    hostile = _veloria(
        99,
        WEEK,
        "negative",
        "delivery",
        likes=10_000,
        text="<script>alert(1)</script> Veloria",
        url="javascript:alert(2)",
    )
    ctx.index.upsert([hostile])
    html = render(_figures(ctx), pdf=False).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html


@pytest.mark.parametrize("period", ["last_week", "last_month", "last_quarter"])
def test_calendar_periods_are_complete_and_follow_each_other(period: str) -> None:
    definition = ReportDefinition(name="r", brand="Veloria", period=period)
    window, previous = windows(definition, now=datetime(2026, 12, 7, 7, 30, tzinfo=UTC))
    assert previous.until == window.since
    assert window.until <= datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    first = {"last_week": "2026-11-30", "last_month": "2026-11-01", "last_quarter": "2026-07-01"}
    assert window.first_day.isoformat() == first[period]


@requires_pdf
def test_a_period_without_mentions_renders_and_says_so(ctx: ServiceContext) -> None:
    empty = CONFIGURED.model_copy(
        update={"since": datetime(2020, 3, 2).date(), "until": datetime(2020, 3, 8).date()}
    )
    figures = _figures(ctx, empty)
    rendered = render(figures, pdf=True)
    assert rendered.pdf is not None and rendered.pages >= 1
    assert wording.key_figures_reading(figures, "en") == "No mention of Veloria in this period."
    assert "No alert fired during the period." in rendered.html
    assert "No negative or positive mention in this period." in rendered.html
    assert wording.stories_reading(figures, "en") == "No mention in this period."
    assert wording.stories_reading(figures, "fr") == "Aucune mention sur la période."
    assert "original" not in rendered.html


def test_samples_show_reposts_of_older_stories_one_per_story(ctx: ServiceContext) -> None:
    """The week's negatives are all reposts of stories first posted the week before: they
    are still the most engaged negatives, one per story, and the email names the first."""
    from services.reports.delivery import report_email
    from tests.reports.conftest import BEFORE, _veloria

    week = BEFORE - timedelta(days=14)  # a week with no other mention
    older = [_veloria(40 + i, week - timedelta(days=7), "neutral", "price") for i in range(2)]
    reposts = [
        _veloria(50 + i, week + timedelta(days=i), "negative", "delivery", likes=likes,
                 story_id=older[story].id, url=f"https://repost{i}.example.net/a")
        for i, (story, likes) in enumerate([(0, 5), (0, 40), (1, 20), (0, 1)])
    ]  # fmt: skip
    ctx.index.upsert([*older, *reposts])
    definition = CONFIGURED.model_copy(
        update={"since": week.date(), "until": (week + timedelta(days=6)).date()}
    )
    f = _figures(ctx, definition)
    assert f.key is not None and f.key.negative == 4
    assert [s.mention.id for s in f.negative_samples] == [reposts[1].id, reposts[2].id]
    assert wording.samples_reading(f, "en").startswith(
        "The most engaged negative mention drew 91 reactions"
    )
    mail = report_email(
        f, render(f, pdf=False), sender="v@example.org", recipients=["a@example.org"], render="x"
    )
    body = mail.get_body(("plain",))
    assert body is not None and "most engaged negative mention drew 91" in body.get_content()
    # Without the samples section the email still names the most engaged negative.
    short = definition.model_copy(update={"sections": [Section.KEY_FIGURES]})
    g = _figures(ctx, short)
    mail = report_email(
        g, render(g, pdf=False), sender="v@example.org", recipients=["a@example.org"], render="x"
    )
    body = mail.get_body(("plain",))
    assert body is not None and "most engaged negative mention drew 91" in body.get_content()


def test_the_title_heads_the_report_and_the_sentences_use_the_brands_name(
    ctx: ServiceContext,
) -> None:
    from services.reports.delivery import report_subject

    titled = CONFIGURED.model_copy(update={"title": "Veloria weekly"})
    f = _figures(ctx, titled)
    assert wording.key_figures_reading(f, "en").startswith("Veloria was named in 15 mentions")
    french = _figures(ctx, titled.model_copy(update={"language": "fr"}))
    assert wording.key_figures_reading(french, "fr").startswith("15 mentions citent Veloria,")
    assert report_subject(f).startswith("[Veille] Veloria weekly · ")
    assert "<h1>Veloria weekly</h1>" in render(f, pdf=False).html
    empty = titled.model_copy(
        update={"since": datetime(2020, 3, 2).date(), "until": datetime(2020, 3, 8).date()}
    )
    assert wording.key_figures_reading(_figures(ctx, empty), "en") == (
        "No mention of Veloria in this period."
    )


def test_also_in_never_repeats_the_first_publisher(ctx: ServiceContext) -> None:
    from tests.reports.conftest import WEEK, _veloria

    first = _veloria(70, WEEK, "neutral", "battery", url="https://news.example.org/a")
    copies = [
        _veloria(71 + i, WEEK + timedelta(days=1), "neutral", "battery", story_id=first.id,
                 url=url)
        for i, url in enumerate(["https://www.news.example.org/b", "https://other.example.net/c"])
    ]  # fmt: skip
    ctx.index.upsert([first.model_copy(update={"story_id": first.id}), *copies])
    [story] = [s for s in _figures(ctx).stories if s.key == first.id]
    assert story.copies == 3
    assert story.copy_sources == ["other.example.net"]


def test_words_that_weighed_hold_no_markup_and_the_page_stays_escaped(
    ctx: ServiceContext,
) -> None:
    from tests.reports.conftest import WEEK, _sentiment, _veloria

    sentiment = _sentiment("negative", "script>alert(1)</script><img", "<b>cassé</b>")
    hostile = _veloria(
        98, WEEK, "negative", "delivery", likes=50_000, text="<img src=x onerror=alert(3)>",
        sentiment=sentiment, brand_sentiments={"Veloria": sentiment},
    )  # fmt: skip
    ctx.index.upsert([hostile])
    f = _figures(ctx)
    assert f.negative_samples[0].mention.id == hostile.id
    assert f.negative_samples[0].words == ["alert(1)", "cassé"]
    html = render(f, pdf=False).html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(3)&gt;" in html
    assert "script&gt;" not in html and "<b>cassé" not in html


def test_french_readings_elide_de_and_keep_one_and_zero_singular(ctx: ServiceContext) -> None:
    """'celui d'Olyve', not 'celui de Olyve'; '1 mention cite', '0 réaction' (French
    keeps the singular below 2), '1 mention' in English too."""
    f = _figures(ctx, CONFIGURED.model_copy(update={"language": "fr"}))
    assert f.key is not None and len(f.competitors) > 1
    main = max(f.competitors[1:], key=lambda r: r.count)
    f.competitors = [
        f.competitors[0],
        *(dataclasses.replace(r, name="Olyve") if r is main else r for r in f.competitors[1:]),
    ]
    assert "celui d'Olyve (" in wording.share_of_voice_reading(f, "fr")
    f.key = dataclasses.replace(f.key, mentions=1, negative=1, positive=0)
    assert wording.key_figures_reading(f, "fr").startswith("1 mention cite Veloria, ")
    assert wording.key_figures_reading(f, "en").startswith("Veloria was named in 1 mention, ")
    f.negative_samples = [dataclasses.replace(f.negative_samples[0], engagement=1)]
    f.positive_samples = []
    assert "a suscité 1 réaction (" in wording.samples_reading(f, "fr")
    assert "drew 1 reaction (" in wording.samples_reading(f, "en")
    assert wording.counted(1, "réaction", "fr") == "1 réaction"
    assert wording.counted(2, "réaction", "fr") == "2 réactions"
    assert wording.counted(0, "reaction", "en") == "0 reactions"
    assert wording.of("Trekko") == "de Trekko" and wording.of("Acme") == "d'Acme"


def test_samples_without_engagement_are_named_never_said_to_draw_zero(
    ctx: ServiceContext,
) -> None:
    """Feeds and blogs count no reactions: a week of them names a negative mention, where
    it was and what it said, rather than "drew 0 reactions", in both languages."""
    from services.core.models import Engagement
    from tests.reports.conftest import BEFORE, _veloria

    week = BEFORE - timedelta(days=28)  # a week with no other mention
    posts = [
        _veloria(60 + i, week + timedelta(days=i), label, "delivery",
                 url=f"https://blog{i}.example.net/a", engagement=Engagement())
        for i, label in enumerate(["negative", "negative", "positive"])
    ]  # fmt: skip
    ctx.index.upsert(posts)
    definition = CONFIGURED.model_copy(
        update={"since": week.date(), "until": (week + timedelta(days=6)).date()}
    )
    f = _figures(ctx, definition)
    assert f.negative_samples and all(s.engagement == 0 for s in f.negative_samples)
    en, fr = wording.samples_reading(f, "en"), wording.samples_reading(f, "fr")
    for text in (en, fr):
        assert "0 reaction" not in text and "0 réaction" not in text
        assert "engaged" not in text and "engagée" not in text
    assert en.startswith("No mention drew a counted reaction; a negative mention on blog0.")
    assert "; a positive one on blog2.example.net: " in en
    assert fr.startswith(
        "Aucune mention n'a suscité de réaction comptée\u00a0; une mention négative sur blog0."
    )
    assert "\u00a0; une positive sur blog2.example.net\u00a0: " in fr
    # One engaged positive among them: it is counted, the negative still named.
    f.positive_samples = [dataclasses.replace(f.positive_samples[0], engagement=3)]
    assert "the most engaged positive one drew 3 reactions" in wording.samples_reading(f, "en")
    assert "la positive la plus engagée a suscité 3 réactions" not in wording.samples_reading(
        f, "fr"
    )
    assert "la mention positive la plus engagée a suscité 3 réactions" in (
        wording.samples_reading(f, "fr")
    )
