"""Exploring from the dashboard, in headless Chromium: every number opens its mentions.

A person's clicks (a bar, a point, an alert marker, a table's number, a saved search)
are made on the page, and the mentions listed below must be as many as the number
clicked, and as many as the API counts for that query. The export button must download
the current query's mentions. The layout is compared with a reference kept in
tests/api/dashboard_layout.json (element boxes in fractions of the screen, so fonts and
machines may differ a little); `VEILLE_UPDATE_LAYOUT=1` rewrites it after a wanted change,
and `VEILLE_SCREENSHOTS=DIR` keeps the screenshots to look at.
"""

from __future__ import annotations

import csv
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.models import Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.api.test_dashboard import live_api  # noqa: F401  (the served API, seeded)
from tests.browser import CHROMIUM, Browser
from tests.factories import make_mention

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

LAYOUT = Path(__file__).with_name("dashboard_layout.json")
SCREENS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
# Set before the page's scripts run: any resource or style the policy blocks is noted.
WATCH_POLICY = (
    "window.blocked = []; document.addEventListener('securitypolicyviolation',"
    " (e) => window.blocked.push(e.violatedDirective + ' ' + e.blockedURI));"
)
NEU = Sentiment(label=SentimentLabel.NEUTRAL, score=0.7)


def _more_sources(ctx: ServiceContext) -> None:
    """Mentions from a forum (kind `web`, in French) and a subreddit, beside the feed's."""
    now = datetime.now(UTC)
    ctx.index.upsert(
        [
            make_mention(
                id=f"forum{i}",
                text=f"Veloria au forum, sujet {i}",
                source_kind="web",
                source_name="forum-velo",
                language="fr",
                brands=["Veloria"],
                sentiment=NEU,
                brand_sentiments={"Veloria": NEU},
                topics=["delivery"],
                published_at=now - timedelta(days=i + 1, hours=5),
            )
            for i in range(3)
        ]
        + [
            make_mention(
                id="reddit0",
                text="Trekko on r/ebikes",
                source_kind="reddit",
                source_name="r-ebikes",
                brands=[],
                competitors=["Trekko"],
                sentiment=NEU,
                published_at=now - timedelta(days=2),
            )
        ]
    )


