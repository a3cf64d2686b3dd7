#!/usr/bin/env bash
# Starts a real single-node Elasticsearch on 127.0.0.1 for the tests and benchmarks, and
# prints the URL to use:
#
#   eval "$(bash scripts/start-test-elasticsearch.sh)"          # 9.2.0 on port 9210
#   VEILLE_TEST_ES_VERSION=8.19.0 VEILLE_TEST_ES_PORT=9211 bash scripts/start-test-elasticsearch.sh
#   bash scripts/start-test-elasticsearch.sh --stop              # stops the one on that port
#
# The server is Elastic's test distribution from Maven Central
# (org.elasticsearch.distribution.integ-test-zip:elasticsearch:VERSION:zip), fetched once
# into .cache/elasticsearch/ (git-ignored). It carries no JDK: 8.x runs on Java 17+, 9.x on
# Java 21+, taken from /usr/lib/jvm (or ES_JAVA_HOME). It lacks the analysis-common module,
# so the test-only plugin in tests/es-analysis-plugin is built with Maven
# against its jars and installed, and Veille's production index template runs unchanged.
#
# Elasticsearch refuses to run as root: as root, the node runs as the system user
# `veille-es` (created when missing). Security is off, the heap is fixed (1 GB unless
# VEILLE_TEST_ES_HEAP), and each start gets an empty data directory. Idempotent: when a
# node of that version already answers on the port, only the URL is printed. Everything
# but the final `export` lines goes to stderr, so the output can be eval'ed.
set -euo pipefail
cd "$(dirname "$0")/.."

ES_VERSION="${VEILLE_TEST_ES_VERSION:-9.2.0}"
PORT="${VEILLE_TEST_ES_PORT:-9210}"
HEAP="${VEILLE_TEST_ES_HEAP:-1g}"
ES_USER=veille-es
CACHE="$PWD/.cache/elasticsearch"
# The node runs from a folder its user owns (the checkout's parents may be closed to it).
RUN_DIR="${VEILLE_TEST_ES_RUN_DIR:-${TMPDIR:-/tmp}/veille-test-elasticsearch-$ES_VERSION-$PORT}"
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
URL="http://127.0.0.1:$PORT"

