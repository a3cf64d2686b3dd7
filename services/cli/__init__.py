"""The `veille` command line (services.cli.main)."""

import os

# Before anything loads OpenMP (the embedding engine, torch through spaCy): its idle threads
# then sleep instead of spinning. Veille shares its machine with the API, the collector and
# a search engine, and spinning threads made each small embedding call take 5 to 15 times
# longer there (benchmarks/bench_brands_check.py; one text 0.70 s against 0.04 s, a batch
# of 64 6.9 s against 4.9 s, side by side at load 10). A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
