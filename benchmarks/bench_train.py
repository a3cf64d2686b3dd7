"""`veille train` on the bundled e-bike corrections: held-back and UMSAB val figures, time.

    .venv/bin/python benchmarks/bench_train.py [--base-data DIR] [--base-lines N]

The 50 corrections in tests/fixtures/corrections/ (French and English e-bike posts, written
for the tests; the shipped head gets 32 of them wrong) are trained on with UMSAB train
(all of it, or its first N lines per language with --base-lines) and the figures of the
report are printed, with the time of each stage. Embeddings of the base data are cached
in a temporary data dir, so a second run measures the fit alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from services.analyzer.mentions.fingerprint import fingerprint_text
from services.analyzer.pipeline import Analyzer
from services.core.settings import AnalyzerSettings
from services.runtime.training.sentiment_head import train_head

REPO = Path(__file__).resolve().parents[1]
CORRECTIONS = REPO / "tests" / "fixtures" / "corrections" / "ebike_corrections.jsonl"
UMSAB = REPO.parent / "shared" / "corpora" / "labelled" / "umsab"


def _subset(source: Path, target: Path, lines: int) -> Path:
    for language in ("french", "english"):
        (target / language).mkdir(parents=True, exist_ok=True)
        for name in ("train_text", "train_labels", "val_text", "val_labels"):
            kept = (source / language / f"{name}.txt").read_text("utf-8").splitlines()[:lines]
            (target / language / f"{name}.txt").write_text("\n".join(kept) + "\n", "utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-data", type=Path, default=UMSAB)
    parser.add_argument("--base-lines", type=int, default=0, help="0: all of UMSAB")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "veille-bench-train"
    )
    args = parser.parse_args()
    base = args.base_data
    if args.base_lines:
        base = _subset(base, args.data_dir / "umsab-subset", args.base_lines)
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()]
    corrections = [
        {
            "field": "sentiment",
            "brand": None,
            "label": row["label"],
            "text": row["text"],
            "language": row["language"],
            "fingerprint": fingerprint_text(row["text"]),
        }
        for row in rows
    ]
    stages: dict[str, float] = {}
    started = time.perf_counter()
    last = [started]

    def progress(stage: str, done: int, total: int) -> None:
        if done >= total:
            now = time.perf_counter()
            stages.setdefault(stage, now - last[0])
            last[0] = now

    analyzer = Analyzer(AnalyzerSettings())
    # French texts have their own head by default (services/analyzer/readers.py).
    for french in [False, True] if analyzer.routes_french else [False]:
        report = train_head(
            analyzer,
            corrections,
            data_dir=args.data_dir,
            base_data=base,
            force=True,
            progress=progress,
            french=french,
        )
        print(
            f"{report.title}: base examples {report.base_examples}, corrections trained on "
            f"{report.trained_on} (weight {report.correction_weight:.1f}), held back "
            f"{report.held_back}"
        )
        for name, before, after in (
            ("held-back corrections", report.held_back_before, report.held_back_after),
            ("UMSAB val", report.base_val_before, report.base_val_after),
        ):
            print(
                f"  {name:22s} n={before.count:4d}  "
                f"macro-F1 {before.macro_f1:.3f} -> {after.macro_f1:.3f}  "
                f"accuracy {before.accuracy:.3f} -> {after.accuracy:.3f}"
            )
        print(f"  would be adopted without --force: {report.reason}")
    total = time.perf_counter() - started
    print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    print(f"total {total:.1f} s")


if __name__ == "__main__":
    main()
