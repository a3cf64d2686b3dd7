"""Analyzer throughput against the embedding model alone, on the same mentions.

    .venv/bin/python benchmarks/bench_analyzer.py [--repeat 3] [--distinct] [--ambiguous]

Uses the bundled demo mentions (French and English) and the example workspace's
brands and topics. Prints mentions/s for the embedding alone and for the whole
analyzer (language, brands, per-brand passages, sentiment, topics, near-duplicate
stories), their ratio, the ratio without the taxonomy, and peak RSS.
The demo repeats texts (reposts), which the analyzer embeds once; `--distinct` prefixes
each text with its number ("[12] ...") so that no two are alike and every one is
embedded: the harder case. The example workspace judges no alias in context; `--ambiguous`
gives Veloria and Voltaire Cycles a description and `ambiguous: true`, so that every
occurrence of their names (most demo mentions hold one) is judged by the context model:
the case of a stream where most posts name an ambiguous alias.
Machines are noisy: compare the ratio and the medians, not single figures.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path
from typing import TypeVar

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.pipeline import Analyzer, overall_text, truncate
from services.core.models import Brand, Competitor
from services.core.workspace import Workspace, load_workspace
from services.runtime.data.importer import demo_items

T = TypeVar("T", Brand, Competitor)

REPO = Path(__file__).resolve().parents[1]


DESCRIPTIONS = {
    "Veloria": "Veloria, the French maker of electric bikes (vélos électriques)",
    "Voltaire Cycles": "Voltaire Cycles, a maker of electric bikes, rival of Veloria",
}


def with_ambiguous_names(workspace: Workspace) -> Workspace:
    """The workspace with its brand and competitors' names judged in context."""

    def judged(entity: T) -> T:
        description = DESCRIPTIONS.get(entity.name)
        if description is None:
            return entity
        context = {"description": description, "ambiguous": True}
        return entity.model_copy(update=context)

    return workspace.model_copy(
        update={
            "brands": [judged(b) for b in workspace.brands],
            "competitors": [judged(c) for c in workspace.competitors],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--distinct", action="store_true", help="make every mention's text distinct"
    )
    parser.add_argument(
        "--ambiguous",
        action="store_true",
        help="judge the names of Veloria and Voltaire Cycles in context",
    )
    args = parser.parse_args()

    workspace = load_workspace(REPO / "config").workspace
    if args.ambiguous:
        workspace = with_ambiguous_names(workspace)
    mentions = [item.to_mention() for item in demo_items()]
    if args.distinct:
        mentions = [
            m.model_copy(update={"text": f"[{n}] {m.text}"}) for n, m in enumerate(mentions, 1)
        ]
    settings = load_workspace(REPO / "config").settings.analyzer
    embedder = load_embedder(settings.embedding)
    analyzer = Analyzer(
        settings,
        brands=workspace.brands,
        competitors=workspace.competitors,
        topics=workspace.topics,
    )
    no_topics = Analyzer(settings, brands=workspace.brands, competitors=workspace.competitors)
    analyzer.analyze(mentions[:8])  # warm up: models loaded, taxonomy calibrated
    no_topics.analyze(mentions[:8])
    texts = [analyzer.head.prepare(truncate(overall_text(m))) for m in mentions]
    size = settings.batch_size

    embed_rates, analyze_rates, ratios, bare_ratios = [], [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for i in range(0, len(texts), size):
            embedder.embed(texts[i : i + size])
        embed_seconds = time.perf_counter() - start
        start = time.perf_counter()
        analyzer.analyze(mentions)
        analyze_seconds = time.perf_counter() - start
        start = time.perf_counter()
        no_topics.analyze(mentions)
        bare_ratios.append((time.perf_counter() - start) / embed_seconds)
        embed_rates.append(len(texts) / embed_seconds)
        analyze_rates.append(len(mentions) / analyze_seconds)
        ratios.append(analyze_seconds / embed_seconds)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"mentions: {len(mentions)} (demo data, fr+en; {len(set(texts))} distinct texts, "
        f"each embedded once), batch size {size}, {args.repeat} runs"
    )
    print(f"embedding alone: median {statistics.median(embed_rates):.1f} texts/s")
    print(f"whole analyzer:  median {statistics.median(analyze_rates):.1f} mentions/s")
    print(
        f"analyzer / embedding time: median {statistics.median(ratios):.2f}x "
        f"({len(workspace.topics)} topics, stories on)"
    )
    print(f"same without topics: median {statistics.median(bare_ratios):.2f}x")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
