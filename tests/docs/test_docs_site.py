"""The documentation site: generated reference pages, the offline check, the strict build."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _setting_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            keys += _setting_keys(nested, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_configuration_page_lists_every_setting_with_its_variable() -> None:
    from services.core.settings import Settings

    page = _load("gen_pages").configuration_page()
    keys = _setting_keys(Settings)
    assert "alerting.brand_rules.channels" in keys  # nested two levels down
    for key in keys:
        variable = "VEILLE_" + key.replace(".", "__").upper()
        assert f"`{variable}`" in page, key


def test_configuration_page_lists_every_workspace_key() -> None:
    from services.core.workspace import Workspace

    page = _load("gen_pages").configuration_page()
    for field in Workspace.model_fields.values():
        for model in typing.get_args(field.annotation):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue  # settings: a mapping, checked above
            assert f"### {model.__name__}" in page
            for name in model.model_fields:
                assert f"| `{name}` |" in page, (model.__name__, name)


def test_a_note_on_a_setting_that_no_longer_exists_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen_pages = _load("gen_pages")
    notes = tmp_path / "notes.yaml"
    notes.write_text("api.port: where it listens\napi.no_such_setting: gone\n", encoding="utf-8")
    monkeypatch.setattr(gen_pages, "NOTES_FILE", notes)
    with pytest.raises(SystemExit, match="no_such_setting"):
        gen_pages.configuration_page()


def test_offline_check_flags_outside_resources_and_allows_links(tmp_path: Path) -> None:
    check = _load("check_offline")
    (tmp_path / "index.html").write_text(
        '<a href="https://example.org/">a link is fine</a>\n'
        '<link rel="stylesheet" href="assets/main.css">\n'
        '<script src="https://unpkg.com/iframe-worker/shim"></script>\n',
        encoding="utf-8",
    )
    (tmp_path / "main.css").write_text(
        "@font-face { src: url(https://fonts.gstatic.com/x.woff2) }\n", encoding="utf-8"
    )
    problems = check.outside_loads(tmp_path)
    assert [p.split(":")[0] for p in problems] == ["index.html", "main.css"]
    assert "unpkg.com" in problems[0] and "index.html:3" in problems[0]

    (tmp_path / "index.html").write_text('<a href="https://example.org/">ok</a>', encoding="utf-8")
    (tmp_path / "main.css").write_text("body { background: url(img/x.png) }", encoding="utf-8")
    assert check.outside_loads(tmp_path) == []


def test_api_page_lists_every_route_of_the_openapi_document() -> None:
    gen_pages = _load("gen_pages")
    spec = gen_pages.openapi_document()
    page = gen_pages.api_page(spec)
    for path, operations in spec["paths"].items():
        for method in operations:
            assert f"### `{method.upper()} {path}`" in page


@pytest.mark.slow
def test_site_builds_strictly_and_offline(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("the docs extra is not installed (pip install -e '.[docs]')")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-docs.sh"), str(tmp_path / "site")],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "BIN": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no outside resources" in result.stdout
    assert (tmp_path / "site" / "reference" / "configuration.html").is_file()


def test_every_permission_the_docs_name_exists() -> None:
    """`mentions:read` was named in the docs; the permission is `read`."""
    import re

    from services.core.permissions import ALL_PERMISSIONS

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    named = {
        (page.name, name)
        for page in pages
        for name in re.findall(r"`([a-z_]+:(?:read|write|write_own|admin))`", page.read_text())
    }
    assert named  # the pattern still finds the permissions the docs name
    assert {(page, name) for page, name in named if name not in ALL_PERMISSIONS} == set()


def test_docs_serve_does_not_take_the_port_suggested_for_the_service() -> None:
    """The README suggests `make up PORT=8001` when 8000 is taken: docs-serve must not
    use a port the service is told to use."""
    import re

    makefile = (ROOT / "Makefile").read_text()
    (docs_port,) = re.findall(r"mkdocs serve -a 127\.0\.0\.1:(\d+)", makefile)
    suggested: set[str] = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text()
        suggested |= {n for pair in re.findall(r"PORT=(\d+)|--port (\d+)", text) for n in pair if n}
        if "docs-serve" in text:
            assert f"127.0.0.1:{docs_port}" in text, page  # the docs say where it serves
    assert suggested and docs_port not in suggested | {"8000"}


def _cli_commands() -> dict[tuple[str, ...], set[str]]:
    """Every `veille` command, by its words, with the options it takes (the root's too)."""
    import typer
    from typer.core import TyperGroup

    import services.cli.main  # noqa: F401  (registers every command)
    from services.cli.common import app

    root = typer.main.get_command(app)
    context = typer.Context(root)

    def options(command: typing.Any) -> set[str]:
        return {name for p in command.params for name in (*p.opts, *p.secondary_opts)}

    commands: dict[tuple[str, ...], set[str]] = {(): options(root) | {"--help"}}

    def walk(group: TyperGroup, words: tuple[str, ...]) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None
            if isinstance(command, TyperGroup):
                commands[(*words, name)] = {"--help"}
                walk(command, (*words, name))
            else:
                commands[(*words, name)] = options(command) | {"--help"}

    assert isinstance(root, TyperGroup)
    walk(root, ())
    return commands


def _code_snippets(text: str) -> list[str]:
    """The inline code spans and the lines of fenced code blocks of a page."""
    import re

    fence = r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```"  # indented too, inside a list item
    blocks = re.findall(fence, text, flags=re.S | re.M)
    prose = re.sub(fence, "", text, flags=re.S | re.M)
    spans = re.findall(r"`([^`\n]+)`", prose)
    return spans + [line for block in blocks for line in block.splitlines()]


def test_the_command_line_page_names_every_command() -> None:
    """docs/user/cli.md is the list of commands: a new one must get its line there."""
    import re

    snippets = _code_snippets((ROOT / "docs" / "user" / "cli.md").read_text())
    commands = _cli_commands()
    groups = {words[:-1] for words in commands}
    leaves = [words for words in commands if words and words not in groups]
    assert ("store", "dead-letters", "retry") in leaves  # the walk goes down nested groups
    missing = []
    for words in leaves:
        # `veille keys create ...` / `keys list`: a later span of a row may drop `veille`.
        lead = r"veille +" if len(words) == 1 else r"(?:veille +)?"
        pattern = re.compile(rf"(?<![\w-]){lead}{' +'.join(map(re.escape, words))}(?![\w-])")
        if not any(pattern.search(snippet) for snippet in snippets):
            missing.append(" ".join(words))
    assert missing == []


def test_every_command_line_the_docs_quote_exists_with_its_options() -> None:
    """`veille COMMAND --option` quoted anywhere in the docs names a real command and only
    options it takes (`--workspace ID` before the command, as the root takes it)."""
    import re

    commands = _cli_commands()
    # The command ends at a comment, a pipe into another program, a redirection...
    stop = re.compile(r"^(?:#|\|(?! +-)|&&|;|>|2>|\)|\$\()")
    problems: list[str] = []
    checked = 0
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for snippet in _code_snippets(page.read_text()):
            for match in re.finditer(r"(?:^|(?<=[\s/(\"']))veille((?:[ \t]+\S+)*)", snippet):
                words: list[str] = []
                rest = match.group(1).strip()
                while rest and not stop.match(rest):  # `| --service` is an alternative
                    token, _, rest = rest.partition(" ")
                    rest = rest.lstrip()
                    words.append(token.strip("[]"))
                while words[:1] in (["--workspace"], ["-w"]):
                    words = words[2:]
                path: tuple[str, ...] = ()
                while words and (*path, words[0]) in commands:
                    path, words = (*path, words[0]), words[1:]
                is_group = any(other[: len(path)] == path != other for other in commands)
                if is_group and words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    problems.append(f"{page.name}: `veille {' '.join((*path, words[0]))}`")
                if not path:
                    continue
                checked += 1
                for word in words:
                    for option in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", word):
                        if option not in commands[path] | commands[()]:
                            problems.append(f"{page.name}: `veille {' '.join(path)} {option}`")
    assert checked > 100  # the pattern still finds the commands the docs quote
    assert problems == []
