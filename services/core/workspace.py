"""The workspace: brands, competitors, sources and topics, read from `config/*.yaml`.

Every file in the config folder is read in name order and merged: lists
(`brands`, `competitors`, `sources`, `topics`) are concatenated, `settings` is merged key
by key. Mistakes are collected, not raised one at a time, each with the file,
line and field it is about, so `veille config check` can list them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import SettingsError

from services.core.models import Brand, Competitor, Source
from services.core.query import QuerySyntaxError, parse_query
from services.core.reports import ReportDefinition
from services.core.settings import Settings, build_settings, env_variable
from services.core.topics import Topic
from services.core.yaml_loading import load_config_yaml

MAX_CONFIG_BYTES = 2 * 1024 * 1024
_LISTS = frozenset({"brands", "competitors", "sources", "topics", "reports", "secrets"})

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(ValueError):
    """The workspace has mistakes; `problems` lists every one of them."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Workspace(BaseModel):
    """What a team watches: its brands, their competitors, and where to look."""

    model_config = ConfigDict(extra="forbid")

    brands: list[Brand] = Field(default_factory=list)
    competitors: list[Competitor] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    reports: list[ReportDefinition] = Field(default_factory=list)
    # The secret names this workspace's alert channels and reports may use
    # (services/alerting/secret_scope.py); None: not listed (`default` may use any).
    secrets: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


@dataclass
class LoadedWorkspace:
    workspace: Workspace
    settings: Settings
    files: list[str] = field(default_factory=list)


