"""The pure message builders: words in both languages, the numbers, the sparkline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from services.alerting.explanation import Baseline
from services.alerting.notifiers.email_message import (
    CHART_CID,
    build_email,
    email_html,
    email_subject,
    email_text,
)
from services.alerting.notifiers.slack_message import build_slack_payload
from services.alerting.notifiers.webhook_body import build_webhook_body
from services.alerting.notifiers.wording import format_number, format_window, sparkline
from tests.alerting.notifiers import make_message

NNBSP = "\u202f"


def test_numbers_are_formatted_per_language() -> None:
    assert format_number(1234.0, "en") == "1,234"
    assert format_number(1234.0, "fr") == f"1{NNBSP}234"
    assert format_number(56.5, "en") == "56.5"
    assert format_number(56.5, "fr") == "56,5"
    assert format_number(0.125, "en") == "0.12"


def test_window_is_shown_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    start = datetime(2026, 11, 22, 10, 0, tzinfo=paris)
    assert format_window(start, start + timedelta(hours=1)) == "2026-11-22 09:00 → 10:00 UTC"
    end = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert format_window(start, end) == "2026-11-22 09:00 → 2026-11-23 01:00 UTC"


def test_sparkline_scales_between_min_and_max() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▄▄▄"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""
    assert sparkline([1.0, float("nan"), 3.0]) == "▁█"


def test_english_email_text_has_the_numbers_and_the_words() -> None:
    message = make_message()
    text = email_text(message, language="en")
    assert "Volume spike · Acme" in text
    assert "1,234 vs 56.5 expected (Robust z-score 7.2)" in text
    assert "Window: 2026-11-22 09:00 → 10:00 UTC" in text
    assert "Baseline: seasonal median (hour of week) over 28 days" in text
    assert (
        "Top mentions:" in text and "Acme <outage> & refunds (news.example.org, negative)" in text
    )
    assert "(untitled)" in text
    assert "Top sources: news.example.org (40), mastodon (12)" in text
    assert "Top topics: outage (30), refund (9)" in text
    assert "Open the mentions: https://veille.example/mentions?rule=acme" in text
    assert sparkline([v for _, v in message.series]) in text
    assert email_subject(message, language="en") == (
        "[Veille] Volume spike · Acme: 1,234 vs 56.5 expected (Robust z-score 7.2)"
    )


def test_french_email_text_is_all_french() -> None:
    message = make_message()
    text = email_text(message, language="fr")
    assert "Pic de volume · Acme" in text
    assert f"1{NNBSP}234 contre 56,5 attendu (Score z robuste 7,2)" in text
    assert "Fenêtre\u00a0: 2026-11-22 09:00 → 10:00 UTC" in text
    assert "Référence\u00a0: seasonal median" in text
    assert "Principales mentions" in text and "(news.example.org, négatif)" in text
    assert "(sans titre)" in text
    assert "Principaux sujets" in text and "Voir les mentions" in text
    for english in ("Window", "Baseline", "Top mentions", "expected", "Open the mentions"):
        assert english not in text
    assert email_subject(message, language="fr").startswith("[Veille] Pic de volume · Acme\u00a0: ")


def test_resolved_and_share_alerts_say_so() -> None:
    resolved = make_message(status="resolved")
    assert email_subject(resolved, language="en").startswith("[Veille] Resolved: Volume spike")
    assert email_subject(resolved, language="fr").startswith(
        "[Veille] Terminée\u00a0: Pic de volume"
    )
    share = make_message(kind="negative_share_spike", observed=0.42, expected=0.105, score=None)
    assert "42.0% vs 10.5% expected" in email_text(share, language="en")
    assert "42,0 % contre 10,5 % attendu" in email_text(share, language="fr")
    assert "z-score" not in email_text(share, language="en")


def test_html_escapes_and_references_the_chart() -> None:
    html = email_html(make_message(), language="en", with_chart=True)
    assert "Acme &lt;outage&gt; &amp; refunds" in html
    assert "<outage>" not in html
    assert f'src="cid:{CHART_CID}"' in html
    assert 'href="https://veille.example/mentions?rule=acme"' in html
    assert "1,234 vs 56.5 expected" in html
    assert 'lang="fr"' in email_html(make_message(), language="fr", with_chart=False)


def test_email_is_text_and_html_with_an_inline_png() -> None:
    email = build_email(
        make_message(),
        language="fr",
        sender="Veille <alerts@veille.example>",
        recipients=["a@example.org", "b@example.org"],
        message_id="<id-1@veille.example>",
    )
    assert email.get_content_type() == "multipart/alternative"
    plain, related = list(email.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{CHART_CID}>"
    assert isinstance(image, EmailMessage)
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    assert email["Message-ID"] == "<id-1@veille.example>"
    assert email["To"] == "a@example.org, b@example.org"
    assert email["Content-Language"] == "fr"
    assert "Pic de volume" in str(email["Subject"])


def test_email_without_a_series_has_no_chart() -> None:
    email = build_email(
        make_message(series=[]),
        language="en",
        sender="alerts@veille.example",
        recipients=["a@example.org"],
        message_id="<id-2@veille.example>",
    )
    html_part = list(email.iter_parts())[1]
    assert html_part.get_content_type() == "text/html"
    assert "cid:" not in html_part.get_content()


def test_slack_payload_has_the_blocks() -> None:
    message = make_message()
    payload = build_slack_payload(message)
    blocks = payload["blocks"]
    kinds = [block["type"] for block in blocks]
    assert kinds[0] == "header" and "actions" in kinds and kinds.count("context") >= 3
    assert blocks[0]["text"]["text"] == "Volume spike · Acme"
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "1,234 vs 56.5 expected" in dumped
    assert "*Observed*\\n1,234" in dumped and "*Expected*\\n56.5" in dumped
    assert "2026-11-22 09:00 → 10:00 UTC" in dumped
    assert "seasonal median (hour of week) over 28 days" in dumped
    assert sparkline([v for _, v in message.series]) in dumped
    assert "<https://news.example.org/acme-outage|Acme &lt;outage&gt; &amp; refunds>" in dumped
    (button,) = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert button["url"] == message.link and button["text"]["text"] == "Open the mentions"
    assert payload["text"].startswith("Volume spike · Acme: 1,234 vs 56.5")


def test_a_default_rule_is_named_in_the_reader_s_language() -> None:
    spike = make_message(rule_name="Veloria: volume spike")
    assert email_subject(spike, language="fr").startswith(
        "[Veille] Pic de volume · Veloria\u00a0: pic de volume\u00a0: "
    )
    assert email_subject(spike, language="en").startswith(
        "[Veille] Volume spike · Veloria: volume spike: "
    )
    share = make_message(
        rule_name="Acme: Corp: negative share", kind="negative_share_spike", status="resolved"
    )
    assert "Acme: Corp\u00a0: part négative" in email_text(share, language="fr")
    slack = build_slack_payload(make_message(rule_name="Veloria: drop", kind="drop"), language="fr")
    assert slack["text"].startswith("Baisse inhabituelle · Veloria\u00a0: baisse")
    assert "volume spike" not in json.dumps(build_slack_payload(spike, language="fr"))
    # a rule named by its owner keeps its name, in every language
    own = make_message(rule_name="Veloria: my drop watch")
    assert "Veloria: my drop watch" in email_text(own, language="fr")


def test_a_kind_this_version_does_not_know_is_named_as_one() -> None:
    odd = make_message(kind="volume_drop")
    assert email_subject(odd, language="en").startswith("[Veille] Alert of kind “volume drop” · ")
    assert "Alerte de type «\u00a0volume drop\u00a0» · Acme" in email_text(odd, language="fr")


def test_slack_payload_in_french_and_within_slack_limits() -> None:
    long_name = "x" * 300
    payload = build_slack_payload(make_message(rule_name=long_name), language="fr")
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "Observé" in dumped and "Voir les mentions" in dumped and "Tendance récente" in dumped
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert len(payload["blocks"]) <= 50


def test_slack_payload_without_optional_parts() -> None:
    payload = build_slack_payload(
        make_message(top_mentions=[], top_sources=[], top_topics=[], link=None, series=[])
    )
    kinds = [block["type"] for block in payload["blocks"]]
    assert kinds == ["header", "section", "section"]


def test_slack_payload_shows_the_chart_image_only_with_a_public_url() -> None:
    assert "image" not in [b["type"] for b in build_slack_payload(make_message())["blocks"]]
    url = "https://veille.example.org/api/v1/alerts/events/7/chart.png?token=abc"
    payload = build_slack_payload(make_message(chart_url=url), language="fr")
    (image,) = [b for b in payload["blocks"] if b["type"] == "image"]
    assert image == {
        "type": "image",
        "image_url": url,
        "alt_text": "Graphique des dernières périodes",
    }
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds.index("image") == kinds.index("section", 3) + 1  # right after the trend


def test_webhook_body_has_every_field_in_json() -> None:
    parts = Baseline(method="median", season="weekly", window_seconds=2419200, percentile=99)
    message = make_message(score=None, observed=float("nan"), baseline_parts=parts)
    body = build_webhook_body(message, idempotency_key="evt-1:webhook")
    decoded = json.loads(json.dumps(body, allow_nan=False))
    assert decoded["idempotency_key"] == "evt-1:webhook"
    assert decoded["rule_name"] == "Acme" and decoded["kind"] == "volume_spike"
    assert decoded["status"] == "firing"
    assert decoded["observed"] is None and decoded["expected"] == 56.5 and decoded["score"] is None
    assert decoded["averaged_buckets"] == 1
    assert decoded["window_start"] == "2026-11-22T09:00:00+00:00"
    assert decoded["window_end"] == "2026-11-22T10:00:00+00:00"
    assert decoded["baseline"] == message.baseline
    assert decoded["baseline_parts"]["season"] == "weekly"
    assert decoded["baseline_parts"]["window_seconds"] == 2419200
    assert build_webhook_body(make_message(), idempotency_key="k")["baseline_parts"] is None
    assert decoded["top_mentions"][0]["url"] == "https://news.example.org/acme-outage"
    assert decoded["top_sources"][0] == {"name": "news.example.org", "count": 40}
    assert decoded["top_topics"][1] == {"name": "refund", "count": 9}
    assert decoded["link"] == message.link
    assert decoded["series"][-1] == {"ts": "2026-11-22T10:00:00+00:00", "value": 1234.0}
    assert len(decoded["series"]) == len(message.series)


@pytest.mark.parametrize("naive", [datetime(2026, 1, 1, 12, 0)])
def test_naive_datetimes_are_taken_as_utc(naive: datetime) -> None:
    body = build_webhook_body(
        make_message(window_start=naive, window_end=naive, series=[(naive, 1.0)]),
        idempotency_key="k",
    )
    assert body["window_start"] == "2026-01-01T12:00:00+00:00"
    assert body["series"][0]["ts"] == "2026-01-01T12:00:00+00:00"


def test_every_channel_is_a_notifier() -> None:
    """Typed against the outbox's contract (mypy checks the assignment)."""
    from services.alerting.notifiers import (
        EmailNotifier,
        Notifier,
        SlackNotifier,
        WebhookNotifier,
    )

    channels: list[Notifier] = [
        SlackNotifier(webhook_secret="S"),
        EmailNotifier(host="localhost", sender="a@b.example", recipients=["c@d.example"]),
        WebhookNotifier("https://example.org/hook", secret_name="W"),
    ]
    assert [c.channel for c in channels] == ["slack", "email", "webhook"]


