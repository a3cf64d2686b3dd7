"""The `veille` command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import BASE_ENV, REPO, veille
from tests.e2e.service import write_workspace
from tests.ports import refusing_port

COMMANDS = [
    ["up"],
    ["workspaces", "delete"],
    ["collect"],
    ["analyze"],
    ["api"],
    ["import"],
    ["config", "check"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
    ["sources", "status"],
    ["sources", "kinds"],
    ["sources", "preview"],
    ["alerts", "run"],
    ["alerts", "list"],
    ["searches", "list"],
    ["eval"],
    ["train"],
    ["reanalyze"],
    ["alerts", "backtest"],
    ["migrate"],
    ["migrate-state"],
    ["store", "dead-letters", "list"],
    ["store", "dead-letters", "retry"],
    ["store", "dead-letters", "drop"],
    ["health"],
    ["topics", "emerging"],
    ["topics", "list"],
    ["topics", "add"],
    ["topics", "remove"],
    ["report", "run"],
    ["report", "list"],
    ["report", "preview"],
    ["export", "mentions"],
    ["export", "stats"],
    ["demo", "remove"],
    ["brands", "check"],
    ["retention", "show"],
    ["retention", "apply"],
    ["erase"],
    ["erasure", "lift"],
    ["gdpr", "export"],
    ["triage", "list"],
    ["triage", "set"],
    ["triage", "note"],
    ["triage", "notes"],
    ["triage", "bulk"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = veille(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_config_check_accepts_the_example() -> None:
    result = veille("config", "check")
    assert result.returncode == 0, result.stderr
    expected = "OK: config/veille.yaml: 1 brand(s), 2 competitor(s), 3 source(s), 5 topic(s)"
    assert expected in result.stdout


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[]))
    key = veille("keys", "create", "--name", "ci", "--quiet", "--config", config).stdout.strip()
    assert key.startswith("vk_")
    listing = veille("keys", "list", "--config", config).stdout
    key_id = key.split("_")[1]
    assert key_id in listing and "ci" in listing
    assert key.split("_", 2)[2] not in listing  # the secret is never shown again
    assert veille("keys", "revoke", key_id, "--config", config).returncode == 0
    assert "revoked" in veille("keys", "list", "--config", config).stdout


def test_unknown_source_is_a_clear_error(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[]))
    result = veille("collect", "--once", "-s", "nope", "--config", config)
    assert result.returncode == 1
    assert "unknown source(s): nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_topics_emerging_explains_a_bad_date_and_reports_an_empty_store(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[]))
    bad = veille("topics", "emerging", "--since", "last tuesday", "--config", config)
    assert bad.returncode == 1
    assert "is not an ISO 8601 date" in bad.stderr
    assert "Traceback" not in bad.stderr
    empty = veille("topics", "emerging", "--since", "2026-01-01", "--json", "--config", config)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["topics"] == []
    relative = veille("topics", "emerging", "--since", "30d", "--json", "--config", config)
    assert relative.returncode == 0, relative.stderr  # as `reanalyze --since` accepts


@pytest.mark.slow
def test_import_analyzes_good_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[]))
    export = tmp_path / "export.jsonl"
    rows = [
        {"id": "p1", "text": "Je déteste attendre, la livraison Veloria a un mois de retard."},
        {"url": "https://forum.example/t/2", "text": "Veloria support was brilliant, thanks!"},
        {"text": "no id nor url"},
        "not an object",
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + ["{broken json"]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = veille("import", str(export), "--config", config)
    assert result.returncode == 0, result.stderr
    assert "5 lines read, 2 new or changed mentions queued, 3 skipped" in result.stderr
    assert "line 3: needs an 'id' or a 'url'" in result.stderr
    assert "line 5: not valid JSON" in result.stderr
    assert "analyzed 2: 2 stored" in result.stderr
    again = veille("import", str(export), "--config", config)
    assert "0 new or changed mentions queued" in again.stderr  # importing twice changes nothing


def test_backtest_a_saved_search_on_its_stored_history(tmp_path: Path) -> None:
    from datetime import timedelta

    from services.alerting import saved_searches as ss
    from services.core.models import utcnow
    from services.store.contracts import open_index
    from services.store.state import open_state
    from tests.factories import make_mention

    config = write_workspace(tmp_path, sources=[])
    data = tmp_path / "data"
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(1, 7 * 24)]
    mentions = [
        make_mention(text=f"Veloria review {h}", published_at=ts + timedelta(minutes=m))
        for h, ts in enumerate(hours)
        for m in range(0, 60, 30)  # 2 an hour, every hour, for a week
    ]
    burst = now - timedelta(hours=5)
    mentions += [
        make_mention(text="Veloria recall", published_at=burst + timedelta(seconds=s))
        for s in range(60)
    ]
    index = open_index(f"embedded:{data}/index")
    index.upsert(mentions)
    index.close()
    state = open_state(f"sqlite:///{data}/veille.db")
    search = ss.SavedSearchIn(name="veloria", query="veloria")
    state.put_spec(
        ss.KIND, name="veloria", spec=ss.to_record_spec(search), owner=None, visibility="shared"
    )
    state.close()
    rule = tmp_path / "rule.yaml"
    rule.write_text(
        "kind: volume_spike\nbucket: 1h\nmin_volume: 5\nmin_run: 1\nwarmup: 2d\n", encoding="utf-8"
    )

    result = veille(
        "alerts",
        "backtest",
        "--rule",
        str(rule),
        "--search",
        "veloria",
        "--since",
        "7d",
        "--json",
        "--config",
        str(config),
    )
    assert result.returncode == 0, result.stderr
    alerts = json.loads(result.stdout)["alerts"]
    assert len(alerts) == 1
    assert alerts[0]["start"].startswith(burst.strftime("%Y-%m-%dT%H"))
    assert alerts[0]["observed"] > alerts[0]["expected"]

    no_target = veille("alerts", "backtest", "--rule", str(rule), "--config", str(config))
    assert no_target.returncode == 2 and "has no target" in no_target.stderr

    # A rule stored over the API backtests by its name, on its own target.
    from services.alerting.rules import AlertRule

    stored = AlertRule(
        name="veloria-burst",
        target_type="saved_search",
        target="veloria",
        kind="volume_spike",
        detector={"bucket": "1h", "min_volume": 5, "min_run": 1, "warmup": "2d"},
    )
    state = open_state(f"sqlite:///{data}/veille.db")
    state.put_spec(
        "alert_rule",
        name=stored.name,
        spec=stored.model_dump(mode="json"),
        owner=None,
        visibility="shared",
    )
    state.close()
    by_name = veille(
        "alerts",
        "backtest",
        "--name",
        "veloria-burst",
        "--since",
        "7d",
        "--json",
        "--config",
        str(config),
    )
    assert by_name.returncode == 0, by_name.stderr
    named = json.loads(by_name.stdout)["alerts"]
    assert [a.pop("rule") for a in named] == ["veloria-burst"]
    assert named == [{k: v for k, v in a.items() if k != "rule"} for a in alerts]
    unknown = veille("alerts", "backtest", "--name", "nope", "--config", str(config))
    assert unknown.returncode == 2 and "no alert rule is named 'nope'" in unknown.stderr


def test_up_on_a_taken_port_says_so_before_anything_starts(tmp_path: Path) -> None:
    import socket

    config = write_workspace(tmp_path, sources=[], demo_data=False)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = veille("up", "--config", str(config), "--port", str(port))
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr
    assert "Veille is up" not in result.stdout


def test_import_exits_non_zero_when_mentions_could_not_be_stored(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[], demo_data=False))
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps({"id": "p1", "text": "Veloria, encore en retard"}) + "\n")
    with refusing_port() as port:  # held for the whole run: the index is down
        down = {"VEILLE_STORE__INDEX_URL": f"http://127.0.0.1:{port}"}
        result = veille("import", export.name, "--config", config, cwd=tmp_path, env=down)
    assert "1 new or changed mentions queued" in result.stderr
    assert result.returncode == 1, result.stderr
    assert "1 mention(s) could not be analyzed or stored" in result.stderr
    assert "kept in the inbox" in result.stderr and "Traceback" not in result.stderr


VEILLE_UP = [sys.executable, "-m", "services.cli", "up"]


def test_up_no_api_runs_the_loops_without_listening(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    config = write_workspace(tmp_path, sources=[], demo_data=False)
    with socket.socket() as holder:  # the API's port is taken: --no-api does not need it
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        log = tmp_path / "up.log"
        with log.open("w") as sink:
            worker = subprocess.Popen(
                [*VEILLE_UP, "--no-api", "--config", str(config), "--port", str(port)],
                cwd=REPO,
                stdout=sink,
                stderr=sink,
                env=BASE_ENV,
            )
            deadline = time.monotonic() + 120
            while "loops are up" not in log.read_text() and time.monotonic() < deadline:
                assert worker.poll() is None, log.read_text()
                time.sleep(0.5)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "Veille's loops are up (1 workspace(s)), without the API" in text
    assert "workspace loops started" in text and "Uvicorn running" not in text
    assert "cannot listen" not in text and "Traceback" not in text