@dataclass
class _Located:
    """Merged YAML data plus where each value came from."""

    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[Path_, tuple[str, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> tuple[str, int | None]:
        # Walk up to the nearest located ancestor: a missing key is reported at its parent.
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return ("", None)


def config_files(config_dir: str | Path) -> list[Path]:
    """The YAML files that make up a workspace, in the order they are merged."""
    folder = Path(config_dir)
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


def load_workspace(
    config_dir: str | Path, *, overrides: dict[str, Any] | None = None
) -> LoadedWorkspace:
    """Reads and validates the workspace; raises ConfigError listing every mistake."""
    files = config_files(config_dir)
    if not files:
        raise ConfigError(
            [ConfigProblem(str(config_dir), None, "", "no *.yaml workspace file found here")]
        )
    located = _Located(
        data={
            "brands": [],
            "competitors": [],
            "sources": [],
            "topics": [],
            "reports": [],
            "settings": {},
        }
    )
    problems: list[ConfigProblem] = []
    for path in files:
        problems.extend(_merge_file(path, located))
    if problems:
        raise ConfigError(problems)

    workspace: Workspace | None = None
    try:
        workspace = Workspace.model_validate(located.data)
    except ValidationError as exc:
        problems.extend(_from_validation(exc, located, prefix=()))
    settings: Settings | None = None
    try:
        settings = build_settings(located.data.get("settings") or {}, overrides)
    except ValidationError as exc:
        problems.extend(_from_validation(exc, located, prefix=("settings",)))
    except SettingsError as exc:  # an environment variable pydantic-settings cannot decode
        problems.append(ConfigProblem("environment", None, "", _settings_error(exc)))
    problems.extend(_cross_check(located))
    if problems or workspace is None or settings is None:
        raise ConfigError(problems)
    return LoadedWorkspace(workspace, settings, [str(f) for f in files])


def _merge_file(path: Path, located: _Located) -> list[ConfigProblem]:
    name = str(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return [ConfigProblem(name, None, "", "file is larger than 2 MB; is it a config file?")]
        text = path.read_text(encoding="utf-8")
        node, data = load_config_yaml(text)  # aliases bounded: no alias bomb, no cycle
    except UnicodeDecodeError:
        return [ConfigProblem(name, None, "", "file is not UTF-8 text")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return [ConfigProblem(name, line, "", f"invalid YAML: {reason}")]
    except OSError as exc:
        return [ConfigProblem(name, None, "", f"cannot read: {exc.strerror}")]
    if data is None or node is None:
        return []
    if not isinstance(data, dict):
        return [ConfigProblem(name, 1, "", "the file must be a mapping (brands:, sources:, ...)")]

    problems = []
    offsets: dict[str, int] = {}
    for key, value in data.items():
        if key in _LISTS:
            if not isinstance(value, list):
                line = _node_line(node, (key,))
                problems.append(ConfigProblem(name, line, str(key), "must be a list"))
                continue
            offsets[key] = len(located.data.setdefault(key, []))
            located.data[key].extend(value)
        elif key == "settings" and isinstance(value, dict):
            _deep_merge(located.data["settings"], value)
        else:
            located.data[key] = value
    _record_lines(node, (), name, located, offsets)
    return problems


def _record_lines(
    node: yaml.Node, path: Path_, file: str, located: _Located, offsets: dict[str, int]
) -> None:
    located.lines.setdefault(path, (file, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            located.lines[(*path, key)] = (file, key_node.start_mark.line + 1)
            _record_lines(value_node, (*path, key), file, located, offsets)
    elif isinstance(node, yaml.SequenceNode):
        shift = offsets.get(str(path[0]), 0) if len(path) == 1 else 0
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index + shift), file, located, offsets)


def _node_line(node: yaml.Node, path: Path_) -> int | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.value == path[0]:
                return int(key_node.start_mark.line) + 1
    return None


def _deep_merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _field_name(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _from_validation(
    exc: ValidationError, located: _Located, *, prefix: Path_
) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(
            p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        path = (*prefix, *loc)
        file, line = located.where(path)
        variable = env_variable(loc) if prefix == ("settings",) else None
        if variable is not None:  # the environment overrides the file: blame the variable
            file, line = f"environment variable {variable}", None
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see the configuration reference)"
        problems.append(ConfigProblem(file, line, _field_name(path), message))
    return problems


def _settings_error(exc: SettingsError) -> str:
    # 'error parsing value for field "collector" from source "EnvSettingsSource"'
    text = str(exc).split("\n", 1)[0]
    section = text.split('"')[1] if text.count('"') >= 2 else ""
    names = [n for n in env_names() if section and n.startswith(f"VEILLE_{section.upper()}")]
    which = ", ".join(names) or f"VEILLE_{section.upper()}*"
    return (
        f"{which}: cannot be read ({text}); a list is written as comma-separated values "
        'or JSON (["a", "b"]), a section as JSON'
    )


def env_names() -> list[str]:
    """The VEILLE_ environment variables set, sorted."""
    import os

    return sorted(name for name in os.environ if name.upper().startswith("VEILLE_"))


def _cross_check(located: _Located) -> list[ConfigProblem]:
    """Checks what no single field can: unique names, declared competitors, valid queries.

    Works on the raw data so these mistakes are reported along with field errors.
    """
    problems: list[ConfigProblem] = []

    def report(path: Path_, message: str) -> None:
        file, line = located.where(path)
        problems.append(ConfigProblem(file, line, _field_name(path), message))

    def names(kind: str) -> list[tuple[int, str]]:
        items = located.data.get(kind) or []
        return [
            (i, item["name"])
            for i, item in enumerate(items)
            if isinstance(item, dict) and isinstance(item.get("name"), str)
        ]

    for kind in ("brands", "competitors", "sources", "topics", "reports"):
        seen: dict[str, int] = {}
        for i, name in names(kind):
            key = name.casefold()
            if key in seen:
                report((kind, i, "name"), f"'{name}' is already defined ({kind}[{seen[key]}])")
            seen[key] = i
    declared = {name.casefold() for _, name in names("competitors")}
    for i, brand in enumerate(located.data.get("brands") or []):
        competitors = brand.get("competitors") if isinstance(brand, dict) else None
        for j, name in enumerate(competitors if isinstance(competitors, list) else []):
            if isinstance(name, str) and name.casefold() not in declared:
                report(
                    ("brands", i, "competitors", j), f"'{name}' is not declared under competitors:"
                )
    brands = {name.casefold() for _, name in names("brands")}
    for i, entry in enumerate(located.data.get("reports") or []):
        brand = entry.get("brand") if isinstance(entry, dict) else None
        if isinstance(brand, str) and brand.casefold() not in brands:
            report(("reports", i, "brand"), f"'{brand}' is not declared under brands:")
    for i, source in enumerate(located.data.get("sources") or []):
        query = source.get("query") if isinstance(source, dict) else None
        if isinstance(query, str) and query.strip():
            try:
                parse_query(query)
            except QuerySyntaxError as exc:
                report(("sources", i, "query"), str(exc))
    return problems
