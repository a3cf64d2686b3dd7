"""The words and numbers every alert message shows, in English and French.

Shared by the pure message builders (`slack_message`, `email_message`): user-facing
strings per language, numbers and dates formatted the way each language writes them,
the text sparkline, and the lines (title, observed versus expected) all channels repeat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.alerting.default_rules import default_name_parts
from services.alerting.explanation import english
from services.alerting.notifiers.base import AlertMessage
from services.alerting.rules import format_duration

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
MAX_MENTIONS = 5
MAX_SERIES_POINTS = 48

#: the alert kinds this version words (AlertKind and the digest)
KINDS = ("volume_spike", "negative_share_spike", "drop", "new_mention", "digest")
_STRINGS: dict[str, dict[Language, str]] = {
    "volume_spike": {"en": "Volume spike", "fr": "Pic de volume"},
    "negative_share_spike": {"en": "Negative share spike", "fr": "Hausse de la part négative"},
    "drop": {"en": "Unusual drop", "fr": "Baisse inhabituelle"},
    "new_mention": {"en": "New mentions", "fr": "Nouvelles mentions"},
    "digest": {"en": "Alert digest", "fr": "Résumé des alertes"},
    # as the dashboard names it (static/i18n.js, alert.otherKind)
    "other_kind": {"en": "Alert of kind “{code}”", "fr": "Alerte de type «\u00a0{code}\u00a0»"},
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
    "averaged": {
        "en": "a bucket, mean of the last {n} buckets",
        "fr": "par période, moyenne des {n} dernières périodes",
    },
    "pooled": {
        "en": "over the last {n} buckets",
        "fr": "sur les {n} dernières périodes",
    },
    "footer": {
        "en": "Sent by Veille. The numbers compare this window with its seasonal baseline.",
        "fr": "Envoyé par Veille. Les chiffres comparent cette fenêtre à sa référence saisonnière.",
    },
    "positive": {"en": "positive", "fr": "positif"},
    "negative": {"en": "negative", "fr": "négatif"},
    "neutral": {"en": "neutral", "fr": "neutre"},
    "mixed": {"en": "mixed", "fr": "mitigé"},
    # a brand's default rule ("Veloria: volume spike"), as the dashboard words it
    # (static/i18n.js, ruleName.*; tests/api/test_dashboard_i18n.py compares)
    "rule_name.volume_spike": {
        "en": "{target}: volume spike",
        "fr": "{target}\u00a0: pic de volume",
    },
    "rule_name.negative_share_spike": {
        "en": "{target}: negative share",
        "fr": "{target}\u00a0: part négative",
    },
    "rule_name.drop": {"en": "{target}: drop", "fr": "{target}\u00a0: baisse"},
}


def text(key: str, language: Language) -> str:
    """One user-facing string in the given language."""
    return _STRINGS[key][language]


def check_language(language: str) -> Language:
    """'fr-FR' -> 'fr'; anything not French is English."""
    return "fr" if language.lower().startswith("fr") else "en"


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
    start_utc, end_utc = as_utc(start), as_utc(end)
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


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rule_name(name: str, language: Language) -> str:
    """A brand's default rule ('Veloria: volume spike') in the reader's language; any
    other name as it was given."""
    parts = default_name_parts(name)
    key = f"rule_name.{parts.kind}" if parts else ""
    if parts is None or key not in _STRINGS:
        return name
    return text(key, language).format(target=parts.target)


def kind_label(kind: str, language: Language) -> str:
    """'Volume spike'; a kind this version does not know named as one, its code readable."""
    if kind in KINDS:
        return text(kind, language)
    return text("other_kind", language).format(code=kind.replace("_", " "))


def headline(message: AlertMessage, language: Language) -> str:
    """'Volume spike · Brand', or 'Resolved: Volume spike · Brand'."""
    kind = kind_label(message.kind, language)
    name = rule_name(message.rule_name, language)
    if message.status == "resolved":
        return f"{text('resolved', language)}{colon(language)}{kind} · {name}"
    return f"{kind} · {name}"


def colon(language: Language) -> str:
    """French typography puts a (no-break) space before a colon."""
    return "\u00a0: " if language == "fr" else ": "


def numbers_line(message: AlertMessage, language: Language) -> str:
    """'120 vs 30 expected (Robust z-score 6.1)', or a count for new mentions and digests."""
    observed = format_value(message, message.observed, language)
    if message.kind == "new_mention":  # nothing is "expected" of a match: just count them
        return f"{observed} {text('new_count', language)}"
    if message.kind == "digest":
        return f"{observed} {text('digest_count', language)}"
    expected = format_value(message, message.expected, language)
    line = f"{observed} {text('vs', language)} {expected} {text('expected_short', language)}"
    if message.averaged_buckets > 1:  # a stretch scored: its mean, hence e.g. 1.2
        # a share is pooled over the stretch, a count is a mean of its buckets
        wording = "pooled" if message.kind == "negative_share_spike" else "averaged"
        line += " " + text(wording, language).format(n=message.averaged_buckets)
    if message.score is not None and math.isfinite(message.score):
        line += f" ({text('score', language)} {format_number(message.score, language, decimals=1)})"
    return line


def sentiment_label(value: Any, language: Language) -> str:
    """A sentiment label in the reader's language."""
    label = str(value or "").lower()
    return (
        _STRINGS[label][language]
        if label in ("positive", "negative", "neutral", "mixed")
        else label
    )


