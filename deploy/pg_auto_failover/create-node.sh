#!/usr/bin/env bash
# A site's PostgreSQL under pg_auto_failover (run as postgres on pg-a, then on pg-b).
# The first node registered becomes the primary; the next one a base backup of it.
# Idempotent: run again after a host rebuild and the node rejoins as the standby.
set -euo pipefail
site=${1:?usage: create-node.sh a|b}
PGDATA=${PGDATA:-/var/lib/postgresql/15/citypulse}
host=${NODE_HOST:-pg-$site.citypulse.internal}
monitor=${MONITOR_URI:-postgres://autoctl_node@pgmon.citypulse.internal:5433/pg_auto_failover?sslmode=require}
pg_autoctl create postgres \
  --pgdata "$PGDATA" --pgport 5432 --hostname "$host" --listen "$host" --name "$site" \
  --pgctl /usr/lib/postgresql/15/bin/pg_ctl --monitor "$monitor" \
  --auth scram-sha-256 --ssl-self-signed \
  --candidate-priority 50 --replication-quorum true
# A primary cut off from the monitor and its standby stops taking writes after this;
# the monitor's primary_demote_timeout (monitor-settings.sql) must be longer.
pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout 10
