"""The public chart URL of an alert: built only when it can work, with the event's token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.alerting.chart_link import chart_png, chart_url
from services.alerting.evaluator import message_from_event
from services.core.settings import build_settings
from services.store.state.sql import SqlStateStore

SERIES = [["2026-11-22T09:00:00+00:00", 2, 2], ["2026-11-22T10:00:00+00:00", 40, 40]]


def _event(tmp_path: Path, numbers: dict[str, Any]) -> Any:
    with SqlStateStore(f"sqlite:///{tmp_path}/veille.db") as state:
        event_id = state.record_alert_event(
            rule_name="spike",
            kind="volume_spike",
            status="firing",
            dedupe_key="k",
            numbers={
                "observed": 40,
                "expected": 2,
                "window_start": datetime(2026, 11, 22, 10, tzinfo=UTC).isoformat(),
                **numbers,
            },
            channels=["slack:HOOK"],
        )
        assert event_id is not None
        return state.get_alert_event(event_id)


def test_the_chart_url_carries_the_events_unguessable_token(tmp_path: Path) -> None:
    event = _event(tmp_path, {"series": SERIES})
    assert event.chart_token is not None and len(event.chart_token) >= 32
    url = chart_url(event, public_url="https://veille.example.org/")
    assert url == (
        f"https://veille.example.org/api/v1/alerts/events/{event.id}/chart.png"
        f"?token={event.chart_token}"
    )
    assert message_from_event(event, public_url="https://veille.example.org").chart_url == url
    png = chart_png(event)
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_chart_url_of_another_workspace_names_it(tmp_path: Path) -> None:
    # Event ids are numbered per workspace: the chart route must know whose event it is.
    event = _event(tmp_path, {"series": SERIES})
    url = message_from_event(
        event, public_url="https://veille.example.org", workspace="acme"
    ).chart_url
    assert url is not None and url.endswith(f"?token={event.chart_token}&workspace=acme")


def test_no_chart_url_without_a_public_url_or_without_points(tmp_path: Path) -> None:
    event = _event(tmp_path, {"series": SERIES})
    assert chart_url(event, public_url=None) is None
    assert message_from_event(event).chart_url is None
    flat = _event(tmp_path / "other", {"series": SERIES[:1]})
    assert chart_url(flat, public_url="https://veille.example.org") is None
    assert chart_png(flat) is None


def test_api_public_url_must_be_a_base_url() -> None:
    settings = build_settings({"api": {"public_url": "https://veille.example.org/"}})
    assert settings.api.public_url == "https://veille.example.org"
    for bad in ("veille.example.org", "ftp://veille.example.org", "https://x.org/?k=1"):
        with pytest.raises(ValidationError, match="must be a base URL like https://"):
            build_settings({"api": {"public_url": bad}})
