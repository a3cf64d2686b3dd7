#!/usr/bin/env bash
# Refreshes requirements/all.lock (docs/development.md): every package `make setup`
# installs, torch pinned. Extra arguments go to pip-compile (e.g. --upgrade-package NAME).
# The `all` extra names veille's own extras, so pip-compile lists veille itself as a path
# on this machine; that line is removed, or a clone elsewhere could not use the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip install --quiet pip-tools
.venv/bin/pip-compile --quiet --extra all --strip-extras --no-emit-index-url \
  --no-emit-find-links --output-file requirements/all.lock "$@" \
  pyproject.toml requirements/torch.in
sed -i '/^veille @ /,+1d' requirements/all.lock
