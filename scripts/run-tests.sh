#!/usr/bin/env bash
# Runs the whole test suite. Starts a local PostgreSQL (Debian package) for the
# state-store tests, a real Elasticsearch node (Elastic's test distribution, fetched with
# Maven, run on the JDKs under /usr/lib/jvm) for the Elasticsearch tests, and installs
# Chromium (Debian package) for the dashboard's when it can; in CI (CI=true) all three
# are required. The suite runs against Elasticsearch 9.x; then the Elasticsearch tests
# of tests/store run again against an 8.x node (VEILLE_TEST_ES_SECOND_VERSION, empty to
# skip), so both supported majors are tested on every run.
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

# Java and Maven (Debian's) run a real OpenID Connect provider for the sign-in tests
# (tests/oidc_provider: mock-oauth2-server from Maven Central); in CI they are required.
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Java and Maven from Debian for the OIDC sign-in tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update && apt-get install -y default-jre-headless maven; } >&2 || true
  fi
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "CI needs Java and Maven for the OIDC sign-in tests, and they could not be installed" >&2
      exit 1
    fi
    echo "Java or Maven is missing: the OIDC sign-in tests will be skipped" >&2
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

# A real Elasticsearch node for the contract suite, the agreement property tests and the
# Elasticsearch end-to-end tests; without one they run against the noida-db emulator.
ES_SECOND_VERSION="${VEILLE_TEST_ES_SECOND_VERSION-8.19.0}"
if [ -z "${ELASTICSEARCH_URL:-}" ]; then
  if es_env=$(bash scripts/start-test-elasticsearch.sh); then
    eval "$es_env"
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs a real Elasticsearch node for its tests, and it could not be started" >&2
    exit 1
  else
    echo "Elasticsearch could not be started: its tests run against the noida-db emulator" >&2
    ES_SECOND_VERSION=""
  fi
else
  ES_SECOND_VERSION=""  # a cluster of the caller's choosing: test that one only
fi
es_version() {  # the version of the node at $1, as it says it
  curl -fsS --max-time 5 "$1/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null \
    | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}
if [ -n "${ELASTICSEARCH_URL:-}" ]; then
  echo "Elasticsearch tests run against Elasticsearch $(es_version "$ELASTICSEARCH_URL") at $ELASTICSEARCH_URL"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Two pytest-xdist workers, one per core; whole files go to one worker, so a file's
# expensive fixtures (a JVM, a loaded model, a service) start once. VEILLE_TEST_WORKERS=0
# runs the suite in one process.
workers="${VEILLE_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" != "0" ]; then
  parallel=(-n "$workers" --dist loadfile)
fi
status=0
start=$(date +%s)
.venv/bin/pytest -q --durations=20 "${parallel[@]}" "$@" || status=$?
echo "whole suite: $(( $(date +%s) - start )) s (VEILLE_TEST_WORKERS=$workers)"
if [ "$status" -ne 0 ] || [ $# -gt 0 ] || [ -z "$ES_SECOND_VERSION" ]; then
  exit "$status"
fi

# The other major: the Elasticsearch tests of tests/store against a real 8.x node.
second_port=9211
if second_env=$(VEILLE_TEST_ES_VERSION="$ES_SECOND_VERSION" VEILLE_TEST_ES_PORT=$second_port \
    bash scripts/start-test-elasticsearch.sh); then
  (
    eval "$second_env"
    echo "Elasticsearch tests of tests/store again, against Elasticsearch $(es_version "$ELASTICSEARCH_URL") at $ELASTICSEARCH_URL"
    .venv/bin/pytest -q -m elasticsearch tests/store
  ) || status=$?
  VEILLE_TEST_ES_VERSION="$ES_SECOND_VERSION" VEILLE_TEST_ES_PORT=$second_port \
    bash scripts/start-test-elasticsearch.sh --stop || true
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs Elasticsearch $ES_SECOND_VERSION for the 8.x tests, and it could not be started" >&2
  status=1
else
  echo "Elasticsearch $ES_SECOND_VERSION could not be started: the 8.x tests are skipped" >&2
fi
exit "$status"
