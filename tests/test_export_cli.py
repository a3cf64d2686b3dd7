"""`veille export`, run as a user runs it (a subprocess) on a real workspace and index."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from services.core.models import AuthorDetails, Sentiment, SentimentLabel
from services.store.embedded.index import EmbeddedIndex
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import make_mention

NOW = datetime.now(UTC)
pytestmark = pytest.mark.slow  # a dozen `veille` processes


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = write_workspace(tmp_path, sources=[])
    index = EmbeddedIndex(str(tmp_path / "data" / "index"))
    negative = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    index.upsert(
        [
            make_mention(
                id=f"c{i}",
                text=f"Veloria en retard {i}" if i % 2 else "=1+1 Veloria",
                author="Zoé",
                author_details=AuthorDetails(followers=40),
                brand_sentiments={"Veloria": negative},
                published_at=NOW - timedelta(hours=i + 1),
            )
            for i in range(30)
        ]
    )
    index.close()
    return folder


def test_export_mentions_to_stdout_and_files(config: Path, tmp_path: Path) -> None:
    result = veille("export", "mentions", "-q", "retard", "--config", str(config))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert len(rows) == 15 and {r["sentiment:Veloria"] for r in rows} == {"negative"}
    assert rows[0]["followers"] == "40"

    target = tmp_path / "all.ndjson"
    done = veille("export", "mentions", "-f", "ndjson", "-o", str(target), "--config", str(config))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 30
    assert {r["text"] for r in records if r["text"].startswith("=")} == {"=1+1 Veloria"}

    book = tmp_path / "all.xlsx"
    done = veille("export", "mentions", "-f", "xlsx", "-o", str(book), "--config", str(config))
    assert done.returncode == 0, done.stderr
    workbook = openpyxl.load_workbook(book, read_only=True)  # holds the file until closed
    try:
        sheet_rows = sum(1 for _ in workbook["mentions"].iter_rows(min_row=2))
    finally:
        workbook.close()
    assert sheet_rows == 30
    semicolons = veille("export", "mentions", "--sep", ";", "--config", str(config))
    assert "'=1+1 Veloria" in semicolons.stdout  # formula-looking text made inert

    warned = veille("export", "mentions", "-q", "brand:Velorya", "--config", str(config))
    assert warned.returncode == 0, warned.stderr
    assert "warning: brand:velorya: no brand is named 'velorya'" in warned.stderr
    assert "did you mean Veloria?" in warned.stderr and "warning" not in result.stderr


def test_export_stats(config: Path) -> None:
    result = veille(
        "export", "stats", "breakdown", "--dimension", "author", "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.removeprefix("\ufeff").splitlines() == ["key,count", "Zoé,30"]
    authors = veille("export", "stats", "authors", "--by", "reach", "--config", str(config))
    assert "Zoé,30,40" in authors.stdout


def test_bad_input_is_an_error_and_writes_no_file(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    bad = veille(
        "export", "mentions", "-q", "retard AND (", "-o", str(target), "--config", str(config)
    )
    assert bad.returncode == 2
    assert "error" in bad.stderr and "character" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not target.exists() and not list(tmp_path.glob("out.csv*"))
    xlsx = veille("export", "mentions", "-f", "xlsx", "--config", str(config))
    assert xlsx.returncode == 1 and "needs --output" in xlsx.stderr
    assert "exporting" not in xlsx.stderr + xlsx.stdout  # refused before any work
    unknown = veille("export", "mentions", "-s", "nope", "--config", str(config))
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    wrong = veille("export", "stats", "breakdown", "--dimension", "colour", "--config", str(config))
    assert wrong.returncode == 2 and "--dimension" in wrong.stderr
    misplaced = veille(
        "export", "stats", "sentiment", "--brand", "Veloria", "--config", str(config)
    )
    assert misplaced.returncode == 2
    assert "--brand does not apply to this export (it takes --query, " in misplaced.stderr
    assert "--toward" in misplaced.stderr
    needs = veille("export", "stats", "share-of-voice", "--config", str(config))
    assert needs.returncode == 2 and "--brand" in needs.stderr
    typo = veille("export", "stats", "volume", "-q", "brand:Velorya", "--config", str(config))
    assert typo.returncode == 0, typo.stderr
    assert "no brand is named 'velorya'" in typo.stderr and "did you mean Veloria" in typo.stderr
