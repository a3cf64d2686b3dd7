#!/usr/bin/env bash
# Builds the documentation site strictly (any warning fails) and checks it loads nothing
# from outside: no web font, no CDN script or stylesheet. CI calls it (.ci/run); `make docs`
# too. Usage: scripts/build-docs.sh [SITE_DIR]   (default: a temporary folder)
set -euo pipefail
export NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true  # upstream notices, not ours
cd "$(dirname "$0")/.."
BIN="${BIN:-$(dirname "$(command -v python)")}"
[ -x "$BIN/mkdocs" ] || BIN=.venv/bin
[ -x "$BIN/mkdocs" ] || BIN=/work/main/.venv/bin
SITE="${1:-$(mktemp -d)}"
PYTHONPATH=. "$BIN/mkdocs" build --strict --clean --site-dir "$SITE"
"$BIN/python" scripts/docs/check_offline.py "$SITE"
