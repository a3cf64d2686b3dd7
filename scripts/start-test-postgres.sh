#!/usr/bin/env bash
# Starts a local PostgreSQL for the state store tests and prints the URL to use.
#
#   eval "$(bash scripts/start-test-postgres.sh)"   # as root (CI, dev containers)
#   .venv/bin/pytest tests/state -q                 # now also runs the postgres cases
#
# Idempotent: installs PostgreSQL from Debian only when missing, starts the cluster
# only when stopped (with pg_ctlcluster: no systemd needed), creates the role and the
# database only when absent. Everything but the final `export` line goes to stderr,
# so the output can be eval'ed. The password is for a throwaway test database
# listening on 127.0.0.1; override it with VEILLE_TEST_POSTGRES_PASSWORD.
set -euo pipefail

DB_NAME=veille_test
DB_USER=veille_test
DB_PASSWORD="${VEILLE_TEST_POSTGRES_PASSWORD:-veille_test}"
CLUSTER_NAME=main

log() { printf 'start-test-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$DB_PASSWORD" =~ ^[A-Za-z0-9_.-]+$ ]] \
  || die "VEILLE_TEST_POSTGRES_PASSWORD may only hold letters, digits, '_', '.', '-'"
[[ ${EUID} -eq 0 ]] || die "run me as root (I install packages and start a cluster)"

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y postgresql >&2
fi

# The newest installed major version.
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
[[ -n "$PG_VERSION" ]] || die "no PostgreSQL server found under /usr/lib/postgresql"

if ! pg_lsclusters --no-header | awk '{print $1, $2}' | grep -qx "$PG_VERSION $CLUSTER_NAME"; then
  log "creating cluster $PG_VERSION/$CLUSTER_NAME"
  pg_createcluster --port 5432 "$PG_VERSION" "$CLUSTER_NAME" >&2
fi

# The socket directory lives on a tmpfs that containers often start without.
install -d -o postgres -g postgres -m 2775 /var/run/postgresql

if ! pg_ctlcluster "$PG_VERSION" "$CLUSTER_NAME" status >/dev/null 2>&1; then
  log "starting cluster $PG_VERSION/$CLUSTER_NAME"
  pg_ctlcluster "$PG_VERSION" "$CLUSTER_NAME" start >&2
fi

PORT=$(pg_lsclusters --no-header | awk -v v="$PG_VERSION" -v c="$CLUSTER_NAME" '$1 == v && $2 == c {print $3}')
[[ "$PORT" == 5432 ]] || log "note: cluster $PG_VERSION/$CLUSTER_NAME listens on port $PORT, not 5432"

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || die "PostgreSQL does not answer on 127.0.0.1:$PORT"

psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

psql_admin -d postgres >&2 <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
SQL

if [[ -z "$(psql_admin -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
  log "creating database $DB_NAME"
  runuser -u postgres -- createdb -p "$PORT" -O "$DB_USER" "$DB_NAME" >&2
fi

URL="postgresql+psycopg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
# Check the password path the tests will take (TCP, not the postgres superuser's socket).
PGPASSWORD="$DB_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d "$DB_NAME" \
  -c 'SELECT 1' >/dev/null || die "cannot log in as $DB_USER on 127.0.0.1:$PORT"

log "ready: $DB_NAME on 127.0.0.1:$PORT"
printf 'export VEILLE_TEST_POSTGRES_URL=%s\n' "$URL"