def series_values(message: AlertMessage) -> list[float]:
    """The most recent values of the series, as charted."""
    return [value for _ts, value in message.series[-MAX_SERIES_POINTS:]]


def counts_text(items: Sequence[tuple[str, int]], limit: int = 5) -> str:
    """'a (3), b (2)'."""
    return ", ".join(f"{name} ({count})" for name, count in items[:limit])


def clip(value: str, limit: int) -> str:
    """The value cut to `limit` characters, with an ellipsis when cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# -- the baseline's explanation ----------------------------------------------------------
# Worded from its parts (services/alerting/explanation.py), stored on each event; an older
# event's sentence of no known shape is shown as it is.
_SEASONS_FR: dict[str, tuple[str, str]] = {  # (after "médiane", inside the parentheses)
    "none": ("de toutes les périodes", "toutes les périodes"),
    "daily": ("de la même heure de la journée", "même heure de la journée"),
    "weekly": (
        "de la même heure du même jour de la semaine",
        "même heure du même jour de la semaine",
    ),
}
_UNITS_FR: dict[str, tuple[str, str, bool]] = {  # (one, many, masculine)
    "d": ("jour", "jours", True),
    "h": ("heure", "heures", False),
    "m": ("minute", "minutes", False),
    "s": ("seconde", "secondes", False),
}
_DIGESTS_FR = {"daily": "quotidien", "weekly": "hebdomadaire"}


def _last_fr(seconds: int | None) -> str:
    """14 days -> 'les 14 derniers jours', an hour -> 'la dernière heure'."""
    duration = format_duration(timedelta(seconds=seconds or 0))
    number, unit = int(duration[:-1]), duration[-1]
    one, many, masculine = _UNITS_FR[unit]
    if number == 1:
        return f"le dernier {one}" if masculine else f"la dernière {one}"
    return f"les {number} {'derniers' if masculine else 'dernières'} {many}"


def baseline_text(message: AlertMessage, language: Language) -> str:
    """How 'expected' was computed, in the reader's language."""
    found = message.baseline_parts
    if found is None:
        return message.baseline
    if language == "en":
        return english(found)
    if found.method == "median":
        text_fr = (
            f"médiane {_SEASONS_FR[found.season or 'none'][0]} sur {_last_fr(found.window_seconds)}"
        )
        if found.level_seconds:
            text_fr += (
                " × niveau robuste (médiane du rapport observé/saisonnier sur "
                f"{_last_fr(found.level_seconds)})"
            )
        tail = "99e" if found.percentile == 99 else "1er"
        return (
            f"{text_fr}\u00a0; unité du score\u00a0: l'écart habituel du {tail} centile des "
            "résidus sur la même fenêtre"
        )
    if found.method == "pooled_share":
        season = _SEASONS_FR[found.season or "none"][1]
        if found.season != "none":
            season += ", sinon toutes les périodes"
        return (
            f"part négative cumulée ({season}) sur {_last_fr(found.window_seconds)}\u00a0; "
            "échelle\u00a0: écart type binomial"
        )
    if found.method == "new_mentions":
        return "nouvelles mentions correspondantes (par date d'enregistrement)"
    count = found.count or 0
    kinds = ", ".join(_STRINGS[k]["fr"].lower() if k in _STRINGS else k for k in found.kinds or [])
    return (
        f"résumé {_DIGESTS_FR[found.digest or 'daily']} de {count} "
        f"alerte{'s' if count > 1 else ''} ({kinds})"
    )
