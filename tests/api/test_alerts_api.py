"""Alert rules and alert events over REST, on real stores (SQLite file, embedded index)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.alerting.evaluator import Evaluator
from services.api.app import API_PREFIX
from services.core.models import utcnow
from services.core.settings import BrandRulesSettings
from services.runtime.app.context import ServiceContext
from tests.apps import app_for
from tests.factories import make_mention

RULES = f"{API_PREFIX}/alert-rules"
EVENTS = f"{API_PREFIX}/alerts/events"


@pytest.fixture
def client(ctx: ServiceContext, api_key: str) -> Iterator[TestClient]:
    with TestClient(app_for(ctx), headers={"X-API-Key": api_key}) as test_client:
        yield test_client


def _rule(**fields: Any) -> dict[str, Any]:
    return {
        "name": "veloria-spike",
        "target_type": "brand",
        "target": "Veloria",
        "kind": "volume_spike",
        "detector": {"bucket": "1h", "sensitivity": "high", "min_volume": 5},
        "channels": [
            {"type": "slack", "target": "VEILLE_SLACK_WEBHOOK_MARKETING"},
            {"type": "email", "target": "VEILLE_ALERT_EMAIL_TEAM", "language": "fr"},
        ],
        "quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Europe/Paris"},
        **fields,
    }


def test_rule_crud(client: TestClient) -> None:
    created = client.post(RULES, json=_rule())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["cooldown"] == "1h"
    assert body["channels"][1] == {
        "type": "email",
        "target": "VEILLE_ALERT_EMAIL_TEAM",
        "language": "fr",
    }
    assert client.post(RULES, json=_rule()).status_code == 409
    listed = client.get(RULES).json()[0]
    assert (listed["name"], listed["status"], listed["error"]) == ("veloria-spike", "active", None)
    assert client.put(f"{RULES}/veloria-spike", json=listed).status_code == 200  # as listed
    replaced = client.put(f"{RULES}/veloria-spike", json=_rule(cooldown="30m", enabled=False))
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["cooldown"], replaced.json()["enabled"]) == ("30m", False)
    assert client.get(f"{RULES}/veloria-spike").json()["cooldown"] == "30m"
    assert client.delete(f"{RULES}/veloria-spike").status_code == 204
    assert client.get(f"{RULES}/veloria-spike").status_code == 404


def test_a_rule_on_a_saved_search(client: TestClient) -> None:
    saved = client.post(
        f"{API_PREFIX}/saved-searches", json={"name": "retards", "query": "livraison"}
    )
    assert saved.status_code == 201
    rule = _rule(name="retards", target_type="saved_search", target="retards", kind="new_mention")
    response = client.post(RULES, json={**rule, "detector": {}})
    assert response.status_code == 201, response.text


def test_a_saved_search_in_use_is_kept_until_forced_then_its_rules_stop_quietly(
    ctx: ServiceContext, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """409 naming its 2 rules and its report; forced, the rules are disabled and listed
    with an error; a rule whose search went missing anyway (deleted before the check) is
    listed with an error and logged once per process, a warning without traceback."""
    import logging

    from services.alerting.evaluator import Evaluator

    searches = f"{API_PREFIX}/saved-searches"
    for name in ("retards", "other"):
        body = {"name": name, "query": "livraison", "visibility": "shared"}
        assert client.post(searches, json=body).status_code == 201
    for name, target in (("r1", "retards"), ("r2", "retards"), ("r3", "other")):
        rule = _rule(name=name, target_type="saved_search", target=target, kind="new_mention")
        assert client.post(RULES, json={**rule, "detector": {}}).status_code == 201
    report = {
        "name": "retards-report",
        "saved_search": "retards",
        "period": "custom",
        "since": "2026-11-16",
        "until": "2026-11-22",
        "language": "en",
        "sections": ["key_figures"],
    }
    assert client.post(f"{API_PREFIX}/reports", json=report).status_code == 201, report

    refused = client.delete(f"{searches}/retards")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert (problem["alert_rules"], problem["reports"]) == (["r1", "r2"], ["retards-report"])
    assert "'r1'" in problem["detail"] and "'retards-report'" in problem["detail"]
    assert client.get(f"{searches}/retards").status_code == 200

    assert client.delete(f"{searches}/retards", params={"force": "true"}).status_code == 204
    assert client.get(f"{searches}/retards").status_code == 404
    ctx.state.delete_spec("saved_search", "other")  # as a delete before this check did
    listed = {r["name"]: r for r in client.get(RULES).json()}
    for name in ("r1", "r2"):
        assert (listed[name]["enabled"], listed[name]["status"]) == (False, "error")
        assert "'retards' was deleted" in listed[name]["error"]
    assert (listed["r3"]["enabled"], listed["r3"]["status"]) == (True, "error")
    assert client.get(f"{RULES}/r3").json()["error"] == listed["r3"]["error"]

    caplog.set_level(logging.INFO, logger="veille.alerting")
    for _ in range(3):
        outcomes = Evaluator(ctx.state, ctx.index).run_once()
    assert [o.note for o in outcomes if o.rule == "r3"] == [f"error: {listed['r3']['error']}"]
    # Veille's own lines: the test client logs each URL it requests (…/alert-rules/r3)
    # whenever an earlier test left the root logger at INFO.
    ours = [r for r in caplog.records if r.name.startswith("veille")]
    lines = [r for r in ours if "r3" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.WARNING and lines[0].exc_info is None
    assert not [r for r in ours if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"target": "Nobody"}, 422),
        ({"target_type": "saved_search", "target": "missing"}, 422),
        ({"detector": {"bucket": "soon"}}, 422),
        ({"detector": {"baseline_window": "1h", "bucket": "1h"}}, 422),
        ({"channels": [{"type": "sms", "target": "X"}]}, 422),
        # a secret itself is refused: only the NAME of where it lives is accepted
        (
            {"channels": [{"type": "slack", "target": "https://hooks.slack.com/services/T/B/x"}]},
            422,
        ),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Mars/Olympus"}}, 422),
        ({"channels": [{"type": "slack", "target": "A"}, {"type": "slack", "target": "A"}]}, 422),
    ],
)
def test_invalid_rules_are_refused(client: TestClient, fields: dict[str, Any], status: int) -> None:
    assert client.post(RULES, json=_rule(**fields)).status_code == status


def test_a_rule_on_a_misspelt_brand_says_which_names_exist(client: TestClient) -> None:
    typo = client.post(RULES, json=_rule(target="Velorya"))
    assert typo.status_code == 422
    assert "no brand or competitor is named 'Velorya'" in typo.json()["detail"]
    assert "did you mean Veloria?" in typo.json()["detail"]
    by_alias = client.post(RULES, json=_rule(target="@veloria", channels=[]))
    assert by_alias.status_code == 201, by_alias.text  # an alias names the brand too


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "volume_surge"}, "kind", "volume_spike"),
        ({"detector": {"baseline_window": "-3d"}}, "detector", "baseline_window"),
        ({"detector": {"baseline_window": -259200}}, "detector", "baseline_window"),
        ({"detector": {"sensitivity": "extreme"}}, "detector", "sensitivity"),
        ({"detector": {"sensitivity": 0}}, "detector", "sensitivity"),
        ({"detector": {"sensitivity": True}}, "detector", "sensitivity"),
        ({"detector": {"bucket": "1d", "baseline_window": "1d"}}, "detector", "bucket"),
        ({"cooldown": "-1h"}, "cooldown", "duration"),
        ({"grouping_window": -60}, "grouping_window", "negative"),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_field_and_changes_nothing_stored(
    client: TestClient, fields: dict[str, Any], field: str, words: str
) -> None:
    assert client.post(RULES, json=_rule(cooldown="2h")).status_code == 201
    before = client.get(RULES).json()
    for response in (
        client.post(RULES, json=_rule(name="other", **fields)),
        client.put(f"{RULES}/veloria-spike", json=_rule(**fields)),
        client.post(f"{RULES}/backtest", json=_rule(name="other", **fields)),
    ):
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in problem["errors"]] == [field]
        assert words in problem["detail"]
    assert client.get(RULES).json() == before


def test_every_brand_and_competitor_has_default_rules_that_can_be_replaced(
    client: TestClient,
) -> None:
    names = [r["name"] for r in client.get(RULES).json()]
    defaults = [
        "Veloria: volume spike",
        "Veloria: negative share",
        "Trekko: volume spike",
        "Trekko: negative share",
    ]
    assert names == defaults
    spike = client.get(f"{RULES}/Veloria: volume spike").json()
    assert (spike["target_type"], spike["target"], spike["channels"]) == ("brand", "Veloria", [])
    # marked, so that the dashboard offers no delete for it
    assert spike["default"] is True
    assert all(r["default"] for r in client.get(RULES).json())
    assert client.delete(f"{RULES}/Veloria: volume spike").status_code == 409
    assert client.post(RULES, json=spike).status_code == 409
    # add a channel: a stored replacement, listed once
    spike["channels"] = [
        {"type": "slack", "target": "VEILLE_SLACK_WEBHOOK_MARKETING", "language": "en"}
    ]
    replaced = client.put(f"{RULES}/Veloria: volume spike", json=spike)
    assert replaced.status_code == 200, replaced.text
    listed = client.get(RULES).json()
    assert sorted(r["name"] for r in listed) == sorted(defaults)
    mine = next(r for r in listed if r["name"] == "Veloria: volume spike")
    assert mine["channels"] == spike["channels"]
    assert mine["default"] is False  # a stored rule (sent back with its `default`: accepted)
    assert client.get(f"{RULES}/Veloria: volume spike").json()["default"] is False
    # deleting the replacement brings the default back
    assert client.delete(f"{RULES}/Veloria: volume spike").status_code == 204
    back = client.get(f"{RULES}/Veloria: volume spike").json()
    assert (back["channels"], back["default"]) == ([], True)


def test_default_rules_can_be_turned_off(ctx: ServiceContext, api_key: str) -> None:
    settings = ctx.settings.model_copy(
        update={
            "alerting": ctx.settings.alerting.model_copy(
                update={"brand_rules": BrandRulesSettings(enabled=False)}
            )
        }
    )
    ctx.settings = settings
    with TestClient(app_for(ctx), headers={"X-API-Key": api_key}) as client:
        assert client.get(RULES).json() == []


def test_a_rule_backtests_over_the_api_as_stored_or_before_saving(
    client: TestClient, ctx: ServiceContext
) -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(1, 6 * 24)]
    mentions = [
        make_mention(text="Veloria", brands=["Veloria"], published_at=ts + timedelta(minutes=m))
        for ts in hours
        for m in (10, 40)
    ]
    burst = now - timedelta(hours=4)
    mentions += [
        make_mention(
            text="Veloria recall", brands=["Veloria"], published_at=burst + timedelta(seconds=s)
        )
        for s in range(0, 3600, 60)
    ]
    ctx.index.upsert(mentions)
    rule = _rule(detector={"bucket": "1h", "min_volume": 5, "min_run": 1, "warmup": "2d"})
    before = client.post(f"{RULES}/backtest", params={"since": "7d"}, json=rule)
    assert before.status_code == 200, before.text
    report = before.json()
    (alert,) = report["alerts"]
    assert alert["start"] == burst.isoformat()
    assert set(report["thresholds"]) >= {"low", "medium", "high", "rule"}
    assert isinstance(report["near_misses"], list)
    assert client.post(RULES, json=rule).status_code == 201
    stored = client.post(
        f"{RULES}/veloria-spike/backtest", params={"since": "7d", "explain": "true"}
    )
    assert stored.status_code == 200, stored.text
    (explained,) = stored.json()["alerts"]
    assert explained["start"] == alert["start"]
    buckets = explained["explanation"]["buckets"]
    assert max(b["observed"] for b in buckets) == 62  # the burst and the usual two
    assert client.post(f"{RULES}/nope/backtest").status_code == 404
    bad_since = client.post(f"{RULES}/veloria-spike/backtest", params={"since": "soon"})
    assert bad_since.status_code == 422 and "since" in bad_since.json()["detail"]


def test_events_list_their_deliveries(client: TestClient, ctx: ServiceContext) -> None:
    first = ctx.state.record_alert_event(
        rule_name="veloria-spike",
        kind="volume_spike",
        status="firing",
        dedupe_key="2026-11-01T10:00:00+00:00",
        numbers={"observed": 40, "expected": 2.5},
        channels=["slack:SLACK_WEBHOOK_MARKETING", "email:ALERT_EMAIL_TEAM"],
        baseline={"method": "median", "season": "daily", "window_seconds": 1209600, "score": 6},
    )
    second = ctx.state.record_alert_event(
        rule_name="other",
        kind="drop",
        status="firing",
        dedupe_key="k",
        numbers={},
        channels=[],
    )
    assert first is not None and second is not None
    (claimed, in_doubt) = ctx.state.claim_deliveries(limit=2, lease_seconds=5)
    assert ctx.state.begin_delivery(
        claimed.delivery_id, attempt_id=claimed.attempt_id, lease_seconds=5
    )
    ctx.state.mark_delivery_sent(claimed.delivery_id, attempt_id=claimed.attempt_id)
    # The second one's worker "dies" mid-send; the next one parks it as unknown.
    assert ctx.state.begin_delivery(
        in_doubt.delivery_id, attempt_id=in_doubt.attempt_id, lease_seconds=5
    )
    ctx.state.mark_delivery_unknown(
        in_doubt.delivery_id, note="in doubt", attempt_id=in_doubt.attempt_id
    )

    page = client.get(EVENTS).json()
    assert [e["id"] for e in page["events"]] == [second, first]
    event = page["events"][1]
    assert event["numbers"] == {"observed": 40, "expected": 2.5}
    # the explanation stored with the event, every field named (null: not of this method)
    assert event["baseline"] == {
        "method": "median",
        "season": "daily",
        "window_seconds": 1209600,
        "level_seconds": None,
        "percentile": None,
        "digest": None,
        "count": None,
        "kinds": None,
        "bucket_seconds": None,
        "sensitivity": None,
        "threshold": None,
        "observed": None,
        "expected": None,
        "score": 6.0,
    }
    assert page["events"][0]["baseline"] is None  # none stored: the sentence, if any
    assert [(d["channel"], d["status"], d["attempts"]) for d in event["deliveries"]] == [
        ("email:ALERT_EMAIL_TEAM", "sent", 1),
        ("slack:SLACK_WEBHOOK_MARKETING", "unknown", 1),
    ]
    unknown = event["deliveries"][1]
    assert "may or may not have arrived" in unknown["note"]
    assert unknown["last_error"] == "in doubt"
    assert [e["id"] for e in client.get(EVENTS, params={"rule": "other"}).json()["events"]] == [
        second
    ]
    paged = client.get(EVENTS, params={"limit": 1}).json()
    assert paged["next_before"] == second
    older = client.get(EVENTS, params={"limit": 1, "before": second}).json()
    assert [e["id"] for e in older["events"]] == [first]
    assert client.get(f"{EVENTS}/{first}").json()["id"] == first
    assert client.get(f"{EVENTS}/99999").status_code == 404

    # A person checked Slack, the message is not there: send it again.
    slack = "slack:SLACK_WEBHOOK_MARKETING"
    resent = client.post(f"{EVENTS}/{first}/deliveries/{slack}/resend")
    assert resent.status_code == 200, resent.text
    statuses = {d["channel"]: d["status"] for d in resent.json()["deliveries"]}
    assert statuses == {"email:ALERT_EMAIL_TEAM": "sent", slack: "pending"}
    (due,) = ctx.state.claim_deliveries(limit=5, lease_seconds=5)
    assert (due.channel, due.in_doubt) == (slack, False)
    again = client.post(f"{EVENTS}/{first}/deliveries/email:ALERT_EMAIL_TEAM/resend")
    assert again.status_code == 409 and "this one is sent" in again.json()["detail"]
    missing = client.post(f"{EVENTS}/{first}/deliveries/webhook:NOPE/resend")
    assert (
        missing.status_code == 404 and "no delivery to 'webhook:NOPE'" in missing.json()["detail"]
    )


def test_the_chart_png_is_served_without_a_key_to_whoever_has_its_token(
    ctx: ServiceContext,
) -> None:
    def record(key: str, series: list[list[Any]]) -> tuple[int, str]:
        event_id = ctx.state.record_alert_event(
            rule_name="veloria-spike",
            kind="volume_spike",
            status="firing",
            dedupe_key=key,
            numbers={"observed": 40, "expected": 2.5, "series": series},
            channels=["slack:SLACK_WEBHOOK_MARKETING"],
        )
        assert event_id is not None
        token = ctx.state.get_alert_event(event_id).chart_token
        assert token is not None
        return event_id, token

    rising = [["2026-11-01T08:00:00+00:00", 2, 2], ["2026-11-01T09:00:00+00:00", 40, 40]]
    event_id, token = record("a", rising)
    # Changed in its last character (a fixed "x" was no change for 1 token in 64).
    wrong_token = token[:-1] + ("y" if token.endswith("x") else "x")
    flat_id, flat_token = record("b", rising[:1])
    with TestClient(app_for(ctx)) as anonymous:  # Slack has no API key
        chart = anonymous.get(f"{EVENTS}/{event_id}/chart.png", params={"token": token})
        assert chart.status_code == 200
        assert chart.headers["content-type"] == "image/png"
        assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert "max-age" in chart.headers["cache-control"]
        for path, params in (
            (f"{EVENTS}/{event_id}/chart.png", {"token": wrong_token}),
            (f"{EVENTS}/{event_id + 99}/chart.png", {"token": token}),
            (f"{EVENTS}/{flat_id}/chart.png", {"token": flat_token}),
        ):
            refused = anonymous.get(path, params=params)
            assert refused.status_code == 404, path
            assert refused.json()["title"] == "Chart not found"
        assert anonymous.get(f"{EVENTS}/{event_id}/chart.png").status_code == 422
        # the token is a capability for the chart only: the event itself still needs a key
        assert anonymous.get(f"{EVENTS}/{event_id}", params={"token": token}).status_code == 401


def test_alerting_endpoints_need_a_key(ctx: ServiceContext) -> None:
    with TestClient(app_for(ctx)) as anonymous:
        assert anonymous.get(RULES).status_code == 401
        assert anonymous.get(EVENTS).status_code == 401


def test_events_of_one_brand_are_its_default_and_stored_rules(
    client: TestClient, ctx: ServiceContext
) -> None:
    """What the dashboard shows on a brand's board: not another brand's alerts."""
    assert client.post(RULES, json=_rule(channels=[])).status_code == 201  # on Veloria
    for i, rule in enumerate(
        ["Veloria: volume spike", "Trekko: negative share", "veloria-spike", "other"]
    ):
        ctx.state.record_alert_event(
            rule_name=rule,
            kind="volume_spike",
            status="firing",
            dedupe_key=f"k{i}",
            numbers={},
            channels=[],
        )
    veloria = client.get(EVENTS, params={"brand": "veloria"}).json()["events"]
    assert [e["rule"] for e in veloria] == ["veloria-spike", "Veloria: volume spike"]
    trekko = client.get(EVENTS, params={"brand": "Trekko", "limit": 1}).json()
    assert [e["rule"] for e in trekko["events"]] == ["Trekko: negative share"]
    assert trekko["next_before"] is not None  # a full page: there may be more
    by_alias = client.get(EVENTS, params={"brand": "@VELORIA"}).json()["events"]
    assert [e["rule"] for e in by_alias] == ["veloria-spike", "Veloria: volume spike"]
    typo = client.get(EVENTS, params={"brand": "Velorya"})
    assert typo.status_code == 404
    assert "no brand or competitor is named 'Velorya'" in typo.json()["detail"]
    assert "did you mean Veloria?" in typo.json()["detail"]
    # a name no longer watched still finds the events of its rules
    ctx.state.record_alert_event(
        rule_name="Gone: drop",
        kind="drop",
        status="firing",
        dedupe_key="g",
        numbers={},
        channels=[],
    )
    gone = client.get(EVENTS, params={"brand": "Gone"}).json()["events"]
    assert [e["rule"] for e in gone] == ["Gone: drop"]
    assert len(client.get(EVENTS).json()["events"]) == 5


def test_brands_are_listed_yaml_first_then_those_added(client: TestClient) -> None:
    """The dashboard opens on the first: the workspace's own brand, not one added later."""
    added = client.post(f"{API_PREFIX}/brands", json={"name": "Aardvark"})
    assert added.status_code == 201, added.text
    assert [b["name"] for b in client.get(f"{API_PREFIX}/brands").json()] == [
        "Veloria",
        "Aardvark",
    ]