def _api(base: str, key: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{base}/api/v1{path}", params=params, headers={"X-API-Key": key})
    response.raise_for_status()
    return response.json()


def _open_board(browser: Browser, base: str, key: str) -> None:
    browser.before_each_page(WATCH_POLICY)
    browser.open(f"{base}/dashboard/#key={key}")
    browser.wait_for("document.body.dataset.loaded === 'Veloria'")


SEARCHES = "Number(document.body.dataset.searches || 0)"  # searches done by the page


def _explored(browser: Browser, action: str) -> dict[str, Any]:
    """Does `action` (JavaScript), waits for the mentions below, returns what they show."""
    done = int(browser.evaluate(SEARCHES))
    browser.evaluate(action)
    browser.wait_for(f"{SEARCHES} > {done}")
    return _shown(browser)


def _shown(browser: Browser) -> dict[str, Any]:
    shown: dict[str, Any] = browser.evaluate(
        "(() => ({ total: document.getElementById('explore-total').textContent,"
        " listed: document.querySelectorAll('#explore-mentions li[data-id]').length,"
        " q: document.getElementById('q').value,"
        " error: document.getElementById('query-error').hidden ? null"
        "   : document.getElementById('query-error').textContent }))()"
    )
    return shown


def _window(browser: Browser) -> dict[str, str]:
    """The query and the window the mentions below were searched with."""
    found: dict[str, str] = browser.evaluate("exploreParams()")
    return found


def _assert_lands_on(
    browser: Browser, base: str, key: str, clicked: int, shown: dict[str, Any]
) -> None:
    assert shown["error"] is None, shown
    assert int(shown["total"]) == clicked, shown
    assert shown["listed"] == min(clicked, 50)
    counted = _api(base, key, "/mentions", **_window(browser), limit="1")["total"]
    assert counted == clicked, (shown, counted)


def _chart(browser: Browser, canvas: str, path: str) -> Any:
    """Part of what a chart draws (`.labels`, `.datasets[0].data`), from Chart.js."""
    return browser.evaluate(f"Chart.getChart(document.getElementById('{canvas}')).data{path}")


def _click_chart(canvas: str, dataset: int, index: int) -> str:
    """JavaScript that clicks a bar or point of a chart with the mouse, where it is drawn."""
    return (
        f"(() => {{ const c = document.getElementById('{canvas}'); c.scrollIntoView();"
        f" const p = Chart.getChart(c).getDatasetMeta({dataset}).data[{index}];"
        " const r = c.getBoundingClientRect();"
        " const y = p.base === undefined ? p.y : (p.y + p.base) / 2;"
        " return [r.left + p.x, r.top + y]; })()"
    )


def test_every_number_opens_as_many_mentions(
    live_api: str,  # noqa: F811
    api_key: str,
    ctx: ServiceContext,
    tmp_path: Path,
) -> None:
    _more_sources(ctx)
    saved = httpx.post(
        f"{live_api}/api/v1/saved-searches",
        json={"name": "sav-veloria", "query": "sav OR catastrophe", "visibility": "shared"},
        headers={"X-API-Key": api_key},
    )
    assert saved.status_code == 201, saved.text
    with Browser(tmp_path / "profile") as browser:
        browser.resize(1280, 900)
        _open_board(browser, live_api, api_key)

        # The numbers in tables and key figures: every one of them.
        buttons = browser.evaluate(
            "[...document.querySelectorAll('button.drill')].map((b, i) =>"
            " [b.id || b.closest('table').id, b.dataset.count])"
        )
        tables = {where for where, _ in buttons}
        assert {"kpi-mentions", "kpi-negative", "kpi-net", "share-of-voice", "topics"} <= tables
        assert {"negative-terms", "by-source", "by-kind", "by-language"} <= tables
        for i, (_where, count) in enumerate(buttons):
            shown = _explored(browser, f"document.querySelectorAll('button.drill')[{i}].click()")
            _assert_lands_on(browser, live_api, api_key, int(count), shown)
        kinds = browser.text("by-kind")  # named, Veloria's only
        assert "feed (RSS, Atom)" in kinds and "website" in kinds and "Reddit" not in kinds

        # The chart of sentiment per day: a click on the tallest negative bar.
        negative = _chart(browser, "chart-sentiment", ".datasets[0].data")
        day = max(range(len(negative)), key=lambda i: negative[i])
        _chart_click(browser, live_api, api_key, "chart-sentiment", 0, day, negative[day])
        assert 'negative:"Veloria"' in browser.evaluate("document.getElementById('q').value")

        # The alert that fired today, marked on the chart on its UTC day (the one it was
        # recorded on, not the clock's after the page loaded: a run may cross midnight).
        (event,) = _api(live_api, api_key, "/alerts/events")["events"]
        created = datetime.fromisoformat(event["created_at"])
        fired = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC).date()
        labels = _chart(browser, "chart-sentiment", ".labels")
        marks = _chart(
            browser,
            "chart-sentiment",
            ".datasets[3].data.map((p, i) => p.y === null ? null : i).filter((i) => i !== null)",
        )
        assert [labels[i] for i in marks] == [fired.isoformat()]
        by_label = [_chart(browser, "chart-sentiment", f".datasets[{k}].data") for k in range(3)]
        stacks = [sum(counts) for counts in zip(*by_label, strict=True)]
        _chart_click(browser, live_api, api_key, "chart-sentiment", 3, marks[0], stacks[marks[0]])

        # Competitors over time: Trekko's busiest day.
        names = _chart(browser, "chart-competitors", ".datasets.map((d) => d.label)")
        trekko = names.index("Trekko")
        volume = _chart(browser, "chart-competitors", f".datasets[{trekko}].data")
        busiest = max(range(len(volume)), key=lambda i: volume[i])
        assert volume[busiest] > 0
        clicked = volume[busiest]
        _chart_click(browser, live_api, api_key, "chart-competitors", trekko, busiest, clicked)

        # Net sentiment toward Veloria on a day: its positive and negative mentions.
        net = _chart(browser, "chart-net", ".datasets[0].data")
        polar = [i for i, value in enumerate(net) if value is not None]
        assert polar
        expected = by_label[0][polar[0]] + by_label[2][polar[0]]  # negative + positive
        _chart_click(browser, live_api, api_key, "chart-net", 0, polar[0], expected)

        # A saved search, listed and opened: its query in the box, its mentions below.
        assert "sav-veloria" in browser.text("saved-searches")
        shown = _explored(browser, "document.querySelector('#saved-searches button').click()")
        assert shown["q"] == "sav OR catastrophe"
        matching = _api(live_api, api_key, "/mentions", **_window(browser))["total"]
        _assert_lands_on(browser, live_api, api_key, matching, shown)
        assert int(shown["total"]) > 0

        # A query with a syntax error: the API's message, and where the error is.
        broken = 'veloria AND (livraison OR "retard'
        shown = _explored(
            browser,
            f"document.getElementById('q').value = {json.dumps(broken)};"
            " document.querySelector('#search-form button[type=submit]').click()",
        )
        problem = httpx.get(
            f"{live_api}/api/v1/mentions", params={"q": broken}, headers={"X-API-Key": api_key}
        ).json()
        assert shown["error"] is not None and problem["detail"] in shown["error"]
        caret_line = shown["error"].splitlines()[-1]
        assert caret_line == " " * problem["position"] + "^"
        selected = browser.evaluate("document.getElementById('q').selectionStart")
        assert selected == problem["position"]
        if keep := os.environ.get("VEILLE_SCREENSHOTS"):
            browser.screenshot(Path(keep) / "dashboard-query-error.png", full_page=False)

        # Exporting that query: the same error, and no file.
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        browser.download_to(downloads)
        browser.evaluate("document.getElementById('query-error').hidden = true")
        browser.evaluate("document.querySelector('[data-format=xlsx]').click()")
        browser.wait_for("!document.getElementById('query-error').hidden")
        assert problem["detail"] in browser.text("query-error")
        assert browser.evaluate("document.body.dataset.exported") is None

        # The export button: the current query's mentions, every one, as a CSV file.
        shown = _explored(
            browser,
            "document.getElementById('q').value = 'brand:Veloria';"
            " document.querySelector('#search-form button[type=submit]').click()",
        )
        browser.evaluate("document.querySelector('[data-format=csv]').click()")
        name = browser.wait_for("document.body.dataset.exported")
        deadline = time.monotonic() + 10
        while not (downloads / name).is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        with (downloads / name).open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.DictReader(file))
        assert len(rows) == int(shown["total"]) > 0
        if keep:
            browser.screenshot(Path(keep) / "dashboard-explore.png", full_page=False)
        assert all("Veloria" in row["brands"] for row in rows)
        assert [f.name for f in downloads.iterdir()] == [name]  # the refused export saved none

        assert browser.evaluate("window.blocked") == []  # nothing the policy refused


