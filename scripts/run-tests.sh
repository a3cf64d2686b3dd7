#!/usr/bin/env bash
# Runs the whole test suite. Starts a local PostgreSQL (Debian package) for the
# state-store tests when it can; in CI (CI=true) PostgreSQL is required.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VEILLE_TEST_POSTGRES_URL:-}" ]; then
  if pg_env=$(bash scripts/start-test-postgres.sh); then
    eval "$pg_env"
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs PostgreSQL for the state-store tests, and it could not be started" >&2
    exit 1
  else
    echo "PostgreSQL could not be started: its tests will be skipped" >&2
  fi
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/pytest -q "$@"
