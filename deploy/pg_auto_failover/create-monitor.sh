#!/usr/bin/env bash
# pg_auto_failover's monitor (run as postgres on the monitor host). Idempotent.
set -euo pipefail
PGDATA=${PGDATA:-/var/lib/postgresql/15/pgmon}
pg_autoctl create monitor \
  --pgdata "$PGDATA" --pgport 5433 --hostname "${MONITOR_HOST:-pgmon.citypulse.internal}" \
  --pgctl /usr/lib/postgresql/15/bin/pg_ctl \
  --auth scram-sha-256 --ssl-self-signed