def test_saving_a_rule_warns_of_a_channel_secret_not_set_but_keeps_the_rule(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_SLACK_WEBHOOK_MARKETING", "https://hooks.slack.com/services/T/B/x")
    for name in ("VEILLE_ALERT_HOOK", "VEILLE_ALERT_HOOK_SECRET", "VEILLE_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    channels = [
        {"type": "slack", "target": "VEILLE_SLACK_WEBHOOK_MARKETING"},
        {"type": "webhook", "target": "VEILLE_ALERT_HOOK"},
    ]
    created = client.post(RULES, json=_rule(channels=channels, quiet_hours=None))
    assert created.status_code == 201, created.text
    warnings = created.json()["warnings"]
    assert [w.split(": secret ")[1].split()[0] for w in warnings] == [
        "VEILLE_ALERT_HOOK",
        "VEILLE_ALERT_HOOK_SECRET",
    ]
    assert "https://" not in " ".join(warnings)  # names only, never a value
    # the same, as codes a client words in its own language
    assert created.json()["warning_codes"] == [
        {"channel": "webhook:VEILLE_ALERT_HOOK", "code": "secret_not_set", "name": name}
        for name in ("VEILLE_ALERT_HOOK", "VEILLE_ALERT_HOOK_SECRET")
    ]
    assert client.get(f"{RULES}/veloria-spike").status_code == 200
    monkeypatch.setenv("VEILLE_ALERT_HOOK", "https://example.org/hook")
    monkeypatch.setenv("VEILLE_ALERT_HOOK_SECRET", "k")
    # the answer sent back as it came (warnings included) replaces the rule
    replaced = client.put(f"{RULES}/veloria-spike", json=created.json())
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["warnings"] == [] and replaced.json()["warning_codes"] == []
    assert "warnings" not in client.get(f"{RULES}/veloria-spike").json()


def test_a_saved_search_rule_with_an_auto_bucket_is_sized_by_the_searchs_volume(
    client: TestClient, ctx: ServiceContext
) -> None:
    # A narrow search: 3 mentions a day for two weeks, too few for 5-minute (or hourly)
    # buckets: "auto" chooses a day, as for a quiet brand.
    now = utcnow()
    ctx.index.upsert(
        [
            make_mention(
                text="Veloria livraison en retard", published_at=now - timedelta(hours=8 * i)
            )
            for i in range(3 * 14)
        ]
    )
    assert (
        client.post(
            f"{API_PREFIX}/saved-searches", json={"name": "retards", "query": "livraison"}
        ).status_code
        == 201
    )
    rule = _rule(name="retards", target_type="saved_search", target="retards", channels=[])
    auto = {**rule, "detector": {"bucket": "auto", "sensitivity": "high"}}
    created = client.post(RULES, json=auto)
    assert created.status_code == 201, created.text
    assert created.json()["detector"]["bucket"] == "auto"  # sized when used, not frozen
    report = client.post(f"{RULES}/retards/backtest", params={"since": "14d"})
    assert report.status_code == 200, report.text
    assert report.json()["bucket"] == "1d"
    assert 13 <= report.json()["buckets"] <= 15
    outcomes = {o.rule: o for o in Evaluator(ctx.state, ctx.index).run_once()}
    assert not outcomes["retards"].note.startswith("error"), outcomes["retards"].note
    # "auto" may choose a day: a baseline of one day cannot hold two of them.
    short = {**rule, "name": "short", "detector": {"bucket": "auto", "baseline_window": "1d"}}
    refused = client.post(RULES, json=short)
    assert refused.status_code == 422
    assert "bucket" in refused.text and "baseline_window" in refused.text
