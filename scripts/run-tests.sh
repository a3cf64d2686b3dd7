#!/usr/bin/env bash
# Runs the whole test suite. Starts a local PostgreSQL (Debian package) for the
# state-store tests and installs Chromium (Debian package) for the dashboard's when it
# can; in CI (CI=true) both are required.
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

# Headless Chromium (Debian's) for the dashboard's browser tests; in CI it is required.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Chromium from Debian for the dashboard tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update && apt-get install -y chromium; } >&2 || true
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "CI needs Chromium for the dashboard tests, and it could not be installed" >&2
      exit 1
    fi
    echo "Chromium is not installed: the dashboard's browser tests will be skipped" >&2
  fi
fi

# Pango (Debian's) for WeasyPrint, which lays out the PDF reports; in CI it is required.
if ! .venv/bin/python -c "import weasyprint" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Pango from Debian for the PDF reports" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; } >&2 || true
  fi
  if ! .venv/bin/python -c "import weasyprint" >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "CI needs Pango for the PDF reports, and it could not be installed" >&2
      exit 1
    fi
    echo "Pango is not installed: the PDF report tests will be skipped" >&2
  fi
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/pytest -q --durations=20 "$@"
