"""The dashboard in French and English, in headless Chromium: `?lang=fr` shows French words
and French numbers and dates (Intl), the header's switcher changes the language and is
remembered after a reload, and the message table (static/i18n.js) holds every key the
page uses, in both languages."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlencode

import pytest

from services.alerting.channels import WarningCode
from services.alerting.default_rules import KIND_LABELS
from services.alerting.evaluator import DIGEST_KIND
from services.alerting.notifiers import wording
from services.alerting.notifiers.wording import LANGUAGES
from services.alerting.rules import AlertKind, AlertRule, Rule, SensitivityName
from services.api.dashboard import FILES
from services.api.problem_codes import CODES as API_CODES
from services.api.problem_codes import FIELD_CODES
from services.api.routers.alert_rules import ListedRule
from services.collector.social.registry import BUILTINS
from services.core.models import SentimentLabel, SourceKind
from services.core.reports import Period, Schedule, Section
from services.core.triage import TriageState
from services.reports import wording as report_wording
from services.store.state.alerting_tables import EVENT_STATUSES
from tests.api.test_dashboard import _api, live_api  # noqa: F401  (the served API, seeded)
from tests.api.test_dashboard_explore import _click_chart
from tests.browser import CHROMIUM, Browser, utc_days_since

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

# French writes "63 %" with a no-break space: narrow (U+202F) in newer CLDR data, plain
# (U+00A0) in the ICU of some Chromium builds; either is right.
SPACE = "[\u00a0\u202f]"
FRENCH_PERCENT = r"/^63[\u00a0\u202f]%$/.test(document.getElementById('kpi-negative').textContent)"
LOADED = "document.body.dataset.loaded === 'Veloria'"
INBOX_SHOWN = "!!document.querySelector('#triage-mentions li[data-id]')"
FRENCH_MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin",
                 "juil.", "août", "sept.", "oct.", "nov.", "déc."]  # fmt: skip
# The switcher's and the tables' labels, by selector: (English, French).
LABELS = {
    "#kpi-net": ("Net sentiment", "Sentiment net"),
    "#share-of-voice": ("Share of voice", "Part de voix"),
    "#triage-counts": ("Triage inbox: negative mentions of Veloria",
                "Boîte de tri\u00a0: mentions négatives de Veloria"),
}  # fmt: skip


def _text(browser: Browser, selector: str) -> str:
    return str(browser.evaluate(f"document.querySelector({json.dumps(selector)}).textContent"))


def _heading(browser: Browser, selector: str) -> str:
    """The label of a KPI or the heading of a panel holding `selector`."""
    return _text(browser, f":is(.kpi, .panel):has({selector}) :is(.label, h2)")


def _french_day(moment: date) -> str:
    return f"{moment.day} {FRENCH_MONTHS[moment.month - 1]} {moment.year}"


def test_with_lang_fr_the_board_speaks_french(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        assert browser.evaluate("navigator.language").startswith("en")  # not the browser's
        opened = datetime.now(UTC)
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{LOADED} && {INBOX_SHOWN}")
        assert browser.evaluate("document.documentElement.lang") == "fr"
        assert browser.evaluate("document.getElementById('lang').value") == "fr"
        for selector, (_english, french) in LABELS.items():
            assert _heading(browser, selector) == french
        assert _heading(browser, "#kpi-mentions") == "Mentions de Veloria"
        assert "Mots des mentions négatives envers Veloria" in _text(browser, "main")

        # The seeded figures (tests/api/test_dashboard.py), as French writes them.
        assert re.fullmatch(f"63{SPACE}%", browser.text("kpi-negative"))  # 5 of 8
        assert browser.text("kpi-net") == "-0,25"
        change = browser.text("kpi-mentions-change")
        assert re.fullmatch(f"\\+100{SPACE}% par rapport aux 30 jours précédents", change), change
        assert browser.text("kpi-negative-change") == "+38 pts par rapport aux 30 jours précédents"
        alerts = browser.text("alerts")
        assert "observé 5 contre 1,2 attendu (score 4,3, seuil 3)" in alerts
        # The baseline and the default rule's name, worded from the parts the API gives.
        assert (
            "référence\u00a0: médiane de la même heure de la journée sur les 14 derniers jours"
        ) in alerts
        # a kind the page does not know: named as one, not left a bare code
        unknown = "Veloria\u00a0: part négative\u00a0: Alerte de type «\u00a0spike\u00a0»"
        assert f"{unknown} (en cours)" in alerts, alerts
        level = " × niveau robuste (médiane du rapport observé/saisonnier sur le dernier jour)"
        assert level in alerts
        assert "median" not in alerts and "negative share" not in alerts
        shares = browser.evaluate(
            "[...document.querySelectorAll('#share-of-voice tbody tr')]"
            ".map((r) => [...r.cells].map((c) => c.textContent))"
        )
        assert all(re.fullmatch(rf"\d+{SPACE}%", row[2]) for row in shares), shares
        assert {row[0] for row in shares} == {"Veloria", "Trekko"}
        # Dates: "7 déc. 2026" under the newest mention negative toward Veloria, on its own
        # UTC day: published 3 h before the fixture's now, which the test's is not.
        newest = datetime.fromisoformat(
            _api(live_api, api_key, "/mentions/hostile")["published_at"]
        )
        assert _french_day(newest.astimezone(UTC)) in browser.text("negative-mentions")
        assert "4 copies" in browser.text("negative-mentions")
        assert "pourquoi\u00a0: catastrophe, SAV" in browser.text("negative-mentions")

        # Charts: days on the x axis and numbers on the y axis and in tooltips, in French.
        chart = "Chart.getChart(document.getElementById('chart-sentiment'))"
        ticks = browser.evaluate(f"{chart}.scales.x.ticks.map((t) => t.label)")
        labels = browser.evaluate(f"{chart}.data.labels")  # ISO days, what a click picks
        # The page's today: the day it loaded on, either side of midnight if it crossed one.
        today = date.fromisoformat(labels[-1])
        assert today in utc_days_since(opened), (labels[-1], opened)
        assert f"{today.day} {FRENCH_MONTHS[today.month - 1]}" in ticks
        net = "Chart.getChart(document.getElementById('chart-net'))"
        assert browser.evaluate(f"{net}.scales.y.ticks.map((t) => t.label)") == [
            "-1,0", "-0,5", "0", "0,5", "1,0"
        ]  # fmt: skip
        legend = browser.evaluate(f"{chart}.legend.legendItems.map((i) => i.text)")
        assert legend == ["alerte", "négatif", "neutre", "positif"]  # the alert drawn on top
        title = browser.evaluate(
            f"{chart}.options.plugins.tooltip.callbacks.title("
            f"[{{ label: {chart}.data.labels.at(-1), dataset: {chart}.data.datasets[0] }}])"
        )
        assert title == _french_day(today)

        # The triage inbox: its counts, states and actions.
        counts = browser.text("triage-counts")
        assert "à afficher · toutes les négatives envers Veloria" in counts
        assert re.search(r"\d+ nouvelles?, \d+ en cours, \d+ répondues?", counts), counts
        states = browser.evaluate(
            "[...document.querySelector('#triage-mentions select.set-state').options]"
            ".map((o) => o.textContent)"
        )
        assert states == ["nouveau", "en cours", "répondu", "escaladé", "ignoré"]
        assert "me l'attribuer" in browser.text("triage-mentions")
        # A number clicked: the mentions below, with a French note.
        browser.evaluate("document.getElementById('kpi-negative').click()")
        browser.wait_for("Number(document.body.dataset.searches || 0) > 0")
        assert browser.text("explore-note") == "mentions négatives envers Veloria, sur 8"
        assert browser.evaluate("[...I18n.missing]") == []  # every key asked for exists
        # A link with ?lang= keeps it: the view's address still names the language.
        assert "lang=fr" in browser.evaluate("location.search")


def test_the_switcher_changes_the_language_and_is_remembered(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr")  # signed out: the login form
        browser.wait_for("!document.getElementById('login').hidden")
        assert _text(browser, "#key-form button") == "Ouvrir le tableau de bord"

        browser.open(f"{live_api}/dashboard/#key={api_key}")  # the browser's language
        browser.wait_for(LOADED)
        assert browser.evaluate("document.documentElement.lang") == "en"
        for selector, (english, _french) in LABELS.items():
            assert _heading(browser, selector) == english
        assert browser.text("kpi-negative") == "63%"

        # French, from the header: the page's words at once, the board drawn again.
        browser.select("lang", "fr")
        browser.wait_for(FRENCH_PERCENT)
        browser.wait_for("document.getElementById('board').getAttribute('aria-busy') === 'false'")
        assert browser.evaluate("document.documentElement.lang") == "fr"
        for selector, (_english, french) in LABELS.items():
            assert _heading(browser, selector) == french
        assert "par rapport aux 30 jours" in browser.text("kpi-mentions-change")
        assert browser.evaluate("localStorage.getItem('veille.lang')") == "fr"

        # Remembered: a reload (the key stays in the tab) opens in French.
        browser.open(f"{live_api}/dashboard/")
        browser.wait_for(LOADED)
        assert browser.evaluate("document.documentElement.lang") == "fr"
        assert _heading(browser, "#kpi-net") == "Sentiment net"
        assert re.fullmatch(f"63{SPACE}%", browser.text("kpi-negative"))

        # ?lang= in the address comes before the remembered choice...
        browser.open(f"{live_api}/dashboard/?lang=en")
        browser.wait_for(LOADED)
        assert _heading(browser, "#kpi-net") == "Net sentiment"
        assert browser.evaluate("localStorage.getItem('veille.lang')") == "fr"  # not changed
        # ...until the switcher is used: the address drops it, the choice is kept, even
        # the language the address already named.
        browser.select("lang", "en")
        assert browser.evaluate("localStorage.getItem('veille.lang')") == "en"
        assert "lang=" not in browser.evaluate("location.search")
        browser.select("lang", "fr")
        browser.wait_for(FRENCH_PERCENT)
        assert "lang=" not in browser.evaluate("location.search")
        browser.select("lang", "en")
        browser.wait_for("document.getElementById('kpi-negative').textContent === '63%'")
        browser.open(browser.evaluate("location.href"))
        browser.wait_for(LOADED)
        assert _heading(browser, "#kpi-net") == "Net sentiment"
        assert browser.evaluate("[...I18n.missing]") == []


# A key in the scripts: a string literal whose first part names a group of the table
# ("kpi.net"), or the start of one built at run time (`state.${state}`).
LITERAL = re.compile(r"""["'`]([a-z][A-Za-z]*\.[A-Za-z0-9_.]+)["'`]""")
TEMPLATE = re.compile(r"`([a-z][A-Za-z]*\.)\$\{")
ATTRIBUTE = re.compile(r'data-i18n(?:-[a-z-]+)?="([^"]+)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")
ALERT_KINDS = [*get_args(AlertKind), DIGEST_KIND]
SENTIMENTS = [label.value for label in SentimentLabel]
DETECTOR_CODES = ["negative_duration", "bucket_too_long", "sensitivity"]  # rules.py's own
# The API's problem codes the page words (each checked to be one the API gives), and the
# codes of a refused field: pydantic's error types and the API's own.
PROBLEMS_WORDED = [
    "name_taken", "not_found", "forbidden", "no_role_in_this_workspace", "workspace_archived",
    "workspace_mismatch", "too_far_back", "invalid_time_window", "invalid_time", "rate_limited",
    "unknown_target",
]  # fmt: skip
FIELD_ERRORS_WORDED = [
    "missing", "string_too_long", "string_too_short", "string_pattern_mismatch",
    "greater_than_equal", "greater_than", "less_than_equal", "less_than", "int_parsing",
    "int_from_float", "float_parsing", "literal_error", "enum", "too_short", "too_long",
    "extra_forbidden", "date_from_datetime_parsing", *sorted(set(FIELD_CODES.values())),
    "name_unusable", "nul_character",
    *DETECTOR_CODES,
]  # fmt: skip
# The settings of the rule form's "Advanced settings": each one the rule API takes.
RULE_FIELDS = [
    "bucket", "baseline_window", "seasonality", "min_volume", "min_ratio", "min_share_delta",
    "smoothing", "min_run", "end_after", "warmup", "level_window", "noise_floor", "missing",
    "cooldown", "repeat_interval", "grouping_window", "max_per_hour", "batch_size", "digest",
]  # fmt: skip
# The codes a key built at run time (`state.${state}`) is made of, by the key's start.
CODES: dict[str, list[str]] = {
    "state.": [state.value for state in TriageState],
    "stateCount.": [state.value for state in TriageState],
    "alertKind.": ALERT_KINDS,
    "alertStatus.": list(EVENT_STATUSES),
    "sentiment.": SENTIMENTS,
    "note.": SENTIMENTS,  # a bar of the sentiment chart: `note.${label}`
    "interval.": ["day", "week"],  # the dashboard's buckets (dashboard.js, loadBoard)
    "sensitivity.": list(get_args(SensitivityName)),  # a rule made on a saved search
    "ruleStatus.": list(get_args(ListedRule.model_fields["status"].annotation)),
    "reportEvery.": list(get_args(Schedule.model_fields["every"].annotation)),
    "reportPeriod.": list(get_args(Period)),
    "ruleName.": list(KIND_LABELS),  # a brand's default rule, named by its parts
    "channelWarning.": list(get_args(WarningCode)),  # why a saved rule's channel cannot send
    # a mention's kind of source: feeds, imports, the demo, web crawls, built-in networks
    "sourceKind.": [*(kind.value for kind in SourceKind), "web", *BUILTINS],
    "problem.": PROBLEMS_WORDED,  # a refusal's code (refusals.js)
    "fieldError.": FIELD_ERRORS_WORDED,  # a refused field's code
    "reportSection.": [section.value for section in Section],
    "ruleField.": RULE_FIELDS,  # a rule's advanced settings (setup.js, ADVANCED)
}


def _table(browser: Browser) -> dict[str, Any]:
    table: dict[str, Any] = browser.evaluate("I18n.messages")
    return table


def _forms(entry: dict[str, Any]) -> dict[str, dict[str, str]]:
    """A message's forms ('' for a plain message, 'one'/'other' for a plural) by language."""
    if "other" in entry:
        return {form: entry[form] for form in ("one", "other")}
    return {"": entry}


def test_both_languages_have_every_key_the_page_uses(
    live_api: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/")
        table = _table(browser)
    assert len(table) > 100
    keys: dict[str, set[str]] = {"en": set(), "fr": set()}
    for key, entry in table.items():
        forms = _forms(entry)
        for form, texts in forms.items():
            for lang in keys:
                if texts.get(lang):
                    keys[lang].add(f"{key}:{form}")
            # The same parameters in both languages: a translation drops no figure.
            english, french = (set(PLACEHOLDER.findall(texts.get(lang, ""))) for lang in keys)
            assert english == french, (key, form)
    assert keys["en"] == keys["fr"], keys["en"] ^ keys["fr"]

    groups = {key.split(".")[0] for key in table}
    scripts = {path.name: path.read_text(encoding="utf-8") for path in FILES.glob("*.js")}
    used: set[str] = set()
    prefixes: set[str] = set()
    for name, source in scripts.items():
        if name == "i18n.js":
            source = source.split("const MESSAGES", 1)[0] + source.split("\n  };\n", 1)[1]
        used |= {k for k in LITERAL.findall(source) if k.split(".")[0] in groups}
        prefixes |= {p for p in TEMPLATE.findall(source) if p[:-1] in groups}
    html = (FILES / "index.html").read_text(encoding="utf-8")
    used |= set(ATTRIBUTE.findall(html))
    assert {"kpi.net", "triage.assignMe", "panel.shareOfVoice", "note.about"} <= used
    # A key built at run time is one per code the API or the page can give, no other.
    assert prefixes == set(CODES), prefixes ^ set(CODES)
    used |= {prefix + code for prefix, codes in CODES.items() for code in codes}
    assert used - set(table) == set(), "used, not in the table"
    unused = set(table) - used
    assert unused == set(), "in the table, used nowhere"


def test_the_codes_the_page_words_are_the_apis() -> None:
    """The refusals, settings and sections the page words by their code are ones the API
    gives or takes, so a renamed one fails here rather than falling back unseen."""
    assert set(PROBLEMS_WORDED) <= set(API_CODES), set(PROBLEMS_WORDED) - set(API_CODES)
    settings = set(Rule.model_fields) | set(AlertRule.model_fields)
    assert set(RULE_FIELDS) <= settings, set(RULE_FIELDS) - settings
    # every detector setting but the two the form has elsewhere (name, kind) and sensitivity
    assert set(Rule.model_fields) - set(RULE_FIELDS) == {"name", "kind", "sensitivity"}
    source = Path(Rule.__module__.replace(".", "/") + ".py")
    rules = (Path(__file__).resolve().parents[2] / source).read_text(encoding="utf-8")
    assert all(f'"{code}"' in rules for code in DETECTOR_CODES)


def test_alert_kinds_are_in_the_notifications_words(
    live_api: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/")
        table = _table(browser)
    shown = {
        k.removeprefix("alertKind."): v for k, v in table.items() if k.startswith("alertKind.")
    }
    assert set(shown) == set(ALERT_KINDS)
    for kind in ALERT_KINDS:
        for lang in LANGUAGES:
            assert shown[kind][lang] == wording.text(kind, lang), (kind, lang)
    # ...and a kind one of them does not know
    assert set(wording.KINDS) == set(ALERT_KINDS)
    for lang in LANGUAGES:
        page = table["alert.otherKind"][lang].replace("{code}", "volume drop")
        assert page == wording.kind_label("volume_drop", lang), lang
    # a brand's default rule is named alike on the page and in a notification
    for kind in KIND_LABELS:
        for lang in LANGUAGES:
            page = table[f"ruleName.{kind}"][lang].replace("{target}", "Veloria")
            assert page == wording.rule_name(f"Veloria: {KIND_LABELS[kind]}", lang), (kind, lang)
    # a report's sections, as the report itself heads them
    for section in Section:
        for lang in LANGUAGES:
            page = table[f"reportSection.{section.value}"][lang]
            assert page == report_wording.LABELS[section][lang], (section, lang)


# Text written into the page by the scripts: a literal with words in it is untranslated.
# Where: a new element's text, textContent, a placeholder, an error, a message above the
# board, a triage action's button, an aria-label or title, a drill-down's note, a chart's
# dataset label or title.
WRITES = (
    r"""element\("[a-z]+", |textContent = |placeholder = |new Error\(|show(?:Error|Login)\("""
    r"""|actionButton\([^,()]+, |setAttribute\("(?:aria-label|title|alt)", |drill\([^,()]+, """
    r"""|label: |title: """
)
WRITTEN = re.compile(f"(?:{WRITES})" + r"""(["'`])(.*?)\1""")
# showError and showLogin take a key of the table ("login.failed"): written on each switch.
KEY_PASSED = re.compile(r"""show(?:Error|Login)\("([a-z][A-Za-z]*\.[A-Za-z0-9_.]+)"[,)]""")
SCRIPTS = ("dashboard.js", "triage.js", "setup.js", "charts.js", "refusals.js")
# One of each way of writing words into the page, untranslated, and one key passed.
UNTRANSLATED_SAMPLE = """
list.appendChild(element("li", "none in this period", "empty"));
node.textContent = `updated ${time}`;
note.placeholder = "note";
throw new Error("choose a first and a last day");
showLogin("This API key was refused");
showError("error.noBrand");
actionButton(actions, "assign to me", "assign-me", () => send());
select.setAttribute("aria-label", "sentiment toward it");
drill(query, "negative toward it", window);
datasets.push({ label: "alert", data });
const options = { title: "Alerts" };
"""
# Words that are the same in both languages: the product, the languages, file formats.
AS_IS = {"Veille", "Français", "English", "CSV", "XLSX", "NDJSON"}


class _Untranslated(HTMLParser):
    """The page's texts outside an element with data-i18n (and outside code and scripts)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: whether its text is translated
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"meta", "link", "input", "br", "img"}:
            return
        names = {name for name, _ in attrs}
        inside = bool(self.stack and self.stack[-1])
        self.stack.append(inside or "data-i18n" in names or tag in {"code", "script", "style"})

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "link", "input", "br", "img"} and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        words = data.strip()
        translated = bool(self.stack and self.stack[-1])
        if not translated and words not in AS_IS and re.search(r"[A-Za-z]{2,}", words):
            self.found.append(words)


def _written(source: str) -> tuple[list[str], list[str]]:
    """The literals a script writes into the page, and those of them with words in them."""
    keys = set(KEY_PASSED.findall(source))
    written = [text for _, text in WRITTEN.findall(source) if text not in keys]
    words = [w for w in written if re.search(r"[A-Za-z]{2,}", re.sub(r"\$\{[^}]*\}", "", w))]
    return written, words


def test_no_text_of_the_page_is_left_untranslated() -> None:
    page = _Untranslated()
    page.feed((FILES / "index.html").read_text(encoding="utf-8"))
    assert page.found == []
    # The check finds each way of writing words, and lets a key of the table through.
    assert _written(UNTRANSLATED_SAMPLE)[1] == [
        "none in this period",
        "updated ${time}",
        "note",
        "choose a first and a last day",
        "This API key was refused",
        "assign to me",
        "sentiment toward it",
        "negative toward it",
        "alert",
        "Alerts",
    ]
    for script in SCRIPTS:
        written, words = _written((FILES / script).read_text(encoding="utf-8"))
        # charts.js, setup.js and refusals.js write only through t() and the data
        if script not in {"charts.js", "setup.js", "refusals.js"}:
            assert written, script  # the pattern still finds what the script writes
        assert words == [], script


SEARCHED = "Number(document.body.dataset.searches || 0)"


def _address(browser: Browser) -> dict[str, str]:
    found: dict[str, str] = browser.evaluate(
        "Object.fromEntries(new URLSearchParams(location.search))"
    )
    return found


def test_a_drill_down_note_follows_the_language_and_the_address_holds_its_key(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/#key={api_key}")
        browser.wait_for(LOADED)
        browser.evaluate("document.getElementById('kpi-negative').click()")
        browser.wait_for(f"{SEARCHED} > 0")
        assert browser.text("explore-note") == "mentions negative toward Veloria, of 8"
        address = _address(browser)
        assert address["note"] == "note.negativeOf"
        assert json.loads(address["np"]) == {"brand": "Veloria", "total": 8}
        window = browser.text("explore-window")
        view = "[view.since.toISOString(), view.until.toISOString()]"
        shown = browser.evaluate(view)
        time.sleep(1.1)  # a reload would move the view's "now"

        browser.select("lang", "fr")
        browser.wait_for(FRENCH_PERCENT)
        # Drawn again from what was loaded: the same window, still the whole period.
        assert browser.evaluate(view) == shown
        assert "since" not in _address(browser) and "until" not in _address(browser)
        assert not browser.visible("whole-period")
        assert browser.text("explore-window") != window  # the same dates, in French
        assert browser.text("explore-total") == "5"
        browser.wait_for(
            "document.getElementById('explore-note').textContent"
            " === 'mentions négatives envers Veloria, sur 8'"
        )
        assert _address(browser)["note"] == "note.negativeOf"  # not the sentence shown
        # The address reopened (a reload, a shared link): the note in the language chosen.
        browser.open(browser.evaluate("location.href"))
        browser.wait_for(f"{LOADED} && {SEARCHED} > 0")
        assert browser.text("explore-note") == "mentions négatives envers Veloria, sur 8"

        # A link made before notes were keys: its sentence, shown as written.
        old = "mentions negative toward Veloria, of 8"
        browser.open(
            f"{live_api}/dashboard/?"
            + urlencode({"q": 'negative:"Veloria"', "note": old, "lang": "en"})
        )
        browser.wait_for(f"{LOADED} && {SEARCHED} > 0")
        assert browser.text("explore-note") == old
        assert browser.text("explore-total") == "5"
        assert browser.evaluate("[...I18n.missing]") == []


def _click_bar(browser: Browser, canvas: str, dataset: int, index: int) -> None:
    x, y = browser.evaluate(_click_chart(canvas, dataset, index))
    done = int(browser.evaluate(SEARCHED))
    browser.click_at(x, y)
    browser.wait_for(f"{SEARCHED} > {done}")


def _busiest(browser: Browser) -> int:
    negative: list[int] = browser.evaluate(
        "Chart.getChart(document.getElementById('chart-sentiment')).data.datasets[0].data"
    )
    return max(range(len(negative)), key=lambda i: negative[i])


def _english_day(moment: datetime) -> str:
    return f"{moment:%b} {moment.day}, {moment.year}"


def test_a_bar_s_note_names_its_day_with_the_year_or_its_week(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.resize(1280, 900)
        browser.open(f"{live_api}/dashboard/?lang=en#key={api_key}")
        browser.wait_for(LOADED)
        _click_bar(browser, "chart-sentiment", 0, _busiest(browser))
        since = datetime.fromisoformat(browser.evaluate("exploreParams().since"))
        assert browser.text("explore-note") == (
            f"mentions negative toward Veloria, {_english_day(since)}"
        )

        # Four months: a bar per week, and the note names the week's first and last days.
        today = datetime.now(UTC).date()
        first = today - timedelta(days=120)
        browser.open(f"{live_api}/dashboard/?lang=en&period=custom&from={first}&to={today}")
        browser.wait_for(f"{LOADED} && document.getElementById('loading').hidden")
        _click_bar(browser, "chart-sentiment", 0, _busiest(browser))
        window = browser.evaluate("exploreParams()")
        start = datetime.fromisoformat(window["since"])
        last = datetime.fromisoformat(window["until"]) - timedelta(seconds=1)
        assert 0 <= (last - start).days <= 6  # a week, or its part within the window
        note = browser.text("explore-note")
        dash = "[\\s\u2009]+–[\\s\u2009]+"
        if start.date() == last.date():
            expected = _english_day(start)
        elif start.year != last.year:
            expected = f"{_english_day(start)}{dash}{_english_day(last)}"
        elif start.month != last.month:
            expected = f"{start:%b} {start.day}{dash}{_english_day(last)}"
        else:
            expected = f"{start:%b} {start.day}{dash}{last.day}, {last.year}"
        assert re.fullmatch(f"mentions negative toward Veloria, {expected}", note), note


def test_languages_are_named_not_coded(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    cells = (
        "[...document.querySelectorAll('#by-language tbody tr')].map((r) => r.cells[0].textContent)"
    )
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/#key={api_key}")
        browser.wait_for(LOADED)
        assert browser.evaluate(cells) == ["English"]  # every seeded mention: "en"
        browser.evaluate("document.querySelector('#by-language button.drill').click()")
        browser.wait_for(f"{SEARCHED} > 0")
        assert browser.text("explore-note") == "mentions in English"
        assert " · English · " in browser.text("explore-mentions")

        browser.select("lang", "fr")
        browser.wait_for(FRENCH_PERCENT)
        assert browser.evaluate(cells) == ["anglais"]
        browser.wait_for(
            "document.getElementById('explore-note').textContent === 'mentions en anglais'"
        )
        assert " · anglais · " in browser.text("explore-mentions")


def test_kinds_of_source_are_named_not_coded(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    cells = "[...document.querySelectorAll('#by-kind tbody tr')].map((r) => r.cells[0].textContent)"
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(LOADED)
        assert browser.evaluate(cells) == ["flux (RSS, Atom)"]  # every seeded mention: a feed's
        browser.evaluate("document.querySelector('#by-kind button.drill').click()")
        browser.wait_for(f"{SEARCHED} > 0")
        assert browser.text("explore-note").endswith("d'une source de type flux (RSS, Atom)")

        browser.select("lang", "en")
        browser.wait_for(f"{cells}[0] === 'feed (RSS, Atom)'")
        assert browser.text("explore-note").endswith("from a source of kind feed (RSS, Atom)")


def test_back_to_an_address_with_lang_speaks_it_again(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    lang = "document.documentElement.lang"
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(f"{LOADED} && {FRENCH_PERCENT}")
        browser.evaluate("document.getElementById('kpi-negative').click()")  # a new entry
        browser.wait_for(f"{SEARCHED} > 0")
        browser.select("lang", "en")  # this entry loses ?lang=; the one before keeps it
        browser.wait_for("document.getElementById('kpi-negative').textContent === '63%'")
        assert "lang=" not in browser.evaluate("location.search")

        browser.evaluate("history.back()")
        browser.wait_for(f"{lang} === 'fr' && {FRENCH_PERCENT}")
        assert "lang=fr" in browser.evaluate("location.search")
        assert browser.evaluate("localStorage.getItem('veille.lang')") == "en"  # not stored
        browser.evaluate("history.forward()")  # no ?lang=: the language remembered
        browser.wait_for(f"{lang} === 'en' && {SEARCHED} > 0")
        browser.wait_for(
            "document.getElementById('explore-note').textContent"
            " === 'mentions negative toward Veloria, of 8'"
        )


def test_a_sign_in_error_follows_the_language(
    live_api: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/")
        browser.wait_for("!document.getElementById('login').hidden")
        browser.evaluate(
            "(() => { document.getElementById('login-name').value = 'nobody';"
            " document.getElementById('password').value = 'wrong';"
            " document.getElementById('password-form').requestSubmit(); })()"
        )
        failed = "Sign-in failed: check your name or email and your password."
        browser.wait_for(f"document.getElementById('error').textContent === {json.dumps(failed)}")
        browser.select("lang", "fr")
        assert browser.text("error") == (
            "Échec de la connexion\u00a0: vérifiez votre nom ou e-mail et votre mot de passe."
        )


def test_a_board_that_cannot_load_says_why_in_the_page_s_language(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """The server stops answering (the browser goes offline): the page says so in its own
    words, not the browser's English "Failed to fetch", and again after a switch."""
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/?lang=fr#key={api_key}")
        browser.wait_for(LOADED)
        browser.go_offline()
        browser.evaluate("document.getElementById('refresh').click()")
        french = (
            "Impossible de charger le tableau de bord\u00a0: le serveur n'a pas répondu "
            "(vérifiez la connexion, puis réessayez)."
        )
        english = (
            "Could not load the dashboard: the server did not answer "
            "(check the connection, then try again)."
        )
        # Wait for the wording rather than read it once: switching the language reloads the
        # board, which clears the message until that (offline) load fails again.
        error_text = "document.getElementById('error').textContent"
        browser.wait_for(f"{error_text} === {json.dumps(french)}")
        browser.select("lang", "en")
        browser.wait_for(f"{error_text} === {json.dumps(english)}")
        assert not browser.evaluate("document.getElementById('error').hidden")
