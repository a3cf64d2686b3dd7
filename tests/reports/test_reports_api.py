"""Reports over the API: definitions saved (and refused with a clear 4xx, storing nothing),
renders kept under the data directory and fetched at stable URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.runtime.app.context import ServiceContext
from tests.reports.conftest import requires_pdf

REPORT: dict[str, Any] = {
    "name": "veloria-en",
    "brand": "Veloria",
    "period": "custom",
    "since": "2026-11-16",
    "until": "2026-11-22",
    "language": "en",
    "sections": ["key_figures", "share_of_voice"],
    "recipients": ["direction@example.org"],
}


def _stored(ctx: ServiceContext) -> list[Path]:
    folder = Path(ctx.settings.data_dir) / "reports"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@requires_pdf
def test_a_report_is_saved_rendered_and_fetched(ctx: ServiceContext, client: TestClient) -> None:
    created = client.post("/api/v1/reports", json=REPORT)
    assert created.status_code == 201, created.text
    assert created.json()["origin"] == "api"
    assert created.json()["sections"] == ["key_figures", "share_of_voice"]
    names = [(r["name"], r["origin"]) for r in client.get("/api/v1/reports").json()]
    assert names == [("veloria-en", "api"), ("veloria-weekly", "config")]
    assert client.post("/api/v1/reports", json=REPORT).status_code == 409

    render = client.post("/api/v1/reports/veloria-en/renders")
    assert render.status_code == 201, render.text
    body = render.json()
    assert body["since"].startswith("2026-11-15T23:00:00")
    pdf = client.get(body["urls"]["pdf"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    latest = client.get("/api/v1/reports/veloria-en/renders/latest.html")
    assert latest.status_code == 200
    assert "Share of voice against competitors" in latest.text
    assert latest.headers["content-security-policy"].startswith("default-src 'none'")
    assert "Top stories" not in latest.text  # a section not asked for
    listed = client.get("/api/v1/reports/veloria-en/renders").json()
    assert [r["id"] for r in listed] == [body["id"]]

    replaced = client.put("/api/v1/reports/veloria-en", json={**REPORT, "language": "fr"})
    assert replaced.status_code == 200 and replaced.json()["language"] == "fr"
    assert client.delete("/api/v1/reports/veloria-en").status_code == 204
    assert client.get("/api/v1/reports/veloria-en").status_code == 404
    kept = Path(ctx.settings.data_dir) / "reports" / "veloria-en" / body["id"] / "report.pdf"
    assert kept.is_file()  # renders outlive their definition


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"brand": "Velorio"}, "", "no brand is named 'Velorio' (known: Veloria)"),
        ({"sections": ["key_figures", "weather"]}, "sections", "key_figures"),
        ({"since": "2026-11-22", "until": "2026-11-16"}, "", "ends (2026-11-16) before it starts"),
        ({"period": "custom", "since": None}, "", "needs since and until"),
        ({"saved_search": "nope"}, "", "no saved search is named 'nope'"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"recipients": ["not an address"]}, "recipients", "neither an email address"),
        ({"name": "../etc"}, "name", "pattern"),
    ],
)
def test_bad_definitions_get_a_clear_4xx_and_store_nothing(
    ctx: ServiceContext, client: TestClient, change: dict[str, Any], field: str, words: str
) -> None:
    response = client.post("/api/v1/reports", json={**REPORT, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert words in problem["detail"]
    assert "Value error" not in problem["detail"] and not problem["detail"].startswith(":")
    if field:
        assert problem["errors"][0]["field"].startswith(field)
    assert _stored(ctx) == []
    assert [r["name"] for r in client.get("/api/v1/reports").json()] == ["veloria-weekly"]


def test_the_workspace_reports_are_read_only(client: TestClient) -> None:
    configured = client.get("/api/v1/reports/veloria-weekly").json()
    assert configured["origin"] == "config"
    replaced = client.put("/api/v1/reports/veloria-weekly", json={**configured, "language": "fr"})
    assert replaced.status_code == 422  # origin/updated_at are not part of a definition
    body = {k: v for k, v in configured.items() if k not in {"origin", "updated_at"}}
    replaced = client.put("/api/v1/reports/veloria-weekly", json={**body, "language": "fr"})
    assert replaced.status_code == 409
    assert "workspace YAML" in replaced.json()["detail"]
    assert client.delete("/api/v1/reports/veloria-weekly").status_code == 409


def test_missing_reports_and_renders_are_404(client: TestClient) -> None:
    assert client.post("/api/v1/reports/nope/renders").status_code == 404
    assert client.get("/api/v1/reports/veloria-weekly/renders/latest.pdf").status_code == 404
    assert (
        client.get("/api/v1/reports/veloria-weekly/renders/..%2f..%2fveille.db").status_code == 404
    )
    assert client.get("/api/v1/reports/veloria-weekly/renders/latest.exe").status_code == 404


def test_reports_need_an_api_key(ctx: ServiceContext) -> None:
    from services.api.app import create_app

    with TestClient(create_app(ctx)) as anonymous:
        assert anonymous.get("/api/v1/reports").status_code == 401
        assert anonymous.get("/api/v1/reports/veloria-weekly/renders/latest.pdf").status_code == 401


def test_a_saved_search_report_measures_the_search(ctx: ServiceContext, client: TestClient) -> None:
    saved = client.post(
        "/api/v1/saved-searches",
        json={"name": "delivery", "query": "topic:delivery", "visibility": "shared"},
    )
    assert saved.status_code == 201, saved.text
    only_search = {
        **REPORT,
        "name": "delivery-en",
        "brand": None,
        "saved_search": "delivery",
        "sections": ["key_figures", "volume_sentiment", "topics", "samples"],
    }
    assert client.post("/api/v1/reports", json=only_search).status_code == 201
    html = client.post("/api/v1/reports/delivery-en/renders").json()["urls"]["html"]
    page = client.get(html).text
    volume = client.get(
        "/api/v1/stats/volume",
        params={
            "q": "(topic:delivery)",
            "since": "2026-11-15T23:00:00Z",
            "until": "2026-11-22T23:00:00Z",
        },
    ).json()
    assert volume["total"] == 4
    assert f"The search “delivery” matched {volume['total']} mentions" in page

    with_sov = {**only_search, "name": "delivery-sov", "sections": ["share_of_voice"]}
    refused = client.post("/api/v1/reports", json=with_sov)
    assert refused.status_code == 422
    assert "share_of_voice section needs a brand" in refused.json()["detail"]


def test_a_report_whose_search_was_deleted_is_a_422_not_a_render(
    ctx: ServiceContext, client: TestClient
) -> None:
    client.post("/api/v1/saved-searches", json={"name": "gone", "query": "veloria"})
    body = {**REPORT, "name": "gone-en", "brand": None, "saved_search": "gone",
            "sections": ["key_figures"]}  # fmt: skip
    assert client.post("/api/v1/reports", json=body).status_code == 201
    assert client.delete("/api/v1/saved-searches/gone").status_code == 409
    assert client.delete("/api/v1/saved-searches/gone?force=true").status_code == 204
    response = client.post("/api/v1/reports/gone-en/renders")
    assert response.status_code == 422
    assert "no saved search is named 'gone'" in response.json()["detail"]
    assert not (Path(ctx.settings.data_dir) / "reports" / "gone-en").exists()


def test_latest_is_the_newest_render_in_the_format_asked(tmp_path: Path) -> None:
    """An HTML-only render after a PDF one must not break a bookmarked latest.pdf."""
    from datetime import UTC, datetime

    from services.reports.store import RenderInfo, Renders

    renders = Renders(tmp_path)
    day = datetime(2026, 12, 1, tzinfo=UTC)
    both = RenderInfo("weekly", "20261207T070000Z", day, day, ["html", "pdf"], 1.0)
    html_only = RenderInfo("weekly", "20261207T080000Z", day, day, ["html"], 1.0)
    renders.save(both, html="<p>seven</p>", pdf=b"%PDF-1.7 seven")
    renders.save(html_only, html="<p>eight</p>", pdf=None)
    pdf = renders.path("weekly", "latest", "pdf")
    html = renders.path("weekly", "latest", "html")
    assert pdf is not None and pdf.parent.name == both.id
    assert html is not None and html.parent.name == html_only.id
    assert renders.path("weekly", html_only.id, "pdf") is None


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [("0001-01-01", "2026-11-22", "since"), ("1000-01-01", "9999-12-31", "since"),
     ("2026-11-16", "9999-12-31", "until")],
)  # fmt: skip
def test_a_period_out_of_range_is_refused_naming_the_field(
    ctx: ServiceContext, client: TestClient, since: str, until: str, field: str
) -> None:
    refused = client.post("/api/v1/reports", json={**REPORT, "since": since, "until": until})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in refused.text and "outside the dates a report can cover" in refused.text
    assert _stored(ctx) == []


def test_a_stored_period_out_of_range_renders_as_a_problem_not_a_500(
    ctx: ServiceContext, client: TestClient
) -> None:
    """A definition saved before the bounds were checked."""
    import yaml

    folder = Path(ctx.settings.data_dir) / "reports" / "definitions"
    folder.mkdir(parents=True)
    stored = {**REPORT, "since": "0001-01-01", "until": "9999-12-31"}
    (folder / "veloria-en.yaml").write_text(yaml.safe_dump(stored), encoding="utf-8")
    for response in (
        client.post("/api/v1/reports/veloria-en/renders"),
        client.get("/api/v1/reports/veloria-en"),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "since" in response.json()["detail"]
    assert [r["name"] for r in client.get("/api/v1/reports").json()] == ["veloria-weekly"]


def test_a_period_whose_dates_overflow_is_a_period_error() -> None:
    from datetime import UTC, date, datetime

    from services.core.reports import ReportDefinition
    from services.reports.period import PeriodError, windows

    bad = ReportDefinition.model_construct(
        name="old", brand="Veloria", period="custom", since=date(1, 1, 1),
        until=date(9999, 12, 31), timezone="UTC",
    )  # fmt: skip
    with pytest.raises(PeriodError, match="out of range"):
        windows(bad, now=datetime(2026, 12, 7, tzinfo=UTC))


def test_a_saved_search_report_with_default_sections_gets_those_that_apply(
    ctx: ServiceContext, client: TestClient
) -> None:
    saved = client.post("/api/v1/saved-searches", json={"name": "all", "query": "veloria"})
    assert saved.status_code == 201, saved.text
    body = {k: v for k, v in REPORT.items() if k != "sections"}
    created = client.post(
        "/api/v1/reports", json={**body, "name": "all-en", "brand": None, "saved_search": "all"}
    )
    assert created.status_code == 201, created.text
    sections = created.json()["sections"]
    assert "share_of_voice" not in sections and {"key_figures", "samples"} <= set(sections)
    with_brand = client.post("/api/v1/reports", json={**body, "name": "brand-en"})
    assert "share_of_voice" in with_brand.json()["sections"]


def test_a_custom_period_not_over_yet_ends_today_and_says_so(
    ctx: ServiceContext, client: TestClient
) -> None:
    from datetime import UTC, date, datetime

    from services.core.reports import ReportDefinition
    from services.reports import wording
    from services.reports.period import windows

    quarter = ReportDefinition(
        name="q4", brand="Veloria", period="custom", since=date(2026, 10, 1),
        until=date(2026, 12, 31), language="en", timezone="UTC",
    )  # fmt: skip
    window, previous = windows(quarter, now=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    assert (window.first_day, window.last_day, window.to_date) == (
        date(2026, 10, 1),
        date(2026, 12, 7),
        True,
    )
    assert previous.until == window.since and previous.days == window.days
    assert wording.period_text(window, "en") == "1 October – 7 December 2026 (to date)"
    assert wording.period_text(window, "fr") == "du 1er octobre au 7 décembre 2026 (à ce jour)"
    done, _ = windows(quarter, now=datetime(2027, 1, 2, tzinfo=UTC))
    assert (done.last_day, done.to_date) == (date(2026, 12, 31), False)
    assert wording.period_text(done, "en") == "1 October – 31 December 2026"