def test_new_mentions_are_counted_not_compared() -> None:
    message = make_message(kind="new_mention", observed=3.0, expected=0.0, score=None)
    assert email_subject(message, language="en") == "[Veille] New mentions · Acme: 3 new mentions"
    assert "3 nouvelles mentions" in email_text(message, language="fr")
    assert "expected" not in json.dumps(build_slack_payload(message)["text"])


def test_a_digest_counts_alerts_in_both_languages() -> None:
    digest = make_message(kind="digest", observed=3, expected=0, score=None)
    assert "Résumé des alertes" in email_subject(digest, language="fr")
    assert "3 alertes" in email_text(digest, language="fr")
    assert "3 alerts" in email_text(digest, language="en")


def test_a_mean_over_several_buckets_is_said_so_in_every_language() -> None:
    from services.alerting.notifiers.wording import numbers_line

    one = make_message(observed=19.0, expected=3.0)
    mean = make_message(observed=1.2, expected=0.3, averaged_buckets=6)
    assert "mean" not in numbers_line(one, "en")
    assert "1.20 vs 0.30 expected a bucket, mean of the last 6 buckets" in numbers_line(mean, "en")
    assert "moyenne des 6 dernières périodes" in numbers_line(mean, "fr")
    payload = json.dumps(build_slack_payload(mean, language="en"))
    assert "mean of the last 6 buckets" in payload
