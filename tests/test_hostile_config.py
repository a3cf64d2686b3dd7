"""Hostile configuration: alias bombs, recursive aliases, deep nesting, over-long source
URLs, and environment variables written the way people write them.

Each is a clear message with its file and line (or the variable), never a traceback;
the alias bomb is also checked from outside the process: `veille config check` must
refuse it in seconds and small memory (it once took 3 GB and 30 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.workspace import ConfigError, load_workspace
from tests.bounded_run import run_bounded, veille

BRAND = "brands:\n  - name: Veloria\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)  # nine lines, 9^9 (387 million) values once expanded


def _workspace(tmp_path: Path, text: str) -> Path:
    (tmp_path / "veille.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_workspace(folder)
    return [str(p) for p in raised.value.problems]


def test_an_alias_bomb_is_refused_in_seconds_and_small_memory(tmp_path: Path) -> None:
    assert len(BOMB.splitlines()) == 9
    folder = _workspace(tmp_path, BRAND + BOMB)

    done = run_bounded(veille("config", "check", "--config", str(folder)), timeout=90)

    assert not done.killed, "config check did not finish"
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    assert "alias bomb" in done.stdout + done.stderr
    assert f"{folder / 'veille.yaml'}:" in done.stdout + done.stderr  # file and line
    assert done.peak_rss_mb < 400, f"peak memory {done.peak_rss_mb:.0f} MB"
    # The CLI's start-up dominates (imports); the check itself is milliseconds.
    assert done.seconds < 60


def test_a_recursive_alias_names_its_file_and_line(tmp_path: Path) -> None:
    folder = _workspace(
        tmp_path,
        BRAND + "sources: &s\n  - name: x\n    url: https://example.org/\n    options: *s\n",
    )
    assert _problems(folder) == [
        f"{folder / 'veille.yaml'}:6: invalid YAML: recursive alias *s: it refers to a node "
        "that contains it"
    ]


def test_aliases_within_bounds_still_work(tmp_path: Path) -> None:
    text = (
        "brands:\n  - name: Veloria\n    aliases: &names [Veloria Bikes, '@veloria']\n"
        "competitors:\n  - name: Trekko\n    exclusions: *names\n"
    )
    loaded = load_workspace(_workspace(tmp_path, text))
    assert loaded.workspace.competitors[0].exclusions == ["Veloria Bikes", "@veloria"]


def test_deep_nesting_is_refused_without_a_traceback(tmp_path: Path) -> None:
    folder = _workspace(tmp_path, "brands: " + "[" * 20_000 + "]" * 20_000 + "\n")
    (problem,) = _problems(folder)
    assert "nested too deeply" in problem


def test_a_yaml_source_url_too_long_once_normalised_names_its_line(tmp_path: Path) -> None:
    url = "http://example.org?" + "q=" * 1030  # 2,079 characters; 2,080 once stored
    folder = _workspace(tmp_path, BRAND + f"sources:\n  - name: long\n    url: {url}\n")
    (problem,) = _problems(folder)
    assert problem.startswith(f"{folder / 'veille.yaml'}:5: sources[0].url: ")
    assert "too long" in problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.0/8", ["10.0.0.0/8"]),
        ("10.0.0.0/8, 192.168.0.0/16", ["10.0.0.0/8", "192.168.0.0/16"]),
        ('["10.0.0.0/8"]', ["10.0.0.0/8"]),
    ],
)
def test_a_list_in_the_environment_may_be_plain_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("VEILLE_COLLECTOR__ALLOWED_NETWORKS", value)
    loaded = load_workspace(_workspace(tmp_path, BRAND))
    assert loaded.settings.collector.allowed_networks == expected


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "VEILLE_COLLECTOR__ALLOWED_NETWORKS",
            "10.0.0.0/8,nowhere",
            "environment variable VEILLE_COLLECTOR__ALLOWED_NETWORKS: "
            "settings.collector.allowed_networks: Value error, 'nowhere' does not appear",
        ),
        (
            "VEILLE_API__PORT",
            "eighty",
            "environment variable VEILLE_API__PORT: settings.api.port: Input should be",
        ),
        ("VEILLE_COLLECTOR", "{", "environment: VEILLE_COLLECTOR: cannot be read"),
    ],
)
def test_an_environment_mistake_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    (problem,) = _problems(_workspace(tmp_path, BRAND))
    assert problem.startswith(expected)


def test_an_environment_mistake_is_a_message_from_the_cli(tmp_path: Path) -> None:
    folder = _workspace(tmp_path, BRAND)
    done = run_bounded(
        veille("config", "check", "--config", str(folder)),
        timeout=90,
        env={"VEILLE_COLLECTOR__ALLOWED_NETWORKS": "10.0.0.0/8,nowhere"},
    )
    assert done.returncode != 0 and not done.killed
    assert "Traceback" not in done.stdout + done.stderr
    assert "VEILLE_COLLECTOR__ALLOWED_NETWORKS" in done.stdout + done.stderr


def test_rules_and_selectors_refuse_alias_bombs_with_their_own_errors() -> None:
    from services.alerting.rules import RuleError, rule_from_yaml
    from services.collector.web.forums import load_selectors

    with pytest.raises(RuleError, match="alias bomb"):
        rule_from_yaml(BOMB, source="rule.yaml")
    with pytest.raises(ValueError, match="alias bomb"):
        load_selectors(BOMB)
    with pytest.raises(ValueError, match="not valid YAML"):
        load_selectors("post: [unclosed")  # was a yaml error, a traceback in the CLI


def test_expressions_file_alias_bomb(tmp_path: Path) -> None:
    from services.analyzer.sentiment.expressions import ExpressionsError, load_expressions

    path = tmp_path / "expressions.yaml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(ExpressionsError, match="alias bomb"):
        load_expressions(path)
