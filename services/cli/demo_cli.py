"""`veille demo remove`: take the bundled demo mentions out, for good, with what hangs
off them: the corrections made on them, their triage records and notes, the alert events
that fired on them alone (every sample a demo mention) and the demo samples of the other
events.

Registered on `veille demo` by importing this module (see the end of main.py). The demo is
imported only into an empty store, so removing it leaves a marker in the data directory
that keeps `veille up` from importing it again once the store is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, slots=True)
class DemoRemoved:
    """What `remove_demo` deleted."""

    mentions: int
    corrections: int
    triage: int  # triage records (their notes go with them)
    alert_events: int  # fired on demo mentions alone
    alert_samples: int  # demo samples taken out of the other events


def remove_demo(ctx: ServiceContext) -> DemoRemoved:
    """Deletes what hangs off the demo mentions, then the mentions, then leaves the
    marker. In that order, so a run stopped half-way finds the rest on the next one."""
    flt = MentionFilter(query=parse_query(DEMO_QUERY))
    ids = [m.id for m in ctx.index.iter_all(flt, batch_size=BATCH)]
    demo = set(ids)
    store = ctx.governance
    corrections = store.delete_corrections(
        [cid for cid, mention_id, _ in store.corrections() if mention_id in demo]
    )
    triaged = ctx.state.delete_triage(ids)
    events, samples = _prune_alert_events(ctx, demo)
    deleted = sum(ctx.index.delete(ids[i : i + BATCH]) for i in range(0, len(ids), BATCH))
    marker = demo_removed_marker(ctx)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("the demo mentions were removed by `veille demo remove`\n")
    return DemoRemoved(deleted, corrections, triaged, events, samples)


def _prune_alert_events(ctx: ServiceContext, demo: set[str]) -> tuple[int, int]:
    """Deletes the events whose samples are all demo mentions; takes the demo samples out
    of the others. Events without samples cannot be told apart and stay."""
    from services.runtime.governance.retention import drop_alert_samples

    def is_demo(sample: Any) -> bool:
        return isinstance(sample, dict) and str(sample.get("id", "")) in demo

    doomed = [
        event_id
        for event_id, numbers in ctx.governance.alert_samples()
        if all(is_demo(s) for s in numbers.get("top_mentions", []))
    ]
    events = ctx.governance.delete_alert_events(doomed) if doomed else 0
    samples = drop_alert_samples(ctx, is_demo)
    return events, samples


@demo_app.command("remove")
def demo_remove(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Delete the bundled demo mentions (source:demo), the corrections and triage made on
    them and the alerts they alone fired, and never import them again."""
    with workspace_context(config) as ctx:
        removed = remove_demo(ctx)
    console.print(
        f"removed {removed.mentions} demo mentions, {removed.corrections} correction(s) made "
        f"on them, {removed.triage} triage record(s) with their notes, "
        f"{removed.alert_events} alert event(s) fired on them alone and "
        f"{removed.alert_samples} demo sample(s) from other alert events; alert events "
        "without sample mentions stay (nothing tells which data fired them); "
        "`veille up` will not import the demo again",
        highlight=False,
    )
