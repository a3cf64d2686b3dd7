"""Generates the reference pages of the documentation site at build time (a mkdocs hook).

- reference/configuration.md: every workspace key and setting, read from the pydantic
  models themselves (services/core/workspace.py, services/core/settings.py), so the page
  cannot drift from the code. Settings without a `description=` in the code take theirs
  from scripts/docs/setting_notes.yaml; a note naming a setting that no longer exists
  fails the build.
- reference/api.md: every route of the app's OpenAPI document, with its parameters and
  request body, rendered as plain markdown (no JavaScript, no CDN: it reads offline).

Loaded by mkdocs as a hook (`hooks:` in mkdocs.yml; `on_files` adds the pages);
`python scripts/docs/gen_pages.py` prints both pages without mkdocs, to look at them.
"""

from __future__ import annotations

import enum
import sys
import tempfile
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # mkdocs runs this file with its own path
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

NOTES_FILE = Path(__file__).with_name("setting_notes.yaml")


# --- types, defaults and constraints as a reader wants them -------------------------------


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple, set):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return "unset"
    if isinstance(value, BaseModel):
        return "(below)"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, list) and value and isinstance(value[0], enum.Enum):
        value = [v.value for v in value]
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    text = text.removesuffix("...").strip()
    return f"`{text}`" if text else "`''`"


_BOUNDS = {
    "gt": ">",
    "ge": "≥",
    "lt": "<",
    "le": "≤",
    "min_length": "length ≥",
    "max_length": "length ≤",
}


def _constraints(field: FieldInfo) -> list[str]:
    found: list[str] = []
    metadata = list(field.metadata)
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Annotated:  # e.g. name: Alias
        for extra in typing.get_args(annotation)[1:]:
            metadata.extend(getattr(extra, "metadata", [extra]))
    for item in metadata:
        for attr, sign in _BOUNDS.items():
            value = getattr(item, attr, None)
            if value is not None:
                found.append(f"{sign} {value}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            found.append(f"matches `{pattern}`")
    return found


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _nested_models(arg)


# --- the configuration page ----------------------------------------------------------------


def _model_table(
    model: type[BaseModel], notes: dict[str, str], prefix: str, used: set[str], env: bool
) -> list[str]:
    lines = ["| key | type | default | constraints | meaning |", "|---|---|---|---|---|"]
    if env:
        lines[0] = "| key | type | default | constraints | meaning | environment |"
        lines[1] = "|---|---|---|---|---|---|"
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        meaning = field.description or ""
        if key in notes:
            used.add(key)
            meaning = notes[key] if not meaning else f"{meaning}. {notes[key]}"
        meaning = meaning.replace("|", "\\|").replace("\n", " ")
        row = [
            f"`{name}`",
            _type_name(field.annotation),
            _default(field),
            ", ".join(_constraints(field)).replace("|", "\\|"),
            meaning,
        ]
        nested = field.annotation
        if env and isinstance(nested, type) and issubclass(nested, BaseModel):
            row[1:3] = ["section", f"[below](#{nested.__name__.lower()})"]
            row.append("")  # a section is set key by key
        elif env:
            row.append(f"`VEILLE_{key.replace('.', '__').upper()}`")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def configuration_page() -> str:
    from services.core.settings import Settings
    from services.core.workspace import Workspace

    notes: dict[str, str] = yaml.safe_load(NOTES_FILE.read_text(encoding="utf-8")) or {}
    used: set[str] = set()
    out = [
        "# Configuration reference",
        "",
        "_Generated from the code (`services/core/workspace.py`, `services/core/settings.py`)"
        " each time the site is built._",
        "",
        "The **workspace** is every `*.yaml` file at the top of the config folder (`--config`,"
        " default `config/`), read in name order and merged: lists are concatenated, `settings`"
        " merged key by key. `config/veille.yaml` is a complete example;"
        " `veille config check` validates it and names the file, line and field of each"
        " mistake. The guides explain each part: [brands](../user/brands.md),"
        " [sources](../user/sources.md), [topics](../analyst/topics.md),"
        " [reports](../user/reports.md).",
        "",
    ]
    # Workspace sections: one table per model, each nested model once.
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[str, type[BaseModel]]] = []
    out += ["## Workspace", ""]
    out += ["| key | type | meaning |", "|---|---|---|"]
    for name, field in Workspace.model_fields.items():
        target = next(_nested_models(field.annotation), None)
        kind = f"[{target.__name__}](#{target.__name__.lower()})" if target else "mapping"
        shape = "list of " + kind if typing.get_origin(field.annotation) is list else kind
        meaning = notes.get(f"Workspace.{name}", "")
        used.add(f"Workspace.{name}")
        out.append(f"| `{name}` | {shape} | {meaning} |")
        if target is not None:
            queue.append((name, target))
    out.append("")
    while queue:
        _, model = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        out += [f"### {model.__name__}", ""]
        doc = (model.__doc__ or "").strip()
        if doc:
            out += [" ".join(doc.split()), ""]
        out += _model_table(model, notes, f"{model.__name__}.", used, env=False)
        out.append("")
        for field in model.model_fields.values():
            for nested in _nested_models(field.annotation):
                queue.append((nested.__name__, nested))

    out += [
        "## Settings",
        "",
        "Under `settings:` in the workspace. Each setting can also be set in the environment"
        " (`VEILLE_<SECTION>__<NAME>`, e.g. `VEILLE_API__PORT=9000`; lists comma-separated or as"
        " JSON, e.g. `VEILLE_COLLECTOR__ALLOWED_NETWORKS=10.0.0.0/8,192.168.0.0/16`), which beats"
        " the YAML (`veille config check` names the variable at fault);"
        " command-line flags such as `veille up --port` beat both. Secrets (passwords,"
        " tokens, webhook URLs) never go in these files: settings name the environment"
        " variable (or the key of the file named by `VEILLE_SECRETS_FILE`) that holds them.",
        "",
    ]

    def settings_section(model: type[BaseModel], prefix: str, title: str) -> None:
        out.extend([f"### {title} {{#{model.__name__.lower()}}}", ""])
        doc = (model.__doc__ or "").strip()
        if doc and model is not Settings:
            out.extend([" ".join(doc.split()), ""])
        out.extend(_model_table(model, notes, prefix, used, env=True))
        out.append("")
        for name, field in model.model_fields.items():
            for nested in _nested_models(field.annotation):
                settings_section(nested, f"{prefix}{name}.", f"`{prefix}{name}`")

    settings_section(Settings, "", "Top level")
    unknown = sorted(set(notes) - used)
    if unknown:
        raise SystemExit(f"{NOTES_FILE.name} describes settings that do not exist: {unknown}")
    return "\n".join(out) + "\n"