log() { printf 'start-test-elasticsearch: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$ES_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VEILLE_TEST_ES_VERSION must look like 9.2.0"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "VEILLE_TEST_ES_PORT must be a number"
MAJOR="${ES_VERSION%%.*}"
HOME_DIR="$RUN_DIR/elasticsearch-$ES_VERSION"
PID_FILE="$RUN_DIR/elasticsearch.pid"

running_version() {  # the version of the node answering on $PORT, or nothing
  curl -fsS --max-time 2 "$URL/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null \
    | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}

stop_node() {
  if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    local pid
    pid=$(cat "$PID_FILE")
    log "stopping the node (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

if [[ "${1:-}" == "--stop" ]]; then
  stop_node
  exit 0
fi

current=$(running_version || true)
if [[ -n "$current" ]]; then
  [[ "$current" == "$ES_VERSION" ]] \
    || die "Elasticsearch $current already answers on $URL (wanted $ES_VERSION): set VEILLE_TEST_ES_PORT"
  log "Elasticsearch $current already answers on $URL"
  printf 'export ELASTICSEARCH_URL=%s\n' "$URL"
  exit 0
fi

# -- a Java for this major -----------------------------------------------------------------
java_major() {  # the feature version of the JDK at $1
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
NEED_JAVA=17
[[ "$MAJOR" -ge 9 ]] && NEED_JAVA=21
JAVA_HOME_FOR_ES="${ES_JAVA_HOME:-}"
if [[ -z "$JAVA_HOME_FOR_ES" ]]; then
  for candidate in /usr/lib/jvm/*; do
    [[ -x "$candidate/bin/javac" && ! -L "$candidate" ]] || continue
    version=$(java_major "$candidate")
    [[ -n "$version" && "$version" -ge "$NEED_JAVA" ]] || continue
    # The oldest JDK that is new enough: the one Elastic's build targets most closely.
    if [[ -z "$JAVA_HOME_FOR_ES" || "$version" -lt "$(java_major "$JAVA_HOME_FOR_ES")" ]]; then
      JAVA_HOME_FOR_ES="$candidate"
    fi
  done
fi
[[ -n "$JAVA_HOME_FOR_ES" ]] || die "Elasticsearch $ES_VERSION needs a JDK $NEED_JAVA+ (none under /usr/lib/jvm; set ES_JAVA_HOME)"
JAVA_VERSION=$(java_major "$JAVA_HOME_FOR_ES")
log "Java $JAVA_VERSION from $JAVA_HOME_FOR_ES"

# -- the distribution, fetched once with Maven -------------------------------------------------
ZIP="$CACHE/elasticsearch-$ES_VERSION.zip"
if [[ ! -f "$ZIP" ]]; then
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to fetch $ARTIFACT"
  log "fetching $ARTIFACT with Maven"
  mkdir -p "$CACHE"
  mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy \
    -Dartifact="$ARTIFACT" -DoutputDirectory="$CACHE" >&2 \
    || die "Maven could not fetch $ARTIFACT"
fi

if ! command -v unzip >/dev/null 2>&1; then
  [[ ${EUID} -eq 0 ]] || die "unzip is needed to unpack $ZIP"
  log "installing unzip from Debian"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y unzip || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y unzip; }; } >&2
fi

# -- an unprivileged user when we are root ------------------------------------------------------
AS_USER=()
if [[ ${EUID} -eq 0 ]]; then
  if ! id "$ES_USER" >/dev/null 2>&1; then
    log "creating the system user $ES_USER (Elasticsearch refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  fi
  AS_USER=(runuser -u "$ES_USER" --)
fi

# -- unpack, with the test analysis plugin built against this distribution's jars -------------
# Built again whenever its sources change (the run folder outlives checkouts).
PLUGIN_DIR="$HOME_DIR/plugins/veille-test-analysis"
PLUGIN_HASH=$(find tests/es-analysis-plugin -path '*/target' -prune -o -type f -print \
  | LC_ALL=C sort | xargs sha1sum | sha1sum | cut -c1-40)
stop_node
if [[ "$(cat "$RUN_DIR/plugin.sha1" 2>/dev/null)" != "$PLUGIN_HASH" \
    || ! -f "$PLUGIN_DIR/veille-test-analysis.jar" ]]; then
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  log "unpacking Elasticsearch $ES_VERSION into $RUN_DIR"
  unzip -q "$ZIP" -d "$RUN_DIR"
  [[ -x "$HOME_DIR/bin/elasticsearch" ]] || die "$ZIP holds no elasticsearch-$ES_VERSION/bin/elasticsearch"
  LUCENE_JAR=$(basename "$(ls "$HOME_DIR"/lib/lucene-analysis-common-*.jar)")
  LUCENE_VERSION="${LUCENE_JAR#lucene-analysis-common-}"
  LUCENE_VERSION="${LUCENE_VERSION%.jar}"
  log "building the test analysis plugin (Lucene $LUCENE_VERSION, Java release $NEED_JAVA)"
  JAVA_HOME="$JAVA_HOME_FOR_ES" mvn -B -q -f tests/es-analysis-plugin/pom.xml \
    package -Dmaven.test.skip=true -Des.home="$HOME_DIR" -Des.version="$ES_VERSION" -Dlucene.version="$LUCENE_VERSION" \
    -Djava.release="$NEED_JAVA" -Dplugin.build.dir="$RUN_DIR/plugin-build" >&2 \
    || die "Maven could not build tests/es-analysis-plugin"
  mkdir -p "$PLUGIN_DIR"
  cp "$RUN_DIR/plugin-build/veille-test-analysis.jar" tests/es-analysis-plugin/src/main/plugin/named_components.json "$PLUGIN_DIR/"
  sed -e "s/@ES_VERSION@/$ES_VERSION/" -e "s/@JAVA_VERSION@/$NEED_JAVA/" \
    tests/es-analysis-plugin/src/main/plugin/stable-plugin-descriptor.properties \
    > "$PLUGIN_DIR/stable-plugin-descriptor.properties"
  echo "$PLUGIN_HASH" > "$RUN_DIR/plugin.sha1"
fi

# -- start on an empty data directory -----------------------------------------------------------
rm -rf "$RUN_DIR/data" "$RUN_DIR/logs"
mkdir -p "$RUN_DIR/data" "$RUN_DIR/logs"
if [[ ${EUID} -eq 0 ]]; then
  chown -R "$ES_USER" "$RUN_DIR"
  chmod o+x "$(dirname "$RUN_DIR")" 2>/dev/null || true
fi
log "starting Elasticsearch $ES_VERSION on $URL (heap $HEAP, logs in $RUN_DIR/logs)"
"${AS_USER[@]}" env ES_JAVA_HOME="$JAVA_HOME_FOR_ES" ES_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" \
  ES_PATH_CONF="$HOME_DIR/config" \
  "$HOME_DIR/bin/elasticsearch" -d -p "$PID_FILE" \
  -E discovery.type=single-node \
  -E network.host=127.0.0.1 \
  -E http.port="$PORT" \
  -E xpack.security.enabled=false \
  -E cluster.routing.allocation.disk.threshold_enabled=false \
  -E path.data="$RUN_DIR/data" \
  -E path.logs="$RUN_DIR/logs" \
  >"$RUN_DIR/start.out" 2>&1 \
  || { tail -n 30 "$RUN_DIR/start.out" >&2; die "Elasticsearch $ES_VERSION did not start"; }

for _ in $(seq 1 240); do
  if curl -fsS --max-time 2 "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
    break
  fi
  if [[ -f "$PID_FILE" ]] && ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    tail -n 30 "$RUN_DIR"/logs/*.log >&2 || true
    die "Elasticsearch $ES_VERSION stopped while starting"
  fi
  sleep 0.5
done
version=$(running_version || true)
[[ "$version" == "$ES_VERSION" ]] || {
  tail -n 30 "$RUN_DIR"/logs/*.log >&2 || true
  die "Elasticsearch $ES_VERSION does not answer on $URL/_cluster/health"
}
log "ready: Elasticsearch $version on $URL"
printf 'export ELASTICSEARCH_URL=%s\n' "$URL"
