"""`veille report run | list | preview`, run as a user runs them (a subprocess)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from services.core.workspace import load_workspace
from services.runtime.app.context import ServiceContext
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.reports.conftest import requires_pdf, seed_mentions

REPORTS = {
    "reports": [
        {
            "name": "veloria-weekly",
            "brand": "Veloria",
            "period": "custom",
            "since": "2026-11-16",
            "until": "2026-11-22",
            "language": "fr",
        }
    ]
}


def _workspace(tmp_path: Path, reports: Mapping[str, object] = REPORTS) -> str:
    config = write_workspace(tmp_path, sources=[])
    (config / "reports.yaml").write_text(yaml.safe_dump(reports), encoding="utf-8")
    return str(config)


@requires_pdf
def test_report_run_writes_a_pdf_and_says_how_long_it_took(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    loaded = load_workspace(config)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    ctx.index.upsert(seed_mentions())
    ctx.close()

    output = tmp_path / "report.pdf"
    result = veille("report", "run", "veloria-weekly", "--output", str(output), "-c", config)
    assert result.returncode == 0, result.stderr
    assert output.read_bytes().startswith(b"%PDF")
    assert re.search(
        r"rendered 'veloria-weekly' \(2026-11-16 to 2026-11-22\) in \d+\.\d\d s", result.stderr
    )
    kept = list((tmp_path / "data" / "reports" / "veloria-weekly").glob("*/report.pdf"))
    assert len(kept) == 1

    listing = veille("report", "list", "-c", config)
    assert listing.returncode == 0 and "veloria-weekly" in listing.stdout

    preview = veille("report", "preview", "veloria-weekly", "-c", config)
    assert preview.returncode == 0, preview.stderr
    page = Path(preview.stdout.strip().splitlines()[-1])
    assert "Chiffres clés" in page.read_text(encoding="utf-8")


def test_report_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    unknown = veille("report", "run", "nope", "-c", config)
    assert unknown.returncode == 2
    assert "no report is named 'nope' (reports: veloria-weekly)" in unknown.stderr
    suffix = veille("report", "run", "veloria-weekly", "--output", "r.docx", "-c", config)
    assert suffix.returncode == 2 and "name a .pdf or .html file" in suffix.stderr
    for result in (unknown, suffix):
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "reports").exists()


def test_bad_reports_in_the_workspace_are_listed_with_their_line(tmp_path: Path) -> None:
    bad = {
        "reports": [
            {"name": "a", "brand": "Velorio"},
            {"name": "b", "brand": "Veloria", "period": "custom", "since": "2026-11-22",
             "until": "2026-11-16"},
            {"name": "c", "brand": "Veloria", "sections": ["weather"]},
        ]
    }  # fmt: skip
    config = _workspace(tmp_path, bad)
    result = veille("report", "list", "-c", config)
    assert result.returncode == 2
    assert "reports.yaml:2: reports[0].brand: 'Velorio' is not declared under brands:" in (
        result.stderr
    )
    assert "the period ends (2026-11-16) before it starts (2026-11-22)" in result.stderr
    assert "reports[2].sections[0]" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_warns_about_addresses_needing_smtputf8(tmp_path: Path) -> None:
    reports = {
        "reports": [
            {**REPORTS["reports"][0], "recipients": ["Élodie <élodie@client.example>"]},
        ]
    }
    config = _workspace(tmp_path, reports)
    result = veille("config", "check", "-c", config)
    assert result.returncode == 0, result.stderr
    warning = " ".join(result.stderr.split())
    assert "recipient 'élodie@client.example' is not ASCII" in warning and "SMTPUTF8" in warning


def test_report_renders_lists_who_a_render_was_not_sent_to(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from services.reports.store import RecipientFailure, RenderInfo, Renders

    config = _workspace(tmp_path)
    renders = Renders(tmp_path / "data")
    since = datetime(2026, 11, 15, 23, tzinfo=UTC)
    info = renders.save(
        RenderInfo("veloria-weekly", "20261123T070000Z", since, since, ["html"], 1.0),
        html="<p>x</p>",
        pdf=None,
    )
    failure = RecipientFailure("élodie@client.example", "no SMTPUTF8 [here]")
    renders.record_delivery(info, sent_to=2, failed=[failure], at=since)
    result = veille("report", "renders", "veloria-weekly", "-c", config)
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "20261123T070000Z" in flat and " 2 " in flat
    assert "20261123T070000Z: not sent to élodie@client.example: no SMTPUTF8 [here]" in (
        result.stdout
    )
