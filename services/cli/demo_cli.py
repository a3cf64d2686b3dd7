"""`veille demo remove`: take the bundled demo mentions out, for good.

Registered on `veille demo` by importing this module (see the end of main.py). The demo is
imported only into an empty store, so removing it leaves a marker in the data directory
that keeps `veille up` from importing it again once the store is empty.
"""

from __future__ import annotations

from pathlib import Path

import typer

from services.cli.common import DEFAULT_CONFIG, ConfigOpt, app, console, workspace_context
from services.core.query import parse_query
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter

demo_app = typer.Typer(help="The bundled demo mentions.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")

DEMO_QUERY = "source:demo"  # the demo's source name and kind
BATCH = 1000


def demo_removed_marker(ctx: ServiceContext) -> Path:
    """The file that says the demo was removed and must not come back."""
    return Path(ctx.settings.data_dir) / "demo-removed"


def remove_demo(ctx: ServiceContext) -> int:
    """Deletes every demo mention, then leaves the marker; returns how many were deleted."""
    flt = MentionFilter(query=parse_query(DEMO_QUERY))
    batch: list[str] = []
    deleted = 0
    for mention in ctx.index.iter_all(flt, batch_size=BATCH):
        batch.append(mention.id)
        if len(batch) == BATCH:
            deleted += ctx.index.delete(batch)
            batch = []
    if batch:
        deleted += ctx.index.delete(batch)
    marker = demo_removed_marker(ctx)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("the demo mentions were removed by `veille demo remove`\n")
    return deleted


@demo_app.command("remove")
def demo_remove(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Delete the bundled demo mentions (source:demo) and never import them again."""
    with workspace_context(config) as ctx:
        deleted = remove_demo(ctx)
    console.print(f"removed {deleted} demo mentions; `veille up` will not import them again")