def _chart_click(
    browser: Browser, base: str, key: str, canvas: str, dataset: int, index: int, clicked: int
) -> None:
    """Clicks a chart's bar or point with the mouse and checks the mentions it opens."""
    x, y = browser.evaluate(_click_chart(canvas, dataset, index))
    done = int(browser.evaluate(SEARCHES))
    browser.click_at(x, y)
    browser.wait_for(f"{SEARCHES} > {done}")
    _assert_lands_on(browser, base, key, clicked, _shown(browser))


# Each box of the page by a stable name: the header, the key figures, the panels (by
# the id of what they hold) and the charts' canvases.
BOXES = """(() => {
  const W = window.innerWidth;
  const named = [["header", document.querySelector("header")],
    ...[...document.querySelectorAll(".kpi .value")].map((e) => ["kpi:" + e.id, e.closest(".kpi")]),
    ...[...document.querySelectorAll("main > section.panel")].map((e) =>
      ["panel:" + (e.id || e.querySelector("[id]").id), e]),
    ...[...document.querySelectorAll("canvas")].map((e) => ["canvas:" + e.id, e])];
  return { width: W, scroll: document.documentElement.scrollWidth,
    boxes: named.map(([name, e]) => { const r = e.getBoundingClientRect();
      return [name, r.left / W, r.width / W, r.top + window.scrollY, r.height]; }) };
})()"""