# --- the API page --------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built without opening any store (the context is lazy)."""
    from services.api.app import create_app
    from services.core.settings import build_settings
    from services.runtime.app.context import ServiceContext

    with tempfile.TemporaryDirectory() as scratch:
        settings = build_settings(
            {
                "data_dir": scratch,
                "store": {
                    "state_url": f"sqlite:///{scratch}/state.db",
                    "index_url": f"embedded:{scratch}/index",
                },
            }
        )
        return create_app(ServiceContext(settings)).openapi()


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "anyOf" in schema:
        kinds = [_schema_type(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(kinds) or "null"
    if schema.get("type") == "array":
        return f"list of {_schema_type(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def api_page(spec: dict[str, Any]) -> str:
    out = [
        "# API reference",
        "",
        "_Generated from the app's OpenAPI document each time the site is built._ A running"
        " service serves the same document at `/api/v1/openapi.json`, and interactive pages"
        " at `/docs` and `/redoc`.",
        "",
        "Every route except `/api/v1/health` and the alert charts needs an API key"
        " (`veille keys create`), sent as `X-API-Key: KEY` or `Authorization: Bearer KEY`."
        " Errors are RFC 9457 problem documents (`application/problem+json`) whose `detail`"
        " is written for people; a query error gives the position of the mistake.",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, method, op))
    for tag, routes in by_tag.items():
        out += [f"## {tag.replace('-', ' ').capitalize()}", ""]
        for path, method, op in routes:
            out += [f"### `{method.upper()} {path}`", ""]
            if op.get("summary"):
                out += [f"**{op['summary']}.** " + _cell(op.get("description", "")), ""]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | type | required | meaning |", "|---|---|---|---|---|"]
                for p in params:
                    schema = p.get("schema", {})
                    meaning = p.get("description") or schema.get("description") or ""
                    default = schema.get("default")
                    if default not in (None, ""):
                        meaning = f"{meaning} (default `{default}`)".strip()
                    required = "yes" if p.get("required") else ""
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_schema_type(schema)} | {required}"
                        f" | {_cell(meaning)} |"
                    )
                out.append("")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                out += [f"Body ({media}): {_schema_type(content.get('schema', {}))}.", ""]
            for code, response in op.get("responses", {}).items():
                for media, content in response.get("content", {}).items():
                    if code.startswith("2") and content.get("schema"):
                        returns = _schema_type(content["schema"])
                        out += [f"Returns ({code}, {media}): {returns}.", ""]
            codes = ", ".join(
                f"`{code}` {_cell(r.get('description', ''))}"
                for code, r in op.get("responses", {}).items()
            )
            if codes:
                out += [f"Responses: {codes}.", ""]
    out += ["## Schemas", ""]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        out += [f"### `{name}`", ""]
        if schema.get("description"):
            out += [_cell(schema["description"]), ""]
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            out += ["| field | type | required | meaning |", "|---|---|---|---|"]
            for field, prop in props.items():
                out.append(
                    f"| `{field}` | {_schema_type(prop)} | {'yes' if field in required else ''}"
                    f" | {_cell(prop.get('description', ''))} |"
                )
            out.append("")
        elif "enum" in schema:
            out += [f"One of {_schema_type(schema)}.", ""]
    return "\n".join(out) + "\n"


def generated_pages() -> dict[str, str]:
    """Site path -> markdown of every generated page."""
    return {
        "reference/configuration.md": configuration_page(),
        "reference/api.md": api_page(openapi_document()),
    }


def on_files(files: Any, config: Any) -> Any:
    """mkdocs hook: adds the generated pages to the site's files."""
    from mkdocs.structure.files import File

    for path, text in generated_pages().items():
        files.append(File.generated(config, path, content=text))
    return files


if __name__ == "__main__":
    for page in generated_pages().values():
        print(page)
