"""Workspace loading: the example runs, and every mistake names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.workspace import ConfigError, load_workspace

REPO = Path(__file__).resolve().parents[1]


def test_the_example_workspace_is_valid() -> None:
    loaded = load_workspace(REPO / "config")
    assert [b.name for b in loaded.workspace.brands] == ["Veloria"]
    assert loaded.workspace.sources, "the example should poll at least one feed"


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "veille.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_workspace(tmp_path)
    return [str(p) for p in info.value.problems]


def test_every_mistake_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "brands:\n"
        "  - name: Acme\n"
        "    competitors: [Ghost]\n"
        "    colour: red\n"
        "sources:\n"
        "  - name: feed1\n"
        "    url: ftp://example.org/feed\n"
        "    query: '(a OR'\n"
        "settings:\n"
        "  api:\n"
        "    port: 99999\n",
    )
    file = str(tmp_path / "veille.yaml")
    assert f"{file}:4: brands[0].colour: unknown field" in problems[0]
    joined = "\n".join(problems)
    assert f"{file}:7: sources[0].url: URL scheme should be 'http' or 'https'" in joined
    assert f"{file}:11: settings.api.port:" in joined
    assert f"{file}:3: brands[0].competitors[0]: 'Ghost' is not declared" in joined
    assert f"{file}:8: sources[0].query: the query ends too early" in joined
    assert len(problems) == 5


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "brands:\n  - name: [unclosed\n")
    assert problems[0].startswith(str(tmp_path / "veille.yaml") + ":")
    assert "invalid YAML" in problems[0]


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("competitors:\n  - name: Trekko\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("competitors:\n  - name: trekko\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_workspace(tmp_path)
    (problem,) = info.value.problems
    assert problem.file.endswith("b.yaml") and problem.line == 2
    assert "already defined" in problem.message


def test_settings_layers_yaml_then_environment_then_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "veille.yaml").write_text(
        "settings:\n  api:\n    port: 7000\n    host: 0.0.0.0\n  log_level: DEBUG\n",
        encoding="utf-8",
    )
    assert load_workspace(tmp_path).settings.api.port == 7000
    monkeypatch.setenv("VEILLE_API__PORT", "7100")
    settings = load_workspace(tmp_path).settings
    assert (settings.api.port, settings.api.host) == (7100, "0.0.0.0")
    settings = load_workspace(tmp_path, overrides={"api.port": 7200, "log_level": "ERROR"}).settings
    assert (settings.api.port, settings.log_level) == (7200, "ERROR")


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \*\.yaml workspace file"):
        load_workspace(tmp_path)