def _signature(measured: dict[str, Any]) -> list[list[Any]]:
    """Names, rows (boxes whose tops are within 8 px share one) and horizontal extents in
    fractions of the screen's width, rounded: what a layout regression changes, and
    what fonts and machines do not."""
    boxes = sorted(measured["boxes"], key=lambda b: (round(b[3]), b[1]))
    rows: list[list[Any]] = []
    row, row_top = -1, None
    for name, left, width, top, _height in boxes:
        if name.startswith("canvas:"):
            continue  # inside its panel: checked apart
        if row_top is None or top - row_top > 8:
            row, row_top = row + 1, top
        rows.append([name, row, round(left, 2), round(width, 2)])
    return rows


def test_the_layout_holds_on_a_desktop_and_a_phone(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    keep = os.environ.get("VEILLE_SCREENSHOTS")
    found: dict[str, list[list[Any]]] = {}
    with Browser(tmp_path / "profile") as browser:
        for screen, (width, height, mobile) in SCREENS.items():
            browser.resize(width, height, mobile=mobile)
            _open_board(browser, live_api, api_key)
            assert browser.evaluate("document.getElementById('loading').hidden")
            assert browser.evaluate("document.getElementById('board').ariaBusy") == "false"
            measured = browser.evaluate(BOXES)
            assert measured["scroll"] <= measured["width"], f"{screen}: wider than the screen"
            for name, left, box_width, _top, box_height in measured["boxes"]:
                if name.startswith("canvas:"):  # a chart fills its panel, with a height
                    assert box_width > 0.75 and box_height >= 150, (screen, name)
                assert left >= 0 and left + box_width <= 1.001, (screen, name)
            found[screen] = _signature(measured)
            if keep:
                browser.screenshot(Path(keep) / f"dashboard-{screen}.png")
            assert browser.evaluate("window.blocked") == []
    if os.environ.get("VEILLE_UPDATE_LAYOUT"):
        screens = [
            f"  {json.dumps(screen)}: [\n"
            + ",\n".join(f"    {json.dumps(r)}" for r in rows)
            + "\n  ]"
            for screen, rows in found.items()
        ]  # a box per line: a change reads well in a diff
        LAYOUT.write_text("{\n" + ",\n".join(screens) + "\n}\n", encoding="utf-8")
    reference = json.loads(LAYOUT.read_text(encoding="utf-8"))
    for screen, rows in reference.items():
        got = found[screen]
        assert [r[:2] for r in got] == [r[:2] for r in rows], f"{screen}: boxes or rows moved"
        for mine, theirs in zip(got, rows, strict=True):
            assert abs(mine[2] - theirs[2]) <= 0.03 and abs(mine[3] - theirs[3]) <= 0.03, (
                screen,
                mine,
                theirs,
            )


def test_chosen_days_and_auto_refresh_are_kept_in_the_address(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=3)).isoformat(), (today - timedelta(days=1)).isoformat()
    with Browser(tmp_path / "profile") as browser:
        _open_board(browser, live_api, api_key)
        assert not browser.visible("range")
        # Chooses "dates…": the day fields show, and the board says it is loading.
        loading = browser.evaluate(
            "(() => { const p = document.getElementById('period'); p.value = 'custom';"
            " p.dispatchEvent(new Event('change'));"
            " return !document.getElementById('loading').hidden; })()"
        )
        assert loading and browser.visible("range")
        browser.wait_for("document.getElementById('loading').hidden")
        browser.evaluate(f"document.getElementById('from').value = '{first}'")
        browser.select("to", last)
        browser.wait_for(f"location.search.includes('from={first}')")
        browser.wait_for("document.getElementById('loading').hidden")
        # Whole days, the last one included.
        until = f"{today.isoformat()}T00:00:00Z"
        toward = _api(
            live_api,
            api_key,
            "/stats/sentiment",
            toward="Veloria",
            since=f"{first}T00:00:00Z",
            until=until,
        )
        assert browser.text("kpi-mentions").strip() == str(toward["total"])
        assert 0 < toward["total"] < 8  # fewer than in the last 30 days
        assert "previous 3 days" in browser.text("kpi-mentions-change")

        # A wall screen: reload every minute, kept in the address with the days.
        browser.select("auto-refresh", "60")
        assert browser.text("updated").startswith("updated ")
        address = browser.evaluate("location.href")
        assert "refresh=60" in address and f"to={last}" in address
        # The same address (the key kept in the tab) opens the same view.
        browser.open(address)
        browser.wait_for("document.body.dataset.loaded === 'Veloria'")
        assert browser.evaluate("document.getElementById('period').value") == "custom"
        assert browser.evaluate("document.getElementById('auto-refresh').value") == "60"
        assert browser.text("kpi-mentions").strip() == str(toward["total"])
        assert browser.evaluate("window.blocked") == []


