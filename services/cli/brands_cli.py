"""`veille brands check NAME`: how well one brand is recognised, on corrections held out.

Registered as `veille brands` by importing this module (see the end of main.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from services.core.models import Brand, Competitor

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
            "default: the corrections analysts recorded (POST /mentions/{id}/brands)",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Precision and recall on the third of the corrections held out, with the workspace
    alone and after learning from the other two thirds."""
    import os

    # Before the embedding engine loads OpenMP: its threads then sleep between the
    # check's many small calls instead of spinning, which on a busy machine made each
    # call take seconds instead of hundredths (benchmarks/bench_brands_check.py).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from services.analyzer.brands.check import check_brand, read_corrections
    from services.analyzer.encoding.embeddings import EmbedderUnavailable, load_embedder

    if corrections is None:
        with workspace_context(config) as ctx:
            # The YAML's names, and those added or edited through the API (which win).
            brands = list(
                (
                    {b.name: b for b in ctx.workspace.brands}
                    | {b.name: b for b in ctx.state.list_brands()}
                ).values()
            )
            competitors = list(
                (
                    {c.name: c for c in ctx.workspace.competitors}
                    | {c.name: c for c in ctx.state.list_competitors()}
                ).values()
            )
            name = _known_name(name, [*brands, *competitors])
            records = [c for c in ctx.brand_corrections() if c.brand == name]
            embedding, where = ctx.settings.analyzer.embedding, "the recorded corrections"
    else:
        loaded = load_config(config)
        brands, competitors = loaded.workspace.brands, loaded.workspace.competitors
        name = _known_name(name, [*brands, *competitors])
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
        result = check_brand(brands, competitors, name, records, embedder.embed)
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
        out.print(
            f"  {label:<16} precision {counts.precision:.3f}  recall {counts.recall:.3f}  "
            f"(tp {counts.tp}, fp {counts.fp}, fn {counts.fn}, tn {counts.tn})"
        )


def _known_name(name: str, entities: Sequence[Brand | Competitor]) -> str:
    """The workspace's spelling of `name` (case and accents aside); CliError naming the
    known ones otherwise."""
    from services.core.text import fold

    for entity in entities:
        if fold(entity.name) == fold(name):
            return entity.name
    known = ", ".join(e.name for e in entities) or "none"
    raise CliError(f"no brand or competitor is named {name!r} (known: {known})")
