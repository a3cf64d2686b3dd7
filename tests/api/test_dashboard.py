"""The dashboard, in headless Chromium, against a real API server on 127.0.0.1.

Pages are loaded with `--dump-dom`, which prints the DOM once its scripts and requests
have settled, and the figures shown are checked against the API's own answers; what a
person does (type the key, choose a period, sign out) is driven through the DevTools
protocol (tests/browser.py). Chromium comes from Debian (`scripts/run-tests.sh` installs
it in CI); without it those tests skip.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import uvicorn

from services.alerting.explanation import english, rule_baseline
from services.alerting.rules import rule_from_yaml
from services.api.app import create_app
from services.api.dashboard import POLICY
from services.core.evidence import Evidence, WeightedWord
from services.core.models import Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.browser import CHROMIUM, FLAGS, Browser
from tests.factories import make_mention

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
NEU = Sentiment(label=SentimentLabel.NEUTRAL, score=0.7)
POS = Sentiment(label=SentimentLabel.POSITIVE, score=0.8)
# The words that weighed, as a model may give them: function words among them.
NEG_WHY = NEG.model_copy(
    update={
        "evidence": Evidence(
            words=[
                WeightedWord(text=text, weight=weight)
                for text, weight in [("le", 1.2), ("dix", 1.0), ("catastrophe", 0.9), ("SAV", 0.5)]
            ]
        )
    }
)
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">Veloria, colis perdu'


def _seed(ctx: ServiceContext) -> None:
    now = datetime.now(UTC)
    mentions = [
        # Positive overall, negative toward Veloria: only per-brand sentiment sees it.
        make_mention(
            id=f"mixed{i}",
            text="J'adore mon Trekko mais le SAV de Veloria est une catastrophe",
            brands=["Veloria"],
            competitors=["Trekko"],
            sentiment=POS,
            brand_sentiments={"Veloria": NEG_WHY, "Trekko": POS},
            topics=["after-sales"],
            story_id="story-sav",  # reposts of one post
            published_at=now - timedelta(days=i, hours=1),
        )
        for i in range(4)
    ]
    mentions += [
        make_mention(
            id=f"happy{i}",
            text=f"Veloria livré en un jour, ravi ({i})",
            brands=["Veloria"],
            sentiment=POS,
            brand_sentiments={"Veloria": POS},
            topics=["delivery"],
            published_at=now - timedelta(days=2 * i, hours=2),
        )
        for i in range(3)
    ]
    mentions += [
        make_mention(
            id="hostile",
            text=HOSTILE,
            brands=["Veloria"],
            sentiment=NEG,
            brand_sentiments={"Veloria": NEG},
            published_at=now - timedelta(hours=3),
        ),
        *[
            make_mention(  # the 30 days before: 4 mentions, 1 negative toward Veloria
                id=f"before{i}",
                text=f"Veloria, avis numéro {i}",
                brands=["Veloria"],
                sentiment=NEU,
                brand_sentiments={"Veloria": NEG if i == 0 else NEU},
                published_at=now - timedelta(days=40 + i),
            )
            for i in range(4)
        ],
        make_mention(
            id="old",  # outside the last 30 days
            text="Veloria, une catastrophe",
            brands=["Veloria"],
            sentiment=NEG,
            brand_sentiments={"Veloria": NEG},
            published_at=now - timedelta(days=75),
        ),
        make_mention(
            id="neutral",
            text="Trekko ouvre un magasin",
            brands=[],
            competitors=["Trekko"],
            sentiment=NEU,
            published_at=now - timedelta(days=1),
        ),
    ]
    ctx.index.upsert(mentions)
    # stored as the evaluator stores a daily volume rule's (services/alerting/explanation.py)
    rule = rule_from_yaml(
        "bucket: 1h\nseasonality: daily\nbaseline_window: 14d\nlevel_window: 1d\n"
    )
    baseline = rule_baseline(rule).model_copy(
        update={"observed": 5, "expected": 1.2, "score": 4.26}
    )
    ctx.state.record_alert_event(
        rule_name="Veloria: negative share",  # a default rule: on Veloria's board
        kind="spike",
        status="firing",
        dedupe_key="k1",
        numbers={
            "kind": "volume_spike",
            "observed": 5,
            "expected": 1.2,
            "score": 4.26,
            "threshold": 3,
            "baseline_method": english(baseline),
        },
        channels=[],
        baseline=baseline.model_dump(mode="json", exclude_none=True),
    )


@pytest.fixture
def live_api(ctx: ServiceContext) -> Iterator[str]:
    """The API app served by uvicorn on a free port, in this process."""
    _seed(ctx)
    # uvicorn serves a socket bound here: no gap in which another test could take the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield base
    server.should_exit = True
    thread.join(10)
    sock.close()


def _dump_dom(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class _Page(HTMLParser):
    """Text by element id, the rows of tables, and list items, from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs_by_id: dict[str, dict[str, str]] = {}
        self.text_by_id: dict[str, str] = {}
        self.body: dict[str, str] = {}
        self.img_tags = 0
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = values
        if tag == "img":
            self.img_tags += 1
        element_id = values.get("id")
        if element_id:
            self.attrs_by_id[element_id] = values
            self.text_by_id.setdefault(element_id, "")
        if tag not in {"meta", "link", "input", "br", "img"}:
            self._open.append(element_id)

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "link", "input", "br", "img"} and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _api(base: str, key: str, path: str, **params: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{base}/api/v1{path}", params=params, headers={"X-API-Key": key})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


@needs_chromium
def test_the_dashboard_shows_the_apis_figures_for_the_brand(
    live_api: str, api_key: str, tmp_path: Path
) -> None:
    page = _parse(_dump_dom(f"{live_api}/dashboard/#key={api_key}", tmp_path / "profile"))

    assert page.body.get("data-loaded") == "Veloria", page.text_by_id.get("error")
    since = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    toward = _api(live_api, api_key, "/stats/sentiment", toward="Veloria", since=since)
    negatives = sum(b["by"].get("negative", 0) for b in toward["buckets"])
    # 8 mentions of Veloria in the last 30 days, 5 negative toward it (4 of them positive
    # overall), 3 positive; older ones are left out.
    assert (toward["total"], negatives) == (8, 5)
    assert page.text_by_id["kpi-mentions"].strip() == "8"
    assert page.text_by_id["kpi-negative"].strip() == "63%"
    assert page.text_by_id["kpi-net"].strip() == "-0.25"  # (3 - 5) / 8
    assert page.text_by_id["kpi-alerts"].strip() == "1"
    # Against the 30 days before: 4 mentions, 1 of them negative toward Veloria.
    assert page.text_by_id["kpi-mentions-change"] == "+100% on the previous 30 days"
    assert page.text_by_id["kpi-negative-change"] == "+38 pts on the previous 30 days"

    sov = page.text_by_id["share-of-voice"]
    assert "Veloria" in sov and "Trekko" in sov
    topics = page.text_by_id["topics"]
    assert "after-sales" in topics and "delivery" in topics
    words = _api(live_api, api_key, "/stats/top-terms", q='negative:"Veloria"', since=since)
    said = [w["key"] for w in words["counts"]]
    assert "veloria" not in said and "le" not in said  # the watched names, function words
    shown = page.text_by_id["negative-terms"]
    assert "catastrophe" in said and all(word in shown for word in said[:5])

    negative_list = page.text_by_id["negative-mentions"]
    assert "le SAV de Veloria est une catastrophe" in negative_list
    assert negative_list.count("le SAV de Veloria") == 1  # one story, not its 4 copies
    assert "4 copies" in negative_list
    # The "why" words skip function and number words the model weighed ("le", "dix").
    assert "why: catastrophe, SAV" in negative_list
    assert "livré en un jour" not in negative_list
    assert "Veloria: negative share" in page.text_by_id["alerts"]
    # an alert of a kind the page does not know is named as one, not shown as a bare code
    assert "Veloria: negative share: Alert of kind “spike” (firing)" in page.text_by_id["alerts"]
    # each alert says why: its numbers and its baseline
    assert "observed 5 vs 1.2 expected (score 4.3, needs 3)" in page.text_by_id["alerts"]
    assert "baseline: median of same hour of day" in page.text_by_id["alerts"]


@needs_chromium
def test_the_address_picks_the_brand_and_the_period(
    live_api: str, api_key: str, ctx: ServiceContext, tmp_path: Path
) -> None:
    response = httpx.post(
        f"{live_api}/api/v1/brands",
        json={"name": "Voltaire Cycles", "competitors": ["Trekko"]},
        headers={"X-API-Key": api_key},
    )
    assert response.status_code == 201, response.text
    now = datetime.now(UTC)
    ctx.index.upsert(
        [
            make_mention(
                id=f"voltaire{i}",
                text="Mon Voltaire Cycles roule bien",
                brands=["Voltaire Cycles"],
                sentiment=POS,
                published_at=now - timedelta(days=days),
            )
            for i, days in enumerate([1, 2, 3, 10])  # 3 in the last 7 days, 1 the week before
        ]
    )
    url = f"{live_api}/dashboard/?brand=Voltaire%20Cycles&period=7#key={api_key}"
    page = _parse(_dump_dom(url, tmp_path / "profile"))
    assert page.body.get("data-loaded") == "Voltaire Cycles", page.text_by_id.get("error")
    assert page.text_by_id["kpi-mentions"].strip() == "3"
    assert page.text_by_id["kpi-mentions-change"] == "+200% on the previous 7 days"
    sov = page.text_by_id["share-of-voice"]
    assert "Voltaire Cycles" in sov and "Trekko" in sov and "Veloria" not in sov


@needs_chromium
def test_a_hostile_mention_is_shown_as_text(live_api: str, api_key: str, tmp_path: Path) -> None:
    page = _parse(_dump_dom(f"{live_api}/dashboard/#key={api_key}", tmp_path / "profile"))
    assert page.body.get("data-loaded") == "Veloria"
    assert HOSTILE in page.text_by_id["negative-mentions"]  # the markup, as written
    assert page.img_tags == 0 and "data-pwned" not in page.body


@needs_chromium
def test_without_a_valid_key_the_dashboard_asks_for_one(live_api: str, tmp_path: Path) -> None:
    page = _parse(_dump_dom(f"{live_api}/dashboard/#key=wrong", tmp_path / "profile"))
    assert "hidden" not in page.attrs_by_id["login"]
    assert "hidden" in page.attrs_by_id["board"]
    assert "refused" in page.text_by_id["error"]
    assert "data-loaded" not in page.body


def test_the_dashboard_is_served_with_a_strict_policy(live_api: str) -> None:
    root = httpx.get(f"{live_api}/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/dashboard/"
    assert httpx.get(f"{live_api}/dashboard").headers["location"].endswith("/dashboard/")
    page = httpx.get(f"{live_api}/dashboard/")
    assert page.status_code == 200 and '<script src="dashboard.js">' in page.text
    assert page.headers["content-security-policy"] == POLICY
    assert "script-src 'self'" in POLICY and "connect-src 'self'" in POLICY
    assert httpx.get(f"{live_api}/dashboard/dashboard.js").status_code == 200
    chart = httpx.get(f"{live_api}/dashboard/vendor/chart.umd.min.js")  # from Veille itself
    assert chart.status_code == 200 and "Chart.js v4" in chart.text[:200]
    # Only the page's own files: not the Python package beside them.
    assert httpx.get(f"{live_api}/dashboard/__init__.py").status_code == 404
    # The page holds no data: the API behind it still wants a key.
    assert httpx.get(f"{live_api}/api/v1/brands").status_code == 401


@needs_chromium
def test_a_person_signs_in_changes_the_period_and_signs_out(
    live_api: str, api_key: str, tmp_path: Path
) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/")
        browser.wait_for("!document.getElementById('login').hidden")
        assert browser.visible("login") and not browser.visible("board")

        # Types the key and presses the button.
        browser.evaluate(f"document.getElementById('key').value = {json.dumps(api_key)}")
        browser.evaluate("document.querySelector('#key-form button').click()")
        browser.wait_for("document.body.dataset.loaded === 'Veloria'")
        assert browser.visible("board") and not browser.visible("login")
        assert browser.text("kpi-mentions").strip() == "8"
        assert browser.evaluate("sessionStorage.getItem('veille.apiKey')") == api_key
        assert browser.evaluate("document.getElementById('key').value") == ""  # not kept

        # Chooses the last 7 days: the figures and the address follow.
        browser.select("period", "7")
        browser.wait_for("document.getElementById('kpi-mentions-change').textContent"
                         ".includes('previous 7 days')")  # fmt: skip
        since = (datetime.now(UTC) - timedelta(days=7)).isoformat()
        week = _api(live_api, api_key, "/stats/sentiment", toward="Veloria", since=since)
        assert browser.text("kpi-mentions").strip() == str(week["total"])
        assert "period=7" in browser.evaluate("location.search")

        # Signs out: the key is gone from the tab, the board is hidden.
        browser.evaluate("document.getElementById('sign-out').click()")
        assert browser.visible("login") and not browser.visible("board")
        assert browser.evaluate("sessionStorage.getItem('veille.apiKey')") is None


@needs_chromium
def test_a_person_signs_in_with_a_password_and_out(
    live_api: str, ctx: ServiceContext, tmp_path: Path
) -> None:
    from services.runtime.app.workspaces import Installation

    installation = Installation(ctx)
    installation.tenancy.add_user("Alice", password="correct horse battery")
    installation.tenancy.grant("Alice", "default", "viewer")
    installation.close()
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{live_api}/dashboard/")
        browser.wait_for("!document.getElementById('login').hidden")
        browser.evaluate("document.getElementById('login-name').value = 'Alice'")
        browser.evaluate("document.getElementById('password').value = 'wrong password'")
        browser.evaluate("document.querySelector('#password-form button').click()")
        browser.wait_for("document.getElementById('error').textContent.includes('Sign-in failed')")
        assert browser.visible("login") and not browser.visible("board")

        browser.evaluate("document.getElementById('password').value = 'correct horse battery'")
        browser.evaluate("document.querySelector('#password-form button').click()")
        browser.wait_for("document.body.dataset.loaded === 'Veloria'")
        assert browser.visible("board") and not browser.visible("login")
        assert browser.evaluate("sessionStorage.getItem('veille.apiKey')") is None
        assert browser.evaluate("document.cookie") == ""  # HttpOnly: no script reads it

        browser.evaluate("document.getElementById('sign-out').click()")
        assert browser.visible("login") and not browser.visible("board")
        browser.open(f"{live_api}/dashboard/")  # the session was ended on the server
        browser.wait_for("!document.getElementById('login').hidden")
