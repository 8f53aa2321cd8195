#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use is up: 127.0.0.1:5432 with trust
# auth for `postgres` (these machines run Debian's postgresql-15 cluster), or
# AUDITE_TEST_PG_URL. Starts the local cluster when it is down; exits non-zero
# when it cannot, so CI fails instead of skipping the PostgreSQL tests.
set -euo pipefail

url="${AUDITE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ready() { psql "$url" -XAtqc 'SELECT 1' >/dev/null 2>&1; }

if ready; then
  echo "postgres: up at ${url%%\?*}"
  exit 0
fi

echo "postgres: not answering at ${url%%\?*}; starting the local cluster"
if command -v pg_lsclusters >/dev/null 2>&1; then
  # Every cluster that is down (normally just 15/main).
  while read -r ver name _port status _rest; do
    if [ "$status" != "online" ]; then
      pg_ctlcluster "$ver" "$name" start || true
    fi
  done < <(pg_lsclusters --no-header)
elif command -v service >/dev/null 2>&1; then
  service postgresql start || true
fi

for _ in $(seq 1 60); do
  if ready; then
    echo "postgres: up at ${url%%\?*}"
    exit 0
  fi
  sleep 0.5
done
echo "postgres: not reachable at ${url%%\?*} after trying to start it; the PostgreSQL tests need it" >&2
exit 1