def _reopened(browser: Browser, action: str) -> dict[str, Any]:
    """Does `action` (back, forward or opening an address), waits for the board and the
    mentions below to be shown again, returns them with the window they were searched in."""
    browser.evaluate("document.body.dataset.searches = '0'")
    browser.evaluate(action)
    browser.wait_for(f"{SEARCHES} > 0 && document.getElementById('loading').hidden")
    return {**_shown(browser), "window": _window(browser)}


def test_the_address_keeps_the_drill_down_for_reload_back_and_a_link(
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.resize(1280, 900)
        _open_board(browser, live_api, api_key)
        start = browser.evaluate("history.length")

        # A key figure clicked: its query in the address, as a new history entry.
        negatives = int(browser.evaluate("document.getElementById('kpi-negative').dataset.count"))
        figure = _explored(browser, "document.getElementById('kpi-negative').click()")
        address = browser.evaluate("new URLSearchParams(location.search)")
        assert figure["q"] == 'negative:"Veloria"' and int(figure["total"]) == negatives
        query = browser.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
        assert query["q"] == 'negative:"Veloria"' and "since" not in query, address
        assert query["note"] == "note.negativeOf"  # a key: written in the language shown
        assert json.loads(query["np"])["brand"] == "Veloria"

        # A day of the chart: the address gets that day's window.
        negative = _chart(browser, "chart-sentiment", ".datasets[0].data")
        day = max(range(len(negative)), key=lambda i: negative[i])
        _chart_click(browser, live_api, api_key, "chart-sentiment", 0, day, negative[day])
        bar = {**_shown(browser), "window": _window(browser)}
        bar_address = browser.evaluate("location.href")
        query = browser.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
        assert (query["since"], query["until"]) == (bar["window"]["since"], bar["window"]["until"])

        # A query typed in the search box.
        typed = _explored(
            browser,
            "(() => { document.getElementById('q').value = 'retard';"
            " document.getElementById('search-form').requestSubmit(); })()",
        )
        assert "q=retard" in browser.evaluate("location.search")
        assert browser.evaluate("history.length") == start + 3

        # Back: the day clicked, its mentions and window; back again: the key figure's.
        assert _reopened(browser, "history.back()") == bar
        back = _reopened(browser, "history.back()")
        assert back["q"] == figure["q"] and back["total"] == figure["total"]
        assert back["window"]["since"] != bar["window"]["since"]
        assert _reopened(browser, "history.forward()") == bar

        # Another period: a new entry without the drill-down; back restores both.
        browser.select("period", "7")
        browser.wait_for("location.search.includes('period=7')")
        browser.wait_for("document.getElementById('loading').hidden")
        assert "q=" not in browser.evaluate("location.search")
        restored = _reopened(browser, "history.back()")
        assert (
            restored == bar and browser.evaluate("document.getElementById('period').value") == "30"
        )

        # The link opened again (as after a reload, or pasted in the tab): the same view.
        browser.open(bar_address)
        browser.wait_for(f"{SEARCHES} > 0 && document.getElementById('loading').hidden")
        assert {**_shown(browser), "window": _window(browser)} == bar
        assert browser.evaluate("location.href") == bar_address
        assert typed["q"] == "retard" and typed["error"] is None
        assert browser.evaluate("window.blocked") == []


def test_the_search_example_names_the_workspaces_own_first_brand(
    ctx: ServiceContext,
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """A client's workspace never shows another client's brand as the search example."""
    from services.core.models import Brand

    # A client's workspace whose YAML names its own brand first (read at each request).
    ctx.state.put_brand(Brand(name="Abeille Royale"), origin="api")
    brands = [Brand(name="Abeille Royale"), *ctx.workspace.brands]
    ctx.workspace = ctx.workspace.model_copy(update={"brands": brands})
    assert _api(live_api, api_key, "/brands")[0]["name"] == "Abeille Royale"
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/#key={api_key}")
        browser.wait_for("document.getElementById('brand').options.length === 2")
        placeholder = browser.evaluate("document.getElementById('q').placeholder")
    assert placeholder == (
        '"Abeille Royale" AND (livraison OR delivery) -promo, negative:"Abeille Royale", '
        "topic:delivery"
    )
    assert "veloria" not in placeholder.lower()


def test_a_saved_searchs_alerts_show_on_the_board_and_open_its_mentions(
    ctx: ServiceContext,
    live_api: str,  # noqa: F811
    api_key: str,
    tmp_path: Path,
) -> None:
    """The rules panel lists the saved searches' rules on every board; their alerts show
    under *Latest alerts* beside the brand's, as the rule's creation message says."""
    headers = {"X-API-Key": api_key}
    saved = httpx.post(
        f"{live_api}/api/v1/saved-searches",
        json={"name": "catastrophes", "query": "catastrophe"},
        headers=headers,
    )
    assert saved.status_code == 201, saved.text
    rule = httpx.post(
        f"{live_api}/api/v1/alert-rules",
        json={"name": "chaque-catastrophe", "target_type": "saved_search",
              "target": "catastrophes", "kind": "new_mention"},
        headers=headers,
    )  # fmt: skip
    assert rule.status_code == 201, rule.text
    now = datetime.now(UTC)
    ctx.state.record_alert_event(
        rule_name="chaque-catastrophe",
        kind="new_mention",
        status="firing",
        dedupe_key="catastrophes-1",
        numbers={
            "kind": "new_mention",
            "observed": 2,
            "expected": 0,
            "target": {"type": "saved_search", "name": "catastrophes"},
            "window_start": (now - timedelta(days=90)).isoformat(),
            "window_end": now.isoformat(),
        },
        channels=[],
    )
    with Browser(tmp_path / "profile") as browser:
        _open_board(browser, live_api, api_key)
        assert browser.text("kpi-alerts") == "2"  # the brand's seeded alert, and this one
        alerts = browser.text("alerts")
        assert "chaque-catastrophe" in alerts and "Veloria: negative share" in alerts
        shown = _explored(
            browser,
            "[...document.querySelectorAll('#alerts li')]"
            ".find((li) => li.textContent.includes('chaque-catastrophe'))"
            ".querySelector('button.alert-mentions').click()",
        )
        assert shown["q"] == "catastrophe" and shown["error"] is None, shown
        counted = _api(live_api, api_key, "/mentions", **_window(browser), limit="1")["total"]
        assert counted > 0 and int(shown["total"]) == counted, shown
