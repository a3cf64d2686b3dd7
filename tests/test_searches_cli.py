"""The command line and other people's private saved searches: it acts as the
installation, so `searches list`, `alerts list` and `report list` show everything and mark
what is private and whose; `--as NAME` shows what NAME sees over the API (rules, reports
and backtests on someone else's private search hidden, unless NAME is an admin). Subprocesses over
a real SQLite file, the searches stored as the API stores them."""

from __future__ import annotations

import json
from pathlib import Path

from services.alerting import saved_searches as ss
from services.alerting.rules import AlertRule
from services.core.reports import ReportDefinition
from services.reports.store import Definitions
from services.store.state import open_state
from tests.cli_runner import veille
from tests.e2e.service import write_workspace


def _searches(tmp_path: Path) -> str:
    config = str(write_workspace(tmp_path, sources=[]))
    for person, role in (("Ana", "analyst"), ("Bob", "analyst"), ("Cleo", "admin")):
        added = veille("users", "add", person, "--role", role, "--config", config)
        assert added.returncode == 0, added.stderr
    state = open_state(f"sqlite:///{tmp_path}/data/veille.db")
    try:
        for name, owner, visibility in (
            ("ana-private", "Ana", "private"),
            ("bob-private", "Bob", "private"),
            ("team", "Bob", "shared"),
        ):
            search = ss.SavedSearchIn(name=name, query="veloria", visibility=visibility)
            state.put_spec(
                ss.KIND,
                name=name,
                spec=ss.to_record_spec(search),
                owner=owner,
                visibility=visibility,
            )
        rule = AlertRule.model_validate(
            {
                "name": "bob-watch",
                "target_type": "saved_search",
                "target": "bob-private",
                "kind": "new_mention",
            }
        )
        state.put_spec(
            "alert_rule", name=rule.name, spec=rule.model_dump(mode="json"), owner="Bob",
            visibility="shared",
        )  # fmt: skip
    finally:
        state.close()
    Definitions(tmp_path / "data", []).put(
        ReportDefinition(name="bob-weekly", saved_search="bob-private"), create_only=True
    )
    return config


def test_the_cli_shows_every_search_marked_and_as_one_person_what_they_see(
    tmp_path: Path,
) -> None:
    config = _searches(tmp_path)

    everything = veille("searches", "list", "--config", config)
    assert everything.returncode == 0, everything.stderr
    rows = {
        cells[0]: cells[1:]
        for line in everything.stdout.splitlines()
        if "│" in line and (cells := [c.strip() for c in line.split("│")[1:-1]])[0]
    }
    assert rows["ana-private"][:2] == ["Ana", "private to Ana"]
    assert rows["bob-private"][:2] == ["Bob", "private to Bob"]
    listed = json.loads(veille("searches", "list", "--json", "--config", config).stdout)
    bob = next(s for s in listed if s["name"] == "bob-private")
    assert (bob["alert_rules"], bob["reports"]) == (["bob-watch"], ["bob-weekly"])
    assert rows["team"][:2] == ["Bob", "shared"]
    assert "the command line acts as the installation" in " ".join(everything.stdout.split())

    as_ana = json.loads(
        veille("searches", "list", "--as", "Ana", "--json", "--config", config).stdout
    )
    assert [(s["name"], s["owner"], s["visibility"]) for s in as_ana] == [
        ("ana-private", "Ana", "private"),
        ("team", "Bob", "shared"),
    ]

    # What is built on Bob's private search is unknown to Ana, as over the API; its
    # owner and the admins see it, and the command line without --as sees everything.
    def rules_as(*viewer: str) -> list[str]:
        listed = veille("alerts", "list", *viewer, "--json", "--config", config)
        assert listed.returncode == 0, listed.stderr
        return [r["name"] for r in json.loads(listed.stdout)]

    assert "bob-watch" not in rules_as("--as", "Ana")
    for viewer in ([], ["--as", "Bob"], ["--as", "Cleo"]):
        assert "bob-watch" in rules_as(*viewer)
    rules = " ".join(veille("alerts", "list", "--config", config).stdout.split())
    assert "bob-private (private to Bob)" in rules
    rules_json = json.loads(veille("alerts", "list", "--json", "--config", config).stdout)
    watch = next(r for r in rules_json if r["name"] == "bob-watch")
    assert (watch["owner"], watch["target_owner"], watch["target_visibility"]) == (
        "Bob",
        "Bob",
        "private",
    )
    reports = " ".join(veille("report", "list", "--config", config).stdout.split())
    assert "bob-weekly" in reports and "bob-private (private to Bob)" in reports
    for who, shown in (("Ana", False), ("Bob", True), ("Cleo", True)):
        listed = veille("report", "list", "--as", who, "--config", config)
        assert listed.returncode == 0, listed.stderr
        assert ("bob-weekly" in listed.stdout) is shown, who

    # A backtest on Bob's search, or of his rule, is refused as Ana, as the API does.
    rule_file = tmp_path / "spike.yaml"
    rule_file.write_text("kind: volume_spike\n")
    backtest = ["alerts", "backtest", "--rule", str(rule_file), "--search", "bob-private"]
    assert veille(*backtest, "--config", config).returncode == 0
    assert veille(*backtest, "--as", "Bob", "--config", config).returncode == 0
    hidden = veille(*backtest, "--as", "Ana", "--config", config)
    assert hidden.returncode == 2
    assert "no saved search is named 'bob-private'" in hidden.stderr
    by_name = veille("alerts", "backtest", "--name", "bob-watch", "--as", "Ana", "--config", config)
    assert by_name.returncode == 2 and "no alert rule is named 'bob-watch'" in by_name.stderr

    # Using a search: as Ana, Bob's private one is unknown, as the API answers.
    export = ["export", "mentions", "-s", "bob-private", "--config", config]
    assert veille(*export).returncode == 0
    refused = veille(*export, "--as", "Ana")
    assert refused.returncode == 2
    assert "no saved search is named 'bob-private'" in refused.stderr
    # an admin may read and export it by its name, as over the API (where it is audited)
    assert veille(*export, "--as", "Cleo").returncode == 0
    listed = veille("searches", "list", "--as", "Cleo", "--config", config, "--json")
    assert "bob-private" not in {s["name"] for s in json.loads(listed.stdout)}  # not listed

    nobody = veille("searches", "list", "--as", "Nobody", "--config", config)
    assert nobody.returncode == 2 and "--as 'Nobody': no person, service or key" in nobody.stderr
    assert "Traceback" not in nobody.stderr + refused.stderr + hidden.stderr + by_name.stderr


def test_a_query_that_reads_as_markup_is_listed_as_written(tmp_path: Path) -> None:
    """A query is the user's text: '"[/b]"' once made rich raise MarkupError (a traceback)
    and '[bold]' vanish into a style."""
    config = str(write_workspace(tmp_path, sources=[]))
    state = open_state(f"sqlite:///{tmp_path}/data/veille.db")
    try:
        search = ss.SavedSearchIn(name="odd", query='"[/b]" OR "[bold]x"', visibility="shared")
        ss.validate_query(search)
        state.put_spec(
            ss.KIND, name="odd", spec=ss.to_record_spec(search), owner=None, visibility="shared"
        )
    finally:
        state.close()
    listed = veille("searches", "list", "--config", config)
    assert listed.returncode == 0, listed.stderr
    assert '"[/b]" OR "[bold]x"' in listed.stdout
