"""`veille brands check NAME`: how well one brand is recognised, on corrections held out.

Registered as `veille brands` by importing this module (see the end of main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli.common import (
    DEFAULT_CONFIG,
    CliError,
    ConfigOpt,
    app,
    load_config,
    out,
    workspace_context,
)
from services.core.brand_names import BrandNames, UnknownBrand

brands_app = typer.Typer(help="Brand recognition.", no_args_is_help=True)
app.add_typer(brands_app, name="brands")


@brands_app.command("check")
def brands_check(
    name: Annotated[str, typer.Argument(help="the brand or competitor, as in the workspace")],
    corrections: Annotated[
        Path | None,
        typer.Option(
            "--corrections",
            help='JSON lines: {"text": ..., "about_brand": true|false[, "brand": NAME]}; '
            "default: the corrections analysts recorded (POST /api/v1/mentions/{id}/brands)",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Precision and recall on the third of the corrections held out, with the workspace
    alone and after learning from the other two thirds."""
    # OMP_WAIT_POLICY is set for every command (services/cli/__init__.py).
    from services.analyzer.brands.check import check_brand, read_corrections
    from services.analyzer.encoding.embeddings import EmbedderUnavailable, load_embedder

    if corrections is None:
        with workspace_context(config) as ctx:
            # The YAML's names, and those added or edited through the API (which win).
            names = BrandNames.merged(
                brands=ctx.workspace.brands,
                competitors=ctx.workspace.competitors,
                added_brands=ctx.state.list_brands(),
                added_competitors=ctx.state.list_competitors(),
            )
            name = _known_name(name, names)
            records = [c for c in ctx.brand_corrections() if c.brand == name]
            embedding, where = ctx.settings.analyzer.embedding, "the recorded corrections"
    else:
        loaded = load_config(config)
        names = BrandNames(loaded.workspace.brands, loaded.workspace.competitors)
        name = _known_name(name, names)
        if not corrections.is_file():
            raise CliError(f"{corrections}: no such file")
        try:
            records = read_corrections(corrections, name)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CliError(str(exc)) from None
        embedding, where = loaded.settings.analyzer.embedding, str(corrections)
    if not records:
        raise CliError(
            f"{where} hold no correction for {name!r} "
            "(POST /api/v1/mentions/{id}/brands records them)"
        )
    try:
        embedder = load_embedder(embedding)
        result = check_brand(names.brands, names.competitors, name, records, embedder.embed)
    except (ValueError, EmbedderUnavailable) as exc:
        raise CliError(str(exc)) from None
    out.print(
        f"{name}: {len(records)} corrections: {result.offered} to learn from "
        f"({result.learned} usable), {result.held_out} held out (a third, drawn by a hash "
        f"of the text); threshold {result.threshold:.2f}",
        highlight=False,
    )
    if not result.judged_in_context:
        raise CliError(
            f"{name} has no name judged in context (a common word with a description: see "
            "docs/user/brands.md), so its tags come from its names alone: corrections fix "
            "the mentions they are about, and teach nothing to measure here"
        )
    if not result.held_out:
        raise CliError("no correction is held out yet: record a few more to measure")
    for label, counts in (("workspace alone", result.before), ("after learning", result.after)):
        out.print(f"  {label:<16} {counts.summary()}")


def _known_name(name: str, names: BrandNames) -> str:
    """The workspace's spelling of `name` (or of the brand it is an alias of); CliError
    naming the known ones otherwise."""
    try:
        return names.resolve(name).name
    except UnknownBrand as exc:
        raise CliError(str(exc)) from None
