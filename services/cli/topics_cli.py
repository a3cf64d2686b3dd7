"""`veille topics list | add | remove`: the taxonomy beyond the workspace YAML.

Registered on `veille topics` by importing this module (see the end of main.py).
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from services.cli.common import DEFAULT_CONFIG, CliError, ConfigOpt, load_config, out, topics_app
from services.core.topics import Topic
from services.runtime.app.topic_store import (
    TopicConflictError,
    TopicNotFoundError,
    TopicStore,
    taxonomy,
)


@topics_app.command("list")
def topics_list(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Show the taxonomy: the workspace YAML's topics and the added ones."""
    loaded = load_config(config)
    table = Table("name", "origin", "examples", "description")
    for topic in taxonomy(loaded.workspace.topics, loaded.settings.data_dir):
        table.add_row(topic.name, topic.origin, str(len(topic.examples)), topic.description[:80])
    out.print(table)


@topics_app.command("add")
def topics_add(
    name: Annotated[str, typer.Argument(help="the topic's name, e.g. theft")],
    description: Annotated[
        str, typer.Option("--description", "-d", help="what the topic is about, any language")
    ],
    example: Annotated[
        list[str] | None,
        typer.Option("--example", "-e", help="a short text about the topic (repeat it)"),
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add a topic (e.g. promote an emerging one); kept in <data_dir>/topics.json."""
    loaded = load_config(config)
    try:
        topic = Topic(name=name, description=description, examples=example or [])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise CliError(f"invalid topic: {problems}") from None
    try:
        TopicStore(loaded.settings.data_dir).add(topic, workspace=loaded.workspace.topics)
    except ValueError as exc:  # a name clash, or a topics file that cannot be read
        raise CliError(str(exc)) from None
    out.print(
        f"added topic {name!r}: new mentions get it from the analyzer's next batch; "
        "`veille reanalyze --since 30d` gives it to stored ones",
        markup=False,
    )


@topics_app.command("remove")
def topics_remove(
    name: Annotated[str, typer.Argument(help="an added topic's name")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Remove an added topic (the YAML's are removed by editing the file)."""
    loaded = load_config(config)
    try:
        TopicStore(loaded.settings.data_dir).remove(name, workspace=loaded.workspace.topics)
    except (TopicConflictError, TopicNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from None
    out.print(f"removed topic {name!r}", markup=False)
